#include "tests/testlib/post_handshake_attacks.h"

#include "src/core/encoding.h"
#include "src/ossl/x509.h"
#include "src/tls/config.h"
#include "src/tls/frame.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

namespace atls::test {
namespace {

Bytes fresh_context(std::uint8_t fill) {
  return Bytes(32, fill);
}

// accept_first ends the victim's first, genuine connection as soon as it
// is established (the attacker then sees it close at once).
Result<void> accept_first(Connection& c) {
  (void)c.close();
  return ok();
}

// A client of the attacker's own that requires the genuine attestation.
std::shared_ptr<const Config> attackers_client(const AttackFixture& f) {
  auto pc = client_builder();
  pc.peer_attestation(AttestationMode::Required).policy_json(software_policy(f.genuine));
  return build_or_fail(pc);
}

// An honest server attesting with |f|'s genuine attester.
std::shared_ptr<const Config> honest_server(const AttackFixture& f, Delivery d) {
  return build_or_fail(server_builder(f.attester)
                           .peer_attestation(AttestationMode::Off)
                           .first_flight_attestation(d == Delivery::Push));
}

// The attacker's certificate chain, key and SPKI (as |f.attacker| or
// |f.pushing_attacker|, which share them).
struct AttackerIdentity {
  const internal::ConfigState& cs;
  Bytes spki;
  explicit AttackerIdentity(const Config& c)
      : cs(internal::config_state(c)), spki(ossl::cert_spki_der(cs.chain.front().get()).value()) {}
};

// answer_or_push sends an authenticator carrying |cmw| and signed with the
// attacker's key: the answer to |req| (Request) or a push for |context|.
void answer_or_push(AttackFixture& f, RawPeer& peer, Delivery d, const tls::AuthRequest* req,
                    ByteView context, const Bytes& cmw) {
  if (d == Delivery::Request) {
    const AttackerIdentity id(*f.attacker);
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.answer(*req, id.cs.chain_der, id.cs.key.get(), cmw, *f.attacker));
  } else {
    const AttackerIdentity id(*f.pushing_attacker);
    peer.send_frame(tls::FrameType::Authenticator,
                    peer.push(context, id.cs.chain_der, id.cs.key.get(), cmw, *f.pushing_attacker));
  }
}

// run_either runs |script| against the victim: on the request it sent
// (Request) or, for Push, with a fresh context of the attacker's choosing.
Result<Connection> run_either(
    AttackFixture& f, Delivery d,
    const std::function<void(RawPeer&, const tls::AuthRequest*, ByteView)>& script,
    const std::function<Result<void>(Connection&)>& after_connect = {}) {
  if (d == Delivery::Request) {
    return f.run(
        [&](RawPeer& peer, const tls::AuthRequest& req) { script(peer, &req, req.context); },
        nullptr, after_connect);
  }
  return f.run_push([&](RawPeer& peer) { script(peer, nullptr, fresh_context(0x51)); },
                    after_connect);
}

}  // namespace

Bytes capture_answer(AttackFixture& f, ByteView context) {
  ServerThread srv(honest_server(f, Delivery::Request), nullptr);
  auto probe_cfg = attackers_client(f);
  auto probe = RawPeer::connect_to(srv.port(), probe_cfg);
  if (!probe) {
    return {};
  }
  probe->send_preamble();
  probe->send_frame(tls::FrameType::AuthRequest, probe->request(context, *probe_cfg).raw);
  EXPECT_TRUE(probe->read_preamble());
  auto a = probe->read_frame();
  EXPECT_TRUE(a && a->type == tls::FrameType::Authenticator);
  return a ? a->body : Bytes{};
}

Result<Connection> relay_through_mitm(AttackFixture& f, Delivery d) {
  ServerThread srv(honest_server(f, d), nullptr);
  auto upstream_cfg = attackers_client(f);
  auto relay = [&](RawPeer& peer, const tls::AuthRequest* req, ByteView) {
    auto up = RawPeer::connect_to(srv.port(), upstream_cfg);
    ASSERT_TRUE(up);
    up->send_preamble();
    if (req != nullptr) {
      // Forward the victim's request unchanged (same context, same bytes).
      up->send_frame(tls::FrameType::AuthRequest, req->raw);
    }
    ASSERT_TRUE(up->read_preamble());
    auto a = up->read_frame();
    ASSERT_TRUE(a && a->type == tls::FrameType::Authenticator);
    peer.send_frame(tls::FrameType::Authenticator, a->body);
  };
  return run_either(f, d, relay);
}

Result<Connection> replay_authenticator(AttackFixture& f, Delivery d) {
  Bytes captured;
  if (d == Delivery::Request) {
    captured = capture_answer(f, fresh_context(0x42));
  } else {
    auto first = f.run_push(
        [&](RawPeer& peer) {
          captured = f.genuine_push(peer, fresh_context(1));
          peer.send_frame(tls::FrameType::Authenticator, captured);
        },
        accept_first);
    if (!first) {
      return Error{ErrorCode::Internal,
                   "the genuine push was refused: " + first.error().to_string()};
    }
  }
  // The same bytes on a new connection.
  return run_either(f, d, [&](RawPeer& peer, const tls::AuthRequest*, ByteView) {
    peer.send_frame(tls::FrameType::Authenticator, captured);
  });
}

