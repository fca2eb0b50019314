// Pre-handshake attestation through a gateway (docs/wire-profile.md §3,
// docs/gateway.md): the token's wire structure, the token file, and token
// connections, including every way a token is refused.

#include <atls/gateway.h>

#include "src/core/encoding.h"
#include "src/gateway/acceptor.h"
#include "src/gateway/psk_offer.h"
#include "src/gateway/token.h"
#include "tests/testlib/gateway_fixture.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace atls {
namespace {

using test::build_or_fail;
using test::client_builder;
using test::server_builder;
using test::gateway::appraised;
using test::gateway::connect_with;
using test::gateway::internal_server;
using test::gateway::issue;
using test::gateway::key_of;
using test::gateway::token_client;

void expect_refused(const std::pair<Result<void>, Result<void>>& r, ErrorCode server_code,
                    ErrorCode client_code = ErrorCode::GatewayTokenRejected) {
  ASSERT_FALSE(r.second);
  EXPECT_EQ(r.second.error().code, server_code) << r.second.error().to_string();
  ASSERT_FALSE(r.first);
  EXPECT_EQ(r.first.error().code, client_code) << r.first.error().to_string();
}

// --- the wire structure ------------------------------------------------------

gateway::TokenContents sample_contents() {
  gateway::TokenContents t;
  t.psk = ossl::SecretBytes(Bytes(32, 0x11));
  t.iat = 1000;
  t.exp = 1300;
  t.token_id = Bytes(16, 0x22);
  t.single_use = true;
  t.audience = "db.internal";
  t.summary = internal::ResultParts::of(*appraised().result);
  return t;
}

TEST(GatewayToken, SealsAndOpensEveryField) {
  const gateway::TokenContents t = sample_contents();
  auto id = gateway::seal_token(t, key_of(7), Bytes(12, 0x33));
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_TRUE(gateway::is_token_identity(*id));
  auto back = gateway::open_token(*id, key_of(7));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->psk.view().size(), 32u);
  EXPECT_TRUE(std::equal(back->psk.view().begin(), back->psk.view().end(), t.psk.view().begin()));
  EXPECT_EQ(back->iat, 1000);
  EXPECT_EQ(back->exp, 1300);
  EXPECT_EQ(back->token_id, t.token_id);
  EXPECT_TRUE(back->single_use);
  EXPECT_EQ(back->audience, "db.internal");
  EXPECT_EQ(back->summary.machine_id, appraised().bundle.machine_id);
  EXPECT_EQ(back->summary.status, t.summary.status);
  EXPECT_EQ(back->summary.media_type, t.summary.media_type);
  ASSERT_EQ(back->summary.submods.size(), t.summary.submods.size());
  EXPECT_EQ(back->summary.submods[0].trust_vector.claims, t.summary.submods[0].trust_vector.claims);
}

TEST(GatewayToken, AnyAlteredByteOrAnotherKeyIsInvalid) {
  auto id = gateway::seal_token(sample_contents(), key_of(7), Bytes(12, 0x33));
  ASSERT_TRUE(id);
  for (std::size_t i = gateway::kTokenPrefix.size(); i < id->size(); i += 7) {
    Bytes forged = *id;
    forged[i] ^= 0x01;
    auto r = gateway::open_token(forged, key_of(7));
    ASSERT_FALSE(r) << "byte " << i;
    EXPECT_EQ(r.error().code, ErrorCode::GatewayTokenInvalid);
  }
  auto other = gateway::open_token(*id, key_of(8));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::GatewayTokenInvalid);
  for (std::size_t n : {std::size_t{0}, std::size_t{9}, std::size_t{21}, id->size() - 1}) {
    auto r = gateway::open_token(ByteView(*id).first(n), key_of(7));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error().code, ErrorCode::GatewayTokenInvalid);
  }
}

TEST(GatewayToken, OfferedPsksAreReadAndCounted) {
  // identities: "abc" age 0; binders: one of 32 bytes.
  Bytes ext = {0x00, 0x09, 0x00, 0x03, 'a', 'b', 'c', 0, 0, 0, 0, 0x00, 0x21, 0x20};
  ext.resize(ext.size() + 32, 0x44);
  auto ids = gateway::parse_offered_psks(ext);
  ASSERT_TRUE(ids) << ids.error().to_string();
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(as_string_view((*ids)[0]), "abc");
  Bytes two_binders = ext;
  two_binders[12] = 0x42;
  two_binders.push_back(0x20);
  two_binders.resize(two_binders.size() + 32, 0x55);
  auto mismatch = gateway::parse_offered_psks(two_binders);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, ErrorCode::GatewayTokenInvalid);
  Bytes trailing = ext;
  trailing.push_back(0);
  EXPECT_EQ(gateway::parse_offered_psks(trailing).error().code, ErrorCode::TrailingData);
}

