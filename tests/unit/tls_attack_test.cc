// Attacks on attested connections, one test each, asserting the exact
// error code (docs/wire-profile.md §1.2-§1.6). Malicious peers are RawPeers that
// speak the atls stream by hand with the pure protocol layer; the victim is
// the real Client or Server.

#include <atls/atls.h>

#include "src/attestation/evidence_cmw.h"
#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/plugins/software/software.h"
#include "src/tls/authenticator.h"
#include "src/tls/config.h"
#include "src/tls/connection.h"
#include "src/tls/frame.h"
#include "tests/testlib/attack_fixture.h"
#include "tests/testlib/post_handshake_attacks.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <openssl/ssl.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <thread>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::RawPeer;
using test::server_builder;
using test::ServerThread;

using test::AttackFixture;
using test::expect_code;
using test::Script;

// --- binding -----------------------------------------------------------------
// Relay, replay of Evidence or of a whole authenticator, reflection, key
// substitution, downgrade, stale Evidence and diversion run for each mode in
// the security matrix (tests/testlib/attack_matrix.cc).

// Even when the victim's context collides with the captured one (a fixed
// RNG on both connections), the exporter keys differ: Finished fails.
TEST(TlsAttack, ReplayWithACollidingContextFailsFinished) {
  auto rng = std::make_shared<test::FixedRng>(0x42);
  AttackFixture f([&](Config::Builder& b) { b.rng(rng); });
  const Bytes captured = test::capture_answer(f, Bytes(32, 0x42));
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    EXPECT_EQ(req.context, Bytes(32, 0x42));
    peer.send_frame(tls::FrameType::Authenticator, captured);
  });
  expect_code(r, ErrorCode::EaBadFinished);
}

// --- contexts -------------------------------------------------------------------

TEST(TlsAttack, ReuseOfAContextIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    const Bytes a = f.genuine_answer(peer, req);
    peer.send_frame(tls::FrameType::Authenticator, a);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    peer.send_frame(tls::FrameType::Authenticator, a);  // the same context again
  });
  expect_code(r, ErrorCode::EaContextReused);
}

TEST(TlsAttack, UnsolicitedContextIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    const auto& cs = internal::config_state(*f.attacker);
    const Bytes spki = ossl::cert_spki_der(cs.chain.front().get()).value();
    // A well-formed, attested authenticator for a context the victim never
    // issued (built over the victim's request bytes, with another context).
    tls::AuthRequest other = req;
    other.context = Bytes(32, 0x99);
    const Bytes cmw = test::attest_cmw(*f.genuine.attester, peer.binder(spki, other.context), spki);
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.answer(other, cs.chain_der, cs.key.get(), cmw, *f.attacker));
  });
  expect_code(r, ErrorCode::EaUnknownContext);
}

// --- evidence binding -------------------------------------------------------------

TEST(TlsAttack, EvidenceMadeForAnotherBinderIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    const auto& cs = internal::config_state(*f.attacker);
    const Bytes spki = ossl::cert_spki_der(cs.chain.front().get()).value();
    // Evidence for the binder of another context (e.g. obtained earlier).
    const Bytes cmw =
        test::attest_cmw(*f.genuine.attester, peer.binder(spki, Bytes(32, 0x01)), spki);
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.answer(req, cs.chain_der, cs.key.get(), cmw, *f.attacker));
  });
  expect_code(r, ErrorCode::NonceMismatch);
}

TEST(TlsAttack, StaleEarIsRejected) {
  // A passport that is older than the RP's max_result_age.
  auto past =
      std::make_shared<test::MutableClock>(static_cast<std::int64_t>(std::time(nullptr)) - 200);
  auto ear_key = ossl::generate_key(ossl::KeyType::EcP256).value();
  PassportAttesterConfig pc;
  auto reg = std::make_shared<Registry>(builtin_registry());
  pc.registry = reg;
  // The in-process Verifier runs on the past clock, so the EAR's iat is old.
  auto inner = test::make_software_bundle(past.get());
  pc.evidence_attester = inner.attester;
  pc.policy = parse_policy(test::software_policy(inner), *reg, ".").value();
  pc.policy.ear.lifetime = 3600;
  pc.signing_key = ear_key.get();
  pc.clock = past.get();
  auto passport = make_passport_attester(std::move(pc));
  ASSERT_TRUE(passport) << passport.error().to_string();
  auto sb = server_builder(std::shared_ptr<Attester>(std::move(*passport)));
  ServerThread srv(build_or_fail(sb), nullptr);
  nlohmann::json policy;
  policy["required_tier"] = "warning";
  policy["schemes"] = {
      {std::string(kMediaTypeEar),
       {{"trust", {{"verifier_keys", ossl::public_key_pem(ear_key.get()).value()}}}}}};
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(policy.dump())
      .max_result_age(std::chrono::seconds(60));
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::EvidenceStale);
}

