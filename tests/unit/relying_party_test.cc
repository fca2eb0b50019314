// The relying-party path (src/attestation/relying_party.h): each step's
// failure, with controllable plug-ins, and success.

#include "src/attestation/relying_party.h"

#include "src/ossl/keys.h"
#include "tests/testlib/fake_plugins.h"

#include <gtest/gtest.h>

#include <memory>

namespace atls {
namespace {

using internal::Expectation;
using internal::RelyingParty;

constexpr std::int64_t kNow = 1'700'000'000;
const Bytes kBinder(32, 0x5a);

Registry registry_with(test::FakeVerifierOptions v, std::int8_t hardware = 2,
                       Finding finding = {}) {
  Registry r;
  r.add_verifier(std::make_shared<test::FakeVerifier>(std::move(v)));
  r.add_appraiser(std::make_shared<test::FakeAppraiser>(hardware, std::move(finding)));
  return r;
}

Evidence evidence_for(const Bytes& nonce) {
  test::FakeAttester attester;
  AttestationRequest req;
  req.nonce = nonce;
  return attester.attest(req).value();
}

TEST(RelyingParty, AcceptsEvidenceBoundToTheBinder) {
  const Registry reg = registry_with({});
  const FixedClock clock(kNow);
  const Policy policy;
  const RelyingParty rp(reg, clock, policy);
  auto a = rp.appraise(evidence_for(kBinder), Expectation::background_check(kBinder));
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_TRUE(a->evidence.nonce_bound());
  EXPECT_EQ(a->result.status(), TrustTier::Affirming);
  EXPECT_EQ(a->result.machine_id(), "fake:01");
  EXPECT_EQ(a->result.valid_until(), kNow + policy.reattest_interval);
  EXPECT_TRUE(a->verdict);
  auto r = rp.accept(evidence_for(kBinder), Expectation::background_check(kBinder));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->media_type(), test::kFakeEvidenceType);
}

TEST(RelyingParty, EvidenceForAnotherBinderIsRefusedByTheVerifier) {
  const Registry reg = registry_with({});
  const FixedClock clock(kNow);
  const Policy policy;
  auto r = RelyingParty(reg, clock, policy)
               .accept(evidence_for(Bytes(32, 1)), Expectation::background_check(kBinder));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::NonceMismatch);
}

TEST(RelyingParty, AVerifierThatDoesNotBindTheNonceIsRefused) {
  // The Verifier accepts Evidence made for another nonce without saying it
  // checked it: the relying party must not take that as bound.
  test::FakeVerifierOptions broken;
  broken.bind_nonce = false;
  const Registry reg = registry_with(broken);
  const FixedClock clock(kNow);
  const Policy policy;
  const RelyingParty rp(reg, clock, policy);
  auto r = rp.accept(evidence_for(Bytes(32, 1)), Expectation::background_check(kBinder));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::NonceMismatch);
  // Without an expected nonce (`atls verify` without --nonce) nothing is bound.
  auto unbound = rp.appraise(evidence_for(Bytes(32, 1)), {});
  ASSERT_TRUE(unbound) << unbound.error().to_string();
  EXPECT_FALSE(unbound->evidence.nonce_bound());
}

TEST(RelyingParty, StaleEvidenceIsRefused) {
  test::FakeVerifierOptions v;
  v.issued_at = kNow - 301;
  const Registry reg = registry_with(v);
  const FixedClock clock(kNow);
  Policy policy;
  policy.max_evidence_age = 300;
  auto r = RelyingParty(reg, clock, policy)
               .accept(evidence_for(kBinder), Expectation::background_check(kBinder));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::EvidenceStale);
  policy.max_evidence_age = 301;
  auto fresh = RelyingParty(reg, clock, policy)
                   .accept(evidence_for(kBinder), Expectation::background_check(kBinder));
  ASSERT_TRUE(fresh) << fresh.error().to_string();
  EXPECT_EQ(fresh->valid_until(), kNow - 301 + 301)
      << "valid_until is bounded by the evidence's age";
}

