// End-to-end tests of attested connections (docs/wire-profile.md §1): server,
// client and mutual attestation over loopback sockets and BIO pairs, DATA
// round trips, re-attestation, fallback to plain TLS, non-blocking use, the
// async policy, passports and the tpm2 attester.

#include <atls/atls.h>
#include <atls/openssl.h>

#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/plugins/tpm2/tpm2.h"
#include "src/tls/connection.h"
#include "tests/testlib/swtpm_attester.h"
#include "tests/testlib/tls_harness.h"
#include "tools/swtpm_process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::pattern;
using test::round_trip;
using test::server_builder;
using test::ServerThread;

struct ServerAttested {
  test::SoftwareAttesterBundle bundle = test::make_software_bundle();
  std::shared_ptr<const Config> server;
  std::shared_ptr<const Config> client;

  explicit ServerAttested(test::PolicyOptions po = {}) {
    auto sb = server_builder(bundle.attester);
    server = build_or_fail(sb);
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle, po));
    client = build_or_fail(cb);
  }
};

TEST(TlsConnection, ServerAttestationBackgroundCheckOverSockets) {
  ServerAttested f(
      test::PolicyOptions{{}, test::make_software_bundle().executable_sha256, 300, 3600});
  ServerThread srv(f.server, test::echo_handler);
  auto conn = Client::connect(f.client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  EXPECT_FALSE(conn->is_plain_tls());
  const AttestationResult* r = conn->peer_result();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->machine_id(), f.bundle.machine_id);
  EXPECT_EQ(r->status(), TrustTier::Warning);  // software evidence: hardware is at most warning
  EXPECT_EQ(r->media_type(), kMediaTypeEatCwt);
  EXPECT_GT(r->valid_until(), r->verified_at());
  const Bytes msg = to_bytes("hello, attested world");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  ASSERT_TRUE(conn->close());
  srv.join();
  EXPECT_TRUE(srv.errors().empty());
}

TEST(TlsConnection, ServerAttestationOverIpAddressName) {
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler);
  auto conn = Client::connect(f.client, "127.0.0.1", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
}

TEST(TlsConnection, ServerAttestationOverBioPair) {
  ServerAttested f;
  auto p = test::BioPair::make(f.client, f.server);
  ASSERT_TRUE(p);
  // The RP sends no application byte before the peer is attested.
  auto early = p->client->write(to_bytes("too early"));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::WouldBlock);
  auto [rc, rs] = p->handshake();
  ASSERT_TRUE(rc) << rc.error().to_string();
  ASSERT_TRUE(rs) << rs.error().to_string();
  EXPECT_TRUE(p->client->is_attested());
  const Bytes msg = to_bytes("over a BIO pair");
  ASSERT_TRUE(p->client->write(msg));
  Bytes got;
  std::uint8_t buf[256];
  for (int i = 0; i < 1000 && got.size() < msg.size(); ++i) {
    (void)p->client->process();
    auto n = p->server->read(buf);
    if (n) {
      got.insert(got.end(), buf, buf + *n);
    } else {
      ASSERT_EQ(n.error().code, ErrorCode::WouldBlock) << n.error().to_string();
    }
  }
  EXPECT_EQ(got, msg);
}

// A server that accepts only P-256 key shares makes the client retry
// (HelloRetryRequest); the negotiation extension survives the second
// ClientHello and attestation proceeds.
TEST(TlsConnection, HelloRetryRequest) {
  ServerAttested f;
  ossl::UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_server_method()));
  ASSERT_TRUE(prepare_ssl_ctx(ctx.get(), *f.server, Role::Server));
  ASSERT_EQ(::SSL_CTX_set1_groups_list(ctx.get(), "P-256"), 1);
  auto p = test::BioPair::make(f.client, f.server, "localhost", ctx.get());
  ASSERT_TRUE(p);
  auto [rc, rs] = p->handshake();
  ASSERT_TRUE(rc) << rc.error().to_string();
  ASSERT_TRUE(rs) << rs.error().to_string();
  EXPECT_TRUE(p->client->is_attested());
}

TEST(TlsConnection, ClientAttestation) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(nullptr);
  sb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  auto server = build_or_fail(sb);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Off).attester(bundle.attester);
  auto client = build_or_fail(cb);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_FALSE(conn->is_attested());  // the client does not appraise the server
  const Bytes msg = to_bytes("client attested");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  ASSERT_TRUE(conn->close());
  srv.join();
  EXPECT_TRUE(srv.errors().empty()) << srv.errors().front().to_string();
  ASSERT_EQ(srv.machine_ids().size(), 1u);
  EXPECT_EQ(srv.machine_ids()[0], bundle.machine_id);
}

