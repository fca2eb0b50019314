#include "src/formats/jwt/jws.h"
#include "src/formats/jwt/jwk.h"

#include "src/core/encoding.h"
#include "src/formats/ear/ear.h"
#include "src/formats/json/json.h"
#include "src/ossl/keys.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace atls {
namespace {

using ossl::KeyType;
using ossl::UniquePtr;

UniquePtr<EVP_PKEY> pem_key(const std::string& rel) {
  auto k = ossl::parse_public_key(test::read_data(rel));
  EXPECT_TRUE(k) << rel << ": " << k.error().to_string();
  return k ? std::move(*k) : nullptr;
}

nlohmann::json json_file(const std::string& rel) {
  auto j = parse_json(test::read_text(rel));
  EXPECT_TRUE(j) << rel;
  return j ? *j : nlohmann::json();
}

UniquePtr<EVP_PKEY> fresh_key(KeyType t) {
  auto k = ossl::generate_key(t);
  EXPECT_TRUE(k);
  return k ? std::move(*k) : nullptr;
}

ErrorCode verify_code(std::string_view token, EVP_PKEY* key) {
  auto jws = parse_jws_compact(token);
  if (!jws) {
    return jws.error().code;
  }
  auto r = verify_jws(*jws, key);
  return r ? ErrorCode::Ok : r.error().code;
}

std::string b64(std::string_view s) {
  return base64url_encode(to_bytes(s));
}

// ---------------------------------------------------------------------------
// Vectors built by tests/data/jwt/gen_jws_vectors.py (python3-cryptography).

TEST(Jws, IndependentVectorsVerify) {
  const auto thumbs = json_file("jwt/thumbprints.json");
  for (const char* name : {"es256", "es384", "eddsa", "rfc8037_a4"}) {
    SCOPED_TRACE(name);
    const std::string base = std::string("jwt/") + name;
    auto pem = pem_key(base + ".pub.pem");
    ASSERT_TRUE(pem);
    const std::string token = test::read_text(base + ".jwt");
    auto jws = parse_jws_compact(token);
    ASSERT_TRUE(jws) << jws.error().to_string();
    auto v = verify_jws(*jws, pem.get());
    EXPECT_TRUE(v) << v.error().to_string();

    // The JWK of the same key gives the same public key and thumbprint.
    const auto jwk = json_file(base + ".jwk.json");
    auto from_jwk = jwk_to_pkey(jwk);
    ASSERT_TRUE(from_jwk) << from_jwk.error().to_string();
    EXPECT_TRUE(ossl::public_keys_equal(from_jwk->get(), pem.get()));
    auto back = pkey_to_jwk(pem.get());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, jwk);
    auto tp = jwk_thumbprint(jwk);
    ASSERT_TRUE(tp);
    EXPECT_EQ(*tp, thumbs.at(name).get<std::string>());
    auto tp_key = jwk_thumbprint(pem.get());
    ASSERT_TRUE(tp_key);
    EXPECT_EQ(*tp_key, *tp);
  }
}

TEST(Jws, IndependentVectorFields) {
  auto jws = parse_jws_compact(test::read_text("jwt/es256.jwt"));
  ASSERT_TRUE(jws);
  EXPECT_EQ(jws->alg, "ES256");
  EXPECT_EQ(jws->header.at("typ"), "JWT");
  EXPECT_EQ(jws->signature.size(), 64u);
  auto claims = jwt_claims(*jws);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->at("sub"), "atls-jws-test");
  EXPECT_EQ(claims->at("exp"), 1700003600);
  EXPECT_TRUE(check_jwt_times(*claims, 1700000100, 0));
  EXPECT_TRUE(check_jwt_times(*claims, 1700003600 + 60, 60));
  EXPECT_EQ(check_jwt_times(*claims, 1700003600 + 61, 60).error().code, ErrorCode::JwtExpired);
  EXPECT_TRUE(check_jwt_times(*claims, 1700000000 - 60, 60));
  EXPECT_EQ(check_jwt_times(*claims, 1700000000 - 61, 60).error().code, ErrorCode::JwtNotYetValid);

  auto ed = parse_jws_compact(test::read_text("jwt/eddsa.jwt"));
  ASSERT_TRUE(ed);
  const std::string expected("binary payload \x00\x01\xfe\xff", 19);
  EXPECT_EQ(ed->payload, to_bytes(expected));
  EXPECT_EQ(jwt_claims(*ed).error().code, ErrorCode::JsonMalformed);

  // RFC 8037 A.4: the payload is "Example of Ed25519 signing".
  auto rfc = parse_jws_compact(test::read_text("jwt/rfc8037_a4.jwt"));
  ASSERT_TRUE(rfc);
  EXPECT_EQ(as_string_view(rfc->payload), "Example of Ed25519 signing");
  EXPECT_EQ(rfc->signing_input, "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
}

