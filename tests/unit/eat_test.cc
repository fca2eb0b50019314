#include "src/formats/eat/eat.h"

#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

namespace atls {
namespace {

using test::hex;

CborValue key(std::int64_t k) {
  return CborValue::integer(k);
}

// claims_with builds a one-claim map.
CborValue claims_with(std::int64_t k, CborValue v) {
  CborValue m = CborValue::map();
  m.map_put(key(k), std::move(v));
  return m;
}

ErrorCode parse_error(const CborValue& m) {
  auto r = parse_eat_claims(m);
  EXPECT_FALSE(r) << cbor_diag(m);
  return r ? ErrorCode::Ok : r.error().code;
}

EatClaims full_claims() {
  EatClaims c;
  c.issuer = "iss.example";
  c.exp = 2000000000;
  c.nbf = -5;
  c.iat = 1700000000;
  c.nonces = {Bytes(8, 0x11), Bytes(64, 0x22)};
  c.ueid = hex("02aabbccddeeff");
  c.oemid = CborValue::integer(37374);
  c.hwmodel = Bytes{0x42};
  c.dbgstat = DebugStatus::DisabledFullyAndPermanently;
  c.profile = "tag:example.com,2025:profile";
  c.swname = "fw";
  c.swversion = EatSwVersion{"1.0", 1};
  c.measurements = {{258, hex("a0")}, {0, {}}};
  EatSubmod nested;
  nested.name = "child";
  nested.kind = EatSubmod::Kind::Claims;
  EatClaims inner;
  inner.swname = "inner";
  inner.unknown.map_put(CborValue::text("x"), CborValue::uint(1));
  nested.claims.push_back(inner);
  EatSubmod token;
  token.name = "token";
  token.kind = EatSubmod::Kind::CborToken;
  token.cbor_token = hex("d28440a0f640");
  EatSubmod jwt;
  jwt.name = "jwt";
  jwt.kind = EatSubmod::Kind::JsonToken;
  jwt.json_token = "a.b.c";
  EatSubmod digest;
  digest.name = "digest";
  digest.kind = EatSubmod::Kind::DetachedDigest;
  digest.digest_alg = std::string("sha-256");
  digest.digest = Bytes(32, 0xee);
  c.submods = {nested, token, jwt, digest};
  c.unknown.map_put(key(-75000), CborValue::text("legacy"));
  c.unknown.map_put(CborValue::text("custom"), CborValue::array({CborValue::boolean(true)}));
  return c;
}

TEST(Eat, RoundTripEveryClaim) {
  const EatClaims c = full_claims();
  const CborValue m = encode_eat_claims(c);
  auto back = parse_eat_claims(m);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_TRUE(*back == c);
  // Through bytes as well.
  const Bytes wire = cbor_encode(m);
  auto again = parse_eat_claims(ByteView(wire));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(*again == c);
  EXPECT_EQ(cbor_encode(encode_eat_claims(*again)), wire);
}

TEST(Eat, EncodesSingleNonceAsBstrAndKeysInOrder) {
  EatClaims c;
  c.nonces = {Bytes(8, 1)};
  c.iat = 5;
  c.issuer = "i";
  EXPECT_EQ(cbor_diag(encode_eat_claims(c)), "{1: \"i\", 6: 5, 10: h'0101010101010101'}");
  EXPECT_EQ(cbor_diag(encode_eat_claims(EatClaims{})), "{}");
}

TEST(Eat, EncodeSkipsUnknownEntriesThatShadowTypedClaims) {
  EatClaims c;
  c.iat = 1;
  c.unknown.map_put(key(6), CborValue::uint(2));
  c.unknown.map_put(key(99), CborValue::uint(3));
  EXPECT_EQ(cbor_diag(encode_eat_claims(c)), "{6: 1, 99: 3}");
}

TEST(Eat, UnknownClaimsPreservedVerbatim) {
  // {2: "s", -75000: h'01', "z": {1: [2]}, 18446744073709551615: 0, 262: true}
  CborValue m = CborValue::map();
  m.map_put(key(2), CborValue::text("s"));
  m.map_put(key(-75000), CborValue::bytes(hex("01")));
  m.map_put(CborValue::text("z"), claims_with(1, CborValue::array({CborValue::uint(2)})));
  m.map_put(CborValue::uint(UINT64_MAX), CborValue::uint(0));
  m.map_put(key(262), CborValue::boolean(true));
  auto c = parse_eat_claims(m);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->unknown, m);
  EXPECT_EQ(encode_eat_claims(*c), m);
}

TEST(Eat, IndependentVectorFromCbor2) {
  auto r = parse_eat_claims(ByteView(test::read_data("eat/all_claims.cbor")));
  ASSERT_TRUE(r) << r.error().to_string();
  const EatClaims& c = *r;
  EXPECT_EQ(c.issuer, "https://issuer.example");
  EXPECT_EQ(c.exp, 1900000000);
  EXPECT_EQ(c.nbf, 1600000000);
  EXPECT_EQ(c.iat, 1700000000);
  ASSERT_EQ(c.nonces.size(), 2u);
  EXPECT_EQ(c.nonces[0], hex("0001020304050607"));
  EXPECT_EQ(c.nonces[1].size(), 64u);
  EXPECT_EQ(c.nonces[1].front(), 0x40);
  EXPECT_EQ(c.nonces[1].back(), 0x7f);
  EXPECT_EQ(c.ueid, hex("01a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
  ASSERT_TRUE(c.oemid);
  EXPECT_EQ(*c.oemid, CborValue::bytes(hex("0001de")));
  EXPECT_EQ(c.hwmodel, to_bytes("model-x"));
  EXPECT_EQ(c.dbgstat, DebugStatus::DisabledPermanently);
  EXPECT_EQ(c.profile, "1.3.6.1.4.1.37374.1");
  EXPECT_EQ(c.swname, "firmware");
  ASSERT_TRUE(c.swversion);
  EXPECT_EQ(c.swversion->version, "1.2.3");
  EXPECT_EQ(c.swversion->scheme, 16384);
  ASSERT_EQ(c.measurements.size(), 2u);
  EXPECT_EQ(c.measurements[0].content_type, 258u);
  EXPECT_EQ(c.measurements[0].value, hex("a10101"));
  EXPECT_EQ(c.measurements[1].content_type, 60u);
  EXPECT_EQ(c.measurements[1].value, hex("0102"));

  ASSERT_EQ(c.submods.size(), 4u);
  const EatSubmod& boot = c.submods[0];
  EXPECT_EQ(boot.name, "boot");
  ASSERT_EQ(boot.kind, EatSubmod::Kind::Claims);
  ASSERT_EQ(boot.claims.size(), 1u);
  EXPECT_EQ(boot.claims[0].swname, "bootloader");
  ASSERT_TRUE(boot.claims[0].swversion);
  EXPECT_EQ(boot.claims[0].swversion->version, "2.1");
  EXPECT_FALSE(boot.claims[0].swversion->scheme);
  ASSERT_EQ(boot.claims[0].nonces.size(), 1u);
  EXPECT_EQ(boot.claims[0].nonces[0], hex("2021222324252627"));
  EXPECT_EQ(c.submods[1].name, "tee");
  EXPECT_EQ(c.submods[1].kind, EatSubmod::Kind::CborToken);
  EXPECT_EQ(c.submods[1].cbor_token, hex("d28443a10126a0f6f6"));
  EXPECT_EQ(c.submods[2].name, "json");
  EXPECT_EQ(c.submods[2].kind, EatSubmod::Kind::JsonToken);
  EXPECT_EQ(c.submods[2].json_token, "eyJhbGciOiJub25lIn0.e30.");
  EXPECT_EQ(c.submods[3].name, "fw");
  EXPECT_EQ(c.submods[3].kind, EatSubmod::Kind::DetachedDigest);
  EXPECT_EQ(c.submods[3].digest_alg, (std::variant<std::int64_t, std::string>(std::int64_t{-16})));
  EXPECT_EQ(c.submods[3].digest, Bytes(32, 0));

  ASSERT_EQ(c.unknown.map_size(), 3u);
  ASSERT_NE(c.unknown.find(-70000), nullptr);
  EXPECT_EQ(c.unknown.find(-70000)->raw_text(), "negative-key claim");
  ASSERT_NE(c.unknown.find("vendor-claim"), nullptr);
  EXPECT_EQ(cbor_diag(*c.unknown.find("vendor-claim")), "{\"a\": [1, 2]}");
  ASSERT_NE(c.unknown.find(2), nullptr);

  // The OID profile re-encodes as an untagged OID (~oid); everything else
  // survives a second round.
  const CborValue m = encode_eat_claims(c);
  ASSERT_NE(m.find(265), nullptr);
  EXPECT_EQ(*m.find(265), CborValue::bytes(hex("2b0601040182a37e01")));
  auto back = parse_eat_claims(m);
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == c);
}

TEST(Eat, RealPsaTokenClaims) {
  const Bytes token = test::read_data("eat/psatoken_tfm_psa-2_0_0_sign1.bin");
  auto outer = cbor_decode(token);
  ASSERT_TRUE(outer) << outer.error().to_string();
  const CborValue* sign1 = &*outer;
  if (sign1->is_tag()) {
    ASSERT_EQ(sign1->tag_number(), 18u);
    sign1 = &sign1->tag_content();
  }
  ASSERT_TRUE(sign1->is_array());
  ASSERT_EQ(sign1->items().size(), 4u);
  ASSERT_TRUE(sign1->items()[2].is_bytes());
  auto c = parse_eat_claims(ByteView(sign1->items()[2].raw_bytes()));
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(c->nonces.size(), 1u);
  EXPECT_EQ(c->nonces[0], Bytes(64, 0));
  EXPECT_EQ(c->ueid, hex("01fa58755f658627ce5460f29b75296713248cae7ad9e2984b90280efcbcb50248"));
  EXPECT_EQ(c->profile, "http://arm.com/psa/2.0.0");
  // PSA-specific claims stay in `unknown`, verbatim.
  ASSERT_NE(c->unknown.find(2396), nullptr);
  EXPECT_EQ(c->unknown.find(2396)->raw_bytes(),
            hex("aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"));
  ASSERT_NE(c->unknown.find(2394), nullptr);
  EXPECT_EQ(c->unknown.find(2394)->as_int64().value(), 3002);
  ASSERT_NE(c->unknown.find(2395), nullptr);
  EXPECT_EQ(c->unknown.find(2395)->as_int64().value(), 12288);
  ASSERT_NE(c->unknown.find(2400), nullptr);
  EXPECT_EQ(c->unknown.find(2400)->raw_text(), "www.trustedfirmware.org");
  ASSERT_NE(c->unknown.find(2399), nullptr);
  EXPECT_EQ(c->unknown.find(2399)->items().size(), 2u);
  ASSERT_NE(c->unknown.find(2397), nullptr);
  ASSERT_NE(c->unknown.find(2398), nullptr);
  EXPECT_EQ(c->unknown.map_size(), 7u);

  const nlohmann::json j = eat_claims_to_json(*c);
  EXPECT_EQ(j["eat_nonce"], std::string(128, '0'));
  EXPECT_EQ(j["eat_profile"], "http://arm.com/psa/2.0.0");
  EXPECT_EQ(j["unknown"]["2394"], "3002");
  // Re-encoding the parsed claims and parsing again gives the same claims.
  auto back = parse_eat_claims(encode_eat_claims(*c));
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == *c);
}

TEST(Eat, JsonRendering) {
  const nlohmann::json j = eat_claims_to_json(full_claims());
  EXPECT_EQ(j["iss"], "iss.example");
  EXPECT_EQ(j["iat"], 1700000000);
  EXPECT_EQ(j["nbf"], -5);
  ASSERT_TRUE(j["eat_nonce"].is_array());
  EXPECT_EQ(j["eat_nonce"][0], "1111111111111111");
  EXPECT_EQ(j["ueid"], "02aabbccddeeff");
  EXPECT_EQ(j["oemid"], 37374);
  EXPECT_EQ(j["hwmodel"], "42");
  EXPECT_EQ(j["dbgstat"], "disabled-fully-and-permanently");
  EXPECT_EQ(j["swversion"], nlohmann::json::array({"1.0", 1}));
  EXPECT_EQ(j["measurements"][0], nlohmann::json::array({258, "a0"}));
  EXPECT_EQ(j["submods"]["child"]["swname"], "inner");
  EXPECT_EQ(j["submods"]["child"]["unknown"]["x"], "1");
  EXPECT_EQ(j["submods"]["token"]["cbor_token"], "d28440a0f640");
  EXPECT_EQ(j["submods"]["jwt"]["json_token"], "a.b.c");
  EXPECT_EQ(j["submods"]["digest"]["digest_alg"], "sha-256");
  EXPECT_EQ(j["unknown"]["-75000"], "\"legacy\"");
  EXPECT_EQ(j["unknown"]["custom"], "[true]");
}

TEST(Eat, ClaimNames) {
  EXPECT_EQ(eat_claim_name(10), "eat_nonce");
  EXPECT_EQ(eat_claim_name(256), "ueid");
  EXPECT_EQ(eat_claim_name(265), "eat_profile");
  EXPECT_EQ(eat_claim_name(6), "iat");
  EXPECT_EQ(eat_claim_name(275), "intuse");
  EXPECT_EQ(eat_claim_name(2396), "");
  EXPECT_EQ(eat_claim_name(-1), "");
}

TEST(Eat, Oid) {
  EXPECT_EQ(oid_to_dotted(hex("2a864886f70d")).value(), "1.2.840.113549");
  EXPECT_EQ(oid_to_dotted(hex("8837")).value(), "2.999");
  EXPECT_EQ(oid_from_dotted("2.999").value(), hex("8837"));
  EXPECT_EQ(oid_from_dotted("1.3.6.1.4.1.37374.1").value(), hex("2b0601040182a37e01"));
  EXPECT_EQ(oid_to_dotted({}).error().code, ErrorCode::EatBadClaim);
  EXPECT_EQ(oid_to_dotted(hex("2a86")).error().code, ErrorCode::EatBadClaim);    // truncated
  EXPECT_EQ(oid_to_dotted(hex("2a8001")).error().code, ErrorCode::EatBadClaim);  // non-minimal
  EXPECT_EQ(oid_to_dotted(hex("2affffffffffffffffff7f")).error().code, ErrorCode::EatBadClaim);
  EXPECT_FALSE(oid_from_dotted("1"));
  EXPECT_FALSE(oid_from_dotted("1..2"));
  EXPECT_FALSE(oid_from_dotted("01.2"));
  EXPECT_FALSE(oid_from_dotted("1.2."));
  EXPECT_TRUE(oid_from_dotted("0.0"));
  EXPECT_FALSE(oid_from_dotted("3.1"));
  EXPECT_FALSE(oid_from_dotted("1.40"));
  EXPECT_FALSE(oid_from_dotted("http://x"));
  EXPECT_FALSE(oid_from_dotted("1.2.99999999999999999999999"));
}

TEST(Eat, ProfileForms) {
  auto tagged =
      parse_eat_claims(claims_with(265, CborValue::tag(111, CborValue::bytes(hex("2a03")))));
  ASSERT_TRUE(tagged);
  EXPECT_EQ(tagged->profile, "1.2.3");
  auto raw = parse_eat_claims(claims_with(265, CborValue::bytes(hex("2a03"))));
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->profile, "1.2.3");
  EXPECT_EQ(parse_error(claims_with(265, CborValue::bytes(hex("2a83")))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(265, CborValue::uint(1))), ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(265, CborValue::tag(112, CborValue::bytes(hex("2a03"))))),
            ErrorCode::EatMalformed);
}

