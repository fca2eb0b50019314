// The tpm2 attester outlives its connection to the TPM (src/plugins/tpm2):
// against a private swtpm that is killed (SIGKILL, as a crash) and started
// again on the same port with the same state directory, attestations fail
// at once with TpmUnavailable while it is gone, and recover with the same
// persistent AK, so the relying party's pin still holds, without a new
// attester.

#include "src/plugins/tpm2/tpm2.h"

#include "src/core/encoding.h"
#include "tests/testlib/process.h"
#include "tools/swtpm_process.h"

#include <atls/clock.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace atls {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

class Tpm2Recover : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tools::SwtpmProcess::available()) {
      GTEST_SKIP() << "swtpm is not installed";
    }
    // A swtpm of our own: the tests kill it.
    auto tpm = tools::SwtpmProcess::start();
    ASSERT_TRUE(tpm) << tpm.error().to_string();
    m_tpm = std::move(*tpm);
    Tpm2AttesterConfig config;
    config.tcti = m_tpm->tcti();
    config.pcrs = {0, 7};
    auto a = make_tpm2_attester(config);
    ASSERT_TRUE(a) << a.error().to_string();
    m_attester = std::move(*a);
    m_ak_pem = *tpm2_attester_ak_pem(*m_attester);
  }

  Result<Evidence> attest(std::uint8_t fill) {
    AttestationRequest req;
    req.nonce = Bytes(32, fill);
    return m_attester->attest(req);
  }

  // verifies reports whether |e| verifies as a quote over nonce |fill| by
  // the AK pinned at the start.
  bool verifies(const Evidence& e, std::uint8_t fill) {
    FixedClock clock(1704067200);
    VerifyContext ctx;
    ctx.clock = &clock;
    ctx.expected_nonce = Bytes(32, fill);
    ctx.trust_anchors = {to_bytes(m_ak_pem)};
    auto c = make_tpm2_verifier()->verify(e, ctx);
    EXPECT_TRUE(c) << c.error().to_string();
    return c.has_value();
  }

  // attest_after_reconnect attests until an attestation gets past the
  // reconnect rate limit with the TPM reachable (at most 10 s).
  Result<Evidence> attest_after_reconnect(std::uint8_t fill) {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    for (;;) {
      auto r = attest(fill);
      if (r || SteadyClock::now() > deadline ||
          (r.error().code != ErrorCode::TpmUnavailable &&
           r.error().detail.find("next reconnect in") == std::string::npos)) {
        return r;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  // tools runs a tpm2-tools command line against the swtpm.
  int tools(const std::string& cmd) {
    const std::string full =
        "export TPM2TOOLS_TCTI='" + m_tpm->tcti() + "'; { " + cmd + "; } >/dev/null 2>&1";
    return std::system(full.c_str());
  }

  std::unique_ptr<tools::SwtpmProcess> m_tpm;
  std::unique_ptr<Attester> m_attester;
  std::string m_ak_pem;
};

TEST_F(Tpm2Recover, KilledTpmFailsFastThenRecoversWithTheSameAk) {
  auto e = attest(1);
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_TRUE(verifies(*e, 1));

  m_tpm->kill();
  // The first attestation after the kill finds the connection gone: a
  // specific error naming the TCTI, at once (no connect timeout).
  auto t0 = SteadyClock::now();
  auto r = attest(2);
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(1000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::TpmUnavailable) << r.error().to_string();
  EXPECT_NE(r.error().detail.find(m_tpm->tcti()), std::string::npos) << r.error().detail;

  // Within the reconnect interval the others fail at once without trying,
  // also from several threads at a time.
  std::vector<Result<Evidence>> results(4, Error{ErrorCode::Internal, "not run"});
  std::vector<std::thread> threads;
  t0 = SteadyClock::now();
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = attest(static_cast<std::uint8_t>(i)); });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(500));
  for (const auto& res : results) {
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::TpmUnavailable);
    EXPECT_NE(res.error().detail.find("next reconnect in"), std::string::npos)
        << res.error().detail;
  }

  // swtpm back on the same port and state: within a few reconnect
  // intervals, the same attester quotes again with the pinned AK.
  const Bytes ak_before = *tpm2_attester_ak_public(*m_attester);
  ASSERT_TRUE(m_tpm->restart());
  auto again = attest_after_reconnect(3);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(verifies(*again, 3));
  EXPECT_EQ(*tpm2_attester_ak_public(*m_attester), ak_before);
  auto next = attest(4);
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_TRUE(verifies(*next, 4));
}

TEST_F(Tpm2Recover, NoSilentNewAkAfterTheTpmLostIt) {
  if (std::system("command -v tpm2_evictcontrol >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tpm2-tools not installed";
  }
  m_tpm->kill();
  ASSERT_FALSE(attest(1));
  ASSERT_TRUE(m_tpm->restart());
  // The AK is gone from the TPM (as after TPM2_Clear): the reconnect must
  // neither create another key behind the pins nor report the TPM missing.
  ASSERT_EQ(tools("tpm2_evictcontrol -C o -c 0x81010002"), 0);
  auto r = attest_after_reconnect(2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::AttesterFailure) << r.error().to_string();
  EXPECT_NE(r.error().detail.find("0x81010002"), std::string::npos) << r.error().detail;
  EXPECT_NE(tools("tpm2_readpublic -c 0x81010002"), 0) << "a new AK was persisted";

  // Another restricted signing key at the handle is refused too.
  test::TempDir dir;
  const std::string flush = " && tpm2_flushcontext -t";
  ASSERT_EQ(tools("cd '" + dir.path() + "' && tpm2_createprimary -C o -G ecc -c prim.ctx" + flush +
                  " && tpm2_create -C prim.ctx -G ecc256:ecdsa-sha256:null -a "
                  "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' "
                  "-u ak.pub -r ak.priv" +
                  flush + " && tpm2_load -C prim.ctx -u ak.pub -r ak.priv -c ak.ctx" +
                  " && tpm2_evictcontrol -C o -c ak.ctx 0x81010002" + flush),
            0);
  r = attest_after_reconnect(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::AttesterFailure) << r.error().to_string();
  EXPECT_NE(r.error().detail.find("not the one"), std::string::npos) << r.error().detail;
}

TEST_F(Tpm2Recover, UnreachableAtStartIsTpmUnavailable) {
  Tpm2AttesterConfig config;
  config.tcti = m_tpm->tcti();
  m_tpm->kill();
  const auto t0 = SteadyClock::now();
  auto a = make_tpm2_attester(config);
  EXPECT_LT(SteadyClock::now() - t0, milliseconds(1000));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::TpmUnavailable) << a.error().to_string();
  EXPECT_NE(a.error().detail.find(config.tcti), std::string::npos) << a.error().detail;
}

}  // namespace
}  // namespace atls
