#include "src/plugins/ear/ear_plugin.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/formats/ear/ear.h"
#include "src/formats/json/json.h"
#include "src/formats/jwt/jws.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/plugins/sevsnp/sevsnp.h"
#include "src/plugins/software/software.h"
#include "src/plugins/tdx/tdx.h"
#include "src/plugins/tpm2/tpm2.h"

#include "tests/testlib/rp_outcome.h"
#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <span>
#include <string>
#include <thread>

namespace atls {
namespace {

using ossl::UniquePtr;

// Times from the vectors (tests/data/ear/vectors/README.md).
constexpr std::int64_t kVeraisonIat = 1666091373;
constexpr std::int64_t kRealmIat = 1752059139;
constexpr std::int64_t kRealmExp = 1752059439;
// The passport tests' time.
constexpr std::int64_t kNow = 1780000000;

Bytes vector_bytes(const std::string& name) {
  return test::read_data("ear/vectors/veraison_ear_" + name + ".jwt");
}

Evidence ear_evidence(Bytes jwt, std::uint32_t ind = kIndAttestationResult) {
  auto e =
      evidence_from_records({EvidenceRecord{"", std::string(kMediaTypeEar), std::move(jwt), ind}});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

Registry ear_registry() {
  Registry r;
  r.add_verifier(make_ear_verifier());
  r.add_appraiser(make_ear_appraiser());
  return r;
}

Policy rp_policy(const Registry& reg, const nlohmann::json& trust,
                 const std::string& tier = "affirming", std::int64_t max_age = 300) {
  nlohmann::json doc = {{"required_tier", tier},
                        {"max_evidence_age", max_age},
                        {"schemes", {{std::string(kMediaTypeEar), {{"trust", trust}}}}}};
  auto p = parse_policy(doc.dump(), reg, test::data_path("ear"));
  EXPECT_TRUE(p) << p.error().to_string();
  return p ? std::move(*p) : Policy{};
}

using Outcome = test::RpOutcome;
using test::verify_error;

// The relying party: verify -> appraise -> check at |at|.
Outcome rp_run(const Evidence& e, const Policy& policy, VerifyContext ctx, std::int64_t at) {
  const Registry reg = ear_registry();
  FixedClock clock(at);
  return test::rp_outcome(internal::RelyingParty(reg, clock, policy).appraise(e, {std::move(ctx)}));
}

const nlohmann::json kVeraisonTrust = {{"verifier_keys", {"vectors/veraison_ear_pkey.jwk.json"}}};

Bytes as_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// --- the veraison/ear vectors ----------------------------------------------------

TEST(EarPluginVectors, TestJwtAffirming) {
  const Registry reg = ear_registry();
  const Outcome o = rp_run(ear_evidence(vector_bytes("testJWT")), rp_policy(reg, kVeraisonTrust),
                           {}, kVeraisonIat + 10);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  const EvidenceClaims& c = o.verified->claims();
  EXPECT_EQ(c.issued_at, kVeraisonIat);
  EXPECT_FALSE(c.expires_at.has_value());
  EXPECT_FALSE(c.nonce_verified);
  EXPECT_TRUE(c.nonce.empty());
  EXPECT_TRUE(c.machine_id.empty());
  EXPECT_TRUE(c.hardware_rooted) << "hardware 2 in the EAR's vector";
  EXPECT_EQ(c.claims["eat_profile"], kEarProfileVeraison);
  ASSERT_TRUE(o.result) << o.result.error().to_string();
  EXPECT_EQ(o.result->status(), TrustTier::Affirming);
  ASSERT_EQ(o.result->submods().size(), 1u);
  const SubmodResult& s = o.result->submods()[0];
  EXPECT_EQ(s.name, "test");
  EXPECT_EQ(s.policy_id, "https://veraison.example/policy/1/60a0068d");
  const std::array<std::optional<std::int8_t>, 8> expected{2, 2, 3, 2, 2, 2, 2, 2};
  EXPECT_EQ(s.trust_vector.claims, expected);
  EXPECT_TRUE(s.findings.empty());
  EXPECT_TRUE(o.check) << o.check.error().to_string();
  // The header-jwk variant verifies the same way, with the trusted key.
  EXPECT_TRUE(rp_run(ear_evidence(vector_bytes("testJWT_JWK")), rp_policy(reg, kVeraisonTrust), {},
                     kVeraisonIat + 10)
                  .check);
}

TEST(EarPluginVectors, VeraisonKeyAttestation) {
  // The vector's akpub is base64url("akpub\n"): it names that "key".
  const Registry reg = ear_registry();
  const Policy policy = rp_policy(reg, kVeraisonTrust, "none");
  VerifyContext ctx;
  ctx.attested_key_spki = as_bytes("akpub\n");
  const Evidence e = ear_evidence(vector_bytes("good_veraison_extns"));
  const Outcome o = rp_run(e, policy, ctx, kVeraisonIat + 10);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  ASSERT_TRUE(o.result);
  // Status affirming but no trust vector: the result is "none".
  EXPECT_EQ(o.result->status(), TrustTier::None);
  EXPECT_EQ(o.result->submods()[0].policy_id, "policy://test/01234");
  EXPECT_FALSE(o.verified->claims().hardware_rooted);
  EXPECT_TRUE(o.check);
  EXPECT_EQ(rp_run(e, rp_policy(reg, kVeraisonTrust), ctx, kVeraisonIat + 10).check.error().code,
            ErrorCode::TierInsufficient);

  ctx.attested_key_spki = as_bytes("akpub");
  EXPECT_EQ(verify_error(rp_run(e, policy, ctx, kVeraisonIat + 10)),
            ErrorCode::EarKeyBindingMismatch);
  // testJWT names no key at all.
  EXPECT_EQ(
      verify_error(rp_run(ear_evidence(vector_bytes("testJWT")), policy, ctx, kVeraisonIat + 10)),
      ErrorCode::EarKeyBindingMismatch);
}

TEST(EarPluginVectors, TrusteeRealmTokenUnderItsHeaderKey) {
  const Registry reg = ear_registry();
  const Bytes token = vector_bytes("testRealmJWT");
  auto jws = parse_jws_compact(as_string_view(token));
  ASSERT_TRUE(jws);
  VerifyContext ctx;
  ctx.trust_anchors = {as_bytes(jws->header.at("jwk").dump())};
  const Policy policy = rp_policy(reg, nlohmann::json::object());
  const Outcome o = rp_run(ear_evidence(token), policy, ctx, kRealmIat + 60);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_EQ(o.verified->claims().expires_at, kRealmExp);
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->submods()[0].name, "cpu0");
  EXPECT_EQ(o.result->status(), TrustTier::Affirming);
  EXPECT_EQ(o.result->valid_until(), kRealmExp);
  EXPECT_TRUE(o.check);
  // exp is checked without leeway.
  EXPECT_EQ(verify_error(rp_run(ear_evidence(token), policy, ctx, kRealmExp + 1)),
            ErrorCode::EarExpired);
  EXPECT_TRUE(rp_run(ear_evidence(token), policy, ctx, kRealmExp).verified);
  // Under the Veraison key it is not trusted; nor is the header key used by itself.
  EXPECT_EQ(
      verify_error(rp_run(ear_evidence(token), rp_policy(reg, kVeraisonTrust), {}, kRealmIat + 60)),
      ErrorCode::KeyUntrusted);
  EXPECT_EQ(verify_error(rp_run(ear_evidence(token), policy, {}, kRealmIat + 60)),
            ErrorCode::KeyUntrusted);
}

TEST(EarPluginVectors, BadVectors) {
  const Registry reg = ear_registry();
  const Policy policy = rp_policy(reg, kVeraisonTrust);
  const std::pair<const char*, ErrorCode> cases[] = {
      {"bad_alg_none", ErrorCode::JwsAlgNone},
      {"bad_hs256_alg", ErrorCode::JwsAlgorithmMismatch},
      {"bad_leading_dot", ErrorCode::JwsMalformed},
      {"bad_trailing_rubbish", ErrorCode::JwsMalformed},
      {"bad_empty_claims", ErrorCode::EarMissingClaim},
  };
  for (const auto& [name, code] : cases) {
    SCOPED_TRACE(name);
    const Outcome o = rp_run(ear_evidence(vector_bytes(name)), policy, {}, kVeraisonIat + 10);
    EXPECT_EQ(verify_error(o), code) << (o.verified ? "" : o.verified.error().to_string());
  }
}

TEST(EarPluginVectors, AgeAndTime) {
  const Registry reg = ear_registry();
  const Evidence e = ear_evidence(vector_bytes("testJWT"));
  // Older than max_evidence_age (the policy's bound on iat).
  EXPECT_EQ(verify_error(
                rp_run(e, rp_policy(reg, kVeraisonTrust, "affirming", 60), {}, kVeraisonIat + 61)),
            ErrorCode::EvidenceStale);
  EXPECT_TRUE(
      rp_run(e, rp_policy(reg, kVeraisonTrust, "affirming", 60), {}, kVeraisonIat + 60).verified);
  // From the future beyond the leeway.
  EXPECT_EQ(verify_error(rp_run(e, rp_policy(reg, kVeraisonTrust), {}, kVeraisonIat - 61)),
            ErrorCode::JwtNotYetValid);
}

TEST(EarPluginVectors, NonceIsComparedWhenExpected) {
  const Registry reg = ear_registry();
  VerifyContext ctx;
  ctx.expected_nonce = Bytes(32, 1);
  // testJWT has no eat_nonce.
  EXPECT_EQ(verify_error(rp_run(ear_evidence(vector_bytes("testJWT")),
                                rp_policy(reg, kVeraisonTrust), ctx, kVeraisonIat)),
            ErrorCode::NonceMismatch);
}

TEST(EarPluginVectors, RecordShapeAndKeys) {
  const Registry reg = ear_registry();
  const Policy policy = rp_policy(reg, kVeraisonTrust);
  // ind 4 (evidence) is not a result.
  EXPECT_EQ(verify_error(rp_run(ear_evidence(vector_bytes("testJWT"), kIndEvidence), policy, {},
                                kVeraisonIat)),
            ErrorCode::CmwBadIndicator);
  // No ind at all is accepted.
  EXPECT_TRUE(rp_run(ear_evidence(vector_bytes("testJWT"), 0), policy, {}, kVeraisonIat).verified);
  // No trusted key.
  EXPECT_EQ(verify_error(rp_run(ear_evidence(vector_bytes("testJWT")),
                                rp_policy(reg, nlohmann::json::object()), {}, kVeraisonIat)),
            ErrorCode::KeyUntrusted);
  // A trusted key file that does not parse.
  EXPECT_EQ(verify_error(rp_run(ear_evidence(vector_bytes("testJWT")),
                                rp_policy(reg, {{"verifier_keys", "vectors/README.md"}}), {},
                                kVeraisonIat)),
            ErrorCode::KeyInvalid);
}

TEST(EarPlugin, SectionValidation) {
  const Registry reg = ear_registry();
  const Verifier* v = reg.verifier_for(kMediaTypeEar);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->check_trust_section(nlohmann::json::object()));
  EXPECT_TRUE(v->check_trust_section({{"verifier_keys", "a.pem"}}));
  EXPECT_TRUE(v->check_trust_section({{"verifier_keys", {"a.pem", "b.jwk.json"}}}));
  for (const nlohmann::json& bad :
       {nlohmann::json{{"keys", {"a.pem"}}}, nlohmann::json{{"verifier_keys", 1}},
        nlohmann::json{{"verifier_keys", nlohmann::json::array()}},
        nlohmann::json{{"verifier_keys", {1}}}, nlohmann::json::array()}) {
    EXPECT_EQ(v->check_trust_section(bad).error().code, ErrorCode::PolicyInvalid) << bad.dump();
  }
  const Appraiser* a = reg.appraiser_for(kMediaTypeEar);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->check_reference_section(nlohmann::json::object()));
  EXPECT_EQ(a->check_reference_section({{"policy_id", "x"}}).error().code,
            ErrorCode::PolicyInvalid);
}

