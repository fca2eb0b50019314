// The Verifier service's core (src/service/verifier_service.h), without
// sockets: sessions, Evidence from the software attester, the EAR it
// issues, the problem details of every refusal, determinism across
// instances, and reloads. docs/verifier-service.md is the contract.

#include "src/service/verifier_service.h"

#include <atls/attesters.h>

#include "src/core/encoding.h"
#include "src/formats/jwt/jwk.h"
#include "src/formats/jwt/jws.h"
#include "src/ossl/keys.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/remote/api.h"
#include "src/service/session_token.h"
#include "tests/testlib/process.h"

#include <gtest/gtest.h>

#include <ctime>

namespace atls::service {
namespace {

constexpr std::string_view kEat = "application/eat+cwt";

nlohmann::json body_json(const Reply& r) {
  return nlohmann::json::parse(r.body);
}

// ServiceTest runs one service over a temporary directory holding the
// software attester's key (trusted by the policy), the EAR key and a shared
// session key.
class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(m_dir.path().empty());
    ASSERT_TRUE(test::write_text_file(m_dir.file("machine-id"), "service-test\n"));
    ASSERT_TRUE(test::write_text_file(m_dir.file("app.bin"), "v1"));
    SoftwareAttesterOptions so;
    so.machine_id_file = m_dir.file("machine-id");
    so.measured_files = {m_dir.file("app.bin")};
    auto a = software_attester(so);
    ASSERT_TRUE(a) << a.error().to_string();
    m_attester = *a;
    auto pub = attester_public_key_pem(*m_attester);
    ASSERT_TRUE(pub);
    ASSERT_TRUE(test::write_text_file(m_dir.file("pub.pem"), *pub));
    write_policy("good.json", "pub.pem");
    auto ear_key = ossl::generate_key(ossl::KeyType::EcP256);
    ASSERT_TRUE(ear_key);
    ASSERT_TRUE(
        test::write_text_file(m_dir.file("ear.pem"), *ossl::private_key_pem(ear_key->get())));
    m_ear_pub = ossl::parse_public_key(to_bytes(*ossl::public_key_pem(ear_key->get())))->release();
    ASSERT_TRUE(test::write_text_file(m_dir.file("session.key"), std::string(64, 'a') + "\n"));
    m_files.policy = m_dir.file("good.json");
    m_files.ear_key = m_dir.file("ear.pem");
    m_files.session_key = m_dir.file("session.key");
    m_service = make_service(m_clock);
  }
  void TearDown() override { ossl::UniquePtr<EVP_PKEY> drop(m_ear_pub); }

  void write_policy(const std::string& name, const std::string& key) {
    const nlohmann::json doc = {{"required_tier", "warning"},
                                {"schemes", {{std::string(kEat), {{"trust", {{"keys", {key}}}}}}}}};
    ASSERT_TRUE(test::write_text_file(m_dir.file(name), doc.dump()));
  }

  std::unique_ptr<VerifierService> make_service(
      const Clock& clock, internal::EarProfile p = internal::EarProfile::Ietf) {
    StateFiles f = m_files;
    f.ear_profile = p;
    auto st = build_state(f, m_registry, m_rng);
    EXPECT_TRUE(st) << st.error().to_string();
    return std::make_unique<VerifierService>(m_registry, clock, *st);
  }

