#include "tests/testlib/gateway_fixture.h"

#include <gtest/gtest.h>

namespace atls::test::gateway {
namespace {

Appraised appraise_at_gateway() {
  Appraised a;
  a.bundle = make_software_bundle();
  auto gb = server_builder(nullptr);
  gb.peer_attestation(AttestationMode::Required).policy_json(software_policy(a.bundle));
  auto gateway = build_or_fail(gb);
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Off).attester(a.bundle.attester);
  auto p = BioPair::make(build_or_fail(cb), gateway);
  auto [rc, rs] = p->handshake();
  EXPECT_TRUE(rc && rs);
  if (rs && p->server->peer_result() != nullptr) {
    a.result = *p->server->peer_result();
  }
  return a;
}

}  // namespace

Bytes key_of(std::uint8_t v) {
  return Bytes(32, v);
}

const Appraised& appraised() {
  static const Appraised a = appraise_at_gateway();
  return a;
}

GatewayToken issue(const GatewayTokenOptions& options, const Bytes& key) {
  EXPECT_TRUE(appraised().result.has_value());
  auto t = issue_gateway_token(*appraised().result, key, options);
  EXPECT_TRUE(t) << t.error().to_string();
  return t ? *t : GatewayToken{};
}

Config::Builder internal_server(const Bytes& key, std::string audience,
                                const PolicyOptions& policy_options) {
  auto b = server_builder(nullptr);
  b.peer_attestation(AttestationMode::Required)
      .policy_json(software_policy(appraised().bundle, policy_options))
      .accept_gateway_tokens(key, std::move(audience));
  return b;
}

std::shared_ptr<const Config> token_client(GatewayToken token) {
  auto b = client_builder();
  b.gateway_token(std::move(token));
  return build_or_fail(b);
}

std::pair<Result<void>, Result<void>> connect_with(std::shared_ptr<const Config> client,
                                                   std::shared_ptr<const Config> server) {
  auto p = BioPair::make(std::move(client), std::move(server));
  if (!p) {
    return {Error{ErrorCode::Internal, "BIO pair"}, Error{ErrorCode::Internal, "BIO pair"}};
  }
  return p->handshake();
}

}  // namespace atls::test::gateway
