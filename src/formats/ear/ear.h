#pragma once

// EAT Attestation Results (EAR, draft-ietf-rats-ear and its predecessor
// draft-fv-rats-ear) with AR4SI trustworthiness vectors
// (draft-ietf-rats-ar4si), in their JWT serialization.

#include <atls/bytes.h>
#include <atls/clock.h>
#include <atls/result.h>
#include <atls/trust.h>

#include "src/formats/jwt/jws.h"
#include "src/ossl/ossl.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atls {

// tier_from_name parses a JSON tier name (exact, lower case). Fails with
// EarBadStatus.
Result<TrustTier> tier_from_name(std::string_view name);

// EarSubmod is one entry of "submods": the appraisal of one attester.
struct EarSubmod {
  std::string name;
  TrustTier status = TrustTier::None;
  std::optional<TrustVector> trust_vector;
  // policy_ids in application order; the legacy single
  // "ear.appraisal-policy-id" becomes a one-element list.
  std::vector<std::string> policy_ids;
  std::optional<Bytes> nonce;          // eat_nonce of the appraised evidence (-03)
  std::optional<std::string> profile;  // eat_profile of the appraised evidence (-03)
  nlohmann::json extensions = nlohmann::json::object();  // every other member, verbatim
};

// EarVerifierId identifies the verifier that produced the EAR.
struct EarVerifierId {
  std::string developer;
  std::string build;
};

// Ear is a parsed and validated EAT Attestation Result.
struct Ear {
  std::string profile;
  std::int64_t iat = 0;
  std::optional<std::int64_t> exp;
  std::optional<TrustTier> status;  // overall status (-03)
  EarVerifierId verifier_id;
  std::optional<Bytes> raw_evidence;
  std::optional<Bytes> nonce;
  std::vector<EarSubmod> submods;                        // sorted by name
  nlohmann::json extensions = nlohmann::json::object();  // every other top-level claim
  // legacy_names is true when the EAR used (and should be written with) the
  // dotted claim names of draft-fv-rats-ear / draft-ietf-rats-ear-00..02.
  bool legacy_names = false;
};

// The eat_profile values accepted by ear_from_claims.
inline constexpr std::string_view kEarProfileVeraison = "tag:github.com,2023:veraison/ear";
inline constexpr std::string_view kEarProfileIetf02 = "tag:ietf.org,2025-07:ear";
inline constexpr std::string_view kEarProfileIetf03 = "tag:ietf.org,2026:rats/ear#03";
inline constexpr std::string_view kEarProfileTrustee =
    "tag:github.com,2024:confidential-containers/Trustee";

// ear_from_claims parses and validates an EAR claims set in either spelling
// (e.g. "ear.verifier-id" or "ear_verifier_id"). Fails with EarMalformed
// (wrong types, bad base64url, a claim given in both spellings),
// EarMissingClaim (detail names every missing mandatory claim),
// EarBadProfile, EarBadStatus (unknown tier name, or a status better than
// its trust vector or than a submod) or EarBadTrustVector.
Result<Ear> ear_from_claims(const nlohmann::json& claims);

// ear_to_claims serialises |ear| with the -03 claim names, or with the
// dotted names when ear.legacy_names is set. Members of the extension
// objects never override the modelled claims. Does not validate.
nlohmann::json ear_to_claims(const Ear& ear);

// EarVerifyOptions tunes the time checks of verify_ear_jwt.
struct EarVerifyOptions {
  std::int64_t max_age_s = 0;  // reject iat older than this; 0 = no limit
  std::int64_t leeway_s = 60;  // clock skew tolerated in every time check
};

// verify_ear_jwt verifies a JWT-serialised EAR with |key| (borrowed; a "jwk"
// in the header is never used) and validates its claims at clock.now().
// Fails with the codes of parse_jws_compact, verify_jws, jwt_claims and
// ear_from_claims, and with EarExpired (exp passed, or iat older than
// max_age_s), JwtNotYetValid (iat or nbf in the future beyond the leeway).
Result<Ear> verify_ear_jwt(std::string_view token, EVP_PKEY* key, const Clock& clock,
                           const EarVerifyOptions& opts = {});

// ear_from_verified_jws does verify_ear_jwt's claim and time checks on a JWS
// whose signature the caller has already verified with a trusted key (for
// a caller that found the signer among several keys by verifying). Fails as
// verify_ear_jwt does after its signature check.
Result<Ear> ear_from_verified_jws(const Jws& jws, const Clock& clock,
                                  const EarVerifyOptions& opts = {});

// check_ear_times runs the time checks of ear_from_verified_jws alone (exp,
// iat in the future, iat older than max_age_s, nbf) at |now|, on an EAR
// decoded from |claims| (its claims set): for a caller that keeps decoded
// EARs and must still check their times on every use. Same errors.
Result<void> check_ear_times(const Ear& ear, const nlohmann::json& claims, std::int64_t now,
                             const EarVerifyOptions& opts = {});

// decode_ear_jwt_unverified parses an EAR JWT WITHOUT checking its
// signature or times, for inspection and display only. Fails as
// verify_ear_jwt does for shape and claims.
Result<Ear> decode_ear_jwt_unverified(std::string_view token);

// sign_ear_jwt validates |ear| (as ear_from_claims would) and signs it as a
// JWT (typ "JWT") with the private |key| (borrowed); the algorithm follows
// the key (ES256 for P-256). A non-empty |kid| is written to the header
// (e.g. the key's RFC 7638 thumbprint). Fails with the codes of
// ear_from_claims and sign_jws.
Result<std::string> sign_ear_jwt(const Ear& ear, EVP_PKEY* key, std::string_view kid = {});

}  // namespace atls
