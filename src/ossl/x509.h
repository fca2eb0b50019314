#pragma once

// X.509 parsing and chain verification with an injected time.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/ossl.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace atls::ossl {

// parse_certificates reads every certificate in |data|: one or more PEM
// blocks, or a single DER certificate. Fails with CertMalformed (also when
// no certificate is found, when any CERTIFICATE block does not parse, or
// when trailing bytes follow a DER certificate). Other PEM blocks are skipped.
Result<std::vector<UniquePtr<X509>>> parse_certificates(ByteView data);

// parse_certificate reads exactly one certificate (PEM or DER).
Result<UniquePtr<X509>> parse_certificate(ByteView data);

// parse_certificate_der reads exactly one DER certificate: no PEM, no
// trailing bytes. Fails with CertMalformed.
Result<UniquePtr<X509>> parse_certificate_der(ByteView der);

// der_equals reports whether |cert| encodes to exactly |der|.
bool der_equals(const X509* cert, ByteView der);

// CertificateCache remembers certificates decoded from DER, keyed by the
// exact bytes, so that a certificate seen on every connection (a server's
// leaf, an attestation-only client identity) is decoded once: under
// OpenSSL 3, d2i_X509 decodes the public key through the decoder framework
// and costs more than the signature check the certificate serves.
//
// A cached object is only a parse result: the same bytes always decode to
// the same certificate, and every check on it (signature, chain, policy)
// still runs for each use. Failures are not cached. The number of entries
// and the size of a kept encoding are bounded, so a peer that sends ever
// new certificates costs bounded memory (and only evicts entries).
// Thread-safe; the cached certificates are shared read-only, as libssl
// shares an SSL_CTX's certificate between its connections.
class CertificateCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 64;
  static constexpr std::size_t kMaxDer = 16 * 1024;

  explicit CertificateCache(std::size_t capacity = kDefaultCapacity) : m_capacity(capacity) {}
  CertificateCache(const CertificateCache&) = delete;
  CertificateCache& operator=(const CertificateCache&) = delete;

  // find returns a new reference to the certificate decoded from exactly
  // |der|, or null when it is not cached.
  UniquePtr<X509> find(ByteView der) const;

  // insert remembers |cert| (a reference is taken) as the decoding of
  // |der|; the caller vouches that it is (parse_certificate_der(der), or a
  // certificate for which der_equals(cert, der) holds). Encodings over
  // kMaxDer are not kept; when full, an arbitrary entry is dropped.
  void insert(ByteView der, X509* cert) const;

  // parse returns find(der) or else parse_certificate_der(der), inserted.
  Result<UniquePtr<X509>> parse(ByteView der) const;

  std::size_t size() const;

 private:
  // Orders encodings by length, then bytes: distinct certificates mostly
  // differ in length, and a comparison then reads no bytes at all.
  struct DerLess {
    using is_transparent = void;
    bool operator()(ByteView a, ByteView b) const;
    bool operator()(const Bytes& a, const Bytes& b) const {
      return (*this)(ByteView(a), ByteView(b));
    }
    bool operator()(const Bytes& a, ByteView b) const { return (*this)(ByteView(a), b); }
    bool operator()(ByteView a, const Bytes& b) const { return (*this)(a, ByteView(b)); }
  };

  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  mutable std::map<Bytes, UniquePtr<X509>, DerLess> m_entries;  // guarded by m_mutex
};

// ChainOptions tunes verify_chain.
struct ChainOptions {
  // Verification time (Unix seconds). Always set by callers from a Clock.
  std::int64_t at = 0;
  // Accept a chain that ends at a trusted intermediate (not self-signed).
  bool allow_partial_chain = false;
  // Also trust the system's default roots (OpenSSL's default verify paths).
  bool system_roots = false;
  // Also verify the trust anchor's self-signature (OpenSSL checks an
  // anchor's validity but not its signature unless asked).
  bool check_root_signature = false;
};

// verify_chain verifies |leaf| up to one of |roots| through |intermediates|
// at options.at. Fails with CertExpired, CertNotYetValid, CertUntrusted or
// CertChainInvalid, the detail naming OpenSSL's verify error.
Result<void> verify_chain(X509* leaf, std::span<X509* const> intermediates,
                          std::span<X509* const> roots, const ChainOptions& options);

// ChainWindow is the common validity window of a verified path, in Unix
// seconds: the latest notBefore and the earliest notAfter of its
// certificates, trust anchor included.
struct ChainWindow {
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
};

// verify_chain_window is verify_chain that also returns the window of the
// path OpenSSL built (src/ossl/chain_cache.h keeps it).
Result<ChainWindow> verify_chain_window(X509* leaf, std::span<X509* const> intermediates,
                                        std::span<X509* const> roots, const ChainOptions& options);

// Extension is the raw value of one certificate extension.
struct Extension {
  Bytes value;  // contents of extnValue (the DER of the extension's type)
  bool critical = false;
};

// find_extension returns the extension with dotted |oid|, if present.
Result<std::optional<Extension>> find_extension(const X509* cert, std::string_view oid);

// cert_der returns the DER encoding of |cert| (encoded_der when kept).
Result<Bytes> cert_der(const X509* cert);

// encoded_der returns the DER encoding of |cert| that parse_certificates
// or parse_certificate_der computed once and kept with it (so that
// comparing or keying a certificate by its bytes does not encode it again),
// or an empty view for a certificate made elsewhere. The view lives as long
// as |cert|.
ByteView encoded_der(const X509* cert);

// cert_spki_der returns the DER SubjectPublicKeyInfo of |cert|.
Result<Bytes> cert_spki_der(const X509* cert);

// CertSummary is a readable view of a certificate (for inspect).
struct CertSummary {
  std::string subject;
  std::string issuer;
  std::string serial_hex;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string key_type;
  std::vector<std::string> extension_oids;
};
Result<CertSummary> summarize(const X509* cert);

// format_time renders Unix seconds as RFC 3339 UTC ("2024-01-02T03:04:05Z").
std::string format_time(std::int64_t t);

}  // namespace atls::ossl
