#pragma once

// ParseCache remembers what a Verifier parsed from trust material (PEM/DER
// keys and certificates from the policy, --trust and --cert) and from
// certificates that Evidence carries, keyed by the exact input bytes. Under
// OpenSSL 3 decoding one key or certificate costs more than the signature
// check it serves, and the same anchors arrive with every connection.
//
// Parsing is a pure function of the bytes, so a cached value is the value a
// fresh parse would return. Failures are never cached: a bad input fails the
// same way, with the same error, every time. Both the number of entries and
// the size of a kept input are bounded, so a peer that sends ever new
// certificates costs bounded memory (and only evicts entries).
//
// The same class keeps verdicts (a verified certificate chain, an EAR whose
// signature verified under a given key): there the key is every input the
// verdict depends on, |parse| is the verification, and the caller re-checks
// what changes with time (validity windows, exp) on every use.

#include <atls/bytes.h>
#include <atls/result.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace atls::internal {

// Entries a ParseCache keeps at most; beyond that an arbitrary entry is
// dropped.
inline constexpr std::size_t kParseCacheCapacity = 256;
// Inputs larger than this are parsed every time and never kept.
inline constexpr std::size_t kParseCacheMaxInput = 64 * 1024;
// The same for caches of what Evidence carries (a peer chooses it): its
// certificates and keys fit comfortably.
inline constexpr std::size_t kParseCacheMaxEvidenceInput = 8 * 1024;

// CacheStats counts a cache's look-ups since it was made or cleared.
struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::size_t size = 0;  // entries kept now
};

template <class T>
class ParseCache {
 public:
  explicit ParseCache(std::size_t capacity = kParseCacheCapacity,
                      std::size_t max_input = kParseCacheMaxInput)
      : m_capacity(capacity), m_max_input(max_input) {}
  ParseCache(const ParseCache&) = delete;
  ParseCache& operator=(const ParseCache&) = delete;

  // get returns the value parsed from exactly |data|: a cached one, or the
  // result of |parse(data)| (a Result<T>), which is cached on success. The
  // value is immutable and shared; it stays valid while the caller holds
  // the pointer, whatever the cache drops meanwhile. Thread-safe: the lock
  // is held only for the lookup and the insertion, never while parsing.
  template <class Parse>
  Result<std::shared_ptr<const T>> get(ByteView data, Parse&& parse) const {
    if (std::shared_ptr<const T> cached = find(data)) {
      return cached;
    }
    Result<T> parsed = parse(data);
    if (!parsed) {
      return std::move(parsed).error();
    }
    return insert(data, std::move(*parsed));
  }

  // find returns the value kept for exactly |data|, or null. Counts a hit
  // or a miss.
  std::shared_ptr<const T> find(ByteView data) const {
    const std::string_view key(reinterpret_cast<const char*>(data.data()), data.size());
    const std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_entries.find(key);
    if (it == m_entries.end()) {
      ++m_misses;
      return nullptr;
    }
    ++m_hits;
    return it->second;
  }

  // insert keeps |value| for |data| (unless |data| is too large) and returns
  // it shared. The caller vouches that it is what |data| stands for: a
  // successful parse or verdict, never a failure.
  std::shared_ptr<const T> insert(ByteView data, T value) const {
    std::shared_ptr<const T> shared = std::make_shared<const T>(std::move(value));
    if (data.size() > m_max_input || m_capacity == 0) {
      return shared;
    }
    const std::string_view key(reinterpret_cast<const char*>(data.data()), data.size());
    const std::lock_guard<std::mutex> lock(m_mutex);
    if (m_entries.size() >= m_capacity && m_entries.find(key) == m_entries.end()) {
      // Keys are ordered by content, not by use: this drops an arbitrary
      // entry, which degrades gracefully when more distinct inputs than
      // |m_capacity| circulate.
      m_entries.erase(m_entries.begin());
    }
    // When another thread parsed the same bytes meanwhile, its entry stays;
    // both values are equal.
    m_entries.emplace(std::string(key), shared);
    return shared;
  }

  CacheStats stats() const {
    const std::lock_guard<std::mutex> lock(m_mutex);
    return CacheStats{m_hits, m_misses, m_entries.size()};
  }

  // clear drops every entry and resets the counters.
  void clear() const {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_entries.clear();
    m_hits = 0;
    m_misses = 0;
  }

 private:
  const std::size_t m_capacity;
  const std::size_t m_max_input;
  mutable std::mutex m_mutex;
  mutable std::map<std::string, std::shared_ptr<const T>, std::less<>> m_entries;
  mutable std::uint64_t m_hits = 0;    // guarded by m_mutex
  mutable std::uint64_t m_misses = 0;  // guarded by m_mutex
};

}  // namespace atls::internal