// --- lifetime ------------------------------------------------------------------

// The peer attests once and then ignores the renewal request: at
// valid_until the connection fails with AttestationExpired.
TEST(TlsAttack, AttestationNotRenewedExpires) {
  auto clock = std::make_shared<test::MutableClock>(static_cast<std::int64_t>(std::time(nullptr)));
  AttackFixture f([&](Config::Builder& b) { b.clock(clock); });
  std::atomic<bool> renewal_seen{false};
  auto r = f.run(
      [&](RawPeer& peer, const tls::AuthRequest& req) {
        peer.send_frame(tls::FrameType::Authenticator, f.genuine_answer(peer, req));
        auto next = peer.read_frame(5000);  // the renewal request: left unanswered
        renewal_seen = next && next->type == tls::FrameType::AuthRequest;
      },
      nullptr,
      [&](Connection& c) -> Result<void> {
        EXPECT_TRUE(c.is_attested());
        const std::int64_t until = c.peer_result()->valid_until();
        clock->set(until - 2);  // inside the renewal window
        ATLS_TRY(c.process());
        for (int i = 0; i < 100 && !renewal_seen; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_TRUE(renewal_seen);
        EXPECT_TRUE(c.is_attested());
        clock->set(until + 1);
        std::uint8_t buf[16];
        auto n = c.read(buf);
        if (!n) {
          return n.error();
        }
        return ok();
      });
  expect_code(r, ErrorCode::AttestationExpired);
}

// A client that never answers the server's request: the server gives up
// after attestation_timeout.
TEST(TlsAttack, ClientThatNeverAttestsTimesOutAtTheServer) {
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(nullptr);
  sb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .attestation_timeout(std::chrono::milliseconds(300));
  ServerThread srv(build_or_fail(sb), [](Connection&) { ADD_FAILURE() << "accepted"; });
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Off).attester(bundle.attester);
  auto probe_cfg = build_or_fail(cb);
  auto probe = RawPeer::connect_to(srv.port(), probe_cfg);
  ASSERT_TRUE(probe);
  probe->send_preamble();
  ASSERT_TRUE(probe->read_preamble());
  auto req = probe->read_frame();
  ASSERT_TRUE(req && req->type == tls::FrameType::AuthRequest);
  auto alert = probe->read_frame(3000);
  ASSERT_TRUE(alert && alert->type == tls::FrameType::Alert);
  EXPECT_EQ(tls::parse_alert(alert->body).value().code, tls::AlertCode::Timeout);
  srv.join();
  ASSERT_EQ(srv.errors().size(), 1u);
  EXPECT_EQ(srv.errors()[0].code, ErrorCode::AttestationTimeout);
}

// --- fallback detection -------------------------------------------------------------

