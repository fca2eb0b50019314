#include "tests/testlib/intra_handshake_attacks.h"

#include "src/ossl/keys.h"
#include "src/tls/config.h"
#include "src/tls/ratls.h"
#include "tests/testlib/tls_harness.h"

#include <ctime>
#include <functional>
#include <optional>

namespace atls::test::intra {
namespace {

// Relay is an Attester that hands each request to |f|.
class Relay final : public Attester {
 public:
  Relay(std::shared_ptr<Attester> genuine,
        std::function<Result<Evidence>(Attester&, const AttestationRequest&)> f)
      : m_genuine(std::move(genuine)), m_f(std::move(f)) {}
  std::string_view name() const override { return "relay"; }
  std::string_view media_type() const override { return m_genuine->media_type(); }
  Result<Evidence> attest(const AttestationRequest& r) override { return m_f(*m_genuine, r); }

 private:
  std::shared_ptr<Attester> m_genuine;
  std::function<Result<Evidence>(Attester&, const AttestationRequest&)> m_f;
};

std::shared_ptr<const Config> server(IntraHandshake mode, std::shared_ptr<Attester> attester) {
  Config::Builder b =
      mode == IntraHandshake::EarlyAttestation ? server_builder(nullptr) : Config::builder();
  b.attester(std::move(attester)).intra_handshake(mode).peer_attestation(AttestationMode::Off);
  return build_or_fail(b);
}

std::shared_ptr<const Config> victim(IntraHandshake mode, const SoftwareAttesterBundle& trusted,
                                     const PolicyOptions& po = {}) {
  Config::Builder b = client_builder();
  b.intra_handshake(mode)
      .peer_attestation(AttestationMode::Required)
      .policy_json(software_policy(trusted, po));
  return build_or_fail(b);
}

Result<void> connect(std::shared_ptr<const Config> client, std::shared_ptr<const Config> srv) {
  auto p = BioPair::make(std::move(client), std::move(srv));
  if (!p) {
    return Error{ErrorCode::Internal, "BIO pair"};
  }
  return p->handshake().first;
}

}  // namespace

Result<void> relay_with_the_genuine_attester(IntraHandshake mode) {
  const SoftwareAttesterBundle genuine = make_software_bundle();
  auto relay = std::make_shared<Relay>(
      genuine.attester, [](Attester& a, const AttestationRequest& r) { return a.attest(r); });
  return connect(victim(mode, genuine), server(mode, relay));
}

Result<void> replay_evidence(IntraHandshake mode) {
  const SoftwareAttesterBundle genuine = make_software_bundle();
  // Evidence recorded for another nonce (another connection's binder).
  AttestationRequest other;
  other.nonce = Bytes(32, 0x77);
  auto recorded = genuine.attester->attest(other);
  if (!recorded) {
    return recorded.error();
  }
  auto relay = std::make_shared<Relay>(
      genuine.attester,
      [ev = *recorded](Attester&, const AttestationRequest&) -> Result<Evidence> { return ev; });
  return connect(victim(mode, genuine), server(mode, relay));
}

Result<void> replay_certificate() {
  const SoftwareAttesterBundle genuine = make_software_bundle();
  internal::RatlsMintOptions o;
  o.not_before = std::time(nullptr) - 60;
  o.not_after = std::time(nullptr) + 300;
  o.connection_nonce = Bytes(32, 0x5a);  // another connection's ClientHello random
  ATLS_ASSIGN_OR_RETURN(internal::RatlsCertificate minted,
                        internal::mint_ratls_certificate(*genuine.attester, o));
  ATLS_ASSIGN_OR_RETURN(std::string cert_pem, internal::certificate_pem(minted.cert.get()));
  ATLS_ASSIGN_OR_RETURN(std::string key_pem, ossl::private_key_pem(minted.key.get()));
  auto replayer = build_or_fail(Config::builder()
                                    .certificate_chain_pem(cert_pem)
                                    .private_key_pem(key_pem)
                                    .peer_attestation(AttestationMode::Off)
                                    .negotiation(false));
  return connect(victim(IntraHandshake::RatlsCertificate, genuine), replayer);
}

Result<void> substitute_key(IntraHandshake mode) {
  const SoftwareAttesterBundle genuine = make_software_bundle();
  // The genuine attester signs a nonce computed for another key: the
  // certificate's own key is not the one its Evidence names.
  auto relay = std::make_shared<Relay>(
      genuine.attester, [](Attester& a, const AttestationRequest& r) -> Result<Evidence> {
        auto other_key = ossl::generate_key(ossl::KeyType::EcP256);
        if (!other_key) {
          return other_key.error();
        }
        AttestationRequest moved = r;
        for (auto& b : moved.nonce) {
          b ^= 0x01;  // the binder of another SPKI
        }
        return a.attest(moved);
      });
  return connect(victim(mode, genuine), server(mode, relay));
}

Result<void> downgrade(IntraHandshake mode) {
  const SoftwareAttesterBundle genuine = make_software_bundle();
  // A server that does not speak the mode (a post-handshake atls server,
  // which the victim's ClientHello does not address).
  auto plain =
      build_or_fail(server_builder(genuine.attester).peer_attestation(AttestationMode::Off));
  return connect(victim(mode, genuine), plain);
}

Result<void> stale_evidence(IntraHandshake mode) {
  static MutableClock old_clock(static_cast<std::int64_t>(std::time(nullptr)) - 1000);
  old_clock.set(static_cast<std::int64_t>(std::time(nullptr)) - 1000);
  const SoftwareAttesterBundle old = make_software_bundle(&old_clock);
  return connect(victim(mode, old), server(mode, old.attester));
}

Result<void> posture_change(IntraHandshake mode) {
  const SoftwareAttesterBundle genuine = make_software_bundle();
  auto p = BioPair::make(victim(mode, genuine), server(mode, genuine.attester));
  auto [rc, rs] = p->handshake();
  ATLS_TRY(rc);
  // Whatever the attester's state becomes now, nothing asks again: the
  // victim keeps the handshake's appraisal until its valid_until.
  if (!p->client->is_attested() || p->client->reattest()) {
    return Error{ErrorCode::Internal, "expected an attested connection without re-attestation"};
  }
  return ok();
}

Result<void> diversion(IntraHandshake mode) {
  const SoftwareAttesterBundle genuine = make_software_bundle();
  PolicyOptions po;
  po.machine_ids = {"ueid:0102030405060708"};
  return connect(victim(mode, genuine, po), server(mode, genuine.attester));
}

}  // namespace atls::test::intra