TEST(Jws, IndependentNegativeVectors) {
  auto p256 = pem_key("jwt/es256.pub.pem");
  auto p384 = pem_key("jwt/es384.pub.pem");
  ASSERT_TRUE(p256 && p384);
  auto tok = [](const char* f) { return test::read_text(std::string("jwt/") + f); };
  EXPECT_EQ(verify_code(tok("bad_es256_der_signature.jwt"), p256.get()),
            ErrorCode::JwsBadSignature);
  EXPECT_EQ(verify_code(tok("bad_es256_tampered_payload.jwt"), p256.get()),
            ErrorCode::JwsBadSignature);
  EXPECT_EQ(verify_code(tok("bad_es384_labelled_es256.jwt"), p256.get()),
            ErrorCode::JwsBadSignature);
  EXPECT_EQ(verify_code(tok("bad_es384_labelled_es256.jwt"), p384.get()),
            ErrorCode::JwsAlgorithmMismatch);
  EXPECT_EQ(verify_code(tok("bad_header_not_object.jwt"), p256.get()), ErrorCode::JwsMalformed);
  EXPECT_EQ(verify_code(tok("bad_header_no_alg.jwt"), p256.get()), ErrorCode::JwsMalformed);
  EXPECT_EQ(verify_code(tok("bad_crit_header.jwt"), p256.get()), ErrorCode::JwsMalformed);
  // The right token under the wrong key of the right type.
  auto other = fresh_key(KeyType::EcP256);
  EXPECT_EQ(verify_code(tok("es256.jwt"), other.get()), ErrorCode::JwsBadSignature);
  EXPECT_EQ(verify_code(tok("es256.jwt"), p384.get()), ErrorCode::JwsAlgorithmMismatch);
  EXPECT_EQ(verify_code(tok("es256.jwt"), nullptr), ErrorCode::InvalidArgument);
}

// ---------------------------------------------------------------------------
// Round trips with our own signer.

TEST(Jws, SignVerifyRoundTrip) {
  const struct {
    KeyType type;
    const char* alg;
    std::size_t sig_len;
  } cases[] = {{KeyType::EcP256, "ES256", 64},
               {KeyType::EcP384, "ES384", 96},
               {KeyType::Ed25519, "EdDSA", 64}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.alg);
    auto key = fresh_key(c.type);
    ASSERT_TRUE(key);
    const std::string payload = R"({"sub":"x","n":1})";
    auto token = sign_jws(key.get(), to_bytes(payload), {{"typ", "JWT"}, {"kid", "k1"}});
    ASSERT_TRUE(token) << token.error().to_string();
    auto jws = parse_jws_compact(*token);
    ASSERT_TRUE(jws);
    EXPECT_EQ(jws->alg, c.alg);
    EXPECT_EQ(jws->header.at("typ"), "JWT");
    EXPECT_EQ(jws->header.at("kid"), "k1");
    EXPECT_EQ(jws->signature.size(), c.sig_len);
    EXPECT_EQ(as_string_view(jws->payload), payload);
    EXPECT_TRUE(verify_jws(*jws, key.get()));
    // A public-only copy verifies too.
    auto pub_jwk = pkey_to_jwk(key.get());
    ASSERT_TRUE(pub_jwk);
    EXPECT_FALSE(pub_jwk->contains("d"));
    auto pub = jwk_to_pkey(*pub_jwk);
    ASSERT_TRUE(pub);
    EXPECT_TRUE(verify_jws(*jws, pub->get()));

    // Tampering with any part fails.
    Jws bad = *jws;
    bad.signing_input.back() = bad.signing_input.back() == 'A' ? 'B' : 'A';
    EXPECT_EQ(verify_jws(bad, key.get()).error().code, ErrorCode::JwsBadSignature);
    bad = *jws;
    bad.signature[5] ^= 1;
    EXPECT_EQ(verify_jws(bad, key.get()).error().code, ErrorCode::JwsBadSignature);
    bad = *jws;
    bad.signature.pop_back();
    EXPECT_EQ(verify_jws(bad, key.get()).error().code, ErrorCode::JwsBadSignature);
  }
}

