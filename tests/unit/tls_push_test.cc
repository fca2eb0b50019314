// First-flight attestation (docs/wire-profile.md §1.9) and the exporter
// label profile (docs/protocol-choices.md): the server pushes its
// authenticator right after its Finished, the client accepts exactly one
// push as the server's first frame, and each misuse of a push fails with
// its own code.

#include <atls/atls.h>

#include "src/core/encoding.h"
#include "src/ossl/ssl_ptr.h"
#include "src/tls/authenticator.h"
#include "src/tls/config.h"
#include "src/tls/frame.h"
#include "tests/testlib/attack_fixture.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace atls {
namespace {

using test::AttackFixture;
using test::build_or_fail;
using test::client_builder;
using test::expect_code;
using test::RawPeer;
using test::server_builder;
using test::ServerThread;

Bytes fresh_context(std::uint8_t fill) {
  return Bytes(32, fill);
}

// The victim's connection reads once more after connect, so that a frame
// sent after the push is observed.
Result<void> read_one(Connection& c) {
  std::uint8_t b[1];
  auto r = c.read(b);
  if (!r) {
    return r.error();
  }
  return ok();
}

// --- the real client and server ----------------------------------------------------

struct Outcome {
  Result<Connection> client = Error{ErrorCode::Internal, "not run"};
  std::vector<Error> server_errors;
};

Outcome connect_pair(Config::Builder sb, Config::Builder cb) {
  ServerThread srv(build_or_fail(sb), nullptr);
  Outcome o;
  o.client = Client::connect(build_or_fail(cb), "localhost", srv.port());
  if (o.client) {
    const Bytes ping = {'p'};
    EXPECT_TRUE(o.client->write(ping));
    std::uint8_t b[1];
    EXPECT_TRUE(o.client->read(b));
    (void)o.client->close();
  }
  srv.join();
  o.server_errors = srv.errors();
  return o;
}

TEST(TlsPush, ServerAttestationIsPushedByDefault) {
  auto bundle = test::make_software_bundle();
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  Outcome o = connect_pair(server_builder(bundle.attester), std::move(cb));
  ASSERT_TRUE(o.client) << o.client.error().to_string();
  EXPECT_TRUE(o.client->is_attested());
  EXPECT_TRUE(o.client->peer_pushed());
  EXPECT_EQ(o.client->exporter_label(), ExporterLabel::CmwAttestation);
}

TEST(TlsPush, EitherSideCanTurnItOff) {
  auto bundle = test::make_software_bundle();
  for (const bool client_off : {true, false}) {
    auto sb = server_builder(bundle.attester);
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
    (client_off ? cb : sb).first_flight_attestation(false);
    Outcome o = connect_pair(std::move(sb), std::move(cb));
    ASSERT_TRUE(o.client) << o.client.error().to_string();
    EXPECT_TRUE(o.client->is_attested());
    EXPECT_FALSE(o.client->peer_pushed()) << "client_off=" << client_off;
  }
}

TEST(TlsPush, MutualAttestationWithPushAndAFirstFlightRequest) {
  auto sbundle = test::make_software_bundle();
  auto cbundle = test::make_software_bundle();
  auto sb = server_builder(sbundle.attester);
  sb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(cbundle));
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(sbundle))
      .attester(cbundle.attester);
  ServerThread srv(build_or_fail(sb), nullptr);
  auto c = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->peer_pushed());
  const Bytes ping = {'m'};
  ASSERT_TRUE(c->write(ping));
  std::uint8_t b[1];
  ASSERT_TRUE(c->read(b));
  (void)c->close();
  srv.join();
  EXPECT_TRUE(srv.errors().empty());
  EXPECT_EQ(srv.machine_ids().size(), 1u);
}