// --- appraisal of EARs this project did not issue ------------------------------------

// Signs |claims| with |key| as an EAR JWT (the claims must be a valid EAR).
Bytes signed_ear(const nlohmann::json& claims, EVP_PKEY* key) {
  auto ear = ear_from_claims(claims);
  EXPECT_TRUE(ear) << ear.error().to_string();
  auto jwt = sign_ear_jwt(*ear, key);
  EXPECT_TRUE(jwt) << jwt.error().to_string();
  return jwt ? as_bytes(*jwt) : Bytes{};
}

TEST(EarPlugin, StatusWorseThanVectorIsKept) {
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(key);
  auto pem = ossl::public_key_pem(key->get());
  ASSERT_TRUE(pem);
  const nlohmann::json claims = {
      {"eat_profile", std::string(kEarProfileIetf03)},
      {"iat", kNow},
      {"ear_verifier_id", {{"developer", "x"}, {"build", "y"}}},
      {"submods",
       {{"a",
         {{"ear_status", "contraindicated"},
          {"ear_trustworthiness_vector", {{"hardware", 2}, {"executables", 3}}}}},
        {"b", {{"ear_status", "contraindicated"}}},
        {"c",
         {{"ear_status", "warning"}, {"ear_trustworthiness_vector", {{"configuration", 32}}}}}}}};
  const Registry reg = ear_registry();
  const Policy policy = rp_policy(reg, {{"verifier_keys", {*pem}}}, "contraindicated");
  const Evidence e = ear_evidence(signed_ear(claims, key->get()));
  const Outcome o = rp_run(e, policy, {}, kNow);
  ASSERT_TRUE(o.result) << error_name(verify_error(o));
  ASSERT_EQ(o.result->submods().size(), 3u);
  EXPECT_EQ(o.result->status(), TrustTier::Contraindicated);
  for (const auto& s : o.result->submods()) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.status, s.name == "c" ? TrustTier::Warning : TrustTier::Contraindicated);
    ASSERT_FALSE(s.findings.empty());
    EXPECT_EQ(s.findings[0].code, ErrorCode::TierInsufficient);
  }
  EXPECT_EQ(o.result->submods()[0].trust_vector.claims[TrustVector::kHardware], 96);
  EXPECT_FALSE(o.verified->claims().hardware_rooted);
  EXPECT_EQ(rp_run(e, rp_policy(reg, {{"verifier_keys", {*pem}}}, "warning"), {}, kNow)
                .check.error()
                .code,
            ErrorCode::TierInsufficient);
}

