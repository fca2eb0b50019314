// The relying-party half of a connection over time: under the async policy
// nothing from the peer reaches the application after valid_until while the
// renewal is still being appraised (docs/threat-model.md, finding 5).

#include <atls/atls.h>

#include "src/core/encoding.h"
#include "tests/testlib/fake_plugins.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::server_builder;
using test::ServerThread;
using namespace std::chrono_literals;

// GateAppraiser appraises like FakeAppraiser; once closed, it holds every
// appraisal until open() (entered() tells that one is waiting).
class GateAppraiser final : public Appraiser {
 public:
  std::string_view name() const override { return "gate"; }
  std::vector<std::string> accepted_types() const override { return m_inner.accepted_types(); }
  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& e,
                                                const nlohmann::json& reference) const override {
    std::unique_lock<std::mutex> lock(m_mu);
    if (m_closed) {
      m_entered = true;
      m_cv.notify_all();
      m_cv.wait(lock, [this]() { return !m_closed; });
    }
    return m_inner.appraise(e, reference);
  }
  Result<void> check_reference_section(const nlohmann::json& r) const override {
    return m_inner.check_reference_section(r);
  }
  void close() {
    std::lock_guard<std::mutex> lock(m_mu);
    m_closed = true;
  }
  void open() {
    std::lock_guard<std::mutex> lock(m_mu);
    m_closed = false;
    m_cv.notify_all();
  }
  bool entered() const {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_entered;
  }

 private:
  test::FakeAppraiser m_inner;
  mutable std::mutex m_mu;
  mutable std::condition_variable m_cv;
  bool m_closed = false;
  mutable bool m_entered = false;
};

// The server sends "tick" every 20 ms (which also keeps it answering
// requests) until the client goes away.
void ticker(Connection& conn) {
  const Bytes tick = to_bytes("tick");
  while (conn.write(tick)) {
    std::this_thread::sleep_for(20ms);
  }
}

TEST(RelyingPartySide, NothingIsDeliveredPastValidUntilWhileTheRenewalIsAppraised) {
  auto gate = std::make_shared<GateAppraiser>();
  auto clock = std::make_shared<test::MutableClock>(static_cast<std::int64_t>(std::time(nullptr)));
  ServerThread srv(build_or_fail(server_builder(std::make_shared<test::FakeAttester>())), ticker);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .add_verifier(std::make_shared<test::FakeVerifier>(), gate)
      .async_attestation_policy(true)
      .reattest_interval(60s)
      .clock(clock);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  std::uint8_t buf[64];
  auto read_until = [&](const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < until) {
      ASSERT_TRUE(conn->read(buf));
    }
    ASSERT_TRUE(done());
  };
  read_until([&]() { return conn->attestation_count() == 1; });
  const std::int64_t valid_until = conn->peer_result()->valid_until();

  // Into the renewal window: the renewal's appraisal starts and is held.
  gate->close();
  clock->set(valid_until - 5);
  read_until([&]() { return gate->entered(); });
  // valid_until passes while it is held.
  clock->set(valid_until + 1);
  EXPECT_FALSE(conn->is_attested());
  std::thread release([&]() {
    std::this_thread::sleep_for(600ms);
    gate->open();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto n = conn->read(buf);  // ticks keep arriving; none may be delivered yet
  const auto waited = std::chrono::steady_clock::now() - t0;
  release.join();
  ASSERT_TRUE(n) << n.error().to_string();
  EXPECT_GE(waited, 500ms)
      << "DATA was delivered past valid_until before the renewal was appraised";
  EXPECT_EQ(conn->attestation_count(), 2u);
  EXPECT_TRUE(conn->is_attested());
  (void)conn->close();
}

// A pushed authenticator (docs/wire-profile.md §1.9) whose appraisal runs
// on a worker (async policy) and never ends is still bounded by
// attestation_timeout: the push counts as awaited until it is appraised.
TEST(RelyingPartySide, AnAsyncAppraisalOfAPushIsBoundedByTheAttestationTimeout) {
  auto gate = std::make_shared<GateAppraiser>();
  gate->close();
  ServerThread srv(build_or_fail(server_builder(std::make_shared<test::FakeAttester>())), ticker);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .add_verifier(std::make_shared<test::FakeVerifier>(), gate)
      .async_attestation_policy(true)
      .attestation_timeout(400ms);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();  // the async policy: established early
  EXPECT_TRUE(conn->peer_pushed() || conn->attestation_count() == 0);
  std::uint8_t buf[64];
  // The appraisal is released after 3 s: a read that waits that long was
  // not bounded by the 400 ms timeout.
  std::thread release([&]() {
    std::this_thread::sleep_for(3s);
    gate->open();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto n = conn->read(buf);
  const auto waited = std::chrono::steady_clock::now() - t0;
  release.join();
  EXPECT_LT(waited, 2500ms);
  ASSERT_FALSE(n) << "the read waited for the appraisal";
  EXPECT_EQ(n.error().code, ErrorCode::AttestationTimeout) << n.error().to_string();
}

}  // namespace
}  // namespace atls