// RFC 9261 §5.2.1: a spontaneous authenticator's Certificate may carry only
// extensions the ClientHello carried, so a client that accepts a push puts an
// empty cmw_attestation in its ClientHello (docs/protocol-choices.md).
bool client_hello_carries_cmw(Config::Builder cb) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto client = Client::connect_fd(build_or_fail(cb), fds[0], "localhost", IoMode::NonBlocking);
  EXPECT_TRUE(client) << (client ? "" : client.error().to_string());
  (void)client->process();  // the ClientHello goes out
  ossl::UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_server_method()));
  static int seen = -1;
  seen = -1;
  ::SSL_CTX_set_client_hello_cb(
      ctx.get(),
      [](SSL* ssl, int*, void*) {
        const unsigned char* data = nullptr;
        size_t len = 0;
        seen = ::SSL_client_hello_get0_ext(ssl, Codepoints{}.cmw_attestation, &data, &len) == 1 &&
                       len == 0
                   ? 1
                   : 0;
        return SSL_CLIENT_HELLO_ERROR;  // seen what we came for
      },
      nullptr);
  // libssl keeps only the ClientHello extensions its ctx knows.
  EXPECT_EQ(
      ::SSL_CTX_add_custom_ext(
          ctx.get(), Codepoints{}.cmw_attestation, SSL_EXT_CLIENT_HELLO, nullptr, nullptr, nullptr,
          [](SSL*, unsigned, unsigned, const unsigned char*, size_t, X509*, size_t, int*, void*) {
            return 1;
          },
          nullptr),
      1);
  ossl::UniquePtr<SSL> server(::SSL_new(ctx.get()));
  ::SSL_set_fd(server.get(), fds[1]);
  (void)::SSL_accept(server.get());
  ::close(fds[1]);
  EXPECT_NE(seen, -1) << "no ClientHello arrived";
  return seen == 1;
}

TEST(TlsPush, AClientThatAcceptsAPushOffersCmwAttestationInItsClientHello) {
  auto bundle = test::make_software_bundle();
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  EXPECT_TRUE(client_hello_carries_cmw(std::move(cb)));
  auto off = client_builder();
  off.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .first_flight_attestation(false);
  EXPECT_FALSE(client_hello_carries_cmw(std::move(off)));
}

// --- exporter label profile ----------------------------------------------------------

TEST(TlsPush, LabelFallsBackToAttestationForAPeerThatKeepsIt) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.exporter_label_policy(ExporterLabelPolicy::Attestation);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  Outcome o = connect_pair(std::move(sb), std::move(cb));
  ASSERT_TRUE(o.client) << o.client.error().to_string();
  EXPECT_EQ(o.client->exporter_label(), ExporterLabel::Attestation);
}

TEST(TlsPush, RequiredNewLabelAgainstAPeerWithoutItFailsTheHandshake) {
  auto bundle = test::make_software_bundle();
  {
    auto sb = server_builder(bundle.attester);
    sb.exporter_label_policy(ExporterLabelPolicy::Attestation);
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required)
        .policy_json(test::software_policy(bundle))
        .exporter_label_policy(ExporterLabelPolicy::CmwAttestation);
    Outcome o = connect_pair(std::move(sb), std::move(cb));
    ASSERT_FALSE(o.client);
    EXPECT_EQ(o.client.error().code, ErrorCode::ExporterLabelUnsupported);
  }
  {
    auto sb = server_builder(bundle.attester);
    sb.exporter_label_policy(ExporterLabelPolicy::CmwAttestation);
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required)
        .policy_json(test::software_policy(bundle))
        .exporter_label_policy(ExporterLabelPolicy::Attestation);
    Outcome o = connect_pair(std::move(sb), std::move(cb));
    ASSERT_FALSE(o.client);
    ASSERT_EQ(o.server_errors.size(), 1u);
    EXPECT_EQ(o.server_errors.front().code, ErrorCode::ExporterLabelUnsupported);
  }
}

TEST(TlsPush, WithoutNegotiationBothSidesMustConfigureTheSameLabel) {
  auto bundle = test::make_software_bundle();
  for (const bool same : {true, false}) {
    auto sb = server_builder(bundle.attester);
    sb.negotiation(false).exporter_label_policy(ExporterLabelPolicy::CmwAttestation);
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required)
        .policy_json(test::software_policy(bundle))
        .negotiation(false)
        .exporter_label_policy(same ? ExporterLabelPolicy::CmwAttestation
                                    : ExporterLabelPolicy::Negotiate);
    Outcome o = connect_pair(std::move(sb), std::move(cb));
    if (same) {
      ASSERT_TRUE(o.client) << o.client.error().to_string();
      EXPECT_EQ(o.client->exporter_label(), ExporterLabel::CmwAttestation);
      EXPECT_FALSE(o.client->peer_pushed());
    } else {
      // The binders differ: the Evidence's nonce is not ours.
      ASSERT_FALSE(o.client);
      EXPECT_EQ(o.client.error().code, ErrorCode::NonceMismatch);
    }
  }
}