// --- the passport attester -------------------------------------------------------------

// Counts the Evidence requests that reach the wrapped attester.
class CountingAttester final : public Attester {
 public:
  explicit CountingAttester(std::unique_ptr<Attester> inner) : m_inner(std::move(inner)) {}
  std::string_view name() const override { return m_inner->name(); }
  std::string_view media_type() const override { return m_inner->media_type(); }
  Result<Evidence> attest(const AttestationRequest& request) override {
    ++calls;
    last_nonce = request.nonce;
    return m_inner->attest(request);
  }
  std::atomic<int> calls{0};
  Bytes last_nonce;

 private:
  std::unique_ptr<Attester> m_inner;
};

class FixedRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      b = m_next++;
    }
  }

 private:
  std::uint8_t m_next = 0x10;
};

struct PassportFixture {
  FixedClock clock{kNow};
  FixedRng rng;
  std::shared_ptr<CountingAttester> software;
  UniquePtr<EVP_PKEY> ear_key;
  std::string ear_public_pem;
  Bytes spki;
  Bytes other_spki;
  std::unique_ptr<Attester> passport;

  explicit PassportFixture(std::int64_t lifetime = 300) {
    SoftwareAttesterConfig sc;
    sc.measured_files = {test::data_path("tdx/intel_sgx_root_ca.pem")};
    sc.machine_id_file = test::data_path("tdx/README.md");
    sc.clock = &clock;
    auto sw = make_software_attester(sc);
    EXPECT_TRUE(sw) << sw.error().to_string();
    auto sw_pem = software_attester_public_key(**sw);
    EXPECT_TRUE(sw_pem);
    software = std::make_shared<CountingAttester>(std::move(*sw));

    auto k = ossl::generate_key(ossl::KeyType::EcP256);
    EXPECT_TRUE(k);
    ear_key = std::move(*k);
    ear_public_pem = *ossl::public_key_pem(ear_key.get());
    spki = tls_key_spki();
    other_spki = tls_key_spki();

    auto reg = std::make_shared<Registry>();
    reg->add_verifier(make_software_verifier());
    reg->add_appraiser(make_software_appraiser());
    nlohmann::json doc = {
        {"required_tier", "warning"},
        {"ear", {{"lifetime", lifetime}, {"developer", "atls-test"}}},
        {"schemes", {{std::string(kMediaTypeEatCwt), {{"trust", {{"keys", {*sw_pem}}}}}}}}};
    auto policy = parse_policy(doc.dump(), *reg, "");
    EXPECT_TRUE(policy) << policy.error().to_string();

    PassportAttesterConfig cfg;
    cfg.evidence_attester = software;
    cfg.registry = reg;
    cfg.policy = std::move(*policy);
    cfg.signing_key = ear_key.get();
    cfg.clock = &clock;
    cfg.rng = &rng;
    auto p = make_passport_attester(std::move(cfg));
    EXPECT_TRUE(p) << p.error().to_string();
    passport = std::move(*p);
  }

