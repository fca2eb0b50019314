// End to end with a real `atls verifier` process on loopback
// (docs/verifier-service.md): remote background-check and remote passport,
// server and client attestation, software and TPM (swtpm) Evidence; and each
// way the Verifier leg can go wrong, rejected with its own error before any
// application byte crosses the connection.

#include <atls/atls.h>

#include "src/core/encoding.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/remote/verifier_client.h"
#include "tests/testlib/process.h"
#include "tests/testlib/swtpm_attester.h"
#include "tests/testlib/tls_harness.h"
#include "tests/testlib/verifier_service.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::round_trip;
using test::server_builder;
using test::ServerThread;

// The relying party's own policy: the tier it requires of the Verifier's
// result (software Evidence reaches "warning" at best).
const std::string kRpPolicy = R"({"required_tier": "warning"})";

std::shared_ptr<const remote::VerifierClient> client_for(const std::string& url,
                                                         int timeout_ms = 5000) {
  remote::ClientOptions o;
  o.url = url;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  return remote::VerifierClient::create(o).value();
}

std::shared_ptr<Attester> remote_passport(std::shared_ptr<Attester> evidence,
                                          const std::string& url) {
  PassportAttesterConfig pc;
  pc.evidence_attester = std::move(evidence);
  pc.verifier = client_for(url);
  auto a = make_passport_attester(std::move(pc));
  EXPECT_TRUE(a) << a.error().to_string();
  return std::shared_ptr<Attester>(std::move(*a));
}

// An attester that hands out Evidence for the wrong nonce.
class WrongNonceAttester final : public Attester {
 public:
  explicit WrongNonceAttester(std::shared_ptr<Attester> inner) : m_inner(std::move(inner)) {}
  std::string_view name() const override { return m_inner->name(); }
  std::string_view media_type() const override { return m_inner->media_type(); }
  Result<Evidence> attest(const AttestationRequest& request) override {
    AttestationRequest r = request;
    r.nonce.back() ^= 0x01;
    return m_inner->attest(r);
  }

 private:
  std::shared_ptr<Attester> m_inner;
};

// An attester that replays the first Evidence it produced.
class ReplayingAttester final : public Attester {
 public:
  explicit ReplayingAttester(std::shared_ptr<Attester> inner) : m_inner(std::move(inner)) {}
  std::string_view name() const override { return m_inner->name(); }
  std::string_view media_type() const override { return m_inner->media_type(); }
  Result<Evidence> attest(const AttestationRequest& request) override {
    std::lock_guard<std::mutex> lock(m_mu);
    if (!m_first) {
      ATLS_ASSIGN_OR_RETURN(Evidence e, m_inner->attest(request));
      m_first = e;
    }
    return *m_first;
  }

 private:
  std::shared_ptr<Attester> m_inner;
  std::mutex m_mu;
  std::optional<Evidence> m_first;
};

// A server that records whether any application byte reached it.
struct RecordingServer {
  std::atomic<std::size_t> received{0};
  std::unique_ptr<ServerThread> thread;

  explicit RecordingServer(std::shared_ptr<const Config> config) {
    thread = std::make_unique<ServerThread>(std::move(config), [this](Connection& c) {
      std::uint8_t buf[256];
      while (true) {
        auto n = c.read(buf);
        if (!n || *n == 0) {
          return;
        }
        received += *n;
        (void)c.write(ByteView(buf, *n));
      }
    });
  }
};

// client_attests connects a client that attests with |attester| in
// |model| to a server whose relying party uses the Verifier at
// |verifier_url|, checks a round trip, and returns the machine ids the
// server accepted (empty after a failure, which is reported).
std::vector<std::string> client_attests(std::shared_ptr<Attester> attester, AttestationModel model,
                                        const std::string& verifier_url) {
  auto sb = server_builder(nullptr);
  sb.peer_attestation(AttestationMode::Required).policy_json(kRpPolicy).verifier(verifier_url);
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Off).attester(std::move(attester), model);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  if (!conn) {
    ADD_FAILURE() << conn.error().to_string();
    return {};
  }
  const Bytes msg = to_bytes("client attested through the Verifier");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  EXPECT_TRUE(conn->close());
  srv.join();
  EXPECT_TRUE(srv.errors().empty()) << srv.errors().front().to_string();
  return srv.machine_ids();
}