TEST(TlsConnection, MutualAttestation) {
  auto server_bundle = test::make_software_bundle();
  auto client_bundle = test::make_software_bundle();
  auto sb = server_builder(server_bundle.attester);
  sb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(client_bundle));
  auto server = build_or_fail(sb);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(server_bundle))
      .attester(client_bundle.attester);
  auto client = build_or_fail(cb);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  const Bytes msg = to_bytes("mutual");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  ASSERT_TRUE(conn->close());
  srv.join();
  EXPECT_TRUE(srv.errors().empty()) << srv.errors().front().to_string();
  EXPECT_EQ(srv.machine_ids().size(), 1u);
}

TEST(TlsConnection, MutualAttestationOverBioPair) {
  auto server_bundle = test::make_software_bundle();
  auto client_bundle = test::make_software_bundle();
  auto sb = server_builder(server_bundle.attester);
  sb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(client_bundle));
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(server_bundle))
      .attester(client_bundle.attester);
  auto p = test::BioPair::make(build_or_fail(cb), build_or_fail(sb));
  ASSERT_TRUE(p);
  auto [rc, rs] = p->handshake();
  ASSERT_TRUE(rc) << rc.error().to_string();
  ASSERT_TRUE(rs) << rs.error().to_string();
  EXPECT_TRUE(p->client->is_attested());
  EXPECT_TRUE(p->server->is_attested());
}

TEST(TlsConnection, LargeDataRoundTrip) {
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler);
  auto conn = Client::connect(f.client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  // Echo in pieces so neither side's socket buffers fill with unread data.
  const Bytes data = pattern(3 * 1024 * 1024 + 17);
  Bytes got;
  for (std::size_t off = 0; off < data.size(); off += 256 * 1024) {
    const std::size_t n = std::min<std::size_t>(256 * 1024, data.size() - off);
    Bytes part = round_trip(*conn, ByteView(data).subspan(off, n));
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, data);
}

TEST(TlsConnection, HalfCloseLetsThePeerAnswerAfterOurEnd) {
  // The server behaves like `wc -c`: it reads to the end of the client's
  // direction, then answers on its own, which is still open.
  ServerAttested f;
  std::atomic<std::size_t> counted{0};
  ServerThread srv(f.server, [&](Connection& c) {
    std::uint8_t buf[4096];
    std::size_t n = 0;
    for (;;) {
      auto r = c.read(buf);
      if (!r) {
        EXPECT_EQ(r.error().code, ErrorCode::ConnectionClosed) << r.error().to_string();
        break;
      }
      n += *r;
    }
    counted = n;
    const std::string answer = std::to_string(n);
    ASSERT_TRUE(c.write(to_bytes(answer)));
    ASSERT_TRUE(c.close());
  });
  auto conn = Client::connect(f.client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  const Bytes data = pattern(100000);
  ASSERT_TRUE(conn->write(data));
  ASSERT_TRUE(conn->shutdown_write());
  // Our direction is closed; the peer's is not.
  auto w = conn->write(to_bytes("late"));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::ConnectionClosed);
  std::string answer;
  std::uint8_t buf[64];
  for (;;) {
    auto r = conn->read(buf);
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::ConnectionClosed) << r.error().to_string();
      break;
    }
    answer.append(reinterpret_cast<const char*>(buf), *r);
  }
  EXPECT_EQ(answer, "100000");
  EXPECT_EQ(counted.load(), data.size());
  ASSERT_TRUE(conn->close());
  srv.join();
  EXPECT_TRUE(srv.errors().empty());
}