  static Bytes tls_key_spki() {
    auto k = ossl::generate_key(ossl::KeyType::EcP256);
    EXPECT_TRUE(k);
    auto der = ossl::spki_der(k->get());
    EXPECT_TRUE(der);
    return *der;
  }

  Result<Evidence> attest(const Bytes& key) {
    AttestationRequest r;
    r.nonce = Bytes(32, 0xee);  // the connection's binder; a passport does not carry it
    r.key_spki = key;
    return passport->attest(r);
  }

  Policy rp(const std::string& tier = "warning") const {
    return rp_policy(ear_registry(), {{"verifier_keys", {ear_public_pem}}}, tier);
  }
};

VerifyContext bound_to(const Bytes& spki) {
  VerifyContext ctx;
  ctx.attested_key_spki = spki;
  return ctx;
}

TEST(PassportAttester, EarVerifiesAtTheRelyingParty) {
  PassportFixture f;
  EXPECT_EQ(f.passport->name(), "passport");
  EXPECT_EQ(f.passport->media_type(), kMediaTypeEar);
  auto e = f.attest(f.spki);
  ASSERT_TRUE(e) << e.error().to_string();
  // The wire form: one record ["application/eat+jwt", EAR, 8].
  auto wire = evidence_from_cmw(e->cmw);
  ASSERT_TRUE(wire) << wire.error().to_string();
  ASSERT_EQ(wire->records.size(), 1u);
  EXPECT_EQ(wire->records[0].media_type, kMediaTypeEar);
  EXPECT_EQ(wire->records[0].ind, kIndAttestationResult);

  // The Evidence nonce is SHA-256(verifier nonce || SHA-256(SPKI)); the
  // fixed RNG's first 32 bytes are 0x10, 0x11, ...
  Bytes verifier_nonce(32);
  for (std::size_t i = 0; i < 32; ++i) {
    verifier_nonce[i] = static_cast<std::uint8_t>(0x10 + i);
  }
  const Bytes key_hash = *ossl::digest(ossl::HashAlg::Sha256, f.spki);
  Bytes input = verifier_nonce;
  input.insert(input.end(), key_hash.begin(), key_hash.end());
  const Bytes expected_nonce = *ossl::digest(ossl::HashAlg::Sha256, input);
  EXPECT_EQ(f.software->last_nonce, expected_nonce);
  EXPECT_EQ(*passport_evidence_nonce(verifier_nonce, f.spki), expected_nonce);

  const Outcome o = rp_run(*wire, f.rp(), bound_to(f.spki), kNow + 5);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  const EvidenceClaims& c = o.verified->claims();
  EXPECT_FALSE(c.nonce_verified) << "no nonce was compared; the key binding binds the EAR";
  EXPECT_EQ(c.nonce, expected_nonce);
  EXPECT_EQ(c.issued_at, kNow);
  EXPECT_EQ(c.expires_at, kNow + 300);
  EXPECT_EQ(c.machine_id.rfind("ueid:01", 0), 0u) << c.machine_id;
  EXPECT_FALSE(c.hardware_rooted) << "software evidence";
  ASSERT_TRUE(o.result) << o.result.error().to_string();
  EXPECT_EQ(o.result->machine_id(), c.machine_id);
  EXPECT_EQ(o.result->status(), TrustTier::Warning);
  ASSERT_EQ(o.result->submods().size(), 1u);
  EXPECT_EQ(o.result->submods()[0].name, "software");
  EXPECT_EQ(o.result->submods()[0].policy_id, "atls:software/default");
  EXPECT_EQ(o.result->submods()[0].trust_vector.claims[TrustVector::kHardware], 32);
  EXPECT_EQ(o.result->valid_until(), kNow + 300);
  EXPECT_TRUE(o.check) << o.check.error().to_string();
  // An RP that requires affirming rejects software-rooted evidence.
  EXPECT_EQ(rp_run(*wire, f.rp("affirming"), bound_to(f.spki), kNow + 5).check.error().code,
            ErrorCode::TierInsufficient);

  // With the nonce expected, it is compared.
  VerifyContext with_nonce = bound_to(f.spki);
  with_nonce.expected_nonce = expected_nonce;
  const Outcome n = rp_run(*wire, f.rp(), with_nonce, kNow + 5);
  ASSERT_TRUE(n.verified) << n.verified.error().to_string();
  EXPECT_TRUE(n.verified->claims().nonce_verified);
  with_nonce.expected_nonce = Bytes(32, 0xee);
  EXPECT_EQ(verify_error(rp_run(*wire, f.rp(), with_nonce, kNow + 5)), ErrorCode::NonceMismatch);
}