  // open starts a session and returns its id and nonce.
  std::pair<std::string, Bytes> open(const VerifierService& svc, Query q = {}) {
    const Reply r = svc.new_session(q, m_rng);
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.content_type, remote::kSessionMediaType);
    std::string location;
    for (const auto& [k, v] : r.headers) {
      if (k == "Location") {
        location = v;
      }
    }
    EXPECT_EQ(location.rfind(remote::kSessionPathPrefix, 0), 0u) << location;
    const auto j = body_json(r);
    EXPECT_EQ(j["status"], "waiting");
    auto nonce = base64_decode_lenient(j["nonce"].get<std::string>());
    EXPECT_TRUE(nonce);
    return {location.substr(remote::kSessionPathPrefix.size()), nonce ? *nonce : Bytes{}};
  }

  Evidence evidence_for(const Bytes& nonce) {
    AttestationRequest req;
    req.nonce = nonce;
    auto e = m_attester->attest(req);
    EXPECT_TRUE(e) << e.error().to_string();
    return *e;
  }

  Reply submit_native(const VerifierService& svc, const std::string& id, const Evidence& e) {
    return svc.submit(id, e.records.front().media_type, e.records.front().value);
  }

  // claims_of checks the EAR's signature with the service's key and
  // returns its header and claims.
  std::pair<nlohmann::json, nlohmann::json> claims_of(const Reply& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    const auto j = body_json(r);
    EXPECT_EQ(j["status"], "complete");
    auto jws = parse_jws_compact(j["result"].get<std::string>());
    EXPECT_TRUE(jws);
    EXPECT_TRUE(verify_jws(*jws, m_ear_pub));
    return {jws->header, *jwt_claims(*jws)};
  }

  static void expect_problem(const Reply& r, int status, ErrorCode code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, remote::kProblemMediaType);
    const auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["code"], std::string(error_name(code))) << r.body;
    EXPECT_EQ(j["status"], status);
    EXPECT_EQ(j["type"], std::string(remote::kProblemTypePrefix) + std::string(error_name(code)));
  }

  test::TempDir m_dir;
  Registry m_registry = builtin_registry();
  SystemRng m_rng;
  FixedClock m_clock{static_cast<std::int64_t>(std::time(nullptr))};
  std::shared_ptr<Attester> m_attester;
  EVP_PKEY* m_ear_pub = nullptr;  // owned; freed in TearDown
  StateFiles m_files;
  std::unique_ptr<VerifierService> m_service;
};

TEST_F(ServiceTest, NewSessionDescribesItself) {
  const Reply r = m_service->new_session({}, m_rng);
  ASSERT_EQ(r.status, 201);
  const auto j = body_json(r);
  EXPECT_EQ(base64_decode_lenient(j["nonce"].get<std::string>())->size(),
            remote::kDefaultNonceSize);
  EXPECT_EQ(j["expiry"].get<std::string>().size(), 20u);  // 2026-01-01T00:00:00Z
  const auto accept = j["accept"].get<std::vector<std::string>>();
  for (const auto mt : {kEat, remote::kMediaTypeCmwCbor, remote::kMediaTypeCmwJson}) {
    EXPECT_NE(std::find(accept.begin(), accept.end(), std::string(mt)), accept.end()) << mt;
  }
  auto [id, nonce] = open(*m_service, {{"nonceSize", "8"}});
  EXPECT_EQ(nonce.size(), 8u);
  auto [id2, given] = open(*m_service, {{"nonce", base64url_encode(Bytes(16, 7))}});
  EXPECT_EQ(given, Bytes(16, 7));
}

TEST_F(ServiceTest, BadNewSessionParameters) {
  const Query bad[] = {
      {{"nonceSize", "7"}},
      {{"nonceSize", "65"}},
      {{"nonceSize", "x"}},
      {{"nonce", base64url_encode(Bytes(7, 1))}},
      {{"nonce", "!!"}},
      {{"nonce", base64url_encode(Bytes(8, 1))}, {"nonceSize", "8"}},
      {{"nonceSize", "8"}, {"nonceSize", "16"}},
      {{"binding", "bogus"}},
      {{"binding", "key"}},
      {{"binding", "key"}, {"akpub", base64url_encode(Bytes(40, 1))}},
      {{"akpub", base64url_encode(Bytes(40, 1))}},
  };
  for (const auto& q : bad) {
    expect_problem(m_service->new_session(q, m_rng), 400, ErrorCode::InvalidArgument);
  }
}