TEST(TlsConnection, ReattestationOnALiveConnectionWithInjectedClock) {
  auto clock = std::make_shared<test::MutableClock>(static_cast<std::int64_t>(std::time(nullptr)));
  auto bundle = test::make_software_bundle(clock.get());
  auto sb = server_builder(bundle.attester);
  auto server = build_or_fail(sb);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle, test::PolicyOptions{{}, "", 300, 60}))
      .clock(clock);
  auto client = build_or_fail(cb);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  ASSERT_EQ(conn->attestation_count(), 1u);
  const std::int64_t first_until = conn->peer_result()->valid_until();
  EXPECT_EQ(first_until, clock->now() + 60);
  // Move close to valid_until: the client sends a fresh request while DATA
  // keeps flowing, and the renewed result extends valid_until.
  clock->advance(55);
  const Bytes msg = to_bytes("still flowing");
  // The server answers a re-attestation min_reattestation_interval (1 s)
  // after its first answer at the earliest.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (conn->attestation_count() < 2 && std::chrono::steady_clock::now() < until) {
    EXPECT_EQ(round_trip(*conn, msg), msg);
  }
  EXPECT_EQ(conn->attestation_count(), 2u);
  EXPECT_GT(conn->peer_result()->valid_until(), first_until);
  EXPECT_TRUE(conn->is_attested());
}

TEST(TlsConnection, ServerReattestsItsClientOnALiveConnection) {
  auto clock = std::make_shared<test::MutableClock>(static_cast<std::int64_t>(std::time(nullptr)));
  auto bundle = test::make_software_bundle(clock.get());
  auto sb = server_builder(nullptr);
  sb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle, test::PolicyOptions{{}, "", 300, 60}))
      .clock(clock);
  std::atomic<std::size_t> server_count{0};
  ServerThread srv(build_or_fail(sb), [&](Connection& c) {
    std::uint8_t buf[4096];
    for (;;) {
      auto n = c.read(buf);
      server_count = c.attestation_count();
      if (!n || !c.write(ByteView(buf, *n))) {
        return;
      }
    }
  });
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Off).attester(bundle.attester);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  const Bytes msg = to_bytes("ping");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  EXPECT_EQ(server_count.load(), 1u);
  clock->advance(58);  // inside the server's renewal window
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server_count.load() < 2 && std::chrono::steady_clock::now() < until) {
    EXPECT_EQ(round_trip(*conn, msg), msg);
  }
  EXPECT_EQ(server_count.load(), 2u);
}

TEST(TlsConnection, ReattestationWithRealShortInterval) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  auto server = build_or_fail(sb);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .reattest_interval(std::chrono::seconds(2))
      .attestation_timeout(std::chrono::milliseconds(1000));
  auto client = build_or_fail(cb);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  const Bytes msg = to_bytes("tick");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (conn->attestation_count() < 3 && std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(round_trip(*conn, msg), msg);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(conn->attestation_count(), 3u);
  EXPECT_TRUE(conn->is_attested());
}

TEST(TlsConnection, OnDemandReattest) {
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler);
  auto conn = Client::connect(f.client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  ASSERT_TRUE(conn->reattest()) << "reattest";
  EXPECT_EQ(conn->attestation_count(), 2u);
  ASSERT_TRUE(conn->reattest());
  EXPECT_EQ(conn->attestation_count(), 3u);
  const Bytes msg = to_bytes("after reattest");
  EXPECT_EQ(round_trip(*conn, msg), msg);
}

TEST(TlsConnection, ReattestWithoutAppraisingIsAUsageError) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Optional).policy_json(test::software_policy(bundle));
  test::PlainTlsServer plain(TLS1_3_VERSION);
  auto conn = Client::connect(build_or_fail(cb), "localhost", plain.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  auto r = conn->reattest();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

TEST(TlsConnection, OptionalAttestationFallsBackToPlainTls) {
  auto bundle = test::make_software_bundle();
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Optional).policy_json(test::software_policy(bundle));
  test::PlainTlsServer plain(TLS1_3_VERSION);
  auto conn = Client::connect(build_or_fail(cb), "localhost", plain.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_plain_tls());
  EXPECT_FALSE(conn->is_attested());
  const Bytes msg = to_bytes("plain bytes");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  ASSERT_TRUE(conn->close());
  plain.join();
  // No preamble: the server saw exactly the application bytes.
  EXPECT_EQ(plain.received(), msg);
}

TEST(TlsConnection, PlainClientReachesOptionalServerUnchanged) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.peer_attestation(AttestationMode::Optional);
  ServerThread srv(build_or_fail(sb), [](Connection& c) {
    EXPECT_TRUE(c.is_plain_tls());
    test::echo_handler(c);
  });
  const Bytes msg = to_bytes("GET / HTTP/1.0\r\n\r\n");
  bool hs = false;
  const Bytes got = test::plain_tls_client(srv.port(), msg, msg.size(), &hs);
  EXPECT_TRUE(hs);
  EXPECT_EQ(got, msg);
  srv.join();
  EXPECT_TRUE(srv.errors().empty()) << srv.errors().front().to_string();
}

