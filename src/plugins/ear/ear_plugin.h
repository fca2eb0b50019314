#pragma once

// The ear plug-in: passports. The CMW carries an EAT Attestation Result
// (EAR, a JWT signed ES256 by a Verifier) instead of Evidence: media type
// application/eat+jwt, CMW ind 8 (docs/wire-profile.md §1.5 "Passport", §4).
//
//  - The verifier checks the EAR's signature with a trusted Verifier key, its
//    times, that it names the TLS authenticator's key
//    (ear.veraison.key-attestation "akpub") and, when one is expected, its
//    nonce. The appraiser passes the upstream Verifier's appraisal (submods,
//    trust vectors, policy ids) through.
//  - The passport attester runs Evidence -> in-process Verifier -> EAR inside
//    the attesting environment and sends the EAR.
//
// Profile: docs/evidence-profiles.md ("ear").

#include <atls/attester.h>
#include <atls/clock.h>
#include <atls/verifier.h>

#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/core/parse_cache.h"
#include "src/formats/ear/ear.h"
#include "src/ossl/ossl.h"
#include "src/remote/verifier_client.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace atls {

// The submodule extension that names the attested key, and its member.
inline constexpr std::string_view kEarKeyAttestation = "ear.veraison.key-attestation";
inline constexpr std::string_view kEarAkpub = "akpub";
// The submodule extension in which the issuing pipeline carries the machine id.
inline constexpr std::string_view kEarMachineId = "atls.machine-id";

// Size of the in-process Verifier's session nonce.
inline constexpr std::size_t kPassportVerifierNonceSize = 32;

// passport_evidence_nonce returns the nonce the passport attester asks its
// evidence attester for: SHA-256(verifier_nonce || SHA-256(key_spki)).
// Fails with InvalidArgument when either input is empty.
Result<Bytes> passport_evidence_nonce(ByteView verifier_nonce, ByteView key_spki);

// make_ear_verifier checks a passport EAR. Trust section key:
// "verifier_keys" (a file, or list of files, each a PEM/DER public key or
// certificate, or a JWK JSON object); --trust anchors are accepted in the
// same forms. Fails with the JWS/EAR codes, KeyUntrusted (no trusted key
// verifies the signature), EarExpired (exp passed), JwtNotYetValid,
// EarKeyBindingMismatch (VerifyContext::attested_key_spki is set and the EAR
// does not name it) and NonceMismatch (VerifyContext::expected_nonce is set
// and differs from the EAR's eat_nonce).
std::unique_ptr<Verifier> make_ear_verifier();

// VerifiedEar is an EAR whose signature verified under a trusted Verifier
// key, decoded: its claims set as signed and the Ear read from it.
struct VerifiedEar {
  nlohmann::json claims;
  Ear ear;
};

// verified_ear_cache keeps, for every ear verifier of the process, the EARs
// whose signature verified, keyed by the SHA-256 of the verifying key's
// SubjectPublicKeyInfo followed by the exact token: a relying party that
// sees the same passport again verifies its signature once. Only what a
// signature check accepted is kept; times (exp, iat, nbf, the policy's
// max_result_age), the key binding and the nonce are checked on every use.
const internal::ParseCache<VerifiedEar>& verified_ear_cache();

// make_ear_appraiser returns the EAR's own submodules and trust vectors. Its
// reference section must be empty.
std::unique_ptr<Appraiser> make_ear_appraiser();

struct PassportAttesterConfig {
  // Produces the Evidence behind the passport (software, tpm2, sev-snp, tdx).
  std::shared_ptr<Attester> evidence_attester;
  // The in-process Verifier: its plug-ins (nullptr: builtin_registry()) and
  // appraisal policy (trust and reference sections, ear.lifetime,
  // ear.developer, ear.build; when no key is given below, ear.signing_key).
  std::shared_ptr<const Registry> registry;
  Policy policy;
  // Extra trust anchors for the in-process Verifier (as `--trust`).
  std::vector<Bytes> trust_anchors;
  // The EAR signing key: |signing_key| (borrowed; a reference is taken, so
  // the caller may release its own), else |signing_key_pem|, else the
  // policy's ear.signing_key file.
  EVP_PKEY* signing_key = nullptr;
  Bytes signing_key_pem;
  // Time source (borrowed; must outlive the attester). nullptr: system clock.
  const Clock* clock = nullptr;
  // Source of the Verifier's session nonces (borrowed). nullptr: SystemRng.
  Rng* rng = nullptr;
  // A remote Verifier service (docs/verifier-service.md): when set, the
  // Evidence goes to it (a session with binding "key" naming the key) and
  // its EAR is presented; registry, policy, trust anchors and signing key
  // are then unused.
  std::shared_ptr<const remote::VerifierClient> verifier;
  // Receives a line when renewing an EAR fails while the cached one is still
  // valid (it is presented meanwhile). nullptr: standard error.
  std::function<void(const std::string&)> log;
  // A cached EAR is reused while now + refresh_margin < exp; after that it
  // is renewed, and still presented until exp if renewal fails.
  std::int64_t refresh_margin = 30;
  // At most this many keys have a cached EAR (the soonest to expire goes).
  std::size_t max_cache_entries = 64;
};

// make_passport_attester builds the passport attester (media type
// application/eat+jwt). Fails with InvalidArgument (no evidence attester, a
// negative margin, no signing key and no remote Verifier) or KeyInvalid
// (the key does not parse).
//
// attest(request) needs request.key_spki (else InvalidArgument) and ignores
// request.nonce: the EAR is bound to the key, and the authenticator's
// CertificateVerify binds the key to the connection. It returns a CMW record
// ["application/eat+jwt", EAR, 8], reusing the EAR cached for the same key
// until shortly before its exp (thread-safe); otherwise it draws a fresh
// 32-byte Verifier nonce, asks the evidence attester for Evidence with
// nonce = passport_evidence_nonce(verifier nonce, key_spki), verifies and
// appraises it, and signs an EAR that names key_spki. With a remote
// Verifier it opens a session naming key_spki and sends the Evidence for
// passport_evidence_nonce(session nonce, key_spki) there instead. Fails with
// the evidence attester's and the Verifier's codes, or AttesterFailure;
// when renewal fails after the cached EAR expired, with PassportExpired.
Result<std::unique_ptr<Attester>> make_passport_attester(PassportAttesterConfig config);

}  // namespace atls