TEST(Jws, SignRejectsBadArguments) {
  auto key = fresh_key(KeyType::EcP256);
  EXPECT_EQ(sign_jws(nullptr, {}).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(sign_jws(key.get(), {}, nlohmann::json::array()).error().code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(sign_jws(key.get(), {}, {{"alg", "ES384"}}).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(sign_jws(key.get(), {}, {{"crit", {"x"}}}).error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(sign_jws(key.get(), {}, {{"alg", "ES256"}}));
  auto p521 = fresh_key(KeyType::EcP521);
  EXPECT_EQ(sign_jws(p521.get(), {}).error().code, ErrorCode::UnsupportedAlgorithm);
  // A public key cannot sign.
  auto pub = jwk_to_pkey(*pkey_to_jwk(key.get()));
  ASSERT_TRUE(pub);
  EXPECT_FALSE(sign_jws(pub->get(), {}));
}

TEST(Jws, AlgorithmMustMatchKey) {
  auto p256 = fresh_key(KeyType::EcP256);
  auto p384 = fresh_key(KeyType::EcP384);
  auto ed = fresh_key(KeyType::Ed25519);
  auto t256 = sign_jws(p256.get(), to_bytes("{}"));
  auto ted = sign_jws(ed.get(), to_bytes("{}"));
  ASSERT_TRUE(t256 && ted);
  EXPECT_EQ(verify_code(*t256, p384.get()), ErrorCode::JwsAlgorithmMismatch);
  EXPECT_EQ(verify_code(*t256, ed.get()), ErrorCode::JwsAlgorithmMismatch);
  EXPECT_EQ(verify_code(*ted, p256.get()), ErrorCode::JwsAlgorithmMismatch);

  // Re-label a valid token's header: the alg decides, never the key alone.
  const std::string rest = t256->substr(t256->find('.'));
  for (const char* alg : {"HS256", "HS384", "RS256", "PS256", "ES512", "ES384", "EdDSA"}) {
    SCOPED_TRACE(alg);
    const std::string relabelled = b64(std::string(R"({"alg":")") + alg + "\"}") + rest;
    EXPECT_EQ(verify_code(relabelled, p256.get()), ErrorCode::JwsAlgorithmMismatch);
  }
  EXPECT_EQ(verify_code(b64(R"({"alg":"XY999"})") + rest, p256.get()),
            ErrorCode::UnsupportedAlgorithm);
  for (const char* none : {"none", "None", "NONE"}) {
    EXPECT_EQ(verify_code(b64(std::string(R"({"alg":")") + none + "\"}") + rest, p256.get()),
              ErrorCode::JwsAlgNone);
  }
  // alg none with the empty signature of an unsecured JWS.
  EXPECT_EQ(verify_code(b64(R"({"alg":"none"})") + "." + b64("{}") + ".", p256.get()),
            ErrorCode::JwsAlgNone);
}

TEST(Jws, EmbeddedJwkIsIgnored) {
  // A token whose header carries the signer's own key still needs the
  // caller's key: with an unrelated key it fails.
  auto signer = fresh_key(KeyType::EcP256);
  auto unrelated = fresh_key(KeyType::EcP256);
  auto jwk = pkey_to_jwk(signer.get());
  ASSERT_TRUE(jwk);
  auto token = sign_jws(signer.get(), to_bytes("{}"), {{"jwk", *jwk}});
  ASSERT_TRUE(token);
  EXPECT_EQ(verify_code(*token, unrelated.get()), ErrorCode::JwsBadSignature);
  auto jws = parse_jws_compact(*token);
  ASSERT_TRUE(jws);
  auto explicit_key = jwk_to_pkey(jws->header.at("jwk"));
  ASSERT_TRUE(explicit_key);
  EXPECT_TRUE(verify_jws(*jws, explicit_key->get()));
}

TEST(Jws, MalformedShapes) {
  auto key = fresh_key(KeyType::EcP256);
  auto good = sign_jws(key.get(), to_bytes(R"({"a":1})"));
  ASSERT_TRUE(good);
  const std::string t = *good;
  ASSERT_EQ(verify_code(t, key.get()), ErrorCode::Ok);
  const std::string h = t.substr(0, t.find('.'));
  const std::string cases[] = {
      "",
      ".",
      "..",
      "abc",
      "abc.def",
      "." + t,
      t + ".",
      t + ".x",
      " " + t,
      t + " ",
      t + "\n",
      t.substr(0, 10) + " " + t.substr(10),
      t + "=",                             // padding
      h + "=." + t.substr(h.size() + 1),   // padded header
      t.substr(0, 5) + "+" + t.substr(6),  // standard-alphabet character
      t.substr(0, 5) + "/" + t.substr(6),
      "." + t.substr(h.size()),                        // empty header
      t.substr(0, t.rfind('.') + 1),                   // empty signature
      h.substr(0, h.size() - 1) + t.substr(h.size()),  // truncated header base64
      t.substr(0, t.rfind('.') + 2),                   // one-character signature
      std::string("e\0J", 3) + t,
  };
  for (const auto& c : cases) {
    auto r = parse_jws_compact(c);
    EXPECT_FALSE(r) << "accepted: " << c;
    if (!r) {
      EXPECT_TRUE(r.error().code == ErrorCode::JwsMalformed ||
                  r.error().code == ErrorCode::JsonMalformed)
          << c << ": " << r.error().to_string();
    }
  }
  // Truncated base64 of the header or the payload is JwsMalformed.
  EXPECT_EQ(parse_jws_compact("eyJhbGciOiJFUzI1NiJ9x.e30.AAAA").error().code,
            ErrorCode::JwsMalformed);
  EXPECT_EQ(parse_jws_compact(b64(R"({"alg":"ES256"})") + ".e.AAAA").error().code,
            ErrorCode::JwsMalformed);
}

TEST(Jws, HeaderMustBeAnObjectWithStringAlg) {
  const std::string tail = "." + b64("{}") + ".AAAA";
  const struct {
    const char* header;
    ErrorCode code;
  } cases[] = {
      {R"([])", ErrorCode::JwsMalformed},
      {R"("ES256")", ErrorCode::JwsMalformed},
      {R"(42)", ErrorCode::JwsMalformed},
      {R"(null)", ErrorCode::JwsMalformed},
      {R"({})", ErrorCode::JwsMalformed},
      {R"({"alg":256})", ErrorCode::JwsMalformed},
      {R"({"alg":null})", ErrorCode::JwsMalformed},
      {R"({"alg":["ES256"]})", ErrorCode::JwsMalformed},
      {R"({"alg":"ES256","crit":[]})", ErrorCode::JwsMalformed},
      {R"({"alg":"ES256","crit":["b64"],"b64":false})", ErrorCode::JwsMalformed},
      {R"({"alg":"ES256","b64":false})", ErrorCode::JwsMalformed},
      {R"({"alg":"ES256","alg":"none"})", ErrorCode::JsonDuplicateKey},
      {R"({"alg":"ES256")", ErrorCode::JsonMalformed},
      {R"({"alg":"ES256"} x)", ErrorCode::JsonMalformed},
      {"{\"alg\":\"ES\xff\"}", ErrorCode::JsonMalformed},
  };
  for (const auto& c : cases) {
    auto r = parse_jws_compact(b64(c.header) + tail);
    ASSERT_FALSE(r) << c.header;
    EXPECT_EQ(r.error().code, c.code) << c.header << ": " << r.error().to_string();
  }
  EXPECT_TRUE(parse_jws_compact(b64(R"({"alg":"ES256","b64":true})") + tail));
}

TEST(Jws, HugeAndDeepJson) {
  // A depth bomb in the header.
  const std::string deep =
      R"({"alg":"ES256","x":)" + std::string(500, '[') + std::string(500, ']') + "}";
  EXPECT_EQ(parse_jws_compact(b64(deep) + ".e30.AAAA").error().code, ErrorCode::JsonTooDeep);
  // A deep payload parses as a JWS but not as claims.
  const std::string deep_payload = std::string(1000, '[') + std::string(1000, ']');
  auto jws = parse_jws_compact(b64(R"({"alg":"ES256"})") + "." + b64(deep_payload) + ".AAAA");
  ASSERT_TRUE(jws);
  EXPECT_EQ(jwt_claims(*jws).error().code, ErrorCode::JsonTooDeep);
  // Size limits on header, payload and the token itself.
  JsonLimits small;
  small.max_size = 64;
  const std::string big(100, 'a');
  const std::string big_payload = R"({"k":")" + big + "\"}";
  EXPECT_EQ(parse_jws_compact(b64(R"({"alg":"ES256","p":")" + big + "\"}") + ".e30.AAAA", small)
                .error()
                .code,
            ErrorCode::JsonTooLarge);
  EXPECT_EQ(parse_jws_compact(b64(R"({"alg":"ES256"})") + "." + b64(big_payload) + ".AAAA", small)
                .error()
                .code,
            ErrorCode::JsonTooLarge);
  const std::string huge_token(small.max_size * 8 + 4096, 'A');
  EXPECT_EQ(parse_jws_compact(huge_token, small).error().code, ErrorCode::JwsMalformed);
  // Claims must be an object.
  for (const char* p : {"[]", "1", "\"s\"", "null"}) {
    auto j = parse_jws_compact(b64(R"({"alg":"ES256"})") + "." + b64(p) + ".AAAA");
    ASSERT_TRUE(j);
    EXPECT_EQ(jwt_claims(*j).error().code, ErrorCode::JwtClaimsMalformed) << p;
  }
}

TEST(Jws, JwtTimes) {
  EXPECT_TRUE(check_jwt_times(nlohmann::json::object(), 100, 0));
  EXPECT_TRUE(check_jwt_times({{"exp", 100}}, 100, 0));
  EXPECT_EQ(check_jwt_times({{"exp", 100}}, 101, 0).error().code, ErrorCode::JwtExpired);
  EXPECT_TRUE(check_jwt_times({{"exp", 100.9}}, 100, 0));
  EXPECT_EQ(check_jwt_times({{"exp", "100"}}, 1, 0).error().code, ErrorCode::JwtClaimsMalformed);
  EXPECT_EQ(check_jwt_times({{"nbf", true}}, 1, 0).error().code, ErrorCode::JwtClaimsMalformed);
  EXPECT_EQ(check_jwt_times({{"exp", 1e300}}, 1, 0).error().code, ErrorCode::JwtClaimsMalformed);
  EXPECT_EQ(check_jwt_times({{"nbf", 200}}, 100, 99).error().code, ErrorCode::JwtNotYetValid);
  EXPECT_TRUE(check_jwt_times({{"nbf", 200}}, 100, 100));
  // Extreme values saturate instead of overflowing.
  EXPECT_TRUE(check_jwt_times({{"exp", INT64_MAX}}, INT64_MAX, INT64_MAX));
  EXPECT_EQ(check_jwt_times({{"exp", UINT64_MAX}}, 0, 0).error().code,
            ErrorCode::JwtClaimsMalformed);
  EXPECT_TRUE(check_jwt_times({{"nbf", INT64_MIN}}, INT64_MIN, 0));
}

TEST(Jwk, Negative) {
  const auto ok_jwk = pkey_to_jwk(fresh_key(KeyType::EcP256).get());
  ASSERT_TRUE(ok_jwk);
  auto with = [&](const char* k, nlohmann::json v) {
    nlohmann::json j = *ok_jwk;
    if (v.is_null()) {
      j.erase(k);
    } else {
      j[k] = v;
    }
    return jwk_to_pkey(j);
  };
  EXPECT_TRUE(with("kid", "x"));
  EXPECT_EQ(with("kty", "RSA").error().code, ErrorCode::UnsupportedAlgorithm);
  EXPECT_EQ(with("kty", "oct").error().code, ErrorCode::UnsupportedAlgorithm);
  EXPECT_EQ(with("crv", "P-192").error().code, ErrorCode::UnsupportedAlgorithm);
  EXPECT_EQ(with("crv", "P-384").error().code, ErrorCode::KeyInvalid);  // wrong length
  EXPECT_EQ(with("y", nullptr).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(with("x", 5).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(with("x", ok_jwk->at("x").get<std::string>() + "=").error().code,
            ErrorCode::KeyInvalid);
  EXPECT_EQ(with("x", b64(std::string(31, 'a'))).error().code, ErrorCode::KeyInvalid);
  // (1, 1) is not on P-256.
  const std::string one = base64url_encode(test::hex(std::string(62, '0') + "01"));
  EXPECT_EQ(with("x", one).error().code, ErrorCode::KeyInvalid);
  nlohmann::json offcurve = *ok_jwk;
  offcurve["x"] = one;
  offcurve["y"] = one;
  EXPECT_EQ(jwk_to_pkey(offcurve).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(jwk_to_pkey(nlohmann::json::array()).error().code, ErrorCode::KeyInvalid);
  EXPECT_EQ(jwk_to_pkey({{"kty", "OKP"}, {"crv", "X25519"}, {"x", one}}).error().code,
            ErrorCode::UnsupportedAlgorithm);
  EXPECT_EQ(jwk_to_pkey({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", b64("short")}}).error().code,
            ErrorCode::KeyInvalid);
  EXPECT_EQ(jwk_thumbprint({{"kty", "oct"}, {"k", "AAAA"}}).error().code,
            ErrorCode::UnsupportedAlgorithm);
  EXPECT_EQ(jwk_thumbprint({{"kty", "EC"}, {"crv", "P-256"}}).error().code, ErrorCode::KeyInvalid);
  // Members beyond the required ones do not change the thumbprint.
  nlohmann::json extra = *ok_jwk;
  extra["kid"] = "something";
  extra["use"] = "sig";
  EXPECT_EQ(*jwk_thumbprint(extra), *jwk_thumbprint(*ok_jwk));
}

// ---------------------------------------------------------------------------
// Writes tokens for tests/interop/test_jws_interop.py, which checks them with
// python3-cryptography. ctest runs this first (fixture "atls_jws_out") and
// passes the directory in ATLS_JWS_OUT.

void write_text(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
  ASSERT_TRUE(out.good()) << p;
}

TEST(JwsInterop, WriteTokensForPython) {
  const char* env = std::getenv("ATLS_JWS_OUT");
  const std::filesystem::path dir =
      env != nullptr ? std::filesystem::path(env) : std::filesystem::current_path() / "jws_out";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ASSERT_FALSE(ec) << dir << ": " << ec.message();
  nlohmann::json manifest = nlohmann::json::array();
  const struct {
    KeyType type;
    const char* name;
  } cases[] = {{KeyType::EcP256, "es256"}, {KeyType::EcP384, "es384"}, {KeyType::Ed25519, "eddsa"}};
  for (const auto& c : cases) {
    auto key = fresh_key(c.type);
    ASSERT_TRUE(key);
    const std::string payload = R"({"iss":"atls","case":")" + std::string(c.name) + "\"}";
    auto token = sign_jws(key.get(), to_bytes(payload), {{"typ", "JWT"}});
    ASSERT_TRUE(token);
    auto pem = ossl::public_key_pem(key.get());
    ASSERT_TRUE(pem);
    write_text(dir / (std::string(c.name) + ".jwt"), *token);
    write_text(dir / (std::string(c.name) + ".pub.pem"), *pem);
    manifest.push_back({{"kind", "jws"}, {"name", c.name}, {"payload", payload}});
  }
  // A signed EAR.
  auto key = fresh_key(KeyType::EcP256);
  Ear ear;
  ear.profile = std::string(kEarProfileIetf03);
  ear.iat = 1700000000;
  ear.exp = 1700000300;
  ear.status = TrustTier::Affirming;
  ear.verifier_id = {"https://atls.example", "atls-test 0.1"};
  ear.nonce = Bytes(16, 0x5a);
  EarSubmod sm;
  sm.name = "cpu0";
  sm.status = TrustTier::Affirming;
  sm.trust_vector = TrustVector{};
  sm.trust_vector->claims[4] = 2;
  sm.trust_vector->claims[2] = 3;
  sm.policy_ids = {"policy://a", "policy://b"};
  ear.submods.push_back(sm);
  auto token = sign_ear_jwt(ear, key.get());
  ASSERT_TRUE(token) << token.error().to_string();
  auto pem = ossl::public_key_pem(key.get());
  ASSERT_TRUE(pem);
  write_text(dir / "ear.jwt", *token);
  write_text(dir / "ear.pub.pem", *pem);
  manifest.push_back({{"kind", "ear"}, {"name", "ear"}, {"claims", ear_to_claims(ear)}});
  write_text(dir / "manifest.json", json_dump(manifest, 2) + "\n");
}

}  // namespace
}  // namespace atls
