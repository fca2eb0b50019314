#include "src/formats/ear/ear.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/formats/jwt/jwk.h"
#include "src/formats/jwt/jws.h"
#include "src/ossl/keys.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <string>

namespace atls {
namespace {

using ossl::UniquePtr;

// Times from the vectors (tests/data/ear/vectors/README.md).
constexpr std::int64_t kVeraisonIat = 1666091373;
constexpr std::int64_t kRealmIat = 1752059139;
constexpr std::int64_t kRealmExp = 1752059439;

std::string vector(const std::string& name) {
  return test::read_text("ear/vectors/veraison_ear_" + name + ".jwt");
}

UniquePtr<EVP_PKEY> veraison_key() {
  auto j = parse_json(test::read_text("ear/vectors/veraison_ear_pkey.jwk.json"));
  EXPECT_TRUE(j);
  auto k = jwk_to_pkey(*j);
  EXPECT_TRUE(k) << k.error().to_string();
  return k ? std::move(*k) : nullptr;
}

UniquePtr<EVP_PKEY> header_key(const std::string& token) {
  auto jws = parse_jws_compact(token);
  EXPECT_TRUE(jws);
  auto k = jwk_to_pkey(jws->header.at("jwk"));
  EXPECT_TRUE(k);
  return k ? std::move(*k) : nullptr;
}

nlohmann::json claims_of(const std::string& token) {
  auto jws = parse_jws_compact(token);
  EXPECT_TRUE(jws);
  auto c = jwt_claims(*jws);
  EXPECT_TRUE(c);
  return c ? *c : nlohmann::json();
}

nlohmann::json js(const char* text) {
  auto j = parse_json(text);
  EXPECT_TRUE(j) << text;
  return j ? *j : nlohmann::json();
}

// ---------------------------------------------------------------------------
// veraison/ear vectors

TEST(EarVectors, GoodVeraisonExtensions) {
  auto key = veraison_key();
  const FixedClock clock(kVeraisonIat + 10);
  auto ear = verify_ear_jwt(vector("good_veraison_extns"), key.get(), clock);
  ASSERT_TRUE(ear) << ear.error().to_string();
  EXPECT_EQ(ear->profile, "tag:github.com,2023:veraison/ear");
  EXPECT_EQ(ear->iat, kVeraisonIat);
  EXPECT_FALSE(ear->exp);
  EXPECT_FALSE(ear->status);
  EXPECT_TRUE(ear->legacy_names);
  EXPECT_EQ(ear->verifier_id.build, "rrtrap-v1.0.0");
  EXPECT_EQ(ear->verifier_id.developer, "Acme Inc.");
  EXPECT_FALSE(ear->raw_evidence);
  ASSERT_EQ(ear->submods.size(), 1u);
  const EarSubmod& sm = ear->submods[0];
  EXPECT_EQ(sm.name, "test");
  EXPECT_EQ(sm.status, TrustTier::Affirming);
  EXPECT_FALSE(sm.trust_vector);
  EXPECT_EQ(sm.policy_ids, std::vector<std::string>{"policy://test/01234"});
  EXPECT_EQ(sm.extensions.at("ear.veraison.annotated-evidence"), js(R"({"k1":"v1","k2":"v2"})"));
  EXPECT_EQ(sm.extensions.at("ear.veraison.policy-claims"), js(R"({"bar":"baz","foo":"bar"})"));
  EXPECT_EQ(sm.extensions.at("ear.veraison.key-attestation"), js(R"({"akpub":"YWtwdWIK"})"));
  EXPECT_EQ(sm.extensions.size(), 3u);
  EXPECT_TRUE(ear->extensions.empty());
}

void expect_test_jwt_fields(const Ear& ear) {
  EXPECT_EQ(ear.profile, kEarProfileVeraison);
  EXPECT_EQ(ear.iat, kVeraisonIat);
  ASSERT_TRUE(ear.raw_evidence);
  EXPECT_EQ(*ear.raw_evidence, test::hex("deadbeef"));  // "3q2-7w"
  EXPECT_EQ(ear.verifier_id.build, "rrtrap-v1.0.0");
  ASSERT_EQ(ear.submods.size(), 1u);
  const EarSubmod& sm = ear.submods[0];
  EXPECT_EQ(sm.name, "test");
  EXPECT_EQ(sm.status, TrustTier::Affirming);
  ASSERT_TRUE(sm.trust_vector);
  const std::array<std::optional<std::int8_t>, 8> expected{2, 2, 3, 2, 2, 2, 2, 2};
  EXPECT_EQ(sm.trust_vector->claims, expected);
  EXPECT_EQ(sm.trust_vector->worst(), TrustTier::Affirming);
  EXPECT_EQ(sm.policy_ids, std::vector<std::string>{"https://veraison.example/policy/1/60a0068d"});
  EXPECT_TRUE(sm.extensions.empty());
}

TEST(EarVectors, TestJwt) {
  auto key = veraison_key();
  auto ear = verify_ear_jwt(vector("testJWT"), key.get(), FixedClock(kVeraisonIat));
  ASSERT_TRUE(ear) << ear.error().to_string();
  expect_test_jwt_fields(*ear);
}

TEST(EarVectors, TestJwtWithHeaderJwk) {
  auto key = veraison_key();
  const std::string token = vector("testJWT_JWK");
  auto ear = verify_ear_jwt(token, key.get(), FixedClock(kVeraisonIat + 3600));
  ASSERT_TRUE(ear) << ear.error().to_string();
  expect_test_jwt_fields(*ear);
  // The header's jwk is the same key, but it is only a hint: an unrelated
  // caller key is not replaced by it.
  auto hk = header_key(token);
  ASSERT_TRUE(hk);
  EXPECT_TRUE(ossl::public_keys_equal(hk.get(), key.get()));
  auto unrelated = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(unrelated);
  EXPECT_EQ(verify_ear_jwt(token, unrelated->get(), FixedClock(kVeraisonIat)).error().code,
            ErrorCode::JwsBadSignature);
}

TEST(EarVectors, RealmTokenFromTrustee) {
  const std::string token = vector("testRealmJWT");
  // Not signed by the veraison key, and the embedded key is not used
  // implicitly.
  auto vkey = veraison_key();
  EXPECT_EQ(verify_ear_jwt(token, vkey.get(), FixedClock(kRealmIat + 10)).error().code,
            ErrorCode::JwsBadSignature);

  // With the header key passed explicitly and now inside [iat, exp].
  auto hk = header_key(token);
  ASSERT_TRUE(hk);
  const EarVerifyOptions strict{0, 0};
  for (const std::int64_t now : {kRealmIat, kRealmIat + 150, kRealmExp}) {
    auto ear = verify_ear_jwt(token, hk.get(), FixedClock(now), strict);
    ASSERT_TRUE(ear) << now << ": " << ear.error().to_string();
  }
  auto ear = verify_ear_jwt(token, hk.get(), FixedClock(kRealmIat + 60));
  ASSERT_TRUE(ear);
  EXPECT_EQ(ear->profile, kEarProfileTrustee);
  EXPECT_EQ(ear->iat, kRealmIat);
  EXPECT_EQ(ear->exp, kRealmExp);
  EXPECT_EQ(ear->verifier_id.developer, "https://confidentialcontainers.org");
  EXPECT_EQ(ear->verifier_id.build, "attestation-service 0.1.0");
  ASSERT_EQ(ear->submods.size(), 1u);
  const EarSubmod& sm = ear->submods[0];
  EXPECT_EQ(sm.name, "cpu0");
  EXPECT_EQ(sm.status, TrustTier::Affirming);
  ASSERT_TRUE(sm.trust_vector);
  const std::array<std::optional<std::int8_t>, 8> expected{
      std::nullopt, 3, 3, std::nullopt, 2, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(sm.trust_vector->claims, expected);
  EXPECT_EQ(sm.policy_ids, std::vector<std::string>{"default"});
  EXPECT_EQ(sm.extensions.at("ear.veraison.annotated-evidence").at("report_data"),
            "44f93cc3f19fb5f847f067bb89a13a683ab01a8dd8ddd2350e08fdbf97fbbdd9c615ec3390080374991f6c"
            "5e1f63722f00000000000000000000000000000000");

  // Outside the window.
  EXPECT_EQ(verify_ear_jwt(token, hk.get(), FixedClock(kRealmExp + 1), strict).error().code,
            ErrorCode::EarExpired);
  EXPECT_EQ(verify_ear_jwt(token, hk.get(), FixedClock(kRealmExp + 61)).error().code,
            ErrorCode::EarExpired);
  EXPECT_TRUE(verify_ear_jwt(token, hk.get(), FixedClock(kRealmExp + 60)));
  EXPECT_EQ(verify_ear_jwt(token, hk.get(), SystemClock()).error().code, ErrorCode::EarExpired);
  EXPECT_EQ(verify_ear_jwt(token, hk.get(), FixedClock(kRealmIat - 1), strict).error().code,
            ErrorCode::JwtNotYetValid);
  // Inspection works at any time and without a key.
  EXPECT_TRUE(decode_ear_jwt_unverified(token));
}

TEST(EarVectors, BadVectors) {
  auto key = veraison_key();
  const FixedClock clock(kVeraisonIat + 10);
  const struct {
    const char* name;
    ErrorCode code;
  } cases[] = {
      {"bad_hs256_alg", ErrorCode::JwsAlgorithmMismatch},
      {"bad_alg_none", ErrorCode::JwsAlgNone},
      {"bad_leading_dot", ErrorCode::JwsMalformed},
      {"bad_trailing_rubbish", ErrorCode::JwsMalformed},
      {"bad_empty_claims", ErrorCode::EarMissingClaim},
  };
  for (const auto& c : cases) {
    auto r = verify_ear_jwt(vector(c.name), key.get(), clock);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().to_string();
  }
  // The empty claims set is correctly signed; only the EAR is wrong.
  auto jws = parse_jws_compact(vector("bad_empty_claims"));
  ASSERT_TRUE(jws);
  EXPECT_TRUE(verify_jws(*jws, key.get()));
  auto r = verify_ear_jwt(vector("bad_empty_claims"), key.get(), clock);
  for (const char* name : {"eat_profile", "ear.verifier-id", "submods"}) {
    EXPECT_NE(r.error().detail.find(name), std::string::npos) << r.error().detail;
  }
}

TEST(EarVectors, ClaimsRoundTripExactly) {
  for (const char* name : {"good_veraison_extns", "testJWT", "testJWT_JWK", "testRealmJWT"}) {
    SCOPED_TRACE(name);
    const nlohmann::json claims = claims_of(vector(name));
    auto ear = ear_from_claims(claims);
    ASSERT_TRUE(ear) << ear.error().to_string();
    EXPECT_TRUE(ear->legacy_names);
    EXPECT_EQ(ear_to_claims(*ear), claims);
  }
}

// ---------------------------------------------------------------------------
// AR4SI tiers

TEST(Ear, TierMapping) {
  const struct {
    int v;
    TrustTier t;
  } table[] = {
      {-128, TrustTier::Contraindicated},
      {-97, TrustTier::Contraindicated},
      {-96, TrustTier::Warning},
      {-33, TrustTier::Warning},
      {-32, TrustTier::Affirming},
      {-2, TrustTier::Affirming},
      {-1, TrustTier::None},
      {0, TrustTier::None},
      {1, TrustTier::None},
      {2, TrustTier::Affirming},
      {3, TrustTier::Affirming},
      {31, TrustTier::Affirming},
      {32, TrustTier::Warning},
      {33, TrustTier::Warning},
      {95, TrustTier::Warning},
      {96, TrustTier::Contraindicated},
      {97, TrustTier::Contraindicated},
      {99, TrustTier::Contraindicated},
      {127, TrustTier::Contraindicated},
  };
  for (const auto& row : table) {
    EXPECT_EQ(tier_of_claim_value(static_cast<std::int8_t>(row.v)), row.t) << row.v;
  }
  // Every value has exactly one tier and the bands are contiguous.
  int changes = 0;
  for (int v = -127; v <= 127; ++v) {
    changes += tier_of_claim_value(static_cast<std::int8_t>(v)) !=
               tier_of_claim_value(static_cast<std::int8_t>(v - 1));
  }
  EXPECT_EQ(changes, 6);

  for (const TrustTier t :
       {TrustTier::None, TrustTier::Affirming, TrustTier::Warning, TrustTier::Contraindicated}) {
    auto back = tier_from_name(tier_name(t));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(tier_name(TrustTier::Contraindicated), "contraindicated");
  EXPECT_EQ(tier_from_name("Affirming").error().code, ErrorCode::EarBadStatus);
  EXPECT_EQ(tier_from_name("").error().code, ErrorCode::EarBadStatus);

  TrustVector tv;
  EXPECT_EQ(tv.worst(), TrustTier::None);
  tv.claims[0] = 2;
  EXPECT_EQ(tv.worst(), TrustTier::Affirming);
  tv.claims[7] = -40;
  EXPECT_EQ(tv.worst(), TrustTier::Warning);
  tv.claims[3] = 99;
  EXPECT_EQ(tv.worst(), TrustTier::Contraindicated);
  EXPECT_EQ(TrustVector::claim_name(0), "instance-identity");
  EXPECT_EQ(TrustVector::claim_name(7), "sourced-data");
  EXPECT_EQ(TrustVector::claim_name(8), "");
}

// ---------------------------------------------------------------------------
// Claims in both spellings

// The -03 example of the EAR draft (specs §7.1).
constexpr const char* kDraft03Example = R"({
  "eat_profile": "tag:ietf.org,2026:rats/ear#03", "iat": 1666529184,
  "ear_verifier_id": {"developer": "https://veraison-project.org", "build": "vts 0.0.1"},
  "ear_raw_evidence": "NzQ3MjY5NzM2NTYzNzQK",
  "submods": { "PSA": { "ear_status": "contraindicated",
     "ear_trustworthiness_vector": {"instance-identity": 2, "executables": 96, "hardware": 2},
     "ear_appraisal_policy_ids": ["https://veraison.example/policy/1/60a0068d"] } } })";

TEST(Ear, Draft03Example) {
  const nlohmann::json claims = js(kDraft03Example);
  auto ear = ear_from_claims(claims);
  ASSERT_TRUE(ear) << ear.error().to_string();
  EXPECT_FALSE(ear->legacy_names);
  EXPECT_EQ(ear->profile, kEarProfileIetf03);
  EXPECT_EQ(as_string_view(*ear->raw_evidence), "74726973656374\n");
  ASSERT_EQ(ear->submods.size(), 1u);
  EXPECT_EQ(ear->submods[0].status, TrustTier::Contraindicated);
  EXPECT_EQ(ear->submods[0].trust_vector->worst(), TrustTier::Contraindicated);
  EXPECT_EQ(ear_to_claims(*ear), claims);

  // The same EAR written with the legacy names, and read back.
  Ear legacy = *ear;
  legacy.legacy_names = true;
  const nlohmann::json lc = ear_to_claims(legacy);
  EXPECT_TRUE(lc.contains("ear.verifier-id"));
  EXPECT_TRUE(lc.contains("ear.raw-evidence"));
  EXPECT_FALSE(lc.contains("ear_verifier_id"));
  const auto& sm = lc.at("submods").at("PSA");
  EXPECT_EQ(sm.at("ear.status"), "contraindicated");
  EXPECT_TRUE(sm.contains("ear.trustworthiness-vector"));
  EXPECT_EQ(sm.at("ear.appraisal-policy-id"), "https://veraison.example/policy/1/60a0068d");
  auto again = ear_from_claims(lc);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->legacy_names);
  again->legacy_names = false;
  EXPECT_EQ(ear_to_claims(*again), claims);
}

TEST(Ear, CurrentNamesForAllOptionalClaims) {
  nlohmann::json c = js(kDraft03Example);
  c["exp"] = 1666529484;
  c["ear_status"] = "contraindicated";
  c["eat_nonce"] = base64url_encode(Bytes(8, 1));
  c["submods"]["PSA"]["eat_profile"] = "tag:psa-profile";
  c["submods"]["PSA"]["eat_nonce"] = base64url_encode(Bytes(64, 2));
  c["submods"]["PSA"]["x-vendor"] = {1, 2};
  c["jti"] = "abc";
  auto ear = ear_from_claims(c);
  ASSERT_TRUE(ear) << ear.error().to_string();
  EXPECT_EQ(ear->exp, 1666529484);
  EXPECT_EQ(ear->status, TrustTier::Contraindicated);
  EXPECT_EQ(ear->nonce, Bytes(8, 1));
  EXPECT_EQ(ear->submods[0].profile, "tag:psa-profile");
  EXPECT_EQ(ear->submods[0].nonce, Bytes(64, 2));
  EXPECT_EQ(ear->submods[0].extensions, js(R"({"x-vendor":[1,2]})"));
  EXPECT_EQ(ear->extensions, js(R"({"jti":"abc"})"));
  EXPECT_EQ(ear_to_claims(*ear), c);
  // The top-level status also reads in the dotted spelling.
  c.erase("ear_status");
  c["ear.status"] = "contraindicated";
  EXPECT_EQ(ear_from_claims(c)->status, TrustTier::Contraindicated);
}

TEST(Ear, ExtensionsNeverOverrideClaims) {
  auto ear = ear_from_claims(js(kDraft03Example));
  ASSERT_TRUE(ear);
  ear->extensions["eat_profile"] = "tag:evil";
  ear->extensions["ear.verifier-id"] = {{"developer", "x"}, {"build", "y"}};
  ear->submods[0].extensions["ear.status"] = "affirming";
  const nlohmann::json c = ear_to_claims(*ear);
  EXPECT_EQ(c, js(kDraft03Example));
}

// ---------------------------------------------------------------------------
// Negative claims

ErrorCode claims_code(const nlohmann::json& c) {
  auto r = ear_from_claims(c);
  return r ? ErrorCode::Ok : r.error().code;
}

TEST(Ear, MissingClaims) {
  const nlohmann::json base = js(kDraft03Example);
  for (const char* k : {"eat_profile", "iat", "ear_verifier_id", "submods"}) {
    nlohmann::json c = base;
    c.erase(k);
    auto r = ear_from_claims(c);
    ASSERT_FALSE(r) << k;
    EXPECT_EQ(r.error().code, ErrorCode::EarMissingClaim) << k;
    EXPECT_NE(r.error().detail.find(k), std::string::npos) << r.error().detail;
  }
  nlohmann::json c = base;
  c["submods"] = nlohmann::json::object();
  EXPECT_EQ(claims_code(c), ErrorCode::EarMissingClaim);
  c = base;
  c["submods"]["PSA"].erase("ear_status");
  EXPECT_EQ(claims_code(c), ErrorCode::EarMissingClaim);
  c = base;
  c["ear_verifier_id"].erase("build");
  EXPECT_EQ(claims_code(c), ErrorCode::EarMissingClaim);
  EXPECT_EQ(claims_code(nlohmann::json::array()), ErrorCode::EarMalformed);
}

TEST(Ear, BadValues) {
  const nlohmann::json base = js(kDraft03Example);
  ASSERT_EQ(claims_code(base), ErrorCode::Ok);
  const struct {
    const char* patch;  // JSON merge patch (RFC 7386) over the example
    ErrorCode code;
  } cases[] = {
      {R"({"eat_profile": "tag:github.com,2022:veraison/ear"})", ErrorCode::EarBadProfile},
      {R"({"eat_profile": "tag:ietf.org,2026:rats/ear#03 "})", ErrorCode::EarBadProfile},
      {R"({"eat_profile": 3})", ErrorCode::EarMalformed},
      {R"({"iat": 1666529184.5})", ErrorCode::EarMalformed},
      {R"({"iat": "1666529184"})", ErrorCode::EarMalformed},
      {R"({"iat": 18446744073709551615})", ErrorCode::EarMalformed},
      {R"({"exp": true})", ErrorCode::EarMalformed},
      {R"({"ear_verifier_id": "vts"})", ErrorCode::EarMalformed},
      {R"({"ear_verifier_id": {"build": 1}})", ErrorCode::EarMalformed},
      {R"({"ear.verifier-id": {"developer": "a", "build": "b"}})", ErrorCode::EarMalformed},
      {R"({"ear_raw_evidence": "NzQ3MjY5NzM2NTYzNzQK=="})", ErrorCode::EarMalformed},
      {R"({"ear_raw_evidence": "a+b/"})", ErrorCode::EarMalformed},
      {R"({"eat_nonce": "AAAA"})", ErrorCode::EarMalformed},
      {R"({"eat_nonce": ["AAAAAAAAAAA"]})", ErrorCode::EarMalformed},
      {R"({"submods": []})", ErrorCode::EarMalformed},
      {R"({"submods": {"PSA": "affirming"}})", ErrorCode::EarMalformed},
      {R"({"ear_status": "good"})", ErrorCode::EarBadStatus},
      {R"({"ear_status": 2})", ErrorCode::EarBadStatus},
      {R"({"submods": {"PSA": {"ear_status": "AFFIRMING"}}})", ErrorCode::EarBadStatus},
      {R"({"submods": {"PSA": {"ear_status": 96}}})", ErrorCode::EarBadStatus},
      {R"({"submods": {"PSA": {"ear.status": "contraindicated"}}})", ErrorCode::EarMalformed},
      {R"({"submods": {"PSA": {"ear_trustworthiness_vector": {"hardware": 128}}}})",
       ErrorCode::EarBadTrustVector},
      {R"({"submods": {"PSA": {"ear_trustworthiness_vector": {"hardware": -129}}}})",
       ErrorCode::EarBadTrustVector},
      {R"({"submods": {"PSA": {"ear_trustworthiness_vector": {"hardware": 2.0}}}})",
       ErrorCode::EarBadTrustVector},
      {R"({"submods": {"PSA": {"ear_trustworthiness_vector": {"hardware": "2"}}}})",
       ErrorCode::EarBadTrustVector},
      {R"({"submods": {"PSA": {"ear_trustworthiness_vector": {"firmware": 2}}}})",
       ErrorCode::EarBadTrustVector},
      {R"({"submods": {"PSA": {"ear_trustworthiness_vector": [2, 2]}}})",
       ErrorCode::EarBadTrustVector},
      {R"({"submods": {"PSA": {"ear_trustworthiness_vector": {"hardware": 99999999999999999999}}}})",
       ErrorCode::EarBadTrustVector},
      {R"({"submods": {"PSA": {"ear_appraisal_policy_ids": []}}})", ErrorCode::EarMalformed},
      {R"({"submods": {"PSA": {"ear_appraisal_policy_ids": "p"}}})", ErrorCode::EarMalformed},
      {R"({"submods": {"PSA": {"ear_appraisal_policy_ids": [1]}}})", ErrorCode::EarMalformed},
      {R"({"submods": {"PSA": {"ear.appraisal-policy-id": "p"}}})", ErrorCode::EarMalformed},
      {R"({"submods": {"PSA": {"eat_nonce": "AAAAAAAAAA"}}})", ErrorCode::EarMalformed},
      {R"({"submods": {"PSA": {"eat_profile": 1}}})", ErrorCode::EarMalformed},
      // A submod status better than its vector's worst claim (96).
      {R"({"submods": {"PSA": {"ear_status": "affirming"}}})", ErrorCode::EarBadStatus},
      {R"({"submods": {"PSA": {"ear_status": "warning"}}})", ErrorCode::EarBadStatus},
      {R"({"submods": {"PSA": {"ear_status": "none"}}})", ErrorCode::EarBadStatus},
      // An overall status better than the worst submod.
      {R"({"ear_status": "warning"})", ErrorCode::EarBadStatus},
      {R"({"ear_status": "affirming", "submods": {"B": {"ear_status": "contraindicated"}}})",
       ErrorCode::EarBadStatus},
  };
  for (const auto& c : cases) {
    nlohmann::json claims = base;
    claims.merge_patch(js(c.patch));
    auto r = ear_from_claims(claims);
    ASSERT_FALSE(r) << c.patch;
    EXPECT_EQ(r.error().code, c.code) << c.patch << ": " << r.error().to_string();
  }
  // Accepted variants.
  for (const char* patch : {
           R"({"ear_status": "contraindicated"})",
           R"({"eat_profile": "tag:ietf.org,2025-07:ear"})",
           R"({"eat_profile": "tag:github.com,2023:veraison/ear"})",
           R"({"eat_profile": "tag:github.com,2024:confidential-containers/Trustee"})",
           R"({"submods": {"PSA": {"ear_trustworthiness_vector": {"executables": -128}}}})",
           R"({"submods": {"PSA": {"ear_trustworthiness_vector": null}}})",
           R"({"submods": {"B": {"ear_status": "none"}}})",
           R"({"iat": -5})",
       }) {
    nlohmann::json claims = base;
    claims.merge_patch(js(patch));
    auto r = ear_from_claims(claims);
    EXPECT_TRUE(r) << patch << ": " << r.error().to_string();
  }
}

TEST(Ear, HugeAndDeepExtensions) {
  // Deep nesting in a payload is stopped by the bounded JSON parser before
  // ear_from_claims sees it.
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(key);
  const std::string deep =
      std::string(R"({"x":)") + std::string(200, '[') + std::string(200, ']') + "}";
  auto token = sign_jws(key->get(), to_bytes(deep));
  ASSERT_TRUE(token);
  EXPECT_EQ(verify_ear_jwt(*token, key->get(), FixedClock(0)).error().code, ErrorCode::JsonTooDeep);
  // A large but legal extension is kept.
  nlohmann::json c = js(kDraft03Example);
  c["ext"] = std::string(100000, 'x');
  auto ear = ear_from_claims(c);
  ASSERT_TRUE(ear);
  EXPECT_EQ(ear->extensions.at("ext").get_ref<const std::string&>().size(), 100000u);
}

// ---------------------------------------------------------------------------
// Sign and verify

Ear sample_ear() {
  Ear ear;
  ear.profile = std::string(kEarProfileIetf03);
  ear.iat = 1700000000;
  ear.verifier_id = {"https://atls.example", "atls 0.1"};
  ear.raw_evidence = test::hex("00010203fffe");
  EarSubmod sm;
  sm.name = "tdx";
  sm.status = TrustTier::Warning;
  sm.trust_vector = TrustVector{};
  sm.trust_vector->claims[1] = 32;
  sm.trust_vector->claims[4] = 2;
  sm.policy_ids = {"policy://one"};
  sm.extensions["ear.veraison.annotated-evidence"] = {{"k", "v"}};
  ear.submods.push_back(sm);
  sm.name = "gpu";
  sm.status = TrustTier::Affirming;
  sm.trust_vector->claims = {};
  sm.trust_vector->claims[0] = 2;
  sm.extensions = nlohmann::json::object();
  ear.submods.push_back(sm);
  ear.status = TrustTier::Warning;
  return ear;
}

TEST(Ear, SignVerifyRoundTrip) {
  for (const bool legacy : {false, true}) {
    for (const auto type : {ossl::KeyType::EcP256, ossl::KeyType::EcP384, ossl::KeyType::Ed25519}) {
      SCOPED_TRACE(std::string(legacy ? "legacy " : "current ") +
                   std::string(ossl::key_type_name(type)));
      auto key = ossl::generate_key(type);
      ASSERT_TRUE(key);
      Ear ear = sample_ear();
      ear.legacy_names = legacy;
      auto token = sign_ear_jwt(ear, key->get());
      ASSERT_TRUE(token) << token.error().to_string();
      auto jws = parse_jws_compact(*token);
      ASSERT_TRUE(jws);
      EXPECT_EQ(jws->header.at("typ"), "JWT");
      auto back = verify_ear_jwt(*token, key->get(), FixedClock(ear.iat + 5));
      ASSERT_TRUE(back) << back.error().to_string();
      EXPECT_EQ(back->legacy_names, legacy);
      EXPECT_EQ(ear_to_claims(*back), ear_to_claims(ear));
      EXPECT_EQ(*jwt_claims(*jws), ear_to_claims(ear));
      // Submods come back sorted by name.
      EXPECT_EQ(back->submods[0].name, "gpu");
      EXPECT_EQ(back->submods[1].name, "tdx");
      EXPECT_EQ(back->raw_evidence, ear.raw_evidence);
    }
  }
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(key);
  auto jws = parse_jws_compact(*sign_ear_jwt(sample_ear(), key->get()));
  EXPECT_EQ(jws->alg, "ES256");
}

TEST(Ear, SignRefusesInvalidEar) {
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(key);
  Ear ear = sample_ear();
  ear.status = TrustTier::Affirming;  // better than the "tdx" submod
  EXPECT_EQ(sign_ear_jwt(ear, key->get()).error().code, ErrorCode::EarBadStatus);
  ear = sample_ear();
  ear.submods.clear();
  EXPECT_EQ(sign_ear_jwt(ear, key->get()).error().code, ErrorCode::EarMissingClaim);
  ear = sample_ear();
  ear.profile = "tag:unknown";
  EXPECT_EQ(sign_ear_jwt(ear, key->get()).error().code, ErrorCode::EarBadProfile);
  ear = sample_ear();
  ear.nonce = Bytes(4, 0);
  EXPECT_EQ(sign_ear_jwt(ear, key->get()).error().code, ErrorCode::EarMalformed);
  EXPECT_EQ(sign_ear_jwt(sample_ear(), nullptr).error().code, ErrorCode::InvalidArgument);
}

TEST(Ear, TimeChecks) {
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(key);
  Ear ear = sample_ear();
  ear.exp = ear.iat + 300;
  ear.extensions["nbf"] = ear.iat + 100;
  auto token = sign_ear_jwt(ear, key->get());
  ASSERT_TRUE(token);
  const auto code = [&](std::int64_t now, EarVerifyOptions o) {
    auto r = verify_ear_jwt(*token, key->get(), FixedClock(now), o);
    return r ? ErrorCode::Ok : r.error().code;
  };
  const EarVerifyOptions def;
  EXPECT_EQ(code(ear.iat + 100, def), ErrorCode::Ok);
  EXPECT_EQ(code(ear.iat + 40, def), ErrorCode::Ok);  // nbf within leeway
  EXPECT_EQ(code(ear.iat + 39, def), ErrorCode::JwtNotYetValid);
  EXPECT_EQ(code(ear.iat + 360, def), ErrorCode::Ok);
  EXPECT_EQ(code(ear.iat + 361, def), ErrorCode::EarExpired);
  const EarVerifyOptions max_age{120, 0};
  EXPECT_EQ(code(ear.iat + 120, max_age), ErrorCode::Ok);
  EXPECT_EQ(code(ear.iat + 121, max_age), ErrorCode::EarExpired);
  EXPECT_EQ(code(ear.iat + 100, EarVerifyOptions{0, -1}), ErrorCode::InvalidArgument);

  // iat in the future beyond the leeway.
  Ear future = sample_ear();
  auto ft = sign_ear_jwt(future, key->get());
  ASSERT_TRUE(ft);
  EXPECT_TRUE(verify_ear_jwt(*ft, key->get(), FixedClock(future.iat - 60)));
  EXPECT_EQ(verify_ear_jwt(*ft, key->get(), FixedClock(future.iat - 61)).error().code,
            ErrorCode::JwtNotYetValid);
  // Extreme claim values do not overflow the comparisons.
  future.exp = INT64_MAX;
  future.iat = INT64_MAX;
  ft = sign_ear_jwt(future, key->get());
  ASSERT_TRUE(ft);
  EXPECT_EQ(
      verify_ear_jwt(*ft, key->get(), FixedClock(0), EarVerifyOptions{INT64_MAX, 60}).error().code,
      ErrorCode::JwtNotYetValid);
}

}  // namespace
}  // namespace atls