TEST(PassportAttester, OtherKeyIsABindingMismatch) {
  PassportFixture f;
  auto e = f.attest(f.spki);
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(verify_error(rp_run(*e, f.rp(), bound_to(f.other_spki), kNow + 5)),
            ErrorCode::EarKeyBindingMismatch);
  EXPECT_EQ(verify_error(rp_run(*e, f.rp(), bound_to(Bytes{}), kNow + 5)),
            ErrorCode::EarKeyBindingMismatch);
}

TEST(PassportAttester, ExpiredAndStale) {
  PassportFixture f;
  auto e = f.attest(f.spki);
  ASSERT_TRUE(e);
  EXPECT_TRUE(rp_run(*e, f.rp(), bound_to(f.spki), kNow + 300).verified);
  EXPECT_EQ(verify_error(rp_run(*e, f.rp(), bound_to(f.spki), kNow + 301)), ErrorCode::EarExpired);
  // The RP's own bound on age is tighter than exp.
  EXPECT_EQ(
      verify_error(rp_run(
          *e, rp_policy(ear_registry(), {{"verifier_keys", {f.ear_public_pem}}}, "warning", 100),
          bound_to(f.spki), kNow + 101)),
      ErrorCode::EvidenceStale);
}

TEST(PassportAttester, UntrustedSigner) {
  PassportFixture f;
  auto e = f.attest(f.spki);
  ASSERT_TRUE(e);
  auto other = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(other);
  const Policy wrong = rp_policy(
      ear_registry(), {{"verifier_keys", {*ossl::public_key_pem(other->get())}}}, "warning");
  EXPECT_EQ(verify_error(rp_run(*e, wrong, bound_to(f.spki), kNow + 5)), ErrorCode::KeyUntrusted);
  // A P-384 key does not fit ES256 at all; with a trusted P-256 key beside it
  // the token still verifies.
  auto p384 = ossl::generate_key(ossl::KeyType::EcP384);
  ASSERT_TRUE(p384);
  const Policy both = rp_policy(
      ear_registry(), {{"verifier_keys", {*ossl::public_key_pem(p384->get()), f.ear_public_pem}}},
      "warning");
  EXPECT_TRUE(rp_run(*e, both, bound_to(f.spki), kNow + 5).check);
  // Trusted through --trust instead of the policy.
  VerifyContext ctx = bound_to(f.spki);
  ctx.trust_anchors = {as_bytes(f.ear_public_pem)};
  EXPECT_TRUE(
      rp_run(*e, rp_policy(ear_registry(), nlohmann::json::object(), "warning"), ctx, kNow + 5)
          .check);
}