// --- attacks on pushes -----------------------------------------------------------------

TEST(TlsPushAttack, AGenuinePushIsAcceptedAndNoRequestIsSent) {
  AttackFixture f;
  bool request_seen = false;
  auto r = f.run_push(
      [&](RawPeer& peer) {
        peer.send_frame(tls::FrameType::Authenticator, f.genuine_push(peer, fresh_context(1)));
        peer.send_frame(tls::FrameType::Data, to_bytes("x"));
        auto next = peer.read_frame(500);
        request_seen = next && next->type == tls::FrameType::AuthRequest;
      },
      read_one);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->peer_pushed());
  EXPECT_FALSE(request_seen);
}

TEST(TlsPushAttack, ASecondPushIsRejected) {
  AttackFixture f;
  auto r = f.run_push(
      [&](RawPeer& peer) {
        peer.send_frame(tls::FrameType::Authenticator, f.genuine_push(peer, fresh_context(1)));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        peer.send_frame(tls::FrameType::Authenticator, f.genuine_push(peer, fresh_context(2)));
      },
      read_one);
  expect_code(r, ErrorCode::PushRepeated);
}

TEST(TlsPushAttack, AReplayedPushIsRejected) {
  AttackFixture f;
  auto r = f.run_push(
      [&](RawPeer& peer) {
        const Bytes pushed = f.genuine_push(peer, fresh_context(1));
        peer.send_frame(tls::FrameType::Authenticator, pushed);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        peer.send_frame(tls::FrameType::Authenticator, pushed);
      },
      read_one);
  expect_code(r, ErrorCode::PushContextReused);
}

TEST(TlsPushAttack, APushAfterTheFirstFrameIsRejected) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer& peer) {
    peer.send_frame(tls::FrameType::Data, to_bytes("early"));
    peer.send_frame(tls::FrameType::Authenticator, f.genuine_push(peer, fresh_context(1)));
  });
  expect_code(r, ErrorCode::PushLate);
}

TEST(TlsPushAttack, APushTheClientDidNotAcceptIsRejected) {
  AttackFixture f([](Config::Builder& b) { b.first_flight_attestation(false); });
  auto r = f.run(
      [&](RawPeer& peer, const tls::AuthRequest& req) {
        EXPECT_FALSE(internal::push_negotiated(peer.hs()));
        peer.send_frame(tls::FrameType::Authenticator, f.genuine_answer(peer, req));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        peer.send_frame(tls::FrameType::Authenticator, f.genuine_push(peer, fresh_context(7)));
      },
      nullptr, read_one);
  expect_code(r, ErrorCode::PushUnsolicited);
}

TEST(TlsPushAttack, APushBoundToAnotherContextIsRejected) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer& peer) {
    // Evidence bound to one context, carried by a push naming another.
    peer.send_frame(tls::FrameType::Authenticator,
                    f.bound_push(peer, fresh_context(2), fresh_context(1)));
  });
  expect_code(r, ErrorCode::NonceMismatch);
}

TEST(TlsPushAttack, APushWithAnExtensionTheClientHelloLackedIsRejected) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer& peer) {
    const Bytes ctx = fresh_context(3);
    peer.send_frame(tls::FrameType::Authenticator,
                    f.bound_push(peer, ctx, ctx, {tls::Extension{0xFF7E, {}}}));
  });
  expect_code(r, ErrorCode::EaUnsupportedExtension);
}

TEST(TlsPushAttack, APushWithoutEvidenceIsRejected) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer& peer) {
    const auto& cs = internal::config_state(*f.pushing_attacker);
    peer.send_frame(
        tls::FrameType::Authenticator,
        peer.push(fresh_context(4), cs.chain_der, cs.key.get(), std::nullopt, *f.pushing_attacker));
  });
  expect_code(r, ErrorCode::EaNoAttestation);
}

// An authenticator made as the answer to a request (the request's bytes in
// its transcript), sent as a push: the pushed form has no request part, so
// its Finished does not verify.
TEST(TlsPushAttack, AnAnswerPresentedAsAPushFailsFinished) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer& peer) {
    const tls::AuthRequest req = peer.request(fresh_context(5), *f.pushing_attacker);
    peer.send_frame(tls::FrameType::Authenticator, f.genuine_answer(peer, req));
  });
  expect_code(r, ErrorCode::EaBadFinished);
}

