#include "src/remote/remote_appraisal.h"

#include "src/attestation/evidence_cmw.h"
#include "src/core/encoding.h"

#include <utility>

namespace atls::remote {

bool policy_names_verifier_keys(const Policy& policy) {
  const SchemePolicy* sp = policy.scheme(std::string(kMediaTypeEar));
  return sp != nullptr && sp->trust.is_object() && sp->trust.contains("verifier_keys");
}

Result<Evidence> ear_evidence(std::string_view ear_jwt) {
  return evidence_from_records(
      {EvidenceRecord{"", std::string(kMediaTypeEar), to_bytes(ear_jwt), kIndAttestationResult}});
}

Result<AttestationResult> accept_with_verifier_key(const internal::RelyingParty& rp,
                                                   const Policy& policy,
                                                   const VerifierClient& verifier,
                                                   const Evidence& evidence,
                                                   internal::Expectation expect) {
  if (policy_names_verifier_keys(policy)) {
    return rp.accept(evidence, std::move(expect));
  }
  ATLS_ASSIGN_OR_RETURN(Bytes key, verifier.ear_key());
  internal::Expectation first = expect;
  first.context.trust_anchors.push_back(std::move(key));
  auto result = rp.accept(evidence, std::move(first));
  if (result || result.error().code != ErrorCode::KeyUntrusted) {
    return result;
  }
  // The Verifier may have rotated its key (SIGHUP): fetch it once more.
  ATLS_ASSIGN_OR_RETURN(Bytes fresh, verifier.ear_key(/*refresh=*/true));
  expect.context.trust_anchors.push_back(std::move(fresh));
  return rp.accept(evidence, std::move(expect));
}

Result<AttestationResult> remote_background_check(const internal::RelyingParty& rp,
                                                  const Policy& policy,
                                                  const VerifierClient& verifier,
                                                  const Session& session, const Evidence& evidence,
                                                  const Bytes& binder) {
  ATLS_ASSIGN_OR_RETURN(const std::string ear, verifier.submit(session, evidence.cmw));
  ATLS_ASSIGN_OR_RETURN(const Evidence wrapped, ear_evidence(ear));
  //= docs/verifier-service.md: with binding "tls" the EAR's eat_nonce is
  //= the Evidence's nonce, which must be this connection's binder.
  return accept_with_verifier_key(rp, policy, verifier, wrapped,
                                  internal::Expectation::background_check(binder));
}

}  // namespace atls::remote
