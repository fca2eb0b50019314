#include "src/ossl/chain_cache.h"

#include <cstdint>
#include <utility>

namespace atls::ossl {
namespace {

// Appends a tag, a four-byte length and |data|, so that no two different
// sequences of certificates encode to the same key.
void append_field(Bytes& key, std::uint8_t tag, ByteView data) {
  key.push_back(tag);
  const auto n = static_cast<std::uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    key.push_back(static_cast<std::uint8_t>(n >> shift));
  }
  key.insert(key.end(), data.begin(), data.end());
}

// Appends |cert|'s DER under |tag|; false when it does not encode.
bool append_cert(Bytes& key, std::uint8_t tag, X509* cert) {
  if (cert == nullptr) {
    return false;
  }
  if (const ByteView kept = encoded_der(cert); !kept.empty()) {
    append_field(key, tag, kept);
    return true;
  }
  const auto der = cert_der(cert);
  if (!der) {
    return false;
  }
  append_field(key, tag, *der);
  return true;
}

constexpr std::uint8_t kTagLeaf = 0x01;
constexpr std::uint8_t kTagIntermediate = 0x02;
constexpr std::uint8_t kTagRoot = 0x03;
constexpr std::uint8_t kTagMessage = 0x04;
constexpr std::uint8_t kTagSignature = 0x05;

// The chain key: the verification flags, then every certificate given.
// Empty when a certificate does not encode (then nothing is cached).
Bytes chain_key(X509* leaf, std::span<X509* const> intermediates, std::span<X509* const> roots,
                const ChainOptions& options) {
  Bytes key;
  key.push_back(static_cast<std::uint8_t>((options.allow_partial_chain ? 1 : 0) |
                                          (options.check_root_signature ? 2 : 0)));
  if (!append_cert(key, kTagLeaf, leaf)) {
    return {};
  }
  for (X509* c : intermediates) {
    if (!append_cert(key, kTagIntermediate, c)) {
      return {};
    }
  }
  for (X509* c : roots) {
    if (!append_cert(key, kTagRoot, c)) {
      return {};
    }
  }
  return key;
}

}  // namespace

ChainCache::ChainCache(std::size_t capacity)
    : m_chains(capacity, kMaxKey), m_signatures(capacity, kMaxKey) {}

Result<void> ChainCache::verify(X509* leaf, std::span<X509* const> intermediates,
                                std::span<X509* const> roots, const ChainOptions& options) const {
  if (leaf == nullptr || options.system_roots) {
    return verify_chain(leaf, intermediates, roots, options);
  }
  const Bytes key = chain_key(leaf, intermediates, roots, options);
  if (key.empty()) {
    return verify_chain(leaf, intermediates, roots, options);
  }
  ATLS_ASSIGN_OR_RETURN(const auto window, m_chains.get(key, [&](ByteView) {
    return verify_chain_window(leaf, intermediates, roots, options);
  }));
  if (options.at < window->not_before || options.at > window->not_after) {
    // Outside the window of the verdict: verify again at this time, which
    // fails with the certificate's own error (or, for a window made
    // narrower than OpenSSL's check, succeeds).
    return verify_chain(leaf, intermediates, roots, options);
  }
  return ok();
}

Result<void> ChainCache::verify_signed_by(X509* signer, ByteView message, ByteView signature,
                                          const std::function<Result<void>()>& check) const {
  Bytes key;
  if (!append_cert(key, kTagLeaf, signer)) {
    return check();
  }
  append_field(key, kTagMessage, message);
  append_field(key, kTagSignature, signature);
  auto verdict = m_signatures.get(key, [&](ByteView) -> Result<Verified> {
    auto checked = check();
    if (!checked) {
      return std::move(checked).error();
    }
    return Verified{};
  });
  if (!verdict) {
    return std::move(verdict).error();
  }
  return ok();
}

void ChainCache::clear() const {
  m_chains.clear();
  m_signatures.clear();
}

const ChainCache& chain_cache() {
  static const ChainCache cache;
  return cache;
}

}  // namespace atls::ossl