TEST(TlsConnection, PlainClientAgainstServerRequiringClientAttestationIsRefused) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(nullptr);
  sb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  ServerThread srv(build_or_fail(sb),
                   [](Connection&) { ADD_FAILURE() << "accepted a plain client"; });
  const Bytes msg = to_bytes("hello");
  const Bytes got = test::plain_tls_client(srv.port(), msg, msg.size());
  EXPECT_TRUE(got.empty());
  srv.join();
  ASSERT_EQ(srv.errors().size(), 1u);
  EXPECT_EQ(srv.errors()[0].code, ErrorCode::AttestationRequired);
}

TEST(TlsConnection, NegotiationOffOnBothSides) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.negotiation(false);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .negotiation(false);
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  const Bytes msg = to_bytes("no extension on the wire");
  EXPECT_EQ(round_trip(*conn, msg), msg);
}

TEST(TlsConnection, CustomCodepoints) {
  auto bundle = test::make_software_bundle();
  Codepoints cp;
  cp.cmw_attestation = 0xFF10;
  cp.atls_schemes = 0xFF11;
  cp.atls_negotiation = 0xFF12;
  auto sb = server_builder(bundle.attester);
  sb.codepoints(cp);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .codepoints(cp);
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
}

TEST(TlsConnection, NonBlockingClientDrivenByPoll) {
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler);
  auto conn = Client::connect(f.client, "localhost", srv.port(), IoMode::NonBlocking);
  ASSERT_TRUE(conn) << conn.error().to_string();
  auto drive = [&](auto op) {
    for (int i = 0; i < 10000; ++i) {
      auto r = op();
      if (r || r.error().category() != ErrorCategory::WouldBlock) {
        return r;
      }
      pollfd p{
          conn->fd(),
          static_cast<short>((conn->want_read() ? POLLIN : 0) | (conn->want_write() ? POLLOUT : 0)),
          0};
      ::poll(&p, 1, conn->timeout_ms() < 0 ? 100 : std::min(conn->timeout_ms(), 100));
    }
    return decltype(op())(Error{ErrorCode::Internal, "did not finish"});
  };
  auto hs = drive([&]() { return conn->handshake(); });
  ASSERT_TRUE(hs) << hs.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  const Bytes msg = to_bytes("non-blocking");
  auto w = drive([&]() { return conn->write(msg); });
  ASSERT_TRUE(w) << w.error().to_string();
  EXPECT_EQ(*w, msg.size());
  Bytes got;
  std::uint8_t buf[64];
  while (got.size() < msg.size()) {
    auto n = drive([&]() { return conn->read(buf); });
    ASSERT_TRUE(n) << n.error().to_string();
    got.insert(got.end(), buf, buf + *n);
  }
  EXPECT_EQ(got, msg);
}

TEST(TlsConnection, AsyncPolicyLetsTheRpSendEarly) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .async_attestation_policy(true);
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  // The client may write before the appraisal finishes; the echo is held
  // until it succeeds.
  const Bytes msg = to_bytes("sent early");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  EXPECT_TRUE(conn->is_attested());
  EXPECT_EQ(conn->attestation_count(), 1u);
}

TEST(TlsConnection, AsyncPolicyDropsHeldDataWhenAppraisalFails) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle, test::PolicyOptions{{"ueid:00"}, "", 300, 3600}))
      .async_attestation_policy(true);
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  if (!conn) {
    // The appraisal finished (and failed) before the handshake returned.
    EXPECT_EQ(conn.error().code, ErrorCode::MachineIdMismatch) << conn.error().to_string();
    return;
  }
  (void)conn->write(to_bytes("early"));
  std::uint8_t buf[64];
  auto n = conn->read(buf);  // the echo is held, then dropped
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::MachineIdMismatch);
  EXPECT_FALSE(conn->is_attested());
}