class RemoteVerifier : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::verifier_service_available()) {
      GTEST_SKIP() << "no atls command in this build";
    }
    restart_service({});
  }

  // restart_service runs the service again with |extra_args| (e.g. a short
  // --session-ttl); the old process is stopped first.
  void restart_service(std::vector<std::string> extra_args) {
    service.reset();
    test::VerifierServiceOptions o;
    o.policy_json = test::software_policy(bundle);
    o.extra_args = std::move(extra_args);
    service = test::start_verifier_service(o);
    ASSERT_NE(service, nullptr);
  }

  // server_attests_with connects a client RP that uses |verifier_url| to a
  // server that attests with |attester|; returns the client's outcome.
  Result<Connection> server_attests_with(std::shared_ptr<Attester> attester,
                                         const std::string& verifier_url,
                                         RecordingServer** out_server = nullptr,
                                         int timeout_ms = 5000) {
    auto sb = server_builder(std::move(attester));
    m_server = std::make_unique<RecordingServer>(build_or_fail(sb));
    if (out_server != nullptr) {
      *out_server = m_server.get();
    }
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required)
        .policy_json(kRpPolicy)
        .verifier(verifier_url)
        .verifier_timeout(std::chrono::milliseconds(timeout_ms));
    return Client::connect(build_or_fail(cb), "localhost", m_server->thread->port());
  }

  // expect_refused: the connection fails with |code| and no application
  // byte reached the server.
  void expect_refused(std::shared_ptr<Attester> attester, const std::string& verifier_url,
                      ErrorCode code, int timeout_ms = 5000) {
    RecordingServer* srv = nullptr;
    auto conn = server_attests_with(std::move(attester), verifier_url, &srv, timeout_ms);
    ASSERT_FALSE(conn) << "connected although " << error_name(code) << " was expected";
    EXPECT_EQ(conn.error().code, code) << conn.error().to_string();
    srv->thread->join(5000);
    EXPECT_EQ(srv->received.load(), 0u);
  }

  test::SoftwareAttesterBundle bundle = test::make_software_bundle();
  std::unique_ptr<tools::VerifierProcess> service;
  std::unique_ptr<RecordingServer> m_server;
};

TEST_F(RemoteVerifier, ServerAttestationBackgroundCheck) {
  auto conn = server_attests_with(bundle.attester, service->url());
  ASSERT_TRUE(conn) << conn.error().to_string() << "\n" << service->output();
  ASSERT_TRUE(conn->is_attested());
  // The decision rests on the Verifier's EAR, with the machine it names.
  EXPECT_EQ(conn->peer_result()->media_type(), kMediaTypeEar);
  EXPECT_EQ(conn->peer_result()->machine_id(), bundle.machine_id);
  const Bytes msg = to_bytes("remote background-check");
  EXPECT_EQ(round_trip(*conn, msg), msg);
}

TEST_F(RemoteVerifier, ClientAttestationBackgroundCheck) {
  EXPECT_EQ(client_attests(bundle.attester, AttestationModel::BackgroundCheck, service->url()),
            std::vector<std::string>{bundle.machine_id});
}

TEST_F(RemoteVerifier, ServerAttestationPassport) {
  // The relying party trusts the Verifier's key from its well-known
  // endpoint; the attester never holds a signing key.
  auto conn = server_attests_with(remote_passport(bundle.attester, service->url()), service->url());
  ASSERT_TRUE(conn) << conn.error().to_string() << "\n" << service->output();
  EXPECT_EQ(conn->peer_result()->media_type(), kMediaTypeEar);
  EXPECT_EQ(conn->peer_result()->machine_id(), bundle.machine_id);
  const Bytes msg = to_bytes("remote passport");
  EXPECT_EQ(round_trip(*conn, msg), msg);
}

TEST_F(RemoteVerifier, PassportTrustedThroughAPolicyEntry) {
  // No Verifier URL at the relying party: its policy names the EAR key.
  nlohmann::json policy = {{"required_tier", "warning"},
                           {"schemes",
                            {{std::string(kMediaTypeEar),
                              {{"trust", {{"verifier_keys", service->ear_public_pem()}}}}}}}};
  auto sb = server_builder(remote_passport(bundle.attester, service->url()));
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required).policy_json(policy.dump());
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  EXPECT_EQ(conn->peer_result()->media_type(), kMediaTypeEar);
}

TEST_F(RemoteVerifier, ClientAttestationPassport) {
  EXPECT_EQ(client_attests(remote_passport(bundle.attester, service->url()),
                           AttestationModel::Passport, service->url()),
            std::vector<std::string>{bundle.machine_id});
}

