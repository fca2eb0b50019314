// The RA-TLS certificate mode in the TLS handshake (IntraHandshake::
// RatlsCertificate; docs/intra-handshake.md, "RA-TLS certificates"): the
// server mints a certificate per connection whose Evidence is bound to its
// key and the ClientHello random; the client appraises it before the
// handshake finishes.

#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/tls/config.h"
#include "src/tls/ratls.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <openssl/ssl.h>

namespace atls {
namespace {

using test::build_or_fail;
using test::SoftwareAttesterBundle;

Config::Builder ratls(Config::Builder b) {
  b.intra_handshake(IntraHandshake::RatlsCertificate);
  return b;
}

std::shared_ptr<const Config> attesting_server(std::shared_ptr<Attester> attester) {
  return build_or_fail(ratls(Config::builder())
                           .attester(std::move(attester))
                           .peer_attestation(AttestationMode::Off));
}

std::shared_ptr<const Config> appraising_client(const SoftwareAttesterBundle& bundle,
                                                const test::PolicyOptions& po = {}) {
  return build_or_fail(ratls(Config::builder())
                           .peer_attestation(AttestationMode::Required)
                           .policy_json(test::software_policy(bundle, po)));
}

Bytes leaf_spki_hash(SSL* ssl) {
  X509* leaf = ::SSL_get0_peer_certificate(ssl);
  return leaf != nullptr ? internal::spki_sha256(leaf).value_or(Bytes{}) : Bytes{};
}

// An Attester that hands every request to |f| (a relay's way to its genuine
// attester).
class Forwarder final : public Attester {
 public:
  Forwarder(std::shared_ptr<Attester> genuine) : m_genuine(std::move(genuine)) {}
  std::string_view name() const override { return "forwarder"; }
  std::string_view media_type() const override { return m_genuine->media_type(); }
  Result<Evidence> attest(const AttestationRequest& r) override { return m_genuine->attest(r); }

