#pragma once

// X.509 parsing and chain verification with an injected time.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/ossl.h"

#include <cstdint>
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

// ChainOptions tunes verify_chain.
struct ChainOptions {
  // Verification time (Unix seconds). Always set by callers from a Clock.
  std::int64_t at = 0;
  // Accept a chain that ends at a trusted intermediate (not self-signed).
  bool allow_partial_chain = false;
};

// verify_chain verifies |leaf| up to one of |roots| through |intermediates|
// at options.at. Fails with CertExpired, CertNotYetValid, CertUntrusted or
// CertChainInvalid, the detail naming OpenSSL's verify error.
Result<void> verify_chain(X509* leaf, std::span<X509* const> intermediates,
                          std::span<X509* const> roots, const ChainOptions& options);

// Extension is the raw value of one certificate extension.
struct Extension {
  Bytes value;  // contents of extnValue (the DER of the extension's type)
  bool critical = false;
};

// find_extension returns the extension with dotted |oid|, if present.
Result<std::optional<Extension>> find_extension(const X509* cert, std::string_view oid);

// cert_der returns the DER encoding of |cert|.
Result<Bytes> cert_der(const X509* cert);

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