TEST(RemoteVerifierTpm, BothModelsBothRolesWithSwtpm) {
  if (!test::verifier_service_available()) {
    GTEST_SKIP() << "no atls command in this build";
  }
  if (!test::swtpm_available()) {
    GTEST_SKIP() << "swtpm not installed";
  }
  auto tpm = test::start_swtpm_attester();
  ASSERT_TRUE(tpm);
  nlohmann::json policy = {{"required_tier", "warning"},
                           {"schemes",
                            {{std::string(kMediaTypeTpmQuote),
                              {{"trust", {{"ak_keys", {tpm->ak_pem}}}},
                               {"reference", {{"dangerous_any_measurement", true}}}}}}}};
  test::VerifierServiceOptions o;
  o.policy_json = policy.dump();
  auto service = test::start_verifier_service(o);
  ASSERT_NE(service, nullptr);
  // Server attestation, remote background-check.
  {
    auto sb = server_builder(tpm->attester);
    ServerThread srv(build_or_fail(sb), test::echo_handler);
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required).policy_json(kRpPolicy).verifier(service->url());
    auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
    ASSERT_TRUE(conn) << conn.error().to_string() << "\n" << service->output();
    EXPECT_EQ(conn->peer_result()->machine_id().rfind("tpm-ak-name:", 0), 0u);
    const Bytes msg = to_bytes("tpm remote");
    EXPECT_EQ(round_trip(*conn, msg), msg);
  }
  // Server attestation, remote passport.
  {
    auto sb = server_builder(remote_passport(tpm->attester, service->url()));
    ServerThread srv(build_or_fail(sb), test::echo_handler);
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required).policy_json(kRpPolicy).verifier(service->url());
    auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
    ASSERT_TRUE(conn) << conn.error().to_string();
    EXPECT_EQ(conn->peer_result()->media_type(), kMediaTypeEar);
    EXPECT_EQ(conn->peer_result()->machine_id().rfind("tpm-ak-name:", 0), 0u);
    const Bytes msg = to_bytes("tpm server passport");
    EXPECT_EQ(round_trip(*conn, msg), msg);
  }
  // Client attestation, both models.
  for (const bool passport : {false, true}) {
    const auto ids =
        passport ? client_attests(remote_passport(tpm->attester, service->url()),
                                  AttestationModel::Passport, service->url())
                 : client_attests(tpm->attester, AttestationModel::BackgroundCheck, service->url());
    ASSERT_EQ(ids.size(), 1u) << (passport ? "passport" : "background-check");
    EXPECT_EQ(ids[0].rfind("tpm-ak-name:", 0), 0u);
  }
}

TEST(RemoteVerifierHttps, VerifierAuthenticatedByItsCa) {
  if (!test::verifier_service_available()) {
    GTEST_SKIP() << "no atls command in this build";
  }
  auto bundle = test::make_software_bundle();
  const auto& pki = test::TestPki::get();
  test::TempDir dir;
  ASSERT_TRUE(test::write_text_file(dir.file("cert.pem"), pki.server_chain_pem));
  ASSERT_TRUE(test::write_text_file(dir.file("key.pem"), pki.server_key_pem));
  ASSERT_TRUE(test::write_text_file(dir.file("ca.pem"), pki.ca_pem));
  ASSERT_TRUE(test::write_text_file(dir.file("other-ca.pem"), pki.untrusted_chain_pem));
  test::VerifierServiceOptions o;
  o.policy_json = test::software_policy(bundle);
  o.extra_args = {"--tls-cert", dir.file("cert.pem"), "--tls-key", dir.file("key.pem")};
  auto service = test::start_verifier_service(o);
  ASSERT_NE(service, nullptr);
  const std::string url = "https://localhost:" + std::to_string(service->port());
  auto sb = server_builder(bundle.attester);
  ServerThread srv(build_or_fail(sb), test::echo_handler, 2);
  const auto connect = [&](const std::string& ca) {
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required).policy_json(kRpPolicy).verifier(url, ca);
    return Client::connect(build_or_fail(cb), "localhost", srv.port());
  };
  // The Verifier's certificate chains to the given CA: remote appraisal works.
  auto conn = connect(dir.file("ca.pem"));
  ASSERT_TRUE(conn) << conn.error().to_string() << "\n" << service->output();
  EXPECT_EQ(conn->peer_result()->machine_id(), bundle.machine_id);
  const Bytes msg = to_bytes("over https");
  EXPECT_EQ(round_trip(*conn, msg), msg);
  ASSERT_TRUE(conn->close());
  // A Verifier the relying party cannot authenticate is never asked.
  auto refused = connect(dir.file("other-ca.pem"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::VerifierUnavailable) << refused.error().to_string();
}