TEST(TlsAttack, PeerThatNeverAttestsTimesOut) {
  AttackFixture f(
      [](Config::Builder& b) { b.attestation_timeout(std::chrono::milliseconds(300)); });
  const auto start = std::chrono::steady_clock::now();
  auto r = f.run([](RawPeer&, const tls::AuthRequest&) {});
  const auto took = std::chrono::steady_clock::now() - start;
  expect_code(r, ErrorCode::AttestationTimeout);
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(TlsAttack, PeerWithoutPreambleIsRejected) {
  AttackFixture f([](Config::Builder& b) { b.negotiation(false); });
  auto [lfd, port] = test::listen_local();
  auto plain_cfg = build_or_fail(server_builder(nullptr).negotiation(false));
  std::thread t([lfd = lfd, plain_cfg]() {
    auto peer = RawPeer::accept_on(lfd, plain_cfg);
    if (peer) {
      peer->send_raw(to_bytes("HTTP/1.1 200 OK\r\n\r\n"));  // a plain server speaking first
      (void)peer->read_all(3000);
    }
  });
  auto r = Client::connect(f.victim, "localhost", port);
  t.join();
  ::close(lfd);
  expect_code(r, ErrorCode::AttestationRequired);
}

// --- appraisal -----------------------------------------------------------------------

TEST(TlsAttack, WrongPinnedMachineIdIsRejected) {
  auto bundle = test::make_software_bundle();
  std::optional<PeerAlertInfo> server_saw;
  ErrorCode server_code = ErrorCode::Ok;
  ServerThread srv(build_or_fail(server_builder(bundle.attester)), [&](Connection& c) {
    std::uint8_t buf[16];
    auto n = c.read(buf);
    if (!n) {
      server_code = n.error().code;
    }
    server_saw = c.peer_alert();
  });
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(
          test::software_policy(bundle, test::PolicyOptions{{"ueid:0102"}, "", 300, 3600}));
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::MachineIdMismatch);
  srv.join();
  // The attester learns why: an ALERT attestation_failed (2). Usually the
  // client's preamble and ALERT leave together and accept fails with it;
  // when the client's handshake finished before the push arrived, its
  // preamble left alone, accept succeeded, and the server's read gets it.
  if (srv.errors().empty()) {
    EXPECT_EQ(server_code, ErrorCode::PeerAlert);
    ASSERT_TRUE(server_saw);
    EXPECT_EQ(server_saw->code, 2);
  } else {
    ASSERT_EQ(srv.errors().size(), 1u);
    EXPECT_EQ(srv.errors().front().code, ErrorCode::PeerAlert);
    EXPECT_NE(srv.errors().front().detail.find("peer alert 2 (attestation_failed)"),
              std::string::npos)
        << srv.errors().front().detail;
    EXPECT_FALSE(server_saw);
    EXPECT_EQ(server_code, ErrorCode::Ok);
  }
}

TEST(TlsAttack, FailingMeasurementIsRejected) {
  auto bundle = test::make_software_bundle();
  ServerThread srv(build_or_fail(server_builder(bundle.attester)), nullptr);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(
          test::software_policy(bundle, test::PolicyOptions{{}, std::string(64, '0'), 300, 3600}));
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::MeasurementMismatch);
}

TEST(TlsAttack, UntrustedAttesterKeyIsRejected) {
  auto bundle = test::make_software_bundle();
  auto other = test::make_software_bundle();
  ServerThread srv(build_or_fail(server_builder(bundle.attester)), nullptr);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(other));
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::KeyUntrusted);
}

TEST(TlsAttack, SoftwareEvidenceBelowTheRequiredTierIsRejected) {
  auto bundle = test::make_software_bundle();
  ServerThread srv(build_or_fail(server_builder(bundle.attester)), nullptr);
  nlohmann::json policy = nlohmann::json::parse(test::software_policy(bundle));
  policy["required_tier"] = "affirming";  // software evidence reaches "warning" at best
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(policy.dump());
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::TierInsufficient);
}

// Without negotiation the scheme mismatch shows up in the request: the
// attester refuses with unsupported_attestation_schemes.
TEST(TlsAttack, NoCommonSchemeIsReportedByTheAttester) {
  auto bundle = test::make_software_bundle();
  ErrorCode server_code = ErrorCode::Ok;
  auto sb = server_builder(bundle.attester);
  sb.negotiation(false);
  auto server = build_or_fail(sb);
  ServerThread srv(server, [&](Connection& c) {
    std::uint8_t buf[16];
    auto n = c.read(buf);
    server_code = n ? ErrorCode::Ok : n.error().code;
  });
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .accept_models({AttestationModel::Passport})
      .negotiation(false);
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::PeerAlert);
  ASSERT_TRUE(r.error().detail.find("unsupported_attestation_schemes") != std::string::npos)
      << r.error().detail;
  srv.join();
  // The request may arrive while accept() still runs the server's handshake.
  if (!srv.errors().empty()) {
    server_code = srv.errors()[0].code;
  }
  EXPECT_EQ(server_code, ErrorCode::NoCommonScheme);
}

