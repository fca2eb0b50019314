// The evidence attacks of tls_attack_test.cc and of the security matrix
// (tests/testlib/post_handshake_attacks.h) with the tpm2 attester on a
// real (simulated) TPM: Evidence for another binder, Evidence replayed from
// another connection, and Evidence for another key are refused with
// NonceMismatch, because the quote's extraData is the binder.

#include <atls/atls.h>

#include "src/ossl/x509.h"
#include "src/tls/config.h"
#include "src/tls/frame.h"
#include "tests/testlib/attack_fixture.h"
#include "tests/testlib/post_handshake_attacks.h"
#include "tests/testlib/swtpm_attester.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>

namespace atls {
namespace {

using test::AttackFixture;
using test::expect_code;
using test::RawPeer;

// A swtpm and its tpm2 attester, and a fixture whose victim trusts its AK.
struct TpmAttack {
  test::SwtpmAttester tpm;
  std::optional<AttackFixture> fixture;

  static std::unique_ptr<TpmAttack> make() {
    auto tpm = test::start_swtpm_attester();
    if (!tpm) {
      return nullptr;
    }
    auto t = std::make_unique<TpmAttack>();
    t->tpm = std::move(*tpm);
    nlohmann::json policy;
    policy["required_tier"] = "warning";
    policy["schemes"] = {{std::string(kMediaTypeTpmQuote),
                          {{"trust", {{"ak_keys", {t->tpm.ak_pem}}}},
                           {"reference", {{"dangerous_any_measurement", true}}}}}};
    t->fixture.emplace(t->tpm.attester, policy.dump());
    return t;
  }
};

#define ATLS_NEED_SWTPM()                  \
  if (!test::swtpm_available()) {          \
    GTEST_SKIP() << "swtpm not installed"; \
  }                                        \
  auto t = TpmAttack::make();              \
  ASSERT_TRUE(t);                          \
  AttackFixture& f = *t->fixture

TEST(TlsAttackTpm, GenuineQuoteIsAccepted) {
  ATLS_NEED_SWTPM();
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    peer.send_frame(tls::FrameType::Authenticator, f.genuine_answer(peer, req));
  });
  // The attacker closes after answering: the read in run() sees the close.
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::ConnectionClosed) << r.error().to_string();
}

TEST(TlsAttackTpm, QuoteMadeForAnotherBinderIsRejected) {
  ATLS_NEED_SWTPM();
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    const auto& cs = internal::config_state(*f.attacker);
    const Bytes spki = ossl::cert_spki_der(cs.chain.front().get()).value();
    const Bytes cmw = test::attest_cmw(*f.attester, peer.binder(spki, Bytes(32, 0x01)), spki);
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.answer(req, cs.chain_der, cs.key.get(), cmw, *f.attacker));
  });
  expect_code(r, ErrorCode::NonceMismatch);
}

TEST(TlsAttackTpm, QuoteReplayedFromAnotherConnectionIsRejected) {
  ATLS_NEED_SWTPM();
  expect_code(test::replay_evidence(f, test::Delivery::Request), ErrorCode::NonceMismatch);
}

TEST(TlsAttackTpm, QuoteForKeyAWithAnAuthenticatorForKeyBIsRejected) {
  ATLS_NEED_SWTPM();
  expect_code(test::substitute_key(f, test::Delivery::Request), ErrorCode::NonceMismatch);
}

}  // namespace
}  // namespace atls
