// The attester half of a connection under a peer that asks too much
// (docs/threat-model.md, request flood): one outstanding request, a minimum
// interval between answers, and a TPM that one peer cannot monopolise.

#include <atls/atls.h>

#include "src/tls/authenticator.h"
#include "src/tls/frame.h"
#include "tests/testlib/swtpm_attester.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::RawPeer;
using test::server_builder;
using test::ServerThread;
using namespace std::chrono_literals;

// A raw relying party (client) on |port|: it has exchanged preambles and
// sends requests by hand.
struct RawRp {
  std::shared_ptr<const Config> config =
      build_or_fail(client_builder().peer_attestation(AttestationMode::Required));
  std::unique_ptr<RawPeer> peer;

  explicit RawRp(std::uint16_t port) {
    peer = RawPeer::connect_to(port, config);
    if (peer) {
      peer->send_preamble();
      if (!peer->read_preamble()) {
        peer.reset();
      }
    }
  }
  bool request() {
    Bytes context(32);
    ::RAND_bytes(context.data(), static_cast<int>(context.size()));
    return peer->send_frame(tls::FrameType::AuthRequest, peer->request(context, *config).raw);
  }
};

std::shared_ptr<const Config> attesting_server(std::shared_ptr<Attester> attester,
                                               std::chrono::milliseconds interval = 1000ms) {
  auto sb = server_builder(std::move(attester));
  // Requests only: these tests pace the answers to requests, not a push.
  sb.peer_attestation(AttestationMode::Off)
      .min_reattestation_interval(interval)
      .first_flight_attestation(false);
  return build_or_fail(sb);
}

TEST(AttesterSide, ASecondOutstandingRequestIsRejected) {
  auto bundle = test::make_software_bundle();
  ServerThread srv(attesting_server(bundle.attester), nullptr);
  RawRp rp(srv.port());
  ASSERT_TRUE(rp.peer);
  // A burst of requests: the flood that made a server sign one
  // authenticator per request.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(rp.request());
  }
  int authenticators = 0;
  std::optional<tls::Alert> alert;
  while (auto f = rp.peer->read_frame(3000)) {
    if (f->type == tls::FrameType::Authenticator) {
      ++authenticators;
    } else if (f->type == tls::FrameType::Alert) {
      alert = tls::parse_alert(f->body).value();
    }
  }
  EXPECT_EQ(authenticators, 1);
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->code, tls::AlertCode::UnexpectedMessage);
  srv.join();
  auto errors = srv.session_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors.front().code, ErrorCode::UnexpectedFrame) << errors.front().to_string();
}

TEST(AttesterSide, ReattestationIsAnsweredNoSoonerThanTheMinimumInterval) {
  auto bundle = test::make_software_bundle();
  ServerThread srv(attesting_server(bundle.attester, 400ms), nullptr);
  RawRp rp(srv.port());
  ASSERT_TRUE(rp.peer);
  ASSERT_TRUE(rp.request());
  auto first = rp.peer->read_frame(3000);
  ASSERT_TRUE(first && first->type == tls::FrameType::Authenticator);
  const auto answered = std::chrono::steady_clock::now();
  ASSERT_TRUE(rp.request());  // at once: one outstanding request, so allowed
  auto second = rp.peer->read_frame(3000);
  ASSERT_TRUE(second && second->type == tls::FrameType::Authenticator);
  EXPECT_GE(std::chrono::steady_clock::now() - answered, 350ms) << "answered before the interval";
  rp.peer->close();
  srv.join();
}

// One peer re-attesting as fast as the protocol lets it gets about one
// answer per interval, and another peer's first attestation from the same
// TPM goes through meanwhile.
TEST(AttesterSide, OnePeerCannotMonopoliseTheTpm) {
  if (!test::swtpm_available()) {
    GTEST_SKIP() << "swtpm not installed";
  }
  auto tpm = test::start_swtpm_attester();
  ASSERT_TRUE(tpm);
  ServerThread srv(attesting_server(tpm->attester, 500ms), nullptr, 2, /*concurrent=*/true);

  RawRp flooder(srv.port());
  ASSERT_TRUE(flooder.peer);
  std::atomic<int> answers{0};
  std::atomic<bool> stop{false};
  std::thread flood([&]() {
    while (!stop && flooder.request()) {
      auto f = flooder.peer->read_frame(3000);
      if (!f || f->type != tls::FrameType::Authenticator) {
        break;
      }
      ++answers;
    }
  });
  std::this_thread::sleep_for(200ms);
  RawRp other(srv.port());
  ASSERT_TRUE(other.peer);
  ASSERT_TRUE(other.request());
  auto f = other.peer->read_frame(2000);
  EXPECT_TRUE(f && f->type == tls::FrameType::Authenticator)
      << "the second peer's first attestation timed out";
  std::this_thread::sleep_for(1000ms);
  stop = true;
  flooder.peer->close();
  other.peer->close();
  flood.join();
  srv.join();
  // 1.2 s at one answer per 500 ms, plus the first answer.
  EXPECT_GE(answers.load(), 2);
  EXPECT_LE(answers.load(), 4);
}

// A re-attestation while the TPM is gone is held, not refused with an alert
// that would end the connection (the relying party's earlier appraisal stays
// valid until it expires), and it is answered on the same connection once
// the TPM is back.
TEST(AttesterSide, ReattestationWaitsForTheTpmToComeBack) {
  if (!test::swtpm_available()) {
    GTEST_SKIP() << "swtpm not installed";
  }
  auto tpm = test::start_swtpm_attester();
  ASSERT_TRUE(tpm);
  ServerThread srv(attesting_server(tpm->attester, 100ms), nullptr);
  RawRp rp(srv.port());
  ASSERT_TRUE(rp.peer);
  ASSERT_TRUE(rp.request());
  auto first = rp.peer->read_frame(3000);
  ASSERT_TRUE(first && first->type == tls::FrameType::Authenticator);

  tpm->tpm->kill();
  ASSERT_TRUE(rp.request());
  // No alert and no close while the TPM is gone (two retries' worth).
  auto none = rp.peer->read_frame(2500);
  EXPECT_FALSE(none) << "frame type " << static_cast<int>(none->type);
  ASSERT_TRUE(tpm->tpm->restart());
  auto second = rp.peer->read_frame(5000);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->type, tls::FrameType::Authenticator);
  rp.peer->close();
  srv.join();
  EXPECT_TRUE(srv.session_errors().empty()) << srv.session_errors().front().to_string();
}

}  // namespace
}  // namespace atls
