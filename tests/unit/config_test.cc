// Config and Config::Builder (src/tls/config.cc, include/atls/config.h):
// builder errors, the defaults, policy settings and their overrides, and
// user plug-ins registered with add_verifier.

#include <atls/atls.h>

#include "src/tls/config.h"
#include "tests/testlib/fake_plugins.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::server_builder;
using test::ServerThread;

ErrorCode build_error(Config::Builder& b) {
  auto c = b.build();
  return c ? ErrorCode::Ok : c.error().code;
}

// describe_line returns the value of "key = value" in describe().
std::string describe_line(const Config& c, const std::string& key) {
  const std::string text = c.describe();
  const auto at = text.find(key + " = ");
  if (at == std::string::npos) {
    return "";
  }
  const auto start = at + key.size() + 3;
  return text.substr(start, text.find('\n', start) - start);
}

TEST(Config, BuilderErrors) {
  {
    auto b = Config::builder();
    b.peer_certificate_policy(PeerCertificatePolicy::AttestationOnly)
        .peer_attestation(AttestationMode::Optional);
    auto c = b.build();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::InvalidArgument);
  }
  {
    auto b = Config::builder();
    b.peer_certificate_policy(PeerCertificatePolicy::PinnedKey);
    auto c = b.build();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::InvalidArgument);
  }
  {
    auto b = Config::builder();
    b.policy_json("{\"bogus\": 1}");
    auto c = b.build();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::PolicyInvalid);
  }
  {
    auto b = Config::builder();
    b.certificate_chain_pem(test::TestPki::get().server_chain_pem)
        .private_key_pem(test::TestPki::get().other_key_pem);
    auto c = b.build();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::KeyInvalid);
  }
  {
    auto b = Config::builder();
    b.private_key_file("/nonexistent/key.pem").certificate_chain_file("/nonexistent/chain.pem");
    auto c = b.build();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ErrorCode::FileNotFound);
  }
  {
    auto b = Config::builder();
    b.max_result_age(std::chrono::seconds(0));
    EXPECT_EQ(build_error(b), ErrorCode::InvalidArgument);
  }
  {
    auto b = Config::builder();
    b.reattest_interval(std::chrono::seconds(0));
    EXPECT_EQ(build_error(b), ErrorCode::InvalidArgument);
  }
  {
    auto b = Config::builder();
    b.attestation_timeout(std::chrono::milliseconds(0));
    EXPECT_EQ(build_error(b), ErrorCode::InvalidArgument);
  }
  {
    auto b = Config::builder();
    b.accept_models({});
    EXPECT_EQ(build_error(b), ErrorCode::InvalidArgument);
  }
  {
    auto b = Config::builder();
    b.add_verifier(std::make_shared<test::FakeVerifier>(), nullptr);
    EXPECT_EQ(build_error(b), ErrorCode::InvalidArgument);
    auto b2 = Config::builder();
    b2.add_verifier(nullptr, std::make_shared<test::FakeAppraiser>());
    EXPECT_EQ(build_error(b2), ErrorCode::InvalidArgument);
  }
  {
    auto b = Config::builder();
    auto c = b.build();
    ASSERT_TRUE(c);
    auto s = Server::listen(*c, "127.0.0.1", 0);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::InvalidArgument);
  }
}

// A snapshot of the defaults: a changed default must show up in review.
TEST(Config, DefaultConfigSnapshot) {
  auto b = Config::builder();
  auto c = b.build();
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->describe(),
            "tls_versions = 1.3\n"
            "session_tickets = off\n"
            "early_data = off\n"
            "identity = none\n"
            "attester = none\n"
            "model = background-check\n"
            "peer_attestation = required\n"
            "accept_background_check = yes\n"
            "accept_passport = yes\n"
            "verifier = in-process\n"
            "verifier_timeout_ms = 5000\n"
            "max_result_age = 300\n"
            "peer_certificate_policy = webpki (client), attestation-only (server)\n"
            "trust_anchors = system\n"
            "pinned_keys = 0\n"
            "negotiation = on\n"
            "exporter_label_policy = negotiate\n"
            "first_flight_attestation = on\n"
            "codepoints = 0xFFA0 0xFFA1 0xFFA2\n"
            "handshake_timeout_ms = 10000\n"
            "receive_buffer_limit = 8388608\n"
            "attestation_timeout_ms = 10000\n"
            "min_reattestation_interval_ms = 1000\n"
            "detailed_alerts = off\n"
            "reattest_interval = 3600\n"
            "max_control_frame = 65536\n"
            "max_data_frame = 1048576\n"
            "async_attestation_policy = off\n"
            "dangerous_skip_peer_certificate_check = no\n"
            "dangerous_skip_hostname_check = no\n");
}

