// The early-attestation mode (draft-fossati-seat-early-attestation;
// docs/intra-handshake.md): server, client and mutual attestation inside the
// TLS handshake, and the attacks on it, each asserting its error code on the
// side that detects it (and, where the peer learns it from an alert, there
// too). The relay tests state what this mode cannot do: a TLS-terminating
// relay that holds the genuine attester's TLS key is not detected.

#include <atls/atls.h>

#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/tls/early/early_attestation.h"
#include "src/tls/openssl_attach.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <mutex>
#include <string>

namespace atls {
namespace {

using test::BioPair;
using test::build_or_fail;
using test::client_builder;
using test::server_builder;
using test::SoftwareAttesterBundle;

// Recorder wraps an attester: it keeps the Evidence it made, and in
// replay mode answers every request with the first Evidence it made.
class Recorder final : public Attester {
 public:
  explicit Recorder(std::shared_ptr<Attester> inner) : m_inner(std::move(inner)) {}
  std::string_view name() const override { return "recorder"; }
  std::string_view media_type() const override { return m_inner->media_type(); }
  Result<Evidence> attest(const AttestationRequest& req) override {
    std::lock_guard<std::mutex> lock(m_mu);
    if (replay && first) {
      return *first;
    }
    auto e = m_inner->attest(req);
    if (e) {
      last = *e;
      if (!first) {
        first = *e;
      }
    }
    return e;
  }
  bool replay = false;
  std::optional<Evidence> first;
  std::optional<Evidence> last;

 private:
  std::shared_ptr<Attester> m_inner;
  std::mutex m_mu;
};

// Fixed returns one CMW whatever it is asked.
class Fixed final : public Attester {
 public:
  Fixed(std::string media_type, Bytes cmw) : m_type(std::move(media_type)), m_cmw(std::move(cmw)) {}
  std::string_view name() const override { return "fixed"; }
  std::string_view media_type() const override { return m_type; }
  Result<Evidence> attest(const AttestationRequest&) override { return Evidence{m_cmw, {}}; }

 private:
  std::string m_type;
  Bytes m_cmw;
};

// Forwarder is the relay's attester: whatever it is asked, it returns what
// |fetch| gets from elsewhere.
class Forwarder final : public Attester {
 public:
  Forwarder(std::string media_type, std::function<Result<Evidence>(const AttestationRequest&)> f)
      : m_type(std::move(media_type)), m_fetch(std::move(f)) {}
  std::string_view name() const override { return "forwarder"; }
  std::string_view media_type() const override { return m_type; }
  Result<Evidence> attest(const AttestationRequest& r) override { return m_fetch(r); }

 private:
  std::string m_type;
  std::function<Result<Evidence>(const AttestationRequest&)> m_fetch;
};

Config::Builder early(Config::Builder b) {
  b.intra_handshake(IntraHandshake::EarlyAttestation);
  return b;
}

// A server that attests with |attester| and does not appraise its client.
std::shared_ptr<const Config> attesting_server(std::shared_ptr<Attester> attester) {
  return build_or_fail(
      early(server_builder(std::move(attester))).peer_attestation(AttestationMode::Off));
}

// A client that requires the server's attestation by |bundle|.
std::shared_ptr<const Config> appraising_client(const SoftwareAttesterBundle& bundle,
                                                const test::PolicyOptions& o = {}) {
  return build_or_fail(early(client_builder())
                           .peer_attestation(AttestationMode::Required)
                           .policy_json(test::software_policy(bundle, o)));
}

tls::early::EarlyState& early_state(SSL* ssl) {
  return *internal::handshake_state(ssl)->early;
}

void expect_failure(const Result<void>& r, ErrorCode code) {
  ASSERT_FALSE(r) << "expected " << error_name(code);
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
}

struct Outcome {
  Result<void> client = ok();
  Result<void> server = ok();
};

Outcome handshake(std::shared_ptr<const Config> client, std::shared_ptr<const Config> server,
                  const std::function<void(BioPair&)>& before = nullptr) {
  auto p = BioPair::make(std::move(client), std::move(server));
  if (!p) {
    return {Error{ErrorCode::Internal, "pair"}, Error{ErrorCode::Internal, "pair"}};
  }
  if (before) {
    before(*p);
  }
  auto [c, s] = p->handshake();
  return {std::move(c), std::move(s)};
}

// --- the three directions -----------------------------------------------------

TEST(EarlyAttestation, ServerAttests) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto p = BioPair::make(appraising_client(srv), attesting_server(srv.attester));
  ASSERT_TRUE(p);
  auto [c, s] = p->handshake();
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_TRUE(p->client->is_attested());
  ASSERT_NE(p->client->peer_result(), nullptr);
  EXPECT_EQ(p->client->peer_result()->machine_id(), srv.machine_id);
  EXPECT_FALSE(p->server->is_attested());
  EXPECT_FALSE(p->client->is_plain_tls());
  EXPECT_EQ(p->client->attestation_count(), 1u);
  EXPECT_EQ(p->server->attestation_count(), 0u);
  // Both sides derived one binder: the server for its Evidence, the client
  // to check it.
  const Bytes& made = early_state(p->server_ssl.get()).own_binder;
  EXPECT_TRUE(made.size() == 32u || made.size() == 48u);  // the suite's hash
  EXPECT_EQ(made, early_state(p->client_ssl.get()).peer_binder);
  // No re-attestation in this mode.
  EXPECT_EQ(p->client->reattest().error().code, ErrorCode::InvalidArgument);
}

// The appraisal made in the handshake is not renewed: once its valid_until
// passes, the connection no longer counts as attested.
TEST(EarlyAttestation, AttestedUntilTheAppraisalExpires) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto clock = std::make_shared<test::MutableClock>(static_cast<std::int64_t>(std::time(nullptr)));
  auto client = build_or_fail(early(client_builder())
                                  .peer_attestation(AttestationMode::Required)
                                  .policy_json(test::software_policy(srv))
                                  .clock(clock));
  auto p = BioPair::make(client, attesting_server(srv.attester));
  ASSERT_TRUE(p);
  auto [c, s] = p->handshake();
  ASSERT_TRUE(c && s);
  ASSERT_TRUE(p->client->is_attested());
  clock->set(p->client->peer_result()->valid_until());
  EXPECT_FALSE(p->client->is_attested());
}

