// Deferred attestation work (Connection::defer_attestation_work): an event
// loop keeps producing Evidence and appraising it off its I/O thread. Both
// ends here are driven by hand in non-blocking mode on one thread (the "I/O
// thread"); a second thread runs run_attestation_work().

#include <atls/atls.h>

#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::server_builder;

// RecordingAttester forwards to a real attester and records the threads it
// was called on.
class RecordingAttester : public Attester {
 public:
  explicit RecordingAttester(std::shared_ptr<Attester> inner) : m_inner(std::move(inner)) {}
  std::string_view name() const override { return m_inner->name(); }
  std::string_view media_type() const override { return m_inner->media_type(); }
  Result<Evidence> attest(const AttestationRequest& request) override {
    m_threads.push_back(std::this_thread::get_id());
    return m_inner->attest(request);
  }
  std::vector<std::thread::id> threads() const { return m_threads; }

 private:
  std::shared_ptr<Attester> m_inner;
  std::vector<std::thread::id> m_threads;
};

bool would_block(const Result<void>& r) {
  return !r && r.error().category() == ErrorCategory::WouldBlock;
}

// Drive both handshakes on this thread; deferred work runs on another.
// Returns how many times work was handed over per side.
struct Driven {
  int client_handoffs = 0;
  int server_handoffs = 0;
  bool client_result_before_work = false;
};

Driven drive(Connection& client, Connection& server) {
  Driven d;
  bool c_done = false;
  bool s_done = false;
  for (int i = 0; i < 2000 && !(c_done && s_done); ++i) {
    for (auto [conn, done, handoffs] : {std::tuple{&client, &c_done, &d.client_handoffs},
                                        std::tuple{&server, &s_done, &d.server_handoffs}}) {
      if (*done) {
        (void)conn->process();
        continue;
      }
      auto r = conn->handshake();
      if (r) {
        *done = true;
        continue;
      }
      if (!would_block(r)) {
        ADD_FAILURE() << r.error().to_string();
        return d;
      }
      if (conn->attestation_work_pending()) {
        if (conn == &client && conn->peer_result() != nullptr) {
          d.client_result_before_work = true;
        }
        ++*handoffs;
        auto w = std::async(std::launch::async, [conn] { return conn->run_attestation_work(); });
        auto wr = w.get();
        EXPECT_TRUE(wr || wr.error().category() == ErrorCategory::WouldBlock)
            << wr.error().to_string();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(c_done && s_done) << "handshakes did not finish";
  return d;
}

TEST(DeferredWork, EvidenceAndAppraisalRunOffTheIoThread) {
  auto bundle = test::make_software_bundle();
  auto server_attester = std::make_shared<RecordingAttester>(bundle.attester);
  auto client_attester = std::make_shared<RecordingAttester>(bundle.attester);
  auto sb = server_builder(server_attester);
  sb.peer_attestation(AttestationMode::Required)
      .peer_certificate_policy(PeerCertificatePolicy::AttestationOnly)
      .policy_json(test::software_policy(bundle));
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .attester(client_attester)
      .attestation_only_identity("client");
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto client = Client::connect_fd(build_or_fail(cb), fds[0], "localhost", IoMode::NonBlocking);
  ASSERT_TRUE(client) << client.error().to_string();
  auto sconn = [&]() -> Result<Connection> {
    auto [lfd, port] = test::listen_local();
    auto srv = Server::from_listen_fd(build_or_fail(sb), lfd);
    if (!srv) {
      return srv.error();
    }
    return srv->accept_fd(fds[1], IoMode::NonBlocking);
  }();
  ASSERT_TRUE(sconn) << sconn.error().to_string();
  ASSERT_TRUE(client->defer_attestation_work(true));
  ASSERT_TRUE(sconn->defer_attestation_work(true));

  const Driven d = drive(*client, *sconn);
  EXPECT_GE(d.client_handoffs, 1);
  EXPECT_GE(d.server_handoffs, 1);
  EXPECT_FALSE(d.client_result_before_work) << "appraised on the I/O thread";
  ASSERT_NE(client->peer_result(), nullptr);
  ASSERT_NE(sconn->peer_result(), nullptr);
  const auto io = std::this_thread::get_id();
  for (const auto& id : server_attester->threads()) {
    EXPECT_NE(id, io) << "the server produced Evidence on the I/O thread";
  }
  for (const auto& id : client_attester->threads()) {
    EXPECT_NE(id, io) << "the client produced Evidence on the I/O thread";
  }
  EXPECT_EQ(server_attester->threads().size(), 1u);
  EXPECT_EQ(client_attester->threads().size(), 1u);
}

TEST(DeferredWork, WithoutDeferralNothingIsPending) {
  auto bundle = test::make_software_bundle();
  auto server_attester = std::make_shared<RecordingAttester>(bundle.attester);
  auto sb = server_builder(server_attester);
  sb.peer_attestation(AttestationMode::Off);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto client = Client::connect_fd(build_or_fail(cb), fds[0], "localhost", IoMode::NonBlocking);
  ASSERT_TRUE(client);
  auto [lfd, port] = test::listen_local();
  auto srv = Server::from_listen_fd(build_or_fail(sb), lfd);
  ASSERT_TRUE(srv);
  auto sconn = srv->accept_fd(fds[1], IoMode::NonBlocking);
  ASSERT_TRUE(sconn);
  const Driven d = drive(*client, *sconn);
  EXPECT_EQ(d.client_handoffs + d.server_handoffs, 0);
  ASSERT_EQ(server_attester->threads().size(), 1u);
  EXPECT_EQ(server_attester->threads()[0], std::this_thread::get_id());
}

TEST(DeferredWork, NeedsNonBlockingMode) {
  auto bundle = test::make_software_bundle();
  test::ServerThread srv(build_or_fail(server_builder(bundle.attester)), nullptr);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  auto r = conn->defer_attestation_work(true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  (void)conn->close();
  srv.join();
}

}  // namespace
}  // namespace atls