TEST(PassportAttester, CacheReusePerKey) {
  PassportFixture f;
  auto first = f.attest(f.spki);
  ASSERT_TRUE(first);
  EXPECT_EQ(f.software->calls, 1);
  f.clock.set(kNow + 200);
  auto again = f.attest(f.spki);
  ASSERT_TRUE(again);
  EXPECT_EQ(f.software->calls, 1) << "reused";
  EXPECT_EQ(again->records[0].value, first->records[0].value);
  // Another key gets its own EAR.
  auto other = f.attest(f.other_spki);
  ASSERT_TRUE(other);
  EXPECT_EQ(f.software->calls, 2);
  EXPECT_NE(other->records[0].value, first->records[0].value);
  // Within the refresh margin (30 s) before exp, a new EAR is issued.
  f.clock.set(kNow + 270);
  auto renewed = f.attest(f.spki);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(f.software->calls, 3);
  EXPECT_NE(renewed->records[0].value, first->records[0].value);
  const Outcome o = rp_run(*renewed, f.rp(), bound_to(f.spki), kNow + 500);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_EQ(o.verified->claims().issued_at, kNow + 270);
}

TEST(PassportAttester, ConcurrentCallersShareTheCache) {
  PassportFixture f;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        if (!f.attest(f.spki)) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(f.software->calls, 1);
}