TEST(Eat, NonceRules) {
  EXPECT_EQ(parse_error(claims_with(10, CborValue::bytes(Bytes(7, 0)))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(10, CborValue::bytes(Bytes(65, 0)))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(10, CborValue::array({CborValue::bytes(Bytes(8, 0))}))),
            ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(10, CborValue::array({CborValue::bytes(Bytes(8, 0)),
                                                          CborValue::bytes(Bytes(3, 0))}))),
            ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(10, CborValue::text("12345678"))), ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(
                10, CborValue::array({CborValue::bytes(Bytes(8, 0)), CborValue::uint(1)}))),
            ErrorCode::EatMalformed);
  EXPECT_TRUE(parse_eat_claims(claims_with(10, CborValue::bytes(Bytes(8, 0)))));
  EXPECT_TRUE(parse_eat_claims(claims_with(10, CborValue::bytes(Bytes(64, 0)))));
}

TEST(Eat, UeidRules) {
  EXPECT_EQ(parse_error(claims_with(256, CborValue::bytes(hex("010203040506")))),
            ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(256, CborValue::bytes(Bytes(34, 1)))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(256, CborValue::bytes(Bytes(17, 0)))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(256, CborValue::bytes(Bytes(17, 4)))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(256, CborValue::text("01020304050607"))),
            ErrorCode::EatMalformed);
  EXPECT_TRUE(parse_eat_claims(claims_with(256, CborValue::bytes(Bytes(7, 3)))));
  EXPECT_TRUE(parse_eat_claims(claims_with(256, CborValue::bytes(Bytes(33, 1)))));
}

