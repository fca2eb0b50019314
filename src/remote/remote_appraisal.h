#pragma once

// The relying party's steps around a remote Verifier (docs/verifier-service.md):
// the Evidence goes to the Verifier's session, and the EAR it returns runs
// through the one relying-party path (src/attestation/relying_party.h) like
// a passport: signature with the Verifier's key, nonce, appraisal, policy.

#include <atls/evidence.h>
#include <atls/verifier.h>

#include "src/attestation/policy.h"
#include "src/attestation/relying_party.h"
#include "src/remote/verifier_client.h"

namespace atls::remote {

// policy_names_verifier_keys reports whether |policy| trusts EAR keys of
// its own (the application/eat+jwt scheme's trust.verifier_keys); then the
// Verifier's well-known key is not used.
bool policy_names_verifier_keys(const Policy& policy);

// ear_evidence wraps an EAR (JWT) as the Evidence of a passport: a CMW
// record ["application/eat+jwt", EAR, 8]. Fails with Internal.
Result<Evidence> ear_evidence(std::string_view ear_jwt);

// accept_with_verifier_key runs rp.accept(evidence, expect) with the
// Verifier's EAR key added to expect's trust anchors (unless the policy
// names its own). When the Verifier's key does not verify the EAR, the key
// is fetched again once (the Verifier may have rotated it). Fails with the
// relying party's codes, or the client's when the key cannot be fetched.
Result<AttestationResult> accept_with_verifier_key(const internal::RelyingParty& rp,
                                                   const Policy& policy,
                                                   const VerifierClient& verifier,
                                                   const Evidence& evidence,
                                                   internal::Expectation expect);

// remote_background_check submits |evidence| (its CMW) to |session|
// (opened with binding "tls": the session nonce was the request's
// certificate_request_context) and accepts the returned EAR if its
// eat_nonce is |binder| (docs/wire-profile.md §1.5: binder = Hash(SPKI of
// the authenticator's leaf ‖ exporter value), so the leaf key is checked
// too). Fails with the Verifier's codes (NonceMismatch, SignatureInvalid,
// VerifierSessionExpired, VerifierUnavailable, VerifierTimeout, ...) or the
// relying party's.
Result<AttestationResult> remote_background_check(const internal::RelyingParty& rp,
                                                  const Policy& policy,
                                                  const VerifierClient& verifier,
                                                  const Session& session, const Evidence& evidence,
                                                  const Bytes& binder);

}  // namespace atls::remote
