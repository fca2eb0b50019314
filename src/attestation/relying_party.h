#pragma once

// The relying party's one path from Evidence to a decision:
//   verify (integrity, trust anchors, evidence age)
//   → binder check (background-check: the Verifier bound the expected nonce)
//   → result age (passport: the EAR is at most policy.max_result_age old)
//   → appraise (reference values; optionally sign an EAR)
//   → policy check (pinned machines, required tier).
// The TLS engine, `atls verify`, the passport attester's in-process
// Verifier, the benchmarks and the tests all go through here.

#include <atls/bytes.h>
#include <atls/clock.h>
#include <atls/evidence.h>
#include <atls/verifier.h>

#include "src/attestation/policy.h"
#include "src/attestation/registry.h"

#include <openssl/evp.h>

#include <optional>

namespace atls::internal {

// Expectation is what the relying party expects of the Evidence, besides
// its integrity.
struct Expectation {
  // What the Verifier is given. context.expected_nonce, when set, must be
  // bound by the Verifier (VerifiedEvidence::nonce_bound(), else
  // NonceMismatch); context.attested_key_spki, when set, must be named by a
  // passport EAR. Trust anchors and certificates given here are used in
  // addition to the policy's trust section.
  VerifyContext context;
  // Set for a passport: the attestation result's age (its issued_at) must
  // not exceed policy.max_result_age, else EvidenceStale.
  bool bound_result_age = false;

  // background_check expects Evidence made for |binder| (docs/wire-profile.md
  // §1.5: binder = Hash(SPKI ‖ exporter value)).
  static Expectation background_check(Bytes binder);
  // passport expects an EAR that names |attested_key_spki| (DER SPKI of the
  // authenticator's leaf; its CertificateVerify binds the key to the
  // connection) and is no older than policy.max_result_age.
  static Expectation passport(Bytes attested_key_spki);
};

// Appraisal is the outcome of a relying-party run that got as far as a
// result: the verified Evidence, the appraised result and the policy's
// verdict on it (ok, or MachineIdMismatch / the first finding's code /
// TierInsufficient).
struct Appraisal {
  VerifiedEvidence evidence;
  AttestationResult result;
  Result<void> verdict;
};

// RelyingParty runs the path above with one registry, clock and policy (all
// borrowed; they must outlive it). Thread-safe when the plug-ins are.
class RelyingParty {
 public:
  RelyingParty(const Registry& registry, const Clock& clock, const Policy& policy)
      : m_registry(registry), m_clock(clock), m_policy(policy) {}

  // appraise runs every step up to the verdict and returns the appraisal,
  // whatever the verdict. With |ear_key| (borrowed) the result carries a
  // signed EAR that names context.attested_key_spki when set. Fails with the
  // Verifier's codes, EvidenceStale, NonceMismatch, the Appraiser's codes,
  // or Internal when a plug-in throws.
  Result<Appraisal> appraise(const Evidence& evidence, Expectation expect,
                             EVP_PKEY* ear_key = nullptr) const;

  // accept is appraise() for a relying party that only acts on the
  // decision: the result when the verdict is ok, else the verdict's error.
  Result<AttestationResult> accept(const Evidence& evidence, Expectation expect) const;

 private:
  const Registry& m_registry;
  const Clock& m_clock;
  const Policy& m_policy;
};

}  // namespace atls::internal