TEST(Eat, OemidHwmodelRules) {
  EXPECT_TRUE(parse_eat_claims(claims_with(258, CborValue::integer(-3))));
  EXPECT_TRUE(parse_eat_claims(claims_with(258, CborValue::bytes(Bytes(16, 0)))));
  EXPECT_EQ(parse_error(claims_with(258, CborValue::bytes(Bytes(4, 0)))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(258, CborValue::text("abc"))), ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(258, CborValue::uint(UINT64_MAX))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(259, CborValue::bytes(Bytes{}))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(259, CborValue::bytes(Bytes(33, 0)))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(259, CborValue::text("m"))), ErrorCode::EatMalformed);
  EXPECT_TRUE(parse_eat_claims(claims_with(259, CborValue::bytes(Bytes(32, 0)))));
}

TEST(Eat, DbgstatRules) {
  for (std::uint64_t d = 0; d <= 4; ++d) {
    auto r = parse_eat_claims(claims_with(263, CborValue::uint(d)));
    ASSERT_TRUE(r);
    EXPECT_EQ(static_cast<std::uint64_t>(*r->dbgstat), d);
  }
  EXPECT_EQ(parse_error(claims_with(263, CborValue::uint(5))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(263, CborValue::integer(-1))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(263, CborValue::text("enabled"))), ErrorCode::EatMalformed);
}

