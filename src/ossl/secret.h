#pragma once

// SecretBytes holds key material (authenticator finished keys, exporter
// values, private-key PEM): its bytes are overwritten with OPENSSL_cleanse
// before their memory goes back to the allocator, whether the value is
// destroyed, reassigned or wiped explicitly. It never grows after it is
// made, so no copy of the bytes is left behind by a reallocation.

#include <atls/bytes.h>

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string_view>
#include <vector>

namespace atls::ossl {

class SecretBytes {
 public:
  SecretBytes() = default;
  // The bytes are copied into memory from |resource| (tests pass their own
  // to look at what is left after destruction).
  explicit SecretBytes(ByteView bytes,
                       std::pmr::memory_resource* resource = std::pmr::get_default_resource())
      : m_bytes(bytes.begin(), bytes.end(), resource) {}
  SecretBytes(const SecretBytes& other) : m_bytes(other.m_bytes.begin(), other.m_bytes.end()) {}
  SecretBytes(SecretBytes&& other) noexcept : m_bytes(std::move(other.m_bytes)) {}
  SecretBytes& operator=(const SecretBytes& other) {
    if (this != &other) {
      wipe();
      m_bytes.assign(other.m_bytes.begin(), other.m_bytes.end());
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      m_bytes = std::move(other.m_bytes);
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  ByteView view() const { return {m_bytes.data(), m_bytes.size()}; }
  const std::uint8_t* data() const { return m_bytes.data(); }
  std::size_t size() const { return m_bytes.size(); }
  bool empty() const { return m_bytes.empty(); }
  bool operator==(const SecretBytes& other) const { return m_bytes == other.m_bytes; }

  // wipe overwrites the bytes and releases them.
  void wipe() noexcept;

 private:
  std::pmr::vector<std::uint8_t> m_bytes;
};

// cleanse overwrites |s| (e.g. a PEM private key) and clears it; the
// zeroed storage stays with |s| until it is freed.
void cleanse(std::string& s) noexcept;
// cleanse overwrites |b| and clears it, like the string form.
void cleanse(Bytes& b) noexcept;

}  // namespace atls::ossl
