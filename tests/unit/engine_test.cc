// The connection engine's own defences (docs/threat-model.md): the handshake
// deadline, the host name WebPKI needs, the short ALERT reasons, and the cap
// on DATA held from a peer that has not attested.

#include <atls/atls.h>

#include "src/core/encoding.h"
#include "src/tls/connection.h"
#include "src/tls/frame.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::server_builder;
using test::ServerThread;
using namespace std::chrono_literals;

// --- handshake deadline -------------------------------------------------------

TEST(EngineDeadline, IsOnByDefault) {
  auto config = build_or_fail(Config::builder().peer_attestation(AttestationMode::Off));
  EXPECT_NE(config->describe().find("handshake_timeout_ms = 10000\n"), std::string::npos)
      << config->describe();
}

TEST(EngineDeadline, ServerAcceptGivesUpOnASilentClient) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.peer_attestation(AttestationMode::Off).handshake_timeout(300ms);
  auto server = Server::listen(build_or_fail(sb), "127.0.0.1", 0);
  ASSERT_TRUE(server) << server.error().to_string();
  // A client that connects and never says a word.
  auto silent = internal::tcp_connect("127.0.0.1", server->port());
  ASSERT_TRUE(silent) << silent.error().to_string();
  auto conn = server->accept();
  ::close(*silent);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::HandshakeTimeout) << conn.error().to_string();
}

TEST(EngineDeadline, ClientConnectGivesUpOnASilentServer) {
  // The kernel completes the TCP handshake on a listening socket that never
  // accepts: the TLS handshake then hears nothing.
  auto [lfd, port] = test::listen_local();
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).handshake_timeout(300ms);
  auto conn = Client::connect(build_or_fail(cb), "localhost", port);
  ::close(lfd);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::HandshakeTimeout) << conn.error().to_string();
}

TEST(EngineDeadline, OneSilentClientDoesNotStopTheAcceptLoop) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.peer_attestation(AttestationMode::Off).handshake_timeout(300ms);
  ServerThread srv(build_or_fail(sb), nullptr, 2);
  auto silent = internal::tcp_connect("127.0.0.1", srv.port());
  ASSERT_TRUE(silent);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_EQ(test::round_trip(*conn, to_bytes("after the silent one")),
            to_bytes("after the silent one"));
  (void)conn->close();
  ::close(*silent);
  srv.join();
}

// --- WebPKI needs a host name -------------------------------------------------------------

TEST(EngineHostName, WebPkiClientWithoutAHostNameIsRefused) {
  auto config = build_or_fail(client_builder().peer_attestation(AttestationMode::Required));
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto conn = Client::connect_fd(config, fds[0], "", IoMode::NonBlocking);
  ::close(fds[1]);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::InvalidArgument) << conn.error().to_string();
}

TEST(EngineHostName, AttachSslWithoutAHostNameIsRefused) {
  auto config = build_or_fail(client_builder().peer_attestation(AttestationMode::Required));
  ossl::UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_client_method()));
  ASSERT_TRUE(ctx);
  ASSERT_TRUE(prepare_ssl_ctx(ctx.get(), *config, Role::Client));
  ossl::UniquePtr<SSL> ssl(::SSL_new(ctx.get()));
  auto conn = attach_ssl(ssl.get(), config, Role::Client, "");
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::InvalidArgument) << conn.error().to_string();
}

TEST(EngineHostName, SkippingTheHostNameCheckIsExplicit) {
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).dangerous().skip_hostname_check();
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto conn = Client::connect_fd(build_or_fail(cb), fds[0], "", IoMode::NonBlocking);
  ::close(fds[1]);
  EXPECT_TRUE(conn) << conn.error().to_string();
}

// --- SIGPIPE ----------------------------------------------------------------------------