TEST(Eat, TimeRules) {
  for (const std::int64_t k : {4, 5, 6}) {
    EXPECT_EQ(parse_error(claims_with(k, CborValue::floating(1.5))), ErrorCode::EatBadClaim);
    EXPECT_EQ(parse_error(claims_with(k, CborValue::floating(1.0))), ErrorCode::EatBadClaim);
    EXPECT_EQ(parse_error(claims_with(k, CborValue::text("now"))), ErrorCode::EatMalformed);
    EXPECT_EQ(parse_error(claims_with(k, CborValue::tag(1, CborValue::uint(1)))),
              ErrorCode::EatMalformed);
    // Integers beyond int64 are mapped to EatBadClaim, not CborIntegerOutOfRange.
    EXPECT_EQ(parse_error(claims_with(k, CborValue::uint(UINT64_MAX))), ErrorCode::EatBadClaim);
    EXPECT_EQ(parse_error(claims_with(k, CborValue::negative_raw(UINT64_MAX))),
              ErrorCode::EatBadClaim);
  }
  auto r = parse_eat_claims(claims_with(6, CborValue::integer(INT64_MIN)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->iat, INT64_MIN);
}

TEST(Eat, SwnameSwversionRules) {
  EXPECT_EQ(parse_error(claims_with(271, CborValue::array({CborValue::text("1")}))),
            ErrorCode::EatBadClaim);  // no swname
  CborValue m = claims_with(270, CborValue::text("n"));
  m.map_put(key(271), CborValue::array({}));
  EXPECT_EQ(parse_error(m), ErrorCode::EatMalformed);
  m = claims_with(270, CborValue::text("n"));
  m.map_put(key(271), CborValue::array({CborValue::uint(1)}));
  EXPECT_EQ(parse_error(m), ErrorCode::EatMalformed);
  m = claims_with(270, CborValue::text("n"));
  m.map_put(key(271), CborValue::array({CborValue::text("1"), CborValue::text("semver")}));
  EXPECT_EQ(parse_error(m), ErrorCode::EatMalformed);
  m = claims_with(270, CborValue::text("n"));
  m.map_put(key(271),
            CborValue::array({CborValue::text("1"), CborValue::uint(1), CborValue::uint(2)}));
  EXPECT_EQ(parse_error(m), ErrorCode::EatMalformed);
  m = claims_with(270, CborValue::text("n"));
  m.map_put(key(271), CborValue::text("1.0"));
  EXPECT_EQ(parse_error(m), ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(270, CborValue::bytes(hex("00")))), ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(1, CborValue::uint(1))), ErrorCode::EatMalformed);
}

