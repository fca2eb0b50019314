#pragma once

// Issuing an EAR (draft-ietf-rats-ear, JWT) for an appraised result: the
// one place that turns an AttestationResult into signed claims, used by the
// in-process pipeline (Pipeline::appraise) and by the Verifier service
// (docs/verifier-service.md).

#include <atls/bytes.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>

namespace atls::internal {

// EarProfile selects the claim names of an issued EAR.
enum class EarProfile {
  // eat_profile tag:ietf.org,2026:rats/ear#03 with the -03 names
  // (ear_status, ear_trustworthiness_vector, ear_verifier_id).
  Ietf,
  // eat_profile tag:github.com,2023:veraison/ear with Veraison's dotted
  // names (ear.status, ear.trustworthiness-vector, ear.verifier-id), for
  // clients built on Veraison's EAR libraries.
  Veraison,
};

// EarIssue says how to issue one EAR.
struct EarIssue {
  // The private signing key (borrowed; must be non-null).
  EVP_PKEY* key = nullptr;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  // eat_nonce; absent: no nonce claim. Must be 8..64 bytes when present.
  std::optional<Bytes> nonce;
  // DER SPKI of the attested key, named by every submodule as
  // ear.veraison.key-attestation {"akpub": base64url(SPKI)}.
  std::optional<Bytes> attested_key_spki;
  EarProfile profile = EarProfile::Ietf;
  // ear_verifier_id.
  std::string developer;
  std::string build;
  // The JWT header's kid; "" = the RFC 7638 thumbprint of |key|.
  std::string kid;
};

// issue_ear builds the EAR of |result| (status, submodules with their trust
// vectors and policy ids, the media type and machine id as atls.*
// extensions) with the times, nonce and key named by |opts|, and signs it as
// a JWT whose header carries kid. The claims depend on the arguments only.
// Fails with InvalidArgument (no key, exp < iat), the EAR validation codes
// (e.g. EarMalformed for a nonce outside 8..64 bytes) or sign_jws's codes.
Result<std::string> issue_ear(const AttestationResult& result, const EvidenceClaims& claims,
                              const EarIssue& opts);

}  // namespace atls::internal