// --- TLS -------------------------------------------------------------------------------

TEST(TlsAttack, Tls12ServerIsRejected) {
  AttackFixture f;
  test::PlainTlsServer plain(TLS1_2_VERSION);
  auto r = Client::connect(f.victim, "localhost", plain.port());
  expect_code(r, ErrorCode::TlsVersionUnsupported);
}

TEST(TlsAttack, Tls12ClientIsRejected) {
  auto bundle = test::make_software_bundle();
  ServerThread srv(build_or_fail(server_builder(bundle.attester)), nullptr);
  ossl::UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_client_method()));
  ::SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
  const int fd = internal::tcp_connect("127.0.0.1", srv.port()).value();
  ossl::UniquePtr<SSL> ssl(::SSL_new(ctx.get()));
  ::SSL_set_fd(ssl.get(), fd);
  EXPECT_NE(::SSL_connect(ssl.get()), 1);
  ERR_clear_error();
  ::close(fd);
  srv.join();
  ASSERT_EQ(srv.errors().size(), 1u);
  EXPECT_EQ(srv.errors()[0].code, ErrorCode::TlsVersionUnsupported) << srv.errors()[0].to_string();
}

TEST(TlsAttack, ResumptionAttemptIsRefused) {
  // Obtain a resumable TLS 1.3 session from a ticket-issuing server, then
  // offer it to an attested server.
  ossl::UniquePtr<SSL_SESSION> session;
  {
    test::PlainTlsServer tickets(TLS1_3_VERSION, true);
    const Bytes msg = to_bytes("x");
    (void)test::plain_tls_client(tickets.port(), msg, msg.size(), nullptr, &session);
  }
  ASSERT_TRUE(session);
  ASSERT_EQ(::SSL_SESSION_is_resumable(session.get()), 1);
  auto bundle = test::make_software_bundle();
  auto sb = server_builder(bundle.attester);
  sb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  ServerThread srv(build_or_fail(sb), nullptr);
  bool hs = true;
  (void)test::plain_tls_client(srv.port(), {}, 0, &hs, &session);
  EXPECT_FALSE(hs);
  srv.join();
  ASSERT_EQ(srv.errors().size(), 1u);
  EXPECT_EQ(srv.errors()[0].code, ErrorCode::TlsResumptionRefused) << srv.errors()[0].to_string();
}

// --- certificates ------------------------------------------------------------------

TEST(TlsAttack, CertificateWithAnUnrequestedExtensionIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    const auto& cs = internal::config_state(*f.attacker);
    const Bytes spki = ossl::cert_spki_der(cs.chain.front().get()).value();
    const Bytes cmw = test::attest_cmw(*f.genuine.attester, peer.binder(spki, req.context), spki);
    // Same request bytes in the transcript, but pretend it offered 0x0005.
    tls::AuthRequest widened = req;
    widened.extensions.push_back(tls::Extension{0x0005, {}});
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.answer(widened, cs.chain_der, cs.key.get(), cmw, *f.attacker,
                                {tls::Extension{0x0005, {}}}));
  });
  expect_code(r, ErrorCode::EaUnsupportedExtension);
}

TEST(TlsAttack, UntrustedServerCertificateIsRejected) {
  auto bundle = test::make_software_bundle();
  const auto& pki = test::TestPki::get();
  auto sb = Config::builder();
  sb.certificate_chain_pem(pki.untrusted_chain_pem)
      .private_key_pem(pki.untrusted_key_pem)
      .attester(bundle.attester);
  ServerThread srv(build_or_fail(sb), nullptr);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::PeerCertUntrusted);
}

TEST(TlsAttack, HostnameMismatchIsRejected) {
  auto bundle = test::make_software_bundle();
  const auto& pki = test::TestPki::get();
  auto sb = Config::builder();
  sb.certificate_chain_pem(pki.other_chain_pem)
      .private_key_pem(pki.other_key_pem)
      .attester(bundle.attester);
  ServerThread srv(build_or_fail(sb), nullptr);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
  auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
  expect_code(r, ErrorCode::PeerHostnameMismatch);
}