TEST(TlsConnection, AttachToCallerOwnedSslCtx) {
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler);
  ossl::UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_client_method()));
  ASSERT_TRUE(prepare_ssl_ctx(ctx.get(), *f.client, Role::Client));
  ossl::UniquePtr<SSL> ssl(::SSL_new(ctx.get()));
  const int fd = internal::tcp_connect("127.0.0.1", srv.port()).value();
  ::SSL_set_fd(ssl.get(), fd);
  {
    auto conn = attach_ssl(ssl.get(), f.client, Role::Client, "localhost");
    ASSERT_TRUE(conn) << conn.error().to_string();
    auto hs = conn->handshake();
    ASSERT_TRUE(hs) << hs.error().to_string();
    EXPECT_TRUE(conn->is_attested());
    const Bytes msg = to_bytes("borrowed SSL");
    EXPECT_EQ(round_trip(*conn, msg), msg);
    ASSERT_TRUE(conn->close());
  }
  ::close(fd);  // the caller's socket, never closed by the Connection
}

TEST(TlsConnection, ConnectAndAcceptOverExistingFds) {
  ServerAttested f;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto server = Server::from_listen_fd(f.server, -1);
  ASSERT_FALSE(server);  // a bad fd is a usage error
  auto lst = Server::listen(f.server, "127.0.0.1", 0);
  ASSERT_TRUE(lst);
  std::thread t([&]() {
    auto conn = lst->accept_fd(sv[1]);  // takes ownership
    ASSERT_TRUE(conn) << conn.error().to_string();
    test::echo_handler(*conn);
  });
  auto conn = Client::connect_fd(f.client, sv[0], "localhost");
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  const Bytes msg = to_bytes("over a socketpair");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  ASSERT_TRUE(conn->close());
  t.join();
}

TEST(TlsConnection, PassportModel) {
  auto bundle = test::make_software_bundle();
  auto ear_key = ossl::generate_key(ossl::KeyType::EcP256).value();
  // The attesting side's in-process Verifier trusts its own software key.
  PassportAttesterConfig pc;
  pc.evidence_attester = bundle.attester;
  auto reg = std::make_shared<Registry>(builtin_registry());
  pc.registry = reg;
  pc.policy = parse_policy(test::software_policy(bundle), *reg, ".").value();
  pc.signing_key = ear_key.get();
  auto passport = make_passport_attester(std::move(pc));
  ASSERT_TRUE(passport) << passport.error().to_string();
  auto sb = server_builder(std::shared_ptr<Attester>(std::move(*passport)));
  auto server = build_or_fail(sb);
  // The RP trusts the Verifier's EAR key.
  nlohmann::json policy;
  policy["required_tier"] = "warning";
  policy["schemes"] = {
      {std::string(kMediaTypeEar),
       {{"trust", {{"verifier_keys", ossl::public_key_pem(ear_key.get()).value()}}}}}};
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(policy.dump());
  auto client = build_or_fail(cb);
  ASSERT_TRUE(server && client);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  EXPECT_EQ(conn->peer_result()->media_type(), kMediaTypeEar);
  const Bytes msg = to_bytes("passport");
  EXPECT_EQ(round_trip(*conn, msg), msg);
}

TEST(TlsConnection, Tpm2AttesterAgainstSwtpm) {
  if (!test::swtpm_available()) {
    GTEST_SKIP() << "swtpm not installed";
  }
  auto tpm = test::start_swtpm_attester();
  ASSERT_TRUE(tpm);
  const std::string ak_pem = tpm->ak_pem;
  auto sb = server_builder(tpm->attester);
  nlohmann::json policy;
  policy["required_tier"] = "warning";
  policy["schemes"] = {
      {std::string(kMediaTypeTpmQuote),
       {{"trust", {{"ak_keys", {ak_pem}}}}, {"reference", {{"dangerous_any_measurement", true}}}}}};
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(policy.dump());
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  EXPECT_EQ(conn->peer_result()->media_type(), kMediaTypeTpmQuote);
  EXPECT_EQ(conn->peer_result()->machine_id().rfind("tpm-ak-name:", 0), 0u);
  const Bytes msg = to_bytes("tpm");
  EXPECT_EQ(round_trip(*conn, msg), msg);
}

TEST(TlsConnection, AttestationOnlyIdentityOnboarding) {
  auto bundle = test::make_software_bundle();
  auto sb = Config::builder();
  sb.attestation_only_identity("device-1234")
      .attester(bundle.attester)
      .peer_attestation(AttestationMode::Off);
  auto cb = Config::builder();
  cb.peer_certificate_policy(PeerCertificatePolicy::AttestationOnly)
      .peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle));
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto conn = Client::connect(build_or_fail(cb), "127.0.0.1", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
}

}  // namespace
}  // namespace atls