// The engine's own socket BIO writes with MSG_NOSIGNAL: writing to a peer
// that is gone fails with an error and raises no SIGPIPE (so no signal-mask
// system calls are needed around libssl calls).
TEST(EngineSigpipe, WritingToAGonePeerFailsWithoutSigpipe) {
  ServerThread srv(build_or_fail(server_builder(nullptr).peer_attestation(AttestationMode::Off)),
                   [](Connection& c) { ::shutdown(c.fd(), SHUT_RDWR); });
  auto conn =
      Client::connect(build_or_fail(client_builder().peer_attestation(AttestationMode::Off)),
                      "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  srv.join();
  // Blocked, a SIGPIPE raised by a write would stay pending for this thread.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t old;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &pipe_set, &old), 0);
  const Bytes chunk(4096, 'x');
  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) {
    failed = !conn->write(chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool raised = sigismember(&pending, SIGPIPE) == 1;
  if (raised) {
    const timespec zero{0, 0};
    (void)::sigtimedwait(&pipe_set, nullptr, &zero);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_TRUE(failed) << "writes to a closed peer kept succeeding";
  EXPECT_FALSE(raised) << "a write raised SIGPIPE";
}

// --- ALERT reasons ----------------------------------------------------------------------

// The client refuses the server (its machine id is not pinned); the server
// sees the client's ALERT.
Error alert_seen_by_server(bool detailed) {
  auto bundle = test::make_software_bundle();
  ServerThread srv(build_or_fail(server_builder(bundle.attester)), nullptr);
  test::PolicyOptions po;
  po.machine_ids = {"ueid:0000"};
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle, po))
      .detailed_alerts(detailed);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  EXPECT_FALSE(conn);
  if (conn) {
    return Error{ErrorCode::Ok, ""};
  }
  EXPECT_EQ(conn.error().code, ErrorCode::MachineIdMismatch);
  srv.join();
  // With the server's authenticator pushed in its first flight, the ALERT
  // reaches the server before its handshake() returns (accept fails);
  // answering a request, it reaches the echo session.
  auto errors = srv.errors();
  for (const Error& e : srv.session_errors()) {
    errors.push_back(e);
  }
  EXPECT_EQ(errors.size(), 1u);
  return errors.empty() ? Error{ErrorCode::Ok, ""} : errors.front();
}

TEST(EngineAlert, ReasonIsTheErrorNameByDefault) {
  const Error e = alert_seen_by_server(false);
  EXPECT_EQ(e.code, ErrorCode::PeerAlert) << e.to_string();
  EXPECT_NE(e.detail.find("attestation_failed): MachineIdMismatch"), std::string::npos) << e.detail;
  EXPECT_EQ(e.detail.find("ueid"), std::string::npos) << "local detail leaked: " << e.detail;
}

TEST(EngineAlert, DetailedReasonsAreOptIn) {
  const Error e = alert_seen_by_server(true);
  EXPECT_EQ(e.code, ErrorCode::PeerAlert) << e.to_string();
  EXPECT_NE(e.detail.find("ueid"), std::string::npos) << e.detail;
}

// --- DATA held from an unattested peer ----------------------------------------------------

// A client that never attests streams DATA at a server that requires client
// attestation. The server holds at most about 1 MiB and then stops reading,
// so the client can push little more than that plus the socket buffers
// (both kept small here) before its writes stall.
TEST(EngineHeldData, UnattestedDataIsCappedWellBelowTheDeliveryBuffer) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .attestation_timeout(3000ms);
  auto [lfd, port] = test::listen_local();
  const int small = 32 * 1024;
  ASSERT_EQ(::setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  auto server = Server::from_listen_fd(build_or_fail(sb), lfd);
  ASSERT_TRUE(server) << server.error().to_string();
  std::thread t([&server]() { (void)server->accept(); });

  auto raw_config =
      build_or_fail(client_builder().negotiation(false).peer_attestation(AttestationMode::Off));
  auto peer = test::RawPeer::connect_to(port, raw_config);
  ASSERT_TRUE(peer);
  ASSERT_EQ(::setsockopt(peer->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  const timeval tv{0, 200 * 1000};
  ASSERT_EQ(::setsockopt(peer->fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  ASSERT_TRUE(peer->send_preamble());
  const Bytes chunk = test::pattern(16 * 1024);
  std::size_t sent = 0;
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until && sent < 16 * 1024 * 1024) {
    if (!peer->send_frame(tls::FrameType::Data, chunk)) {
      break;
    }
    sent += chunk.size();
  }
  peer->close();
  t.join();
  EXPECT_LT(sent, 3u * 1024 * 1024) << "the server kept reading unattested DATA";
  EXPECT_GE(sent, 512u * 1024) << "the server read less than it should hold";
}

// An attested client streams DATA at a server whose application reads
// nothing (it only calls process()): the server holds at most about
// receive_buffer_limit and then stops reading its socket, so the client can
// push little more than that plus the (small) socket buffers.
TEST(EngineHeldData, ReceiveBufferLimitBoundsWhatAnIdleApplicationHolds) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.peer_attestation(AttestationMode::Off).receive_buffer_limit(64 * 1024);
  auto [lfd, port] = test::listen_local();
  const int small = 32 * 1024;
  ASSERT_EQ(::setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  auto server = Server::from_listen_fd(build_or_fail(sb), lfd);
  ASSERT_TRUE(server) << server.error().to_string();
  std::atomic<bool> stop{false};
  std::thread t([&server, &stop]() {
    auto conn = server->accept(IoMode::NonBlocking);
    if (!conn) {
      return;
    }
    while (!stop.load()) {
      (void)conn->process();
      std::this_thread::sleep_for(2ms);
    }
  });
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  auto client = Client::connect(build_or_fail(cb), "localhost", port, IoMode::NonBlocking);
  ASSERT_TRUE(client) << client.error().to_string();
  ASSERT_EQ(::setsockopt(client->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  const Bytes chunk = test::pattern(16 * 1024);
  std::size_t sent = 0;
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until && sent < 16 * 1024 * 1024) {
    pollfd p{client->fd(), static_cast<short>(client->want_write() ? POLLOUT : POLLIN), 0};
    ::poll(&p, 1, 20);
    auto h = client->handshake();
    if (!h) {
      continue;
    }
    // Only what left the client's own queue counts.
    if (client->want_write()) {
      (void)client->process();
      continue;
    }
    if (auto w = client->write(chunk)) {
      sent += *w;
    }
  }
  stop.store(true);
  t.join();
  EXPECT_LT(sent, 3u * 1024 * 1024) << "the server kept reading what its application left";
  EXPECT_GE(sent, 64u * 1024);
}

// --- closing a connection ---------------------------------------------------------------

// SlowReader accepts one connection on |server| and reads it to the end,
// slowly, so that the writer's output backs up: it counts the bytes
// and keeps the error that ended the reading (ConnectionClosed: a clean
// close_notify).
class SlowReader {
 public:
  explicit SlowReader(Server& server) : m_thread([this, &server] { run(server); }) {}
  ~SlowReader() {
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }
  void join() { m_thread.join(); }
  std::size_t received() const { return m_received; }
  ErrorCode end() const { return m_end; }

 private:
  void run(Server& server) {
    auto conn = server.accept();
    if (!conn) {
      m_end = conn.error().code;
      return;
    }
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
      auto r = conn->read(buf);
      if (!r) {
        m_end = r.error().code;
        return;
      }
      m_received += *r;
      // Let the writer's output back up: a long pause first, then a short
      // one after every read, so that its socket stays full.
      std::this_thread::sleep_for(m_received < 1024 ? 200ms : 2ms);
    }
  }

  std::size_t m_received = 0;
  ErrorCode m_end = ErrorCode::Ok;
  std::thread m_thread;
};

// An attesting server that does not appraise its client, on a fresh port.
struct CloseFixture {
  test::SoftwareAttesterBundle bundle = test::make_software_bundle();
  std::uint16_t port = 0;
  std::optional<Server> server;

  CloseFixture() {
    auto sb = server_builder(bundle.attester);
    sb.peer_attestation(AttestationMode::Off);
    auto [lfd, p] = test::listen_local();
    port = p;
    const int small = 32 * 1024;
    EXPECT_EQ(::setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    auto s = Server::from_listen_fd(build_or_fail(sb), lfd);
    EXPECT_TRUE(s) << s.error().to_string();
    if (s) {
      server.emplace(std::move(*s));
    }
  }
  Result<Connection> connect(IoMode mode) {
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
    auto c = Client::connect(build_or_fail(cb), "localhost", port, mode);
    if (c) {
      const int small = 32 * 1024;
      EXPECT_EQ(::setsockopt(c->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    }
    return c;
  }
};

// close() on a non-blocking connection with output still queued: the queue
// goes out first, then close_notify, as the caller drives process() while
// want_write(). The peer reads every byte and then a clean end.
TEST(EngineClose, NonBlockingCloseSendsWhatIsQueuedThenCloseNotify) {
  CloseFixture f;
  ASSERT_TRUE(f.server);
  SlowReader reader(*f.server);
  auto client = f.connect(IoMode::NonBlocking);
  ASSERT_TRUE(client) << client.error().to_string();
  auto wait_for = [&client](short events) {
    pollfd p{client->fd(), events, 0};
    ::poll(&p, 1, 50);
  };
  for (auto h = client->handshake(); !h; h = client->handshake()) {
    ASSERT_EQ(h.error().category(), ErrorCategory::WouldBlock) << h.error().to_string();
    wait_for(static_cast<short>(client->want_write() ? POLLOUT : POLLIN));
  }
  const Bytes data = test::pattern(2 * 1024 * 1024);
  std::size_t queued = 0;
  while (queued < data.size()) {
    auto w = client->write(ByteView(data).subspan(queued));
    if (w) {
      queued += *w;
    } else {
      ASSERT_EQ(w.error().category(), ErrorCategory::WouldBlock) << w.error().to_string();
      wait_for(POLLOUT);
    }
  }
  ASSERT_TRUE(client->want_write()) << "nothing left queued: the test proves nothing";
  ASSERT_TRUE(client->close());
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (client->want_write() && std::chrono::steady_clock::now() < until) {
    wait_for(POLLOUT);
    (void)client->process();
  }
  EXPECT_FALSE(client->want_write()) << "output left after close";
  reader.join();
  EXPECT_EQ(reader.received(), data.size());
  EXPECT_EQ(reader.end(), ErrorCode::ConnectionClosed);
}

// How a blocking writer ends its connection after a large write.
enum class Ending { Destructor, ShutdownWrite, ShutdownWriteThenClose, Close };

class EngineBlockingEnd : public ::testing::TestWithParam<Ending> {};

// A blocking write returns once the kernel has every byte (none left in
// the engine or held in its socket BIO, where the destructor or close()
// would lose them), and each way of ending the connection then delivers
// close_notify after them: the peer reads all and a clean end.
TEST_P(EngineBlockingEnd, EveryWrittenByteArrivesThenCloseNotify) {
  CloseFixture f;
  ASSERT_TRUE(f.server);
  SlowReader reader(*f.server);
  const Bytes data = test::pattern(2 * 1024 * 1024);
  {
    auto client = f.connect(IoMode::Blocking);
    ASSERT_TRUE(client) << client.error().to_string();
    auto w = client->write(data);
    ASSERT_TRUE(w) << w.error().to_string();
    EXPECT_EQ(*w, data.size());
    switch (GetParam()) {
      case Ending::Destructor:
        break;
      case Ending::ShutdownWrite:
        ASSERT_TRUE(client->shutdown_write());
        break;
      case Ending::ShutdownWriteThenClose:
        ASSERT_TRUE(client->shutdown_write());
        ASSERT_TRUE(client->close());
        break;
      case Ending::Close:
        ASSERT_TRUE(client->close());
        break;
    }
  }
  reader.join();
  EXPECT_EQ(reader.received(), data.size());
  EXPECT_EQ(reader.end(), ErrorCode::ConnectionClosed);
}

INSTANTIATE_TEST_SUITE_P(Endings, EngineBlockingEnd,
                         ::testing::Values(Ending::Destructor, Ending::ShutdownWrite,
                                           Ending::ShutdownWriteThenClose, Ending::Close),
                         [](const ::testing::TestParamInfo<Ending>& p) {
                           switch (p.param) {
                             case Ending::Destructor:
                               return "Destructor";
                             case Ending::ShutdownWrite:
                               return "ShutdownWrite";
                             case Ending::ShutdownWriteThenClose:
                               return "ShutdownWriteThenClose";
                             case Ending::Close:
                               break;
                           }
                           return "Close";
                         });

}  // namespace
}  // namespace atls