TEST(EarlyAttestation, ClientAttests) {
  const SoftwareAttesterBundle cli = test::make_software_bundle();
  auto server = build_or_fail(early(server_builder(nullptr))
                                  .peer_attestation(AttestationMode::Required)
                                  .policy_json(test::software_policy(cli)));
  auto client = build_or_fail(early(client_builder())
                                  .attester(cli.attester)
                                  .attestation_only_identity()
                                  .peer_attestation(AttestationMode::Off));
  auto p = BioPair::make(client, server);
  ASSERT_TRUE(p);
  auto [c, s] = p->handshake();
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_TRUE(p->server->is_attested());
  ASSERT_NE(p->server->peer_result(), nullptr);
  EXPECT_EQ(p->server->peer_result()->machine_id(), cli.machine_id);
  EXPECT_FALSE(p->client->is_attested());
}

TEST(EarlyAttestation, Mutual) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  const SoftwareAttesterBundle cli = test::make_software_bundle();
  auto server = build_or_fail(early(server_builder(srv.attester))
                                  .peer_attestation(AttestationMode::Required)
                                  .policy_json(test::software_policy(cli)));
  auto client = build_or_fail(early(client_builder())
                                  .attester(cli.attester)
                                  .attestation_only_identity()
                                  .peer_attestation(AttestationMode::Required)
                                  .policy_json(test::software_policy(srv)));
  auto p = BioPair::make(client, server);
  ASSERT_TRUE(p);
  auto [c, s] = p->handshake();
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_TRUE(p->client->is_attested() && p->server->is_attested());
  EXPECT_EQ(p->client->peer_result()->machine_id(), srv.machine_id);
  EXPECT_EQ(p->server->peer_result()->machine_id(), cli.machine_id);
  // One transcript, two keys: two binders (no role label, the keys differ).
  EXPECT_NE(early_state(p->server_ssl.get()).own_binder,
            early_state(p->client_ssl.get()).own_binder);
}

// After the handshake the stream is the application's: no preamble, no
// frames. A real socket, the echo server, and bytes both ways.
TEST(EarlyAttestation, ApplicationBytesFlowDirectly) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  test::ServerThread thread(attesting_server(srv.attester), nullptr);
  auto conn = Client::connect(appraising_client(srv), "localhost", thread.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_TRUE(conn->is_attested());
  const std::string msg = "hello over an early-attested connection";
  ASSERT_TRUE(conn->write(to_bytes(msg)));
  std::string got;
  std::uint8_t buf[256];
  while (got.size() < msg.size()) {
    auto n = conn->read(buf);
    ASSERT_TRUE(n) << n.error().to_string();
    got.append(reinterpret_cast<const char*>(buf), *n);
  }
  EXPECT_EQ(got, msg);
  (void)conn->close();
  thread.join();
  EXPECT_TRUE(thread.errors().empty());
}

// --- negotiation --------------------------------------------------------------

// The client accepts passports only; the server makes Evidence: nothing in
// common, so the server refuses at the ClientHello.
TEST(EarlyAttestation, NoCommonScheme) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto client = build_or_fail(early(client_builder())
                                  .peer_attestation(AttestationMode::Required)
                                  .accept_models({AttestationModel::Passport})
                                  .policy_json(test::software_policy(srv)));
  auto o = handshake(client, attesting_server(srv.attester));
  expect_failure(o.server, ErrorCode::NoCommonScheme);
  expect_failure(o.client, ErrorCode::EarlyPeerUnsupportedSchemes);
}