TEST(TlsPushAttack, AnEmptyAuthenticatorAsThePushFailsFinished) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer& peer) {
    const tls::AuthRequest req = peer.request(fresh_context(6), *f.pushing_attacker);
    peer.send_frame(tls::FrameType::Authenticator,
                    tls::build_empty_authenticator(peer.own_keys(), req).value());
  });
  expect_code(r, ErrorCode::EaBadFinished);
}

TEST(TlsPushAttack, AnAgreedPushThatNeverComesTimesOut) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer&) {});
  expect_code(r, ErrorCode::AttestationTimeout);
}

TEST(TlsPushAttack, ARequestBeforeThePushMakesThePushLate) {
  AttackFixture f;
  auto r = f.run_push([&](RawPeer& peer) {
    peer.send_frame(tls::FrameType::AuthRequest,
                    peer.request(fresh_context(8), *f.pushing_attacker).raw);
    peer.send_frame(tls::FrameType::Authenticator, f.genuine_push(peer, fresh_context(9)));
  });
  expect_code(r, ErrorCode::PushLate);
}

// --- the server's first flight ---------------------------------------------------------

// FailingAttester claims a scheme the client accepts and fails to attest.
class FailingAttester final : public Attester {
 public:
  explicit FailingAttester(std::shared_ptr<Attester> like) : m_like(std::move(like)) {}
  std::string_view name() const override { return "failing"; }
  std::string_view media_type() const override { return m_like->media_type(); }
  Result<Evidence> attest(const AttestationRequest&) override {
    return Error{ErrorCode::AttesterFailure, "the attesting environment is down"};
  }

 private:
  std::shared_ptr<Attester> m_like;
};

// A server whose push fails tells the client why: the ALERT goes out as
// 0.5-RTT data, before the handshake is done.
TEST(TlsPush, AFailedPushReachesTheClientAsAnAlert) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(std::make_shared<FailingAttester>(bundle.attester));
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  ServerThread srv(build_or_fail(sb), nullptr);
  auto c = Client::connect(build_or_fail(cb), "localhost", srv.port());
  srv.join();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::PeerAlert) << c.error().to_string();
  EXPECT_NE(c.error().detail.find("AttesterFailure"), std::string::npos) << c.error().detail;
}

// While only the server's preamble is queued in its first flight (its push
// deferred to a worker), a non-blocking server does not ask to write: an
// event loop must not spin on the writable socket.
TEST(TlsPush, APreambleWaitingForADeferredPushDoesNotAskToWrite) {
  auto bundle = test::make_software_bundle();
  auto server_cfg = build_or_fail(server_builder(bundle.attester));
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  auto client_cfg = build_or_fail(cb);
  auto [lfd, port] = test::listen_local();
  std::atomic<bool> client_done{false};
  std::thread client([&, port = port]() {
    auto c = Client::connect(client_cfg, "localhost", port);
    EXPECT_TRUE(c) << (c ? "" : c.error().to_string());
    EXPECT_TRUE(c && c->peer_pushed());
    client_done = true;
  });
  const int fd = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  auto server = Server::from_listen_fd(server_cfg, lfd);
  ASSERT_TRUE(server);
  auto conn = server->accept_fd(fd, IoMode::NonBlocking);
  ASSERT_TRUE(conn) << conn.error().to_string();
  ASSERT_TRUE(conn->defer_attestation_work(true));
  int pending_seen = 0;
  for (int i = 0; i < 2000 && !client_done; ++i) {
    (void)conn->process();
    if (conn->attestation_work_pending()) {
      ++pending_seen;
      EXPECT_FALSE(conn->want_write()) << "a preamble alone asks to write";
      (void)conn->run_attestation_work();
      continue;
    }
    pollfd p{
        conn->fd(),
        static_cast<short>((conn->want_read() ? POLLIN : 0) | (conn->want_write() ? POLLOUT : 0)),
        0};
    ::poll(&p, 1, 10);
  }
  client.join();
  EXPECT_GE(pending_seen, 1) << "the push was never deferred";
}

}  // namespace
}  // namespace atls