TEST(TlsAttack, PinnedKeyMismatchIsRejectedAndMatchIsAccepted) {
  auto bundle = test::make_software_bundle();
  auto server = build_or_fail(server_builder(bundle.attester));
  const Bytes pin =
      internal::spki_sha256(internal::config_state(*server).chain.front().get()).value();
  {
    ServerThread srv(server, nullptr);
    auto cb = Config::builder();
    cb.pin_spki_sha256(pin)
        .peer_attestation(AttestationMode::Required)
        .policy_json(test::software_policy(bundle));
    auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->is_attested());
  }
  {
    ServerThread srv(server, nullptr);
    auto cb = Config::builder();
    cb.pin_spki_sha256(Bytes(32, 0xAB))
        .peer_attestation(AttestationMode::Required)
        .policy_json(test::software_policy(bundle));
    auto r = Client::connect(build_or_fail(cb), "localhost", srv.port());
    expect_code(r, ErrorCode::PinnedKeyMismatch);
  }
}

// --- framing ----------------------------------------------------------------------------

TEST(TlsAttack, TruncatedFrameIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest&) {
    const Bytes header = {0x02, 0x00, 0x00, 0x64, 1, 2, 3,
                          4,    5,    6,    7,    8, 9, 10};  // 100 announced, 10 sent
    peer.send_raw(header);
    peer.close();
  });
  expect_code(r, ErrorCode::FrameMalformed);
}

TEST(TlsAttack, TruncatedAuthenticatorIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    Bytes a = f.genuine_answer(peer, req);
    a.resize(a.size() / 2);
    peer.send_frame(tls::FrameType::Authenticator, a);
  });
  expect_code(r, ErrorCode::EaMalformed);
}

TEST(TlsAttack, OversizeFrameIsRejectedFromItsHeader) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest&) {
    const Bytes header = {0x02, 0x10, 0x00,
                          0x00};  // a 1 MiB AUTHENTICATOR; the control limit is 64 KiB
    peer.send_raw(header);
  });
  expect_code(r, ErrorCode::FrameTooLarge);
}

TEST(TlsAttack, UnknownFrameTypeIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest&) {
    const Bytes frame = {0x7F, 0x00, 0x00, 0x00};
    peer.send_raw(frame);
  });
  expect_code(r, ErrorCode::FrameMalformed);
}

TEST(TlsAttack, EmptyAuthenticatorIsARefusal) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    peer.send_frame(tls::FrameType::Authenticator,
                    tls::build_empty_authenticator(peer.own_keys(), req).value());
  });
  expect_code(r, ErrorCode::EaEmptyAuthenticator);
}

TEST(TlsAttack, UnknownEvidenceMediaTypeIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    const auto& cs = internal::config_state(*f.attacker);
    auto ev = evidence_from_records(
        {EvidenceRecord{"", "application/vnd.example.unknown", Bytes(16, 0x5A), kIndEvidence}});
    ASSERT_TRUE(ev);
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.answer(req, cs.chain_der, cs.key.get(), ev->cmw, *f.attacker));
  });
  expect_code(r, ErrorCode::UnsupportedMediaType);
}

TEST(TlsAttack, AuthenticatorWithoutAttestationIsRejected) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest& req) {
    const auto& cs = internal::config_state(*f.attacker);
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.answer(req, cs.chain_der, cs.key.get(), std::nullopt, *f.attacker));
  });
  expect_code(r, ErrorCode::EaNoAttestation);
}

TEST(TlsAttack, DataBeforeAttestationIsNotDelivered) {
  AttackFixture f(
      [](Config::Builder& b) { b.attestation_timeout(std::chrono::milliseconds(300)); });
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest&) {
    peer.send_frame(tls::FrameType::Data, to_bytes("unattested bytes"));
  });
  // connect() never returned a Connection, so no byte reached the application.
  expect_code(r, ErrorCode::AttestationTimeout);
}