TEST_F(ServiceTest, CompletesWithAnEarForTheSessionNonce) {
  auto [id, nonce] = open(*m_service);
  auto [header, claims] = claims_of(submit_native(*m_service, id, evidence_for(nonce)));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["kid"], *jwk_thumbprint(m_ear_pub));
  EXPECT_EQ(claims["eat_profile"], "tag:ietf.org,2026:rats/ear#03");
  EXPECT_EQ(claims["eat_nonce"], base64url_encode(nonce));
  EXPECT_EQ(claims["iat"], m_clock.now());
  EXPECT_TRUE(claims.contains("ear_status"));
  EXPECT_TRUE(claims.contains("ear_verifier_id"));
  ASSERT_TRUE(claims["submods"].contains("software"));
  EXPECT_TRUE(claims["submods"]["software"].contains("ear_trustworthiness_vector"));
  EXPECT_FALSE(claims["submods"]["software"].contains("ear.veraison.key-attestation"));
}

TEST_F(ServiceTest, CmwBodies) {
  auto [id, nonce] = open(*m_service);
  const Evidence e = evidence_for(nonce);
  claims_of(m_service->submit(id, "application/cmw+cbor", e.cmw));
  // Media types are case-insensitive and parameters are ignored.
  claims_of(m_service->submit(id, "Application/EAT+CWT; charset=binary", e.records.front().value));
  expect_problem(m_service->submit(id, "application/cmw+cbor", to_bytes("junk")), 422,
                 ErrorCode::CborMalformed);
}

TEST_F(ServiceTest, UnknownMediaTypeIs415) {
  auto [id, nonce] = open(*m_service);
  const Evidence e = evidence_for(nonce);
  const Reply r = m_service->submit(id, "application/x-unknown", e.records.front().value);
  expect_problem(r, 415, ErrorCode::UnsupportedMediaType);
  EXPECT_EQ(r.verified_media_type, "other");
}

TEST_F(ServiceTest, EvidenceForAnotherNonceIs422) {
  auto [id, nonce] = open(*m_service);
  const Reply r = submit_native(*m_service, id, evidence_for(Bytes(32, 0x99)));
  expect_problem(r, 422, ErrorCode::NonceMismatch);
  EXPECT_EQ(r.verified_media_type, kEat);
  EXPECT_EQ(r.verification_outcome, "NonceMismatch");
}

TEST_F(ServiceTest, EvidenceReplayedIntoAnotherSessionIs422) {
  auto [a, nonce_a] = open(*m_service);
  auto [b, nonce_b] = open(*m_service);
  const Evidence e = evidence_for(nonce_a);
  claims_of(submit_native(*m_service, a, e));
  expect_problem(submit_native(*m_service, b, e), 422, ErrorCode::NonceMismatch);
}

TEST_F(ServiceTest, ForgedAndTamperedIdsAre404) {
  auto [id, nonce] = open(*m_service);
  const Evidence e = evidence_for(nonce);
  std::string tampered = id;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  expect_problem(submit_native(*m_service, tampered, e), 404, ErrorCode::VerifierSessionInvalid);
  expect_problem(m_service->get("forged"), 404, ErrorCode::VerifierSessionInvalid);
  expect_problem(m_service->remove(""), 404, ErrorCode::VerifierSessionInvalid);
  // An id made under another deployment's key.
  Session s;
  s.iat = m_clock.now();
  s.exp = s.iat + 60;
  s.nonce = nonce;
  const auto other = seal_session(s, Bytes(32, 0x42));
  expect_problem(submit_native(*m_service, *other, e), 404, ErrorCode::VerifierSessionInvalid);
}

TEST_F(ServiceTest, ExpiredIdIs410) {
  auto [id, nonce] = open(*m_service);
  const Evidence e = evidence_for(nonce);
  const std::int64_t opened = m_clock.now();
  m_clock.set(opened + m_files.session_ttl + 1);
  expect_problem(submit_native(*m_service, id, e), 410, ErrorCode::VerifierSessionExpired);
  expect_problem(m_service->get(id), 410, ErrorCode::VerifierSessionExpired);
  m_clock.set(opened);
}

TEST_F(ServiceTest, GetAndDelete) {
  auto [id, nonce] = open(*m_service);
  const Reply g = m_service->get(id);
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(body_json(g)["status"], "waiting");
  EXPECT_EQ(*base64_decode_lenient(body_json(g)["nonce"].get<std::string>()), nonce);
  EXPECT_EQ(m_service->remove(id).status, 204);
}