// The server asks the client to attest but will not attest itself; the
// client requires it: attestation_required, before the client's Finished.
TEST(EarlyAttestation, ServerDeclinesWhileClientRequires) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  const SoftwareAttesterBundle cli = test::make_software_bundle();
  auto server = build_or_fail(early(server_builder(nullptr))
                                  .peer_attestation(AttestationMode::Optional)
                                  .policy_json(test::software_policy(cli)));
  auto client = build_or_fail(early(client_builder())
                                  .attester(cli.attester)
                                  .attestation_only_identity()
                                  .peer_attestation(AttestationMode::Required)
                                  .policy_json(test::software_policy(srv)));
  auto o = handshake(client, server);
  expect_failure(o.client, ErrorCode::AttestationRequired);
  // libssl aborts from its certificate check here and picks the alert
  // itself (docs/protocol-choices.md): the server learns no more.
  expect_failure(o.server, ErrorCode::TlsHandshakeFailed);
}

// A server that requires client attestation from a client that cannot.
TEST(EarlyAttestation, ServerRequiresClientThatCannot) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  const SoftwareAttesterBundle cli = test::make_software_bundle();
  auto server = build_or_fail(early(server_builder(srv.attester))
                                  .peer_attestation(AttestationMode::Required)
                                  .policy_json(test::software_policy(cli)));
  auto o = handshake(appraising_client(srv), server);
  expect_failure(o.server, ErrorCode::AttestationRequired);
  expect_failure(o.client, ErrorCode::EarlyPeerAttestationRequired);
}

// --- attacks --------------------------------------------------------------------

// Evidence made for one connection, presented on another: its nonce is the
// first connection's binder.
TEST(EarlyAttestation, ReplayedEvidenceFailsTheBinder) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto rec = std::make_shared<Recorder>(srv.attester);
  auto server = attesting_server(rec);
  auto client = appraising_client(srv);
  auto first = handshake(client, server);
  ASSERT_TRUE(first.client && first.server);
  rec->replay = true;
  auto o = handshake(client, server);
  expect_failure(o.client, ErrorCode::NonceMismatch);
  expect_failure(o.server, ErrorCode::EarlyPeerAttestationFailed);
}

TEST(EarlyAttestation, MalformedCmwFails) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto bad = std::make_shared<Fixed>(std::string(srv.attester->media_type()),
                                     to_bytes(R"(["application/eat+jwt"])"));
  auto o = handshake(appraising_client(srv), attesting_server(bad));
  expect_failure(o.client, ErrorCode::CmwMalformed);
  expect_failure(o.server, ErrorCode::EarlyPeerAttestationFailed);
}

// A well-formed CMW that carries no Evidence a Verifier knows.
TEST(EarlyAttestation, CmwThatIsNotEvidenceFails) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto other = std::make_shared<Fixed>(std::string(srv.attester->media_type()),
                                       to_bytes(R"(["text/plain","aGVsbG8"])"));
  auto o = handshake(appraising_client(srv), attesting_server(other));
  expect_failure(o.client, ErrorCode::UnsupportedMediaType);
  expect_failure(o.server, ErrorCode::EarlyPeerAttestationFailed);
}

// The draft: the extension only in the first CertificateEntry; elsewhere
// the receiver aborts with illegal_parameter.
TEST(EarlyAttestation, ExtensionOnANonLeafEntryIsIllegal) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto o = handshake(appraising_client(srv), attesting_server(srv.attester), [](BioPair& p) {
    early_state(p.server_ssl.get()).dangerous_evidence_entry = 1;  // the CA certificate
  });
  expect_failure(o.client, ErrorCode::EarlyAttestationMisplaced);
  // illegal_parameter is a plain TLS alert: the server learns no more.
  expect_failure(o.server, ErrorCode::TlsHandshakeFailed);
}

// The client checks that the server chose among the schemes it offered.
TEST(EarlyAttestation, ChosenSchemeThatWasNotOfferedIsIllegal) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto o = handshake(appraising_client(srv), attesting_server(srv.attester), [](BioPair& p) {
    early_state(p.server_ssl.get()).dangerous_chosen_server_scheme =
        tls::AttestationScheme::evidence_media_type("application/x-not-offered");
  });
  expect_failure(o.client, ErrorCode::EarlyAttestationMisplaced);
  expect_failure(o.server, ErrorCode::TlsHandshakeFailed);
}

