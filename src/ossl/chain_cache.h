#pragma once

// ChainCache remembers certificate chains that verify_chain accepted, so that
// a relying party that sees the same platform again (the same VCEK <- ASK <-
// ARK, PCK <- PCK CA <- root, AK certificate <- intermediate <- root) pays
// for the Evidence's own signature only, not for the certificate signatures
// again.
//
// What is cached is a verdict, never a parse: "this exact leaf, these exact
// intermediates, under this exact anchor set and these flags, verified, and
// every certificate of the path OpenSSL built is valid from |not_before| to
// |not_after|". The key holds the DER of every certificate given (leaf,
// intermediates, roots, in order) and the flags, so a different anchor set
// or a different option never finds another's verdict. The time is not part
// of the key; a hit is used only while |at| lies inside the built path's
// common validity window (re-checked on every use), and outside it the chain
// is verified again, which fails with the specific error (CertExpired,
// CertNotYetValid). Failures are never cached. Chains that trust the
// system's default roots are not cached (the anchor set is not in the key).
//
// It also remembers signatures made by a certificate's key over a message
// (verify_signed_by): the TDX QE report, signed by the PCK, stays the same
// while the Quoting Enclave keeps its attestation key. The caller checks the
// certificate's chain first, on every use.
//
// Thread-safe (one mutex, never held while verifying); bounded like any
// internal::ParseCache.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/core/parse_cache.h"
#include "src/ossl/x509.h"

#include <cstdint>
#include <functional>
#include <span>

namespace atls::ossl {

class ChainCache {
 public:
  // Verdicts kept at most (platforms a relying party sees often).
  static constexpr std::size_t kDefaultCapacity = 256;
  // A chain key longer than this (all DER encodings together) is verified
  // every time and never kept.
  static constexpr std::size_t kMaxKey = 32 * 1024;

  explicit ChainCache(std::size_t capacity = kDefaultCapacity);
  ChainCache(const ChainCache&) = delete;
  ChainCache& operator=(const ChainCache&) = delete;

  // verify returns what verify_chain(leaf, intermediates, roots, options)
  // returns, from a cached verdict when one applies (see above).
  Result<void> verify(X509* leaf, std::span<X509* const> intermediates,
                      std::span<X509* const> roots, const ChainOptions& options) const;

  // verify_signed_by returns |check()|, which verifies |signature| over
  // |message| with |signer|'s public key, or ok() when that exact check
  // succeeded before. Only successes are kept. |signer| must already be
  // trusted by the caller (its chain checked for this use).
  Result<void> verify_signed_by(X509* signer, ByteView message, ByteView signature,
                                const std::function<Result<void>()>& check) const;

  // Chain look-ups (hits, misses, verdicts kept).
  internal::CacheStats chain_stats() const { return m_chains.stats(); }
  // verify_signed_by look-ups.
  internal::CacheStats signature_stats() const { return m_signatures.stats(); }
  void clear() const;

 private:
  struct Verified {};

  internal::ParseCache<ChainWindow> m_chains;
  internal::ParseCache<Verified> m_signatures;
};

// chain_cache is the process's one ChainCache, shared by the SEV-SNP, TDX
// and TPM verifiers (and by every instance of them): verdicts are keyed by
// the anchors they were made under, so sharing never lends one relying
// party's trust to another.
const ChainCache& chain_cache();

}  // namespace atls::ossl