TEST(GatewayToken, FileRoundTripsAndBadFilesAreRefused) {
  const GatewayToken t = issue();
  auto back = GatewayToken::from_json(t.to_json());
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->identity, t.identity);
  EXPECT_EQ(back->psk, t.psk);
  EXPECT_EQ(back->expires_at, t.expires_at);
  for (const char* bad : {"", "[]", "{\"identity\":\"YQ\",\"psk\":\"YQ\",\"expires_at\":1}",
                          "{\"atls_gateway_token\":1,\"identity\":\"YQ\",\"psk\":\"YQ\","
                          "\"expires_at\":1}"}) {
    auto r = GatewayToken::from_json(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::GatewayTokenInvalid) << bad;
  }
}

TEST(GatewayToken, KeyFilesHoldSixtyFourHexDigits) {
  const std::string path = ::testing::TempDir() + "/gateway.key";
  std::ofstream(path) << new_gateway_key();
  auto key = load_gateway_key(path);
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(key->size(), 32u);
  std::ofstream(path) << "abcd\n";
  EXPECT_EQ(load_gateway_key(path).error().code, ErrorCode::InvalidArgument);
  std::remove(path.c_str());
}

TEST(GatewayToken, ATokenNeverOutlivesTheAppraisal) {
  GatewayTokenOptions o;
  o.lifetime = std::chrono::hours(24 * 365);
  const GatewayToken t = issue(o);
  EXPECT_EQ(t.expires_at, appraised().result->valid_until());
}

// --- token connections -------------------------------------------------------

TEST(GatewayConnection, ATokenClientIsAdmittedWithTheGatewaysAppraisal) {
  auto server = build_or_fail(internal_server());
  auto p = test::BioPair::make(token_client(issue()), server);
  auto [rc, rs] = p->handshake();
  ASSERT_TRUE(rc) << rc.error().to_string();
  ASSERT_TRUE(rs) << rs.error().to_string();
  EXPECT_TRUE(p->server->via_gateway_token());
  EXPECT_TRUE(p->client->via_gateway_token());
  EXPECT_FALSE(p->server->is_plain_tls());
  EXPECT_TRUE(p->server->is_attested());
  ASSERT_NE(p->server->peer_result(), nullptr);
  EXPECT_EQ(p->server->peer_result()->machine_id(), appraised().bundle.machine_id);
  EXPECT_EQ(p->server->peer_result()->status(), appraised().result->status());
  EXPECT_TRUE(p->server->peer_result()->claims().empty());  // the token carries no claims
  EXPECT_FALSE(p->client->is_attested());                   // the server does not attest
  // The application bytes follow the handshake directly.
  const Bytes msg = to_bytes("over the token's PSK");
  auto got = p->client_to_server(msg);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(*got, msg);
}

TEST(GatewayConnection, AReusableTokenOpensSeveralConnections) {
  auto server = build_or_fail(internal_server());
  const GatewayToken t = issue();
  for (int i = 0; i < 2; ++i) {
    auto [rc, rs] = connect_with(token_client(t), server);
    EXPECT_TRUE(rc && rs) << i;
  }
}

TEST(GatewayConnection, AnExpiredTokenIsRefused) {
  const GatewayToken t = issue();
  auto clock = std::make_shared<test::MutableClock>(t.expires_at);
  auto sb = internal_server();
  sb.clock(clock);
  expect_refused(connect_with(token_client(t), build_or_fail(sb)), ErrorCode::GatewayTokenExpired);
}

TEST(GatewayConnection, AForgedTokenIsRefused) {
  GatewayToken t = issue();
  t.identity[t.identity.size() / 2] ^= 0x80;
  expect_refused(connect_with(token_client(t), build_or_fail(internal_server())),
                 ErrorCode::GatewayTokenInvalid);
}

TEST(GatewayConnection, ASingleUseTokenIsRefusedTheSecondTime) {
  GatewayTokenOptions o;
  o.single_use = true;
  const GatewayToken t = issue(o);
  auto server = build_or_fail(internal_server());
  auto [rc, rs] = connect_with(token_client(t), server);
  ASSERT_TRUE(rc && rs);
  expect_refused(connect_with(token_client(t), server), ErrorCode::GatewayTokenReplayed);
}