 private:
  std::shared_ptr<Attester> m_genuine;
};

TEST(RatlsHandshake, TheServerAttestsWithACertificateMintedForThisConnection) {
  const SoftwareAttesterBundle bundle = test::make_software_bundle();
  auto p = test::BioPair::make(appraising_client(bundle), attesting_server(bundle.attester));
  auto [rc, rs] = p->handshake();
  ASSERT_TRUE(rc) << rc.error().to_string();
  ASSERT_TRUE(rs) << rs.error().to_string();
  EXPECT_TRUE(p->client->is_attested());
  EXPECT_FALSE(p->client->is_plain_tls());
  ASSERT_NE(p->client->peer_result(), nullptr);
  EXPECT_EQ(p->client->peer_result()->machine_id(), bundle.machine_id);
  EXPECT_EQ(p->client->attestation_count(), 1u);
  EXPECT_EQ(p->client->reattest().error().code, ErrorCode::InvalidArgument);
  // The appraisal replaced libssl's verdict on the self-signed leaf.
  EXPECT_EQ(::SSL_get_verify_result(p->client_ssl.get()), X509_V_OK);
  // Application bytes follow the handshake directly.
  const Bytes msg = to_bytes("after a minted certificate");
  auto got = p->client_to_server(msg);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(*got, msg);
}

TEST(RatlsHandshake, EveryConnectionGetsAFreshKeyAndCertificate) {
  const SoftwareAttesterBundle bundle = test::make_software_bundle();
  auto server = attesting_server(bundle.attester);
  auto client = appraising_client(bundle);
  auto a = test::BioPair::make(client, server);
  auto b = test::BioPair::make(client, server);
  ASSERT_TRUE(a->handshake().first);
  ASSERT_TRUE(b->handshake().first);
  EXPECT_NE(leaf_spki_hash(a->client_ssl.get()), leaf_spki_hash(b->client_ssl.get()));
}

// A certificate (and its key) minted for another connection, presented
// again: its Evidence names another ClientHello random.
TEST(RatlsHandshake, ACertificateMintedForAnotherConnectionIsRefused) {
  const SoftwareAttesterBundle bundle = test::make_software_bundle();
  internal::RatlsMintOptions o;
  o.not_before = std::time(nullptr) - 60;
  o.not_after = std::time(nullptr) + 300;
  o.connection_nonce = Bytes(32, 0x5a);
  auto minted = internal::mint_ratls_certificate(*bundle.attester, o);
  ASSERT_TRUE(minted) << minted.error().to_string();
  auto replayer =
      build_or_fail(Config::builder()
                        .certificate_chain_pem(*internal::certificate_pem(minted->cert.get()))
                        .private_key_pem(*ossl::private_key_pem(minted->key.get()))
                        .peer_attestation(AttestationMode::Off)
                        .negotiation(false));
  auto [rc, rs] = test::BioPair::make(appraising_client(bundle), replayer)->handshake();
  ASSERT_FALSE(rc);
  EXPECT_EQ(rc.error().code, ErrorCode::RatlsKeyBindingMismatch) << rc.error().to_string();
}

TEST(RatlsHandshake, AServerWithoutEvidenceIsRefused) {
  const SoftwareAttesterBundle bundle = test::make_software_bundle();
  // A self-signed certificate without Evidence.
  const test::TestPki& pki = test::TestPki::get();
  auto bare = build_or_fail(Config::builder()
                                .certificate_chain_pem(pki.untrusted_chain_pem)
                                .private_key_pem(pki.untrusted_key_pem)
                                .peer_attestation(AttestationMode::Off)
                                .negotiation(false));
  auto [rc, rs] = test::BioPair::make(appraising_client(bundle), bare)->handshake();
  ASSERT_FALSE(rc);
  EXPECT_EQ(rc.error().code, ErrorCode::RatlsNoEvidence) << rc.error().to_string();
  // An ordinary CA-issued certificate: not an RA-TLS certificate at all.
  auto plain = build_or_fail(test::server_builder(nullptr).peer_attestation(AttestationMode::Off));
  auto [rc2, rs2] = test::BioPair::make(appraising_client(bundle), plain)->handshake();
  ASSERT_FALSE(rc2);
  EXPECT_EQ(rc2.error().code, ErrorCode::CertChainInvalid) << rc2.error().to_string();
}

TEST(RatlsHandshake, AnotherMachineIsRefusedByThePinnedMachineId) {
  const SoftwareAttesterBundle bundle = test::make_software_bundle();
  test::PolicyOptions po;
  po.machine_ids = {"ueid:0102030405060708"};
  auto [rc, rs] =
      test::BioPair::make(appraising_client(bundle, po), attesting_server(bundle.attester))
          ->handshake();
  ASSERT_FALSE(rc);
  EXPECT_EQ(rc.error().code, ErrorCode::MachineIdMismatch) << rc.error().to_string();
}

TEST(RatlsHandshake, AnAttesterThePolicyDoesNotTrustIsRefused) {
  const SoftwareAttesterBundle trusted = test::make_software_bundle();
  const SoftwareAttesterBundle other = test::make_software_bundle();
  auto [rc, rs] = test::BioPair::make(appraising_client(trusted), attesting_server(other.attester))
                      ->handshake();
  ASSERT_FALSE(rc);
  EXPECT_NE(rc.error().code, ErrorCode::Ok);
  EXPECT_EQ(error_category(rc.error().code), ErrorCategory::BadEvidence) << rc.error().to_string();
}

// By design: a TLS-terminating relay that can ask the genuine attester for
// Evidence (it runs next to it, or controls its key) mints a certificate the
// victim accepts (CVE-2026-33697 class; docs/intra-handshake.md).
TEST(RatlsHandshake, ARelayThatReachesTheGenuineAttesterSucceeds) {
  const SoftwareAttesterBundle genuine = test::make_software_bundle();
  auto relay = attesting_server(std::make_shared<Forwarder>(genuine.attester));
  auto [rc, rs] = test::BioPair::make(appraising_client(genuine), relay)->handshake();
  ASSERT_TRUE(rc) << rc.error().to_string();
}

TEST(RatlsHandshake, AServerNeedsAnAttester) {
  auto b = ratls(test::server_builder(nullptr));
  auto r = b.peer_attestation(AttestationMode::Off).build();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

// The mode attests the server only: a server that requires client
// attestation would admit every client, so it is refused when built.
TEST(RatlsHandshake, AServerThatRequiresClientAttestationIsRefused) {
  const SoftwareAttesterBundle bundle = test::make_software_bundle();
  auto r = ratls(Config::builder())
               .attester(bundle.attester)
               .peer_attestation(AttestationMode::Required)
               .policy_json(test::software_policy(bundle))
               .build();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace atls