TEST(Eat, MeasurementRules) {
  auto entry = [](CborValue a, CborValue b) {
    return CborValue::array({std::move(a), std::move(b)});
  };
  EXPECT_EQ(parse_error(claims_with(273, CborValue::array({}))), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(273, CborValue::map())), ErrorCode::EatMalformed);
  EXPECT_EQ(
      parse_error(claims_with(273, CborValue::array({CborValue::array({CborValue::uint(1)})}))),
      ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(
                273, CborValue::array({entry(CborValue::text("x"), CborValue::bytes(Bytes{}))}))),
            ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(
                273, CborValue::array({entry(CborValue::uint(1), CborValue::text("x"))}))),
            ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(claims_with(
                273, CborValue::array({entry(CborValue::integer(-1), CborValue::bytes(Bytes{}))}))),
            ErrorCode::EatBadClaim);
}

TEST(Eat, SubmodRules) {
  EXPECT_EQ(parse_error(claims_with(266, CborValue::map())), ErrorCode::EatBadClaim);
  EXPECT_EQ(parse_error(claims_with(266, CborValue::array({}))), ErrorCode::EatMalformed);
  // Submodule names are text.
  EXPECT_EQ(parse_error(claims_with(266, claims_with(1, CborValue::map()))),
            ErrorCode::EatMalformed);
  auto sub = [](CborValue v) {
    CborValue m = CborValue::map();
    m.map_put(CborValue::text("s"), std::move(v));
    return claims_with(266, std::move(m));
  };
  EXPECT_EQ(parse_error(sub(CborValue::uint(1))), ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(sub(CborValue::array({CborValue::uint(1)}))), ErrorCode::EatMalformed);
  EXPECT_EQ(
      parse_error(sub(CborValue::array({CborValue::bytes(Bytes{}), CborValue::bytes(Bytes{})}))),
      ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(sub(CborValue::array({CborValue::uint(1), CborValue::text("d")}))),
            ErrorCode::EatMalformed);
  // Errors inside a nested claims set propagate.
  EXPECT_EQ(parse_error(sub(claims_with(263, CborValue::uint(9)))), ErrorCode::EatBadClaim);
  auto ok_digest = parse_eat_claims(
      sub(CborValue::array({CborValue::integer(-16), CborValue::bytes(Bytes(32, 1))})));
  ASSERT_TRUE(ok_digest);
  EXPECT_EQ(ok_digest->submods[0].kind, EatSubmod::Kind::DetachedDigest);

  // Depth: a chain of claims sets nested |n| deep.
  auto chain = [&](std::size_t n) {
    CborValue m = claims_with(270, CborValue::text("leaf"));
    for (std::size_t i = 0; i < n; ++i) {
      m = sub(std::move(m));
    }
    return m;
  };
  EXPECT_TRUE(parse_eat_claims(chain(4)));
  EXPECT_EQ(parse_error(chain(5)), ErrorCode::EatBadClaim);
  EXPECT_TRUE(parse_eat_claims(chain(1), 1));
  EXPECT_FALSE(parse_eat_claims(chain(1), 0));
  // Nested tokens do not count toward the depth: they are opaque.
  EXPECT_TRUE(parse_eat_claims(sub(CborValue::bytes(cbor_encode(chain(10)))), 0));
}

TEST(Eat, NotAMap) {
  EXPECT_EQ(parse_error(CborValue::array({})), ErrorCode::EatMalformed);
  EXPECT_EQ(parse_error(CborValue::tag(61, CborValue::map())), ErrorCode::EatMalformed);
  CborValue m = CborValue::map();
  m.map_put(CborValue::bytes(hex("01")), CborValue::uint(1));
  EXPECT_EQ(parse_error(m), ErrorCode::EatMalformed);
  // Errors of the CBOR decoder come through unchanged.
  EXPECT_EQ(parse_eat_claims(ByteView(hex("a20a00"
                                          "0a00")))
                .error()
                .code,
            ErrorCode::CborDuplicateKey);
  EXPECT_EQ(parse_eat_claims(ByteView(hex("a1"))).error().code, ErrorCode::CborMalformed);
  EXPECT_EQ(parse_eat_claims(ByteView(hex("8000"))).error().code, ErrorCode::CborTrailingData);
}

}  // namespace
}  // namespace atls