TEST(PassportAttester, Failures) {
  PassportFixture f;
  EXPECT_EQ(f.attest(Bytes{}).error().code, ErrorCode::InvalidArgument);

  PassportAttesterConfig none;
  EXPECT_EQ(make_passport_attester(none).error().code, ErrorCode::InvalidArgument);
  PassportAttesterConfig no_key;
  no_key.evidence_attester = f.software;
  EXPECT_EQ(make_passport_attester(no_key).error().code, ErrorCode::InvalidArgument);
  no_key.signing_key_pem = as_bytes("not a key");
  EXPECT_EQ(make_passport_attester(no_key).error().code, ErrorCode::KeyInvalid);
  PassportAttesterConfig margin;
  margin.evidence_attester = f.software;
  margin.signing_key = f.ear_key.get();
  margin.refresh_margin = -1;
  EXPECT_EQ(make_passport_attester(margin).error().code, ErrorCode::InvalidArgument);

  // The in-process Verifier does not trust the evidence key: its code surfaces.
  PassportAttesterConfig untrusted;
  untrusted.evidence_attester = f.software;
  untrusted.signing_key_pem = as_bytes(*ossl::private_key_pem(f.ear_key.get()));
  auto reg = std::make_shared<Registry>();
  reg->add_verifier(make_software_verifier());
  reg->add_appraiser(make_software_appraiser());
  untrusted.registry = reg;
  untrusted.clock = &f.clock;
  auto p = make_passport_attester(std::move(untrusted));
  ASSERT_TRUE(p) << p.error().to_string();
  AttestationRequest r;
  r.key_spki = f.spki;
  EXPECT_EQ((*p)->attest(r).error().code, ErrorCode::KeyUntrusted);
}

TEST(PassportAttester, ShortLifetimeIsNotCachedPastExp) {
  // A lifetime shorter than the margin: each request issues a new EAR.
  PassportFixture f(20);
  ASSERT_TRUE(f.attest(f.spki));
  ASSERT_TRUE(f.attest(f.spki));
  EXPECT_EQ(f.software->calls, 2);
}

// --- the example policies ---------------------------------------------------------------

TEST(ExamplePolicies, EveryExampleParses) {
  Registry reg;
  reg.add_verifier(make_software_verifier());
  reg.add_appraiser(make_software_appraiser());
  reg.add_verifier(make_tpm2_verifier());
  reg.add_appraiser(make_tpm2_appraiser());
  reg.add_verifier(make_sevsnp_verifier());
  reg.add_appraiser(make_sevsnp_appraiser());
  reg.add_verifier(make_tdx_verifier());
  reg.add_appraiser(make_tdx_appraiser());
  reg.add_verifier(make_ear_verifier());
  reg.add_appraiser(make_ear_appraiser());
  const std::pair<const char*, std::string_view> examples[] = {
      {"software", kMediaTypeEatCwt},   {"tpm2", kMediaTypeTpmQuote},
      {"sev-snp", kMediaTypeSnpReport}, {"tdx", kMediaTypeTdxQuote},
      {"ear", kMediaTypeEar},
  };
  for (const auto& [name, media_type] : examples) {
    SCOPED_TRACE(name);
    const std::string path =
        std::string(ATLS_SOURCE_DIR) + "/docs/examples/policy-" + name + ".json";
    auto p = load_policy_file(path, reg);
    ASSERT_TRUE(p) << p.error().to_string();
    EXPECT_NE(p->scheme(std::string(media_type)), nullptr);
  }
}

}  // namespace
}  // namespace atls
