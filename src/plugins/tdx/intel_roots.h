#pragma once

// What the tdx and sgx verifier plug-ins share: the Intel SGX Root CA trust
// anchors of a verification (never taken from the quote) and the binding of
// a quote's 64-byte REPORTDATA to the expected nonce.

#include <atls/bytes.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include "src/core/parse_cache.h"
#include "src/ossl/ossl.h"

#include <openssl/x509.h>

#include <vector>

namespace atls::internal {

// IntelRoots reads the Intel SGX Root CA certificates a relying party
// trusts: the policy's "sgx_root" files, then the context's trust anchors.
// Files and anchors are parsed once per content. Thread-safe.
class IntelRoots {
 public:
  // trusted returns the certificates; empty when none is configured. Fails
  // with FileNotFound / IoError (a policy file) or CertMalformed.
  Result<std::vector<ossl::UniquePtr<X509>>> trusted(const VerifyContext& ctx) const;

 private:
  Result<void> add(std::vector<ossl::UniquePtr<X509>>& to, ByteView data) const;

  ParseCache<std::vector<ossl::UniquePtr<X509>>> m_roots;
};

// check_sgx_root_entry checks the trust section's optional "sgx_root" (a
// file or a non-empty list of files). Fails with PolicyInvalid.
Result<void> check_sgx_root_entry(const nlohmann::json& trust);

// bind_report_data records |report_data| (64 bytes) as out.nonce and, when
// ctx.expected_nonce is set, checks that REPORTDATA is that nonce
// zero-padded to 64 bytes (docs/wire-profile.md §1.5), then sets
// out.nonce_verified. Fails with NonceMismatch.
Result<void> bind_report_data(const Bytes& report_data, const VerifyContext& ctx,
                              EvidenceClaims& out);

}  // namespace atls::internal