TEST(GatewayConnection, AReloadedServerRemembersTheSingleUseTokensItAdmitted) {
  GatewayTokenOptions o;
  o.single_use = true;
  const GatewayToken t = issue(o);
  auto replay = std::make_shared<GatewayReplayCache>();
  auto first = internal_server();
  first.accept_gateway_tokens(key_of(7), "", replay);
  auto [rc, rs] = connect_with(token_client(t), build_or_fail(first));
  ASSERT_TRUE(rc && rs);
  // The same server, its Config rebuilt (a reload), with the same cache.
  auto second = internal_server();
  second.accept_gateway_tokens(key_of(7), "", replay);
  expect_refused(connect_with(token_client(t), build_or_fail(second)),
                 ErrorCode::GatewayTokenReplayed);
}

TEST(GatewayConnection, AStolenIdentityWithoutItsPskIsRefused) {
  GatewayToken t = issue();
  t.psk[0] ^= 0x01;  // the identity of a token, a PSK of the thief's guessing
  expect_refused(connect_with(token_client(t), build_or_fail(internal_server())),
                 ErrorCode::GatewayTokenPskMismatch);
}

TEST(GatewayConnection, AServerWithoutTheGatewayKeyDoesNotTakeTheToken) {
  // Another key: the token does not open (the server cannot tell a token
  // under another key from a forged one).
  expect_refused(connect_with(token_client(issue()), build_or_fail(internal_server(key_of(9)))),
                 ErrorCode::GatewayTokenInvalid);
  // No gateway key at all: the server ignores the PSK and sends its
  // certificate, and the client stops.
  auto plain = server_builder(nullptr);
  plain.peer_attestation(AttestationMode::Off);
  auto r = connect_with(token_client(issue()), build_or_fail(plain));
  ASSERT_FALSE(r.first);
  EXPECT_EQ(r.first.error().code, ErrorCode::GatewayTokenNotAccepted)
      << r.first.error().to_string();
}

TEST(GatewayConnection, ATokenForAnotherMachineIsRefusedByThePinnedMachineId) {
  test::PolicyOptions po;
  po.machine_ids = {"ueid:0102030405060708"};
  expect_refused(
      connect_with(token_client(issue()), build_or_fail(internal_server(key_of(7), "", po))),
      ErrorCode::MachineIdMismatch);
}

TEST(GatewayConnection, ATokenForAnotherServerIsRefused) {
  GatewayTokenOptions o;
  o.audience = "billing.internal";
  auto server = build_or_fail(internal_server(key_of(7), "db.internal"));
  expect_refused(connect_with(token_client(issue(o)), server), ErrorCode::GatewayTokenWrongServer);
  o.audience = "db.internal";
  auto [rc, rs] = connect_with(token_client(issue(o)), server);
  EXPECT_TRUE(rc && rs);
}

TEST(GatewayConnection, ATokenOnlyServerRefusesOtherClients) {
  Config::Builder b;
  b.peer_attestation(AttestationMode::Required)
      .policy_json(test::software_policy(appraised().bundle))
      .accept_gateway_tokens(key_of(7));
  auto server = build_or_fail(b);
  auto [rc, rs] = connect_with(token_client(issue()), server);
  EXPECT_TRUE(rc && rs) << (rs ? "" : rs.error().to_string());
  auto cb = client_builder();
  cb.peer_attestation(AttestationMode::Off).attester(appraised().bundle.attester);
  auto r = connect_with(build_or_fail(cb), server);
  ASSERT_FALSE(r.second);
  EXPECT_EQ(r.second.error().code, ErrorCode::GatewayTokenRequired);
}

TEST(GatewayConnection, TheAdmissionEndsAtTheAppraisalsValidUntil) {
  const GatewayToken t = issue();
  auto clock = std::make_shared<test::MutableClock>(appraised().result->verified_at());
  auto sb = internal_server();
  sb.clock(clock);
  auto p = test::BioPair::make(token_client(t), build_or_fail(sb));
  auto [rc, rs] = p->handshake();
  ASSERT_TRUE(rc && rs);
  EXPECT_TRUE(p->server->is_attested());
  clock->set(appraised().result->valid_until());
  auto r = p->server->process();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::AttestationExpired);
}

}  // namespace
}  // namespace atls