// Negotiated, but the leaf carries no Evidence.
TEST(EarlyAttestation, MissingEvidenceFails) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto o = handshake(appraising_client(srv), attesting_server(srv.attester), [](BioPair& p) {
    early_state(p.server_ssl.get()).dangerous_evidence_entry = 7;  // no such entry
  });
  expect_failure(o.client, ErrorCode::EarlyAttestationMissing);
  // libssl aborts from its certificate check here and picks the alert
  // itself (docs/protocol-choices.md): the server learns no more.
  expect_failure(o.server, ErrorCode::TlsHandshakeFailed);
}

// Key substitution: genuine Evidence, but bound to another key than the
// TLS certificate's (an attester whose key is not the TLS key).
TEST(EarlyAttestation, EvidenceForAnotherKeyFails) {
  const SoftwareAttesterBundle srv = test::make_software_bundle();
  auto other_chain = ossl::parse_certificates(to_bytes(test::TestPki::get().other_chain_pem));
  ASSERT_TRUE(other_chain);
  auto other_spki = ossl::cert_spki_der(other_chain->front().get());
  ASSERT_TRUE(other_spki);
  auto o = handshake(appraising_client(srv), attesting_server(srv.attester), [&](BioPair& p) {
    early_state(p.server_ssl.get()).dangerous_binder_spki = *other_spki;
  });
  expect_failure(o.client, ErrorCode::NonceMismatch);
  expect_failure(o.server, ErrorCode::EarlyPeerAttestationFailed);
}

// Evidence made an hour ago (by a clock that is behind) is older than the
// policy's max_evidence_age.
TEST(EarlyAttestation, StaleEvidenceFails) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  test::MutableClock past(now - 3600);
  const SoftwareAttesterBundle srv = test::make_software_bundle(&past);
  test::PolicyOptions o300;
  o300.max_evidence_age = 300;
  auto o = handshake(appraising_client(srv, o300), attesting_server(srv.attester));
  expect_failure(o.client, ErrorCode::EvidenceStale);
  expect_failure(o.server, ErrorCode::EarlyPeerAttestationFailed);
}

// --- relays ---------------------------------------------------------------------

// What this mode cannot detect (CVE-2026-33697 and the later attacks on
// certificate- and handshake-bound designs): a TLS-terminating relay that
// holds the genuine server's TLS key and can ask the genuine attester for
// Evidence over a nonce of its choosing. The binder depends only on the
// relay's own ClientHello..ServerHello and the genuine key, so the Evidence
// verifies. This test asserts that the attack SUCCEEDS.
TEST(EarlyAttestation, RelayHoldingTheGenuineKeySucceeds) {
  const SoftwareAttesterBundle genuine = test::make_software_bundle();
  // The relay: the genuine certificate and key (server_builder's), and an
  // attester that forwards each nonce to the genuine attester.
  auto forward = std::make_shared<Forwarder>(
      std::string(genuine.attester->media_type()),
      [&](const AttestationRequest& r) { return genuine.attester->attest(r); });
  auto o = handshake(appraising_client(genuine), attesting_server(forward));
  ASSERT_TRUE(o.client) << o.client.error().to_string();
  ASSERT_TRUE(o.server) << o.server.error().to_string();
}

// A relay without the genuine key terminates TLS with its own certificate
// and forwards Evidence it obtained from the genuine server on its own
// connection: that Evidence is bound to the other connection's transcript
// and the genuine key, so the binder does not match.
TEST(EarlyAttestation, RelayWithoutTheKeyFails) {
  const SoftwareAttesterBundle genuine = test::make_software_bundle();
  auto rec = std::make_shared<Recorder>(genuine.attester);
  auto genuine_server = attesting_server(rec);
  auto relay_upstream = appraising_client(genuine);
  auto forward =
      std::make_shared<Forwarder>(std::string(genuine.attester->media_type()),
                                  [&](const AttestationRequest&) -> Result<Evidence> {
                                    auto up = handshake(relay_upstream, genuine_server);
                                    if (!up.client || !rec->last) {
                                      return Error{ErrorCode::AttesterFailure, "upstream"};
                                    }
                                    return *rec->last;
                                  });
  const test::TestPki& pki = test::TestPki::get();
  auto relay_server = build_or_fail(Config::builder()
                                        .certificate_chain_pem(pki.other_chain_pem)
                                        .private_key_pem(pki.other_key_pem)
                                        .attester(forward)
                                        .intra_handshake(IntraHandshake::EarlyAttestation)
                                        .peer_attestation(AttestationMode::Off));
  // The victim trusts the CA, and the relay's certificate is for
  // other.test: the victim connects by that name.
  auto victim = appraising_client(genuine);
  auto p = BioPair::make(victim, relay_server, "other.test");
  ASSERT_TRUE(p);
  auto [c, s] = p->handshake();
  expect_failure(c, ErrorCode::NonceMismatch);
  expect_failure(s, ErrorCode::EarlyPeerAttestationFailed);
}

}  // namespace
}  // namespace atls
