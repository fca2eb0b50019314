#pragma once

// RpOutcome splits a relying-party run (internal::RelyingParty::appraise)
// into the three results the plug-in tests look at: the verified Evidence
// (or the error that stopped the run), the appraised result, and the
// policy's verdict.

#include "src/attestation/relying_party.h"

namespace atls::test {

struct RpOutcome {
  Result<VerifiedEvidence> verified = Error{ErrorCode::Internal, "not run"};
  Result<AttestationResult> result = Error{ErrorCode::Internal, "not run"};
  Result<void> check = Error{ErrorCode::Internal, "not run"};
};

// rp_outcome: a failed run puts its error in |verified|.
inline RpOutcome rp_outcome(Result<internal::Appraisal> a) {
  RpOutcome o;
  if (!a) {
    o.verified = std::move(a).error();
    return o;
  }
  o.verified = a->evidence;
  o.result = a->result;
  o.check = a->verdict;
  return o;
}

// verify_error is the code that stopped the run (Ok when none did).
inline ErrorCode verify_error(const RpOutcome& o) {
  return o.verified ? ErrorCode::Ok : o.verified.error().code;
}

}  // namespace atls::test
