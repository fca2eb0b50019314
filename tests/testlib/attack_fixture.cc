#include "tests/testlib/attack_fixture.h"

#include "src/ossl/x509.h"
#include "src/tls/config.h"
#include "src/tls/frame.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <thread>
#include <utility>

namespace atls::test {

void AttackFixture::make_attackers() {
  // The scripts of run() answer the victim's request: no push agreed.
  auto request_mode = server_builder(attester);
  request_mode.first_flight_attestation(false);
  attacker = build_or_fail(request_mode);
  pushing_attacker = build_or_fail(server_builder(attester));
}

AttackFixture::AttackFixture(std::function<void(Config::Builder&)> tweak_victim)
    : attester(genuine.attester) {
  make_attackers();
  auto vb = client_builder();
  vb.peer_attestation(AttestationMode::Required)
      .policy_json(software_policy(genuine))
      .attestation_timeout(std::chrono::milliseconds(3000));
  if (tweak_victim) {
    tweak_victim(vb);
  }
  victim = build_or_fail(vb);
}

AttackFixture::AttackFixture(std::shared_ptr<Attester> genuine_attester,
                             const std::string& victim_policy)
    : attester(std::move(genuine_attester)) {
  make_attackers();
  auto vb = client_builder();
  vb.peer_attestation(AttestationMode::Required)
      .policy_json(victim_policy)
      .attestation_timeout(std::chrono::milliseconds(3000));
  victim = build_or_fail(vb);
}

Result<Connection> AttackFixture::run(
    const Script& script, std::shared_ptr<const Config> as,
    const std::function<Result<void>(Connection&)>& after_connect) {
  return connect_victim(as ? as : attacker, after_connect, [&script](RawPeer& peer) {
    auto f = peer.read_frame();
    if (!f || f->type != tls::FrameType::AuthRequest) {
      ADD_FAILURE() << "the victim sent no request";
      return;
    }
    auto req = tls::parse_auth_request(f->body);
    if (!req) {
      ADD_FAILURE() << req.error().to_string();
      return;
    }
    script(peer, *req);
  });
}

Result<Connection> AttackFixture::run_push(
    const std::function<void(RawPeer& peer)>& script,
    const std::function<Result<void>(Connection&)>& after_connect) {
  return connect_victim(pushing_attacker, after_connect, [&script](RawPeer& peer) {
    EXPECT_TRUE(internal::push_negotiated(peer.hs())) << "the victim did not accept a push";
    script(peer);
  });
}

Result<Connection> AttackFixture::connect_victim(
    std::shared_ptr<const Config> as, const std::function<Result<void>(Connection&)>& after_connect,
    const std::function<void(RawPeer& peer)>& after_preambles) {
  auto [lfd, port] = listen_local();
  std::thread t([lfd = lfd, as, &after_preambles]() {
    auto peer = RawPeer::accept_on(lfd, as);
    if (!peer) {
      return;
    }
    peer->send_preamble();
    if (!peer->read_preamble()) {
      return;
    }
    after_preambles(*peer);
    (void)peer->read_all(4000);
  });
  auto conn = Client::connect(victim, "localhost", port);
  Result<Connection> out = std::move(conn);
  if (out && after_connect) {
    if (auto r = after_connect(*out); !r) {
      out = r.error();
    }
  } else if (out) {
    // Let the connection observe whatever the attacker sends next.
    std::uint8_t buf[16];
    auto r = out->read(buf);
    if (!r) {
      out = r.error();
    }
  }
  t.join();
  ::close(lfd);
  return out;
}

Bytes AttackFixture::genuine_answer(RawPeer& peer, const tls::AuthRequest& req) {
  const auto& cs = internal::config_state(*attacker);
  const Bytes spki = ossl::cert_spki_der(cs.chain.front().get()).value();
  const Bytes cmw = attest_cmw(*attester, peer.binder(spki, req.context), spki);
  return peer.answer(req, cs.chain_der, cs.key.get(), cmw, *attacker);
}

Bytes AttackFixture::genuine_push(RawPeer& peer, ByteView context) {
  return bound_push(peer, context, context);
}

Bytes AttackFixture::bound_push(RawPeer& peer, ByteView context, ByteView evidence_context,
                                std::vector<tls::Extension> extra) {
  const auto& cs = internal::config_state(*pushing_attacker);
  const Bytes spki = ossl::cert_spki_der(cs.chain.front().get()).value();
  const Bytes cmw = attest_cmw(*attester, peer.binder(spki, evidence_context), spki);
  return peer.push(context, cs.chain_der, cs.key.get(), cmw, *pushing_attacker, std::move(extra));
}

void expect_code(const Result<Connection>& r, ErrorCode code) {
  ASSERT_FALSE(r) << "the attack succeeded";
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
}

}  // namespace atls::test
