#pragma once

// The verification pipeline's steps: Evidence → Verifier (integrity, nonce)
// → VerifiedEvidence → Appraiser (reference values) → AttestationResult (+ a
// signed EAR) → relying-party checks. The only constructor of the proof
// types. The steps run in order, with the relying party's own checks
// between them, in one place: src/attestation/relying_party.h.

#include <atls/clock.h>
#include <atls/evidence.h>
#include <atls/verifier.h>

#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/core/trust.h"

#include <openssl/evp.h>

namespace atls::internal {

// ResultParts are the fields of an AttestationResult that travel in other
// containers: a gateway token carries the client's appraisal to the
// internal server (docs/wire-profile.md §3), without the Evidence's claims.
struct ResultParts {
  TrustTier status = TrustTier::None;
  bool hardware_rooted = false;
  std::int64_t verified_at = 0;
  std::int64_t valid_until = 0;
  std::string media_type;
  std::string machine_id;
  std::vector<SubmodResult> submods;

  // of copies the parts of |r|.
  static ResultParts of(const AttestationResult& r);
};

class Pipeline {
 public:
  Pipeline(const Registry& registry, const Clock& clock) : m_registry(registry), m_clock(clock) {}

  // verify dispatches |evidence| by media type and checks its integrity.
  // The scheme's trust section of |policy| is handed to the Verifier (its
  // file references read through policy.files when set, unless |ctx| has
  // its own loader) and evidence older than policy.max_evidence_age (when
  // > 0) or past its own expiry fails with EvidenceStale. Fails with
  // UnsupportedMediaType or the Verifier's codes. Whether the Verifier
  // bound the expected nonce is for the caller to check (nonce_bound()).
  Result<VerifiedEvidence> verify(const Evidence& evidence, VerifyContext ctx,
                                  const Policy& policy) const;

  // appraise compares verified claims with the policy's reference values
  // and builds the result; with |ear_key| (borrowed) it also signs an EAR.
  // |attested_key_spki|, when given, is named in the EAR as the attested key
  // (ear.veraison.key-attestation). Fails with UnsupportedMediaType (no
  // appraiser) or the Appraiser's codes.
  Result<AttestationResult> appraise(const VerifiedEvidence& evidence, const Policy& policy,
                                     EVP_PKEY* ear_key,
                                     const Bytes* attested_key_spki = nullptr) const;

  // check applies the relying party's policy to a result: pinned machine
  // identifiers (MachineIdMismatch) and the required tier (the code of the
  // first finding that keeps the result below it, e.g. MeasurementMismatch
  // or DebugEnabled; TierInsufficient when there is none).
  static Result<void> check(const AttestationResult& result, const Policy& policy);

  // restore rebuilds a result that another relying party appraised (a
  // gateway's, carried in a token); its claims are empty.
  static AttestationResult restore(ResultParts parts);

 private:
  const Registry& m_registry;
  const Clock& m_clock;
};

}  // namespace atls::internal