// Under the async policy the RP's connect() returns before the peer is
// attested, so only the delivery gate keeps these bytes from the
// application: the read that follows must not return them. It fails when
// the attestation times out instead. Deterministic: the DATA is on the wire
// before the read starts, and without the gate the read returns it.
TEST(TlsAttack, DataBeforeAttestationIsHeldUnderTheAsyncPolicy) {
  AttackFixture f([](Config::Builder& b) {
    b.async_attestation_policy(true).attestation_timeout(std::chrono::milliseconds(500));
  });
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest&) {
    peer.send_frame(tls::FrameType::Data, to_bytes("unattested bytes"));
  });
  expect_code(r, ErrorCode::AttestationTimeout);
}

// --- re-attestation may not switch identity ---------------------------------------

// After a genuine first attestation, the peer answers the renewal with
// genuine Evidence bound to another key (its authenticator is signed with
// that key and binds it correctly): it is refused all the same.
TEST(TlsAttack, ReattestationWithAnotherKeyIsRejected) {
  auto clock = std::make_shared<test::MutableClock>(static_cast<std::int64_t>(std::time(nullptr)));
  AttackFixture f;
  auto vb = client_builder();
  vb.peer_attestation(AttestationMode::Required)
      .peer_certificate_policy(PeerCertificatePolicy::AttestationOnly)
      .policy_json(test::software_policy(f.genuine, test::PolicyOptions{{}, "", 300, 60}))
      .clock(clock);
  f.victim = build_or_fail(vb);
  auto r = f.run(
      [&](RawPeer& peer, const tls::AuthRequest& req) {
        peer.send_frame(tls::FrameType::Authenticator, f.genuine_answer(peer, req));
        auto next = peer.read_frame(8000);
        if (!next || next->type != tls::FrameType::AuthRequest) {
          ADD_FAILURE() << "no renewal request";
          return;
        }
        const tls::AuthRequest renewal = tls::parse_auth_request(next->body).value();
        const test::Identity b = test::make_identity("key B");
        const Bytes cmw =
            test::attest_cmw(*f.genuine.attester, peer.binder(b.spki, renewal.context), b.spki);
        peer.send_frame(tls::FrameType::Authenticator,
                        peer.answer(renewal, {b.cert_der}, b.key.get(), cmw, *f.attacker));
      },
      nullptr,
      [&](Connection& conn) -> Result<void> {
        clock->advance(55);  // into the renewal window
        std::uint8_t buf[16];
        auto n = conn.read(buf);
        if (n) {
          return ok();
        }
        return n.error();
      });
  expect_code(r, ErrorCode::AttestationIdentityChanged);
}

// The same attestation key and a trusted signing key, but the renewal's
// Evidence comes from another machine.
TEST(TlsAttack, ReattestationFromAnotherMachineIsRejected) {
  auto signing = ossl::generate_key(ossl::KeyType::EcP256).value();
  const std::string signing_pem = ossl::private_key_pem(signing.get()).value();
  char path[] = "/tmp/atls-machine-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "another machine\n", 16), 16);
  ::close(fd);
  SoftwareAttesterConfig a;
  a.signing_key_pem = to_bytes(signing_pem);
  SoftwareAttesterConfig b = a;
  b.machine_id_file = path;
  std::shared_ptr<Attester> first = make_software_attester(a).value();
  std::shared_ptr<Attester> later = make_software_attester(b).value();
  ::unlink(path);
  auto bundle = test::make_software_bundle();
  bundle.public_key_pem = software_attester_public_key(*first).value();

  const Result<void> failed = test::renewal_outcome(
      first, later, test::software_policy(bundle, test::PolicyOptions{{}, "", 300, 60}),
      test::Delivery::Push);
  ASSERT_FALSE(failed) << "the switched machine was accepted";
  EXPECT_EQ(failed.error().code, ErrorCode::AttestationIdentityChanged)
      << failed.error().to_string();
}

TEST(TlsAttack, PeerAlertIsReported) {
  AttackFixture f;
  auto r = f.run([&](RawPeer& peer, const tls::AuthRequest&) {
    peer.send_raw(tls::alert_frame(tls::AlertCode::InternalError, "attester unavailable"));
  });
  expect_code(r, ErrorCode::PeerAlert);
  EXPECT_NE(r.error().detail.find("attester unavailable"), std::string::npos);
}

}  // namespace
}  // namespace atls