TEST_F(ServiceTest, CompletingAgainElsewhereGivesTheSameClaims) {
  // A second instance with the same keys and a later clock: the EAR's claims
  // are a function of the session id, the Evidence and the policy.
  FixedClock later(m_clock.now() + 7);
  const auto other = make_service(later);
  auto [id, nonce] = open(*m_service);
  const Evidence e = evidence_for(nonce);
  const Reply first = submit_native(*m_service, id, e);
  const Reply second = submit_native(*other, id, e);
  auto [h1, c1] = claims_of(first);
  auto [h2, c2] = claims_of(second);
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(h1, h2);
  EXPECT_EQ(c1["iat"], m_clock.now());
  // Only the randomised ECDSA signature differs.
  EXPECT_NE(body_json(first)["result"], body_json(second)["result"]);
}

TEST_F(ServiceTest, VeraisonProfileNames) {
  const auto svc = make_service(m_clock, internal::EarProfile::Veraison);
  auto [id, nonce] = open(*svc);
  auto [header, claims] = claims_of(submit_native(*svc, id, evidence_for(nonce)));
  EXPECT_EQ(claims["eat_profile"], "tag:github.com,2023:veraison/ear");
  EXPECT_TRUE(claims.contains("ear.status"));
  EXPECT_TRUE(claims.contains("ear.verifier-id"));
  EXPECT_FALSE(claims.contains("ear_status"));
  EXPECT_TRUE(claims["submods"]["software"].contains("ear.trustworthiness-vector"));
  EXPECT_TRUE(claims["submods"]["software"].contains("ear.status"));
  EXPECT_EQ(claims["eat_nonce"], base64url_encode(nonce));
}

TEST_F(ServiceTest, KeyBindingNamesAkpub) {
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  const Bytes akpub = *ossl::spki_der(key->get());
  auto [id, nonce] = open(*m_service, {{"binding", "key"}, {"akpub", base64url_encode(akpub)}});
  // Evidence for the bare session nonce does not bind the key.
  expect_problem(submit_native(*m_service, id, evidence_for(nonce)), 422, ErrorCode::NonceMismatch);
  const Bytes bound = *passport_evidence_nonce(nonce, akpub);
  auto [header, claims] = claims_of(submit_native(*m_service, id, evidence_for(bound)));
  EXPECT_EQ(claims["eat_nonce"], base64url_encode(nonce));
  EXPECT_EQ(claims["submods"]["software"]["ear.veraison.key-attestation"]["akpub"],
            base64url_encode(akpub));
}

TEST_F(ServiceTest, TlsBindingReportsTheEvidenceNonce) {
  auto [id, nonce] = open(*m_service, {{"binding", "tls"}});
  const Bytes binder(32, 0x3c);  // stands in for Hash(SPKI ‖ exporter(nonce))
  auto [header, claims] = claims_of(submit_native(*m_service, id, evidence_for(binder)));
  EXPECT_EQ(claims["eat_nonce"], base64url_encode(binder));
}

TEST_F(ServiceTest, WellKnownNamesTheEarKey) {
  const Reply r = m_service->well_known();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, remote::kDiscoveryMediaType);
  const auto j = body_json(r);
  auto key = jwk_to_pkey(j["ear-verification-key"]);
  ASSERT_TRUE(key);
  EXPECT_TRUE(ossl::public_keys_equal(key->get(), m_ear_pub));
  EXPECT_EQ(j["ear-verification-key"]["kid"], *jwk_thumbprint(m_ear_pub));
  EXPECT_EQ(j["ear-verification-key"]["alg"], "ES256");
  EXPECT_FALSE(j["ear-verification-key"].contains("d"));
  EXPECT_EQ(j["api-endpoints"]["newChallengeResponseSession"], remote::kNewSessionPath);
}