TEST(Config, NoPolicyIsTheDefaultPolicy) {
  auto c = build_or_fail(Config::builder());
  ASSERT_TRUE(c);
  const auto& s = internal::config_state(*c);
  const Policy d;
  EXPECT_EQ(s.policy.required_tier, d.required_tier);
  EXPECT_EQ(s.policy.max_evidence_age, d.max_evidence_age);
  EXPECT_EQ(s.policy.max_result_age, d.max_result_age);
  EXPECT_EQ(s.policy.reattest_interval, d.reattest_interval);
  EXPECT_TRUE(s.policy.schemes.empty());
}

TEST(Config, PolicySettingsAndBuilderOverrides) {
  const std::string policy = R"({"max_result_age": 60, "reattest_interval": 120})";
  {
    auto b = Config::builder();
    b.policy_json(policy);
    auto c = build_or_fail(b);
    ASSERT_TRUE(c);
    EXPECT_EQ(describe_line(*c, "max_result_age"), "60");
    EXPECT_EQ(describe_line(*c, "reattest_interval"), "120");
  }
  {
    // The builder's settings win over the policy's, in either order.
    auto b = Config::builder();
    b.max_result_age(std::chrono::seconds(30))
        .policy_json(policy)
        .reattest_interval(std::chrono::seconds(90));
    auto c = build_or_fail(b);
    ASSERT_TRUE(c);
    EXPECT_EQ(describe_line(*c, "max_result_age"), "30");
    EXPECT_EQ(describe_line(*c, "reattest_interval"), "90");
    EXPECT_EQ(internal::config_state(*c).policy.max_result_age, 30);
  }
}

// A user's Verifier and Appraiser, registered with add_verifier, attest a
// connection whose server sends Evidence of a type no built-in plug-in knows.
TEST(Config, UserVerifierAttestsAConnection) {
  auto server = build_or_fail(server_builder(std::make_shared<test::FakeAttester>()));
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .add_verifier(std::make_shared<test::FakeVerifier>(),
                    std::make_shared<test::FakeAppraiser>());
  auto client = build_or_fail(cb);
  ASSERT_TRUE(server && client);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  ASSERT_TRUE(conn) << conn.error().to_string();
  ASSERT_TRUE(conn->is_attested());
  const AttestationResult* r = conn->peer_result();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->media_type(), test::kFakeEvidenceType);
  EXPECT_EQ(r->machine_id(), "fake:01");
  EXPECT_EQ(r->status(), TrustTier::Affirming);
}

TEST(Config, WithoutTheUserVerifierTheSameServerIsRefused) {
  auto server = build_or_fail(server_builder(std::make_shared<test::FakeAttester>()));
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required);
  auto client = build_or_fail(cb);
  ASSERT_TRUE(server && client);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  EXPECT_FALSE(conn);
}

TEST(Config, UserVerifierReplacesTheBuiltInOne) {
  // A user plug-in for the software evidence type wins over the built-in
  // software verifier: here it refuses everything.
  auto bundle = test::make_software_bundle();
  auto server = build_or_fail(server_builder(bundle.attester));
  test::FakeVerifierOptions refuse;
  refuse.media_types = {std::string(kMediaTypeEatCwt)};
  refuse.fail = ErrorCode::SignatureInvalid;
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(bundle))
      .add_verifier(std::make_shared<test::FakeVerifier>(refuse),
                    std::make_shared<test::FakeAppraiser>(2, Finding{}, refuse.media_types));
  auto client = build_or_fail(cb);
  ASSERT_TRUE(server && client);
  ServerThread srv(server, test::echo_handler);
  auto conn = Client::connect(client, "localhost", srv.port());
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::SignatureInvalid) << conn.error().to_string();
}

}  // namespace
}  // namespace atls