TEST(RelyingParty, StalePassportIsRefused) {
  // A passport result issued 301 s ago, with no evidence age limit: only
  // max_result_age applies, and only to a passport.
  test::FakeVerifierOptions v;
  v.issued_at = kNow - 301;
  const Registry reg = registry_with(v);
  const FixedClock clock(kNow);
  Policy policy;
  policy.max_evidence_age = 0;
  policy.max_result_age = 300;
  const Bytes spki(91, 0x30);  // the key the EAR names (the fake verifier does not look)
  auto r =
      RelyingParty(reg, clock, policy).accept(evidence_for(kBinder), Expectation::passport(spki));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::EvidenceStale);
  policy.max_result_age = 301;
  EXPECT_TRUE(
      RelyingParty(reg, clock, policy).accept(evidence_for(kBinder), Expectation::passport(spki)));
  policy.max_result_age = 300;
  EXPECT_TRUE(RelyingParty(reg, clock, policy)
                  .accept(evidence_for(kBinder), Expectation::background_check(kBinder)))
      << "the result age bounds passports only";
}

TEST(RelyingParty, TierInsufficientIsTheVerdict) {
  // Warning hardware without a finding: TierInsufficient; with a finding:
  // the finding's code.
  const FixedClock clock(kNow);
  const Policy policy;  // requires affirming
  {
    const Registry reg = registry_with({}, 32);
    const RelyingParty rp(reg, clock, policy);
    auto a = rp.appraise(evidence_for(kBinder), Expectation::background_check(kBinder));
    ASSERT_TRUE(a) << a.error().to_string();
    EXPECT_EQ(a->result.status(), TrustTier::Warning);
    ASSERT_FALSE(a->verdict);
    EXPECT_EQ(a->verdict.error().code, ErrorCode::TierInsufficient);
    auto r = rp.accept(evidence_for(kBinder), Expectation::background_check(kBinder));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TierInsufficient);
  }
  {
    const Registry reg = registry_with({}, 96, Finding{ErrorCode::DebugEnabled, "debug on"});
    auto r = RelyingParty(reg, clock, policy)
                 .accept(evidence_for(kBinder), Expectation::background_check(kBinder));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::DebugEnabled);
  }
  {
    const Registry reg = registry_with({}, 32);
    Policy warning;
    warning.required_tier = TrustTier::Warning;
    EXPECT_TRUE(RelyingParty(reg, clock, warning)
                    .accept(evidence_for(kBinder), Expectation::background_check(kBinder)));
  }
}

TEST(RelyingParty, MachineIdPin) {
  const Registry reg = registry_with({});
  const FixedClock clock(kNow);
  Policy policy;
  policy.machine_ids = {"fake:02"};
  auto r = RelyingParty(reg, clock, policy)
               .accept(evidence_for(kBinder), Expectation::background_check(kBinder));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::MachineIdMismatch);
  policy.machine_ids = {"fake:02", "fake:01"};
  EXPECT_TRUE(RelyingParty(reg, clock, policy)
                  .accept(evidence_for(kBinder), Expectation::background_check(kBinder)));
}

TEST(RelyingParty, VerifierFailureAndUnknownMediaType) {
  test::FakeVerifierOptions v;
  v.fail = ErrorCode::SignatureInvalid;
  const Registry reg = registry_with(v);
  const FixedClock clock(kNow);
  const Policy policy;
  auto r = RelyingParty(reg, clock, policy)
               .accept(evidence_for(kBinder), Expectation::background_check(kBinder));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::SignatureInvalid);
  const Registry empty;
  auto none = RelyingParty(empty, clock, policy)
                  .accept(evidence_for(kBinder), Expectation::background_check(kBinder));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::UnsupportedMediaType);
}

TEST(RelyingParty, SignsAnEarNamingTheAttestedKey) {
  const Registry reg = registry_with({});
  const FixedClock clock(kNow);
  const Policy policy;
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(key);
  auto expect = Expectation::background_check(kBinder);
  expect.context.attested_key_spki = Bytes{1, 2, 3};
  auto a = RelyingParty(reg, clock, policy)
               .appraise(evidence_for(kBinder), std::move(expect), key->get());
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_FALSE(a->result.ear().empty());
  EXPECT_EQ(a->result.valid_until(), kNow + policy.ear.lifetime);
}

}  // namespace
}  // namespace atls
