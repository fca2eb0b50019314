#include "src/attestation/relying_party.h"

#include "src/attestation/pipeline.h"

#include <exception>
#include <string>
#include <utility>

namespace atls::internal {

Expectation Expectation::background_check(Bytes binder) {
  Expectation e;
  e.context.expected_nonce = std::move(binder);
  return e;
}

Expectation Expectation::passport(Bytes attested_key_spki) {
  Expectation e;
  //= docs/wire-profile.md §1.5: the EAR must name the leaf key; the
  //= authenticator's CertificateVerify binds it to this connection.
  e.context.attested_key_spki = std::move(attested_key_spki);
  e.bound_result_age = true;
  return e;
}

Result<Appraisal> RelyingParty::appraise(const Evidence& evidence, Expectation expect,
                                         EVP_PKEY* ear_key) const {
  try {
    const Pipeline pipeline(m_registry, m_clock);
    const bool nonce_expected = expect.context.expected_nonce.has_value();
    std::optional<Bytes> attested_key = expect.context.attested_key_spki;
    ATLS_ASSIGN_OR_RETURN(VerifiedEvidence verified,
                          pipeline.verify(evidence, std::move(expect.context), m_policy));
    if (nonce_expected && !verified.nonce_bound()) {
      // A Verifier that ignores the expected nonce would let Evidence made
      // for another connection (or none) through.
      return Error{
          ErrorCode::NonceMismatch,
          verified.verifier() + " verifier did not bind the evidence to the expected nonce"};
    }
    if (expect.bound_result_age) {
      const auto& issued_at = verified.claims().issued_at;
      const std::int64_t age = issued_at ? m_clock.now() - *issued_at : 0;
      if (age > m_policy.max_result_age) {
        return Error{ErrorCode::EvidenceStale, "the attestation result is " + std::to_string(age) +
                                                   " s old; max_result_age is " +
                                                   std::to_string(m_policy.max_result_age)};
      }
    }
    ATLS_ASSIGN_OR_RETURN(
        AttestationResult result,
        pipeline.appraise(verified, m_policy, ear_key, attested_key ? &*attested_key : nullptr));
    Result<void> verdict = Pipeline::check(result, m_policy);
    return Appraisal{std::move(verified), std::move(result), std::move(verdict)};
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string("appraisal: ") + e.what()};
  } catch (...) {
    return Error{ErrorCode::Internal, "appraisal failed"};
  }
}

Result<AttestationResult> RelyingParty::accept(const Evidence& evidence, Expectation expect) const {
  ATLS_ASSIGN_OR_RETURN(Appraisal a, appraise(evidence, std::move(expect)));
  ATLS_TRY(std::move(a.verdict));
  return std::move(a.result);
}

}  // namespace atls::internal