// --- the Verifier leg under attack or failure -----------------------------------

TEST_F(RemoteVerifier, ForgedSessionIsRefused) {
  test::TamperProxy::Hooks h;
  h.location = [](const std::string& loc) {
    std::string forged = loc;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    return forged;
  };
  test::TamperProxy proxy(service->url(), h);
  expect_refused(bundle.attester, proxy.url(), ErrorCode::VerifierSessionInvalid);
}

TEST_F(RemoteVerifier, ExpiredSessionIsRefused) {
  restart_service({"--session-ttl", "1"});
  test::TamperProxy::Hooks h;
  h.submit_delay_ms = 2200;  // past the session's expiry
  test::TamperProxy proxy(service->url(), h);
  expect_refused(bundle.attester, proxy.url(), ErrorCode::VerifierSessionExpired);
}

TEST_F(RemoteVerifier, EvidenceForAnotherNonceIsRefused) {
  expect_refused(std::make_shared<WrongNonceAttester>(bundle.attester), service->url(),
                 ErrorCode::NonceMismatch);
}

TEST_F(RemoteVerifier, ReplayedEvidenceIsRefused) {
  auto replaying = std::make_shared<ReplayingAttester>(bundle.attester);
  {
    auto first = server_attests_with(replaying, service->url());
    ASSERT_TRUE(first) << first.error().to_string();
  }
  expect_refused(replaying, service->url(), ErrorCode::NonceMismatch);
}

TEST_F(RemoteVerifier, WrongMediaTypeIsRefused) {
  test::TamperProxy::Hooks h;
  h.content_type = "application/vnd.example.unknown-evidence";
  test::TamperProxy proxy(service->url(), h);
  expect_refused(bundle.attester, proxy.url(), ErrorCode::UnsupportedMediaType);
}

TEST_F(RemoteVerifier, OversizeBodyIsRefused) {
  restart_service({"--max-body", "64"});
  expect_refused(bundle.attester, service->url(), ErrorCode::PayloadTooLarge);
}

TEST_F(RemoteVerifier, VerifierDownFailsClosed) {
  const std::string url = service->url();
  service.reset();  // stopped: nothing listens there any more
  expect_refused(bundle.attester, url, ErrorCode::VerifierUnavailable);
}

TEST_F(RemoteVerifier, ClientLearnsWhyWhenTheServersVerifierIsDown) {
  const std::string url = service->url();
  service.reset();
  auto sb = server_builder(nullptr);
  sb.peer_attestation(AttestationMode::Required).policy_json(kRpPolicy).verifier(url);
  ServerThread srv(build_or_fail(sb), test::echo_handler);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Off).attester(bundle.attester);
  auto conn = Client::connect(build_or_fail(cb), "localhost", srv.port());
  Error e = conn ? Error{} : conn.error();
  if (conn) {
    std::uint8_t buf[16];
    auto n = conn->read(buf);
    ASSERT_FALSE(n) << "the server delivered data without attestation";
    e = n.error();
  }
  // The server fails closed and says why: an internal_error ALERT naming
  // the Verifier's failure, not a silent close.
  EXPECT_EQ(e.code, ErrorCode::PeerAlert) << e.to_string();
  EXPECT_NE(e.detail.find("VerifierUnavailable"), std::string::npos) << e.to_string();
  srv.join();
  ASSERT_FALSE(srv.errors().empty());
  EXPECT_EQ(srv.errors().front().code, ErrorCode::VerifierUnavailable);
}

TEST_F(RemoteVerifier, SlowVerifierTimesOut) {
  test::TamperProxy::Hooks h;
  h.reply_delay_ms = 1500;
  test::TamperProxy proxy(service->url(), h);
  expect_refused(bundle.attester, proxy.url(), ErrorCode::VerifierTimeout, /*timeout_ms=*/300);
}

TEST_F(RemoteVerifier, PassportWithoutAReachableVerifierFails) {
  const std::string url = service->url();
  auto passport = remote_passport(bundle.attester, url);
  service.reset();
  RecordingServer* srv = nullptr;
  auto conn = server_attests_with(passport, url, &srv);
  ASSERT_FALSE(conn);
  srv->thread->join(5000);
  EXPECT_EQ(srv->received.load(), 0u);
}

}  // namespace
}  // namespace atls