Result<Connection> replay_evidence(AttackFixture& f, Delivery d) {
  const AttackerIdentity id(d == Delivery::Request ? *f.attacker : *f.pushing_attacker);
  Bytes recorded;
  // A genuine quote, recorded on one connection...
  (void)run_either(
      f, d,
      [&](RawPeer& peer, const tls::AuthRequest* req, ByteView context) {
        recorded = attest_cmw(*f.attester, peer.binder(id.spki, context), id.spki);
        answer_or_push(f, peer, d, req, context, recorded);
      },
      accept_first);
  if (recorded.empty()) {
    return Error{ErrorCode::Internal, "no Evidence was recorded"};
  }
  // ...and presented on the next one, in a correctly signed authenticator.
  return run_either(f, d, [&](RawPeer& peer, const tls::AuthRequest* req, ByteView context) {
    answer_or_push(f, peer, d, req, context, recorded);
  });
}

Result<Connection> substitute_key(AttackFixture& f, Delivery d) {
  return run_either(f, d, [&](RawPeer& peer, const tls::AuthRequest* req, ByteView context) {
    const Identity a = make_identity("key A");  // the attested key
    // Evidence binds key A on this very connection and context, but the
    // authenticator is signed with key B (the attacker's).
    const Bytes cmw = attest_cmw(*f.attester, peer.binder(a.spki, context), a.spki);
    answer_or_push(f, peer, d, req, context, cmw);
  });
}

Result<Connection> reflect_authenticator(Delivery d) {
  auto client_bundle = make_software_bundle();
  AttackFixture f([&](Config::Builder& b) { b.attester(client_bundle.attester); });
  auto ab = server_builder(f.genuine.attester);
  ab.peer_attestation(AttestationMode::Required)
      .policy_json(software_policy(client_bundle))
      .first_flight_attestation(d == Delivery::Push);
  auto attacker = build_or_fail(ab);
  auto reflect = [&](RawPeer& peer, ByteView context) {
    // Ask the victim to attest (with the victim's own context, when it has
    // one) and send its authenticator back.
    peer.send_frame(tls::FrameType::AuthRequest, peer.request(context, *attacker).raw);
    auto a = peer.read_frame(1000);
    if (a && a->type == tls::FrameType::Authenticator) {
      peer.send_frame(tls::FrameType::Authenticator, a->body);
    }
  };
  if (d == Delivery::Request) {
    return f.run([&](RawPeer& peer, const tls::AuthRequest& req) { reflect(peer, req.context); },
                 attacker);
  }
  f.pushing_attacker = attacker;
  return f.run_push([&](RawPeer& peer) { reflect(peer, fresh_context(0x52)); });
}

Result<Connection> downgrade_to_plain_tls(Delivery d) {
  AttackFixture f([d](Config::Builder& b) { b.first_flight_attestation(d == Delivery::Push); });
  PlainTlsServer plain(TLS1_3_VERSION);
  auto r = Client::connect(f.victim, "localhost", plain.port());
  plain.join();
  EXPECT_TRUE(plain.handshake_ok());
  EXPECT_TRUE(plain.received().empty()) << "the client sent application bytes";
  return r;
}

Result<Connection> connect_to_attested_server(std::shared_ptr<Attester> attester,
                                              Config::Builder client, Delivery d) {
  auto sb = server_builder(std::move(attester));
  sb.first_flight_attestation(d == Delivery::Push);
  ServerThread srv(build_or_fail(sb), nullptr);
  return Client::connect(build_or_fail(client), "localhost", srv.port());
}

Result<void> renewal_outcome(std::shared_ptr<Attester> first, std::shared_ptr<Attester> later,
                             const std::string& policy_json, Delivery d) {
  auto clock = std::make_shared<MutableClock>(static_cast<std::int64_t>(std::time(nullptr)));
  auto sb = server_builder(std::make_shared<SwitchingAttester>(first, later));
  sb.first_flight_attestation(d == Delivery::Push);
  ServerThread srv(build_or_fail(sb), nullptr);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(policy_json).clock(clock);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  if (!conn) {
    ADD_FAILURE() << "the first attestation failed: " << conn.error().to_string();
    return conn.error();
  }
  EXPECT_EQ(conn->peer_pushed(), d == Delivery::Push);
  clock->advance(55);  // into the renewal window (reattest_interval 60 s)
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    std::uint8_t buf[4];
    auto w = conn->write(to_bytes("ping"));
    auto n = w ? conn->read(buf) : Result<std::size_t>(w.error());
    if (!n) {
      return n.error();
    }
  }
  return ok();
}

std::string unreachable_url() {
  auto [fd, port] = listen_local();
  ::close(fd);  // nothing listens there any more
  return "http://127.0.0.1:" + std::to_string(port);
}

}  // namespace atls::test
