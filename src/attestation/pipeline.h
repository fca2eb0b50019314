#pragma once

// The verification pipeline: Evidence → Verifier (integrity, nonce) →
// VerifiedEvidence → Appraiser (reference values) → AttestationResult (+ a
// signed EAR) → relying-party checks. The only constructor of the proof types.

#include <atls/clock.h>
#include <atls/evidence.h>
#include <atls/verifier.h>

#include "src/attestation/policy.h"
#include "src/attestation/registry.h"

#include <openssl/evp.h>

namespace atls::internal {

class Pipeline {
 public:
  Pipeline(const Registry& registry, const Clock& clock) : m_registry(registry), m_clock(clock) {}

  // verify dispatches |evidence| by media type and checks its integrity.
  // With a policy, the scheme's trust section is handed to the Verifier (its
  // file references read through policy->files when set, unless |ctx| has
  // its own loader) and evidence older than max_evidence_age fails with
  // EvidenceStale. Fails
  // with UnsupportedMediaType, the Verifier's codes, or Internal when a
  // Verifier did not check an expected nonce.
  Result<VerifiedEvidence> verify(const Evidence& evidence, VerifyContext ctx,
                                  const Policy* policy) const;

  // appraise compares verified claims with the policy's reference values
  // and builds the result; with |ear_key| (borrowed) it also signs an EAR.
  // |attested_key_spki|, when given, is named in the EAR as the attested key
  // (ear.veraison.key-attestation). Fails with UnsupportedMediaType (no
  // appraiser) or the Appraiser's codes.
  Result<AttestationResult> appraise(const VerifiedEvidence& evidence, const Policy* policy,
                                     EVP_PKEY* ear_key, const Bytes* attested_key_spki = nullptr) const;

  // check applies the relying party's policy to a result: pinned machine
  // identifiers (MachineIdMismatch) and the required tier (the code of the
  // first finding that keeps the result below it, e.g. MeasurementMismatch
  // or DebugEnabled; TierInsufficient when there is none).
  static Result<void> check(const AttestationResult& result, const Policy& policy);

 private:
  const Registry& m_registry;
  const Clock& m_clock;
};

// tier_rank orders tiers from best (0, affirming) to worst (3, contraindicated).
int tier_rank(TrustTier t);

}  // namespace atls::internal