TEST_F(ServiceTest, ABadReloadKeepsTheOldState) {
  const auto before = m_service->state();
  ASSERT_TRUE(test::write_text_file(m_dir.file("bad.json"), "{\"schemes\": 42}"));
  StateFiles bad = m_files;
  bad.policy = m_dir.file("bad.json");
  auto st = build_state(bad, m_registry, m_rng);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(m_service->state(), before);
  auto [id, nonce] = open(*m_service);
  claims_of(submit_native(*m_service, id, evidence_for(nonce)));

  // A good reload that trusts another attester key takes effect, and the
  // sessions opened before it stay valid (same session key).
  auto other = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(test::write_text_file(m_dir.file("other.pem"), *ossl::public_key_pem(other->get())));
  write_policy("other.json", "other.pem");
  StateFiles good = m_files;
  good.policy = m_dir.file("other.json");
  auto next = build_state(good, m_registry, m_rng);
  ASSERT_TRUE(next) << next.error().to_string();
  m_service->install(*next);
  expect_problem(submit_native(*m_service, id, evidence_for(nonce)), 422, ErrorCode::KeyUntrusted);
}

TEST_F(ServiceTest, AnEphemeralSessionKeySurvivesAReload) {
  StateFiles f = m_files;
  f.session_key.clear();
  auto first = build_state(f, m_registry, m_rng);
  ASSERT_TRUE(first);
  EXPECT_FALSE((*first)->session_key_shared);
  auto again = build_state(f, m_registry, m_rng, &(*first)->session_key);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->session_key, (*first)->session_key);
  auto fresh = build_state(f, m_registry, m_rng);
  EXPECT_FALSE((*fresh)->session_key == (*first)->session_key);
}

TEST_F(ServiceTest, SessionKeyFiles) {
  const std::string p = m_dir.file("k");
  ASSERT_TRUE(test::write_text_file(p, std::string(32, '\x01') + std::string()));
  // 32 raw bytes (written through a string with no NUL in it).
  EXPECT_EQ(load_session_key(p)->size(), kSessionKeySize);
  ASSERT_TRUE(test::write_text_file(p, "  " + std::string(64, 'F') + "\r\n"));
  EXPECT_EQ(load_session_key(p)->view()[0], 0xff);
  // 32 hex digits is a 16-byte key written as hex, not 32 raw bytes.
  ASSERT_TRUE(test::write_text_file(p, std::string(32, 'a')));
  EXPECT_EQ(load_session_key(p).error().code, ErrorCode::InvalidArgument);
  ASSERT_TRUE(test::write_text_file(p, std::string(31, '\x01')));
  EXPECT_EQ(load_session_key(p).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(load_session_key(m_dir.file("missing")).error().code, ErrorCode::FileNotFound);
}

TEST_F(ServiceTest, TheEarKeyMustBeP256) {
  auto ed = ossl::generate_key(ossl::KeyType::Ed25519);
  ASSERT_TRUE(test::write_text_file(m_dir.file("ed.pem"), *ossl::private_key_pem(ed->get())));
  StateFiles f = m_files;
  f.ear_key = m_dir.file("ed.pem");
  EXPECT_EQ(build_state(f, m_registry, m_rng).error().code, ErrorCode::UnsupportedAlgorithm);
  f = m_files;
  f.session_ttl = 0;
  EXPECT_EQ(build_state(f, m_registry, m_rng).error().code, ErrorCode::InvalidArgument);
}

TEST(ServiceStatus, Table) {
  EXPECT_EQ(status_for(ErrorCode::InvalidArgument), 400);
  EXPECT_EQ(status_for(ErrorCode::VerifierSessionInvalid), 404);
  EXPECT_EQ(status_for(ErrorCode::VerifierSessionExpired), 410);
  EXPECT_EQ(status_for(ErrorCode::PayloadTooLarge), 413);
  EXPECT_EQ(status_for(ErrorCode::UnsupportedMediaType), 415);
  EXPECT_EQ(status_for(ErrorCode::NonceMismatch), 422);
  EXPECT_EQ(status_for(ErrorCode::MeasurementMismatch), 422);
  EXPECT_EQ(status_for(ErrorCode::Internal), 500);
  const Reply r = problem(500, Error{ErrorCode::IoError, "/etc/secret/path"});
  EXPECT_EQ(r.body.find("/etc/secret/path"), std::string::npos);
}

}  // namespace
}  // namespace atls::service
