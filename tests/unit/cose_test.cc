#include "src/formats/cose/cose.h"
#include "src/formats/cose/cose_key.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/ossl/keys.h"
#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace atls {
namespace {

using test::hex;

ossl::UniquePtr<EVP_PKEY> load_key(const std::string& rel) {
  auto k = ossl::parse_public_key(test::read_data(rel));
  if (!k) {
    k = ossl::parse_private_key(test::read_data(rel));
  }
  EXPECT_TRUE(k) << rel;
  return k ? std::move(*k) : nullptr;
}

ossl::UniquePtr<EVP_PKEY> fresh_key(ossl::KeyType t) {
  auto k = ossl::generate_key(t);
  EXPECT_TRUE(k);
  return k ? std::move(*k) : nullptr;
}

// Expects |r| to have failed with |code|.
template <class T>
void expect_error(const Result<T>& r, ErrorCode code, const std::string& what = {}) {
  ASSERT_FALSE(r) << what << ": expected " << error_name(code);
  EXPECT_EQ(r.error().code, code) << what << ": " << r.error().to_string();
}

// Parses then verifies, returning the first failure.
Result<void> parse_and_verify(ByteView data, EVP_PKEY* key, ByteView aad = {},
                              std::optional<ByteView> detached = std::nullopt) {
  ATLS_ASSIGN_OR_RETURN(const CoseSign1 msg, parse_cose_sign1(data));
  return verify_cose_sign1(msg, key, aad, detached);
}

// Builds [protected, unprotected, payload, signature] with optional tags.
Bytes encode_sign1(CborValue prot, CborValue unprot, CborValue payload, CborValue sig,
                   std::optional<std::uint64_t> tag = kCoseSign1Tag) {
  CborValue v =
      CborValue::array({std::move(prot), std::move(unprot), std::move(payload), std::move(sig)});
  if (tag) {
    v = CborValue::tag(*tag, std::move(v));
  }
  return cbor_encode(v);
}

// Re-encodes a valid message after |edit| changed its four items.
template <class F>
Bytes edit_message(ByteView valid, F edit) {
  auto v = cbor_decode(valid);
  EXPECT_TRUE(v);
  CborValue body = v->is_tag() ? v->tag_content() : *v;
  edit(body.items());
  return cbor_encode(CborValue::tag(kCoseSign1Tag, std::move(body)));
}

// ---------------------------------------------------------------------------
// Known answers from Python `cryptography` + `cbor2` (gen_cose_vectors.py).

TEST(CoseVectors, GeneratedByIndependentImplementation) {
  auto manifest = parse_json(test::read_text("cose/generated/vectors.json"));
  ASSERT_TRUE(manifest);
  const auto& vectors = (*manifest)["vectors"];
  ASSERT_GE(vectors.size(), 10u);
  for (const auto& vec : vectors) {
    const std::string name = vec["name"].get<std::string>();
    SCOPED_TRACE(name);
    auto key = load_key("cose/generated/keys/" + vec["key"].get<std::string>() + ".pub.test.pem");
    ASSERT_TRUE(key);
    const Bytes data = test::read_data("cose/generated/" + vec["file"].get<std::string>());
    auto msg = parse_cose_sign1(data);
    ASSERT_TRUE(msg) << msg.error().to_string();

    // Decoded fields.
    EXPECT_EQ(to_hex(msg->protected_bytes), vec["protected"].get<std::string>());
    if (vec["alg"].is_null()) {
      EXPECT_FALSE(msg->alg());
    } else {
      EXPECT_EQ(msg->alg(), vec["alg"].get<std::int64_t>());
    }
    if (vec["kid"].is_null()) {
      EXPECT_FALSE(msg->kid());
    } else {
      ASSERT_TRUE(msg->kid());
      EXPECT_EQ(to_hex(*msg->kid()), vec["kid"].get<std::string>());
    }
    const auto& ct = vec["content_type"];
    if (ct.is_null()) {
      EXPECT_FALSE(msg->content_type());
    } else if (ct.is_string()) {
      ASSERT_TRUE(msg->content_type());
      EXPECT_EQ(*msg->content_type(), CborValue::text(ct.get<std::string>()));
    } else {
      ASSERT_TRUE(msg->content_type());
      EXPECT_EQ(*msg->content_type(), CborValue::uint(ct.get<std::uint64_t>()));
    }
    if (vec["outer_tag"].is_null()) {
      EXPECT_FALSE(msg->outer_tag);
    } else {
      EXPECT_EQ(msg->outer_tag, vec["outer_tag"].get<std::uint64_t>());
    }
    const Bytes payload = hex(vec["payload"].get<std::string>());
    const bool detached = vec["detached"].get<bool>();
    if (detached) {
      EXPECT_FALSE(msg->payload);
    } else {
      ASSERT_TRUE(msg->payload);
      EXPECT_EQ(*msg->payload, payload);
    }

    // Sig_structure as built by the generator.
    const Bytes aad = hex(vec["external_aad"].get<std::string>());
    EXPECT_EQ(to_hex(cose_sig_structure(msg->protected_bytes, aad, payload)),
              vec["tbs"].get<std::string>());

    std::optional<ByteView> detached_payload;
    if (detached) {
      detached_payload = payload;
    }
    auto r = verify_cose_sign1(*msg, key.get(), aad, detached_payload);
    const std::string expect = vec["expect"].get<std::string>();
    if (expect == "ok") {
      EXPECT_TRUE(r) << r.error().to_string();
      // A different external_aad must break the signature.
      const Bytes other_aad = {0x42};
      expect_error(verify_cose_sign1(*msg, key.get(), other_aad, detached_payload),
                   ErrorCode::CoseBadSignature, "other aad");
    } else {
      ASSERT_FALSE(r);
      EXPECT_EQ(error_name(r.error().code), expect) << r.error().to_string();
    }
  }
}

TEST(CoseKey, GeneratedCoseKeysMatchPem) {
  for (const char* name : {"es256", "es384", "es512", "eddsa"}) {
    SCOPED_TRACE(name);
    auto pem_key = load_key(std::string("cose/generated/keys/") + name + ".pub.test.pem");
    ASSERT_TRUE(pem_key);
    const Bytes cose_bytes =
        test::read_data(std::string("cose/generated/keys/") + name + ".cosekey.cbor");
    auto cose = cbor_decode(cose_bytes);
    ASSERT_TRUE(cose);
    auto k = cose_key_to_pkey(*cose);
    ASSERT_TRUE(k) << k.error().to_string();
    EXPECT_TRUE(ossl::public_keys_equal(k->get(), pem_key.get()));
    auto back = pkey_to_cose_key(pem_key.get());
    ASSERT_TRUE(back);
    EXPECT_EQ(cbor_encode(*back), cose_bytes);
  }
}

// ---------------------------------------------------------------------------
// cose-wg/Examples sign1-tests (RFC 9052 working-group examples).

TEST(CoseVectors, CoseWgSign1Examples) {
  auto doc = parse_json(test::read_text("cose/cose_wg_sign1.json"));
  ASSERT_TRUE(doc);
  const auto& jwk = (*doc)["key"];
  auto x = base64url_decode(jwk["x"].get<std::string>());
  auto y = base64url_decode(jwk["y"].get<std::string>());
  ASSERT_TRUE(x && y);
  auto key = ossl::ec_public_from_xy(ossl::KeyType::EcP256, *x, *y);
  ASSERT_TRUE(key);
  std::size_t ok_count = 0;
  for (const auto& vec : (*doc)["vectors"]) {
    const std::string title = vec["title"].get<std::string>();
    SCOPED_TRACE(title);
    const Bytes data = hex(vec["cbor"].get<std::string>());
    const Bytes aad = hex(vec["external"].get<std::string>());
    const std::string expect = vec["expect"].get<std::string>();
    auto msg = parse_cose_sign1(data);
    if (vec.contains("tbs")) {
      ASSERT_TRUE(msg);
      ASSERT_TRUE(msg->payload);
      EXPECT_EQ(cose_sig_structure(msg->protected_bytes, aad, *msg->payload),
                hex(vec["tbs"].get<std::string>()));
      EXPECT_EQ(msg->kid(), to_bytes("11"));
    }
    Result<void> r = msg ? verify_cose_sign1(*msg, key->get(), aad) : Result<void>(msg.error());
    if (expect == "ok") {
      EXPECT_TRUE(r) << r.error().to_string();
      ++ok_count;
    } else {
      ASSERT_FALSE(r);
      EXPECT_EQ(error_name(r.error().code), expect) << r.error().to_string();
    }
  }
  EXPECT_EQ(ok_count, 2u);
}

// ---------------------------------------------------------------------------
// Real tokens: TF-M PSA tokens and a CCA platform token.

TEST(CoseVectors, PsaTokensVerify) {
  auto key = load_key("cose/vectors/psatoken_tfm_public.pem");
  for (const char* f : {"psatoken_tfm_psa-2_0_0_sign1.bin", "psatoken_tfm_psa-iot-1_sign1.bin"}) {
    SCOPED_TRACE(f);
    const Bytes data = test::read_data(std::string("cose/vectors/") + f);
    auto msg = parse_cose_sign1(data);
    ASSERT_TRUE(msg) << msg.error().to_string();
    EXPECT_EQ(msg->outer_tag, kCoseSign1Tag);
    EXPECT_EQ(msg->alg(), kCoseAlgEs256);
    EXPECT_EQ(msg->protected_bytes, hex("a10126"));
    EXPECT_EQ(msg->unprotected_header.map_size(), 0u);
    ASSERT_TRUE(msg->payload);
    EXPECT_EQ(msg->signature.size(), 64u);
    auto r = verify_cose_sign1(*msg, key.get());
    EXPECT_TRUE(r) << r.error().to_string();
    // The payload is the claims set; the nonce (10) is 64 zero bytes.
    auto claims = cbor_decode(*msg->payload);
    ASSERT_TRUE(claims);
  }
  auto v2 = parse_cose_sign1(test::read_data("cose/vectors/psatoken_tfm_psa-2_0_0_sign1.bin"));
  ASSERT_TRUE(v2);
  auto claims = cbor_decode(*v2->payload);
  ASSERT_TRUE(claims);
  ASSERT_NE(claims->find(10), nullptr);
  EXPECT_EQ(claims->find(10)->raw_bytes(), Bytes(64, 0));
}

TEST(CoseVectors, TfmToolsIat) {
  const Bytes data = test::read_data("cose/vectors/tfmtools_iat.cbor");
  auto good = load_key("cose/vectors/tfmtools_key_pub.pem");
  auto alt = load_key("cose/vectors/tfmtools_key-alt.pem");
  EXPECT_TRUE(parse_and_verify(data, good.get()));
  expect_error(parse_and_verify(data, alt.get()), ErrorCode::CoseBadSignature, "alt key");

  // The file carries a trailing newline (0x0a) after the CBOR item, so the
  // strict whole-input parser rejects it; the item itself has an empty
  // protected header and so no algorithm.
  const Bytes malformed = test::read_data("cose/vectors/tfmtools_malformed.cbor");
  ASSERT_EQ(malformed.back(), 0x0a);
  expect_error(parse_cose_sign1(malformed), ErrorCode::CoseMalformed, "trailing newline");
  auto item = cbor_decode_prefix(malformed);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->consumed, malformed.size() - 1);
  auto msg = cose_sign1_from_cbor(item->value);
  ASSERT_TRUE(msg) << msg.error().to_string();
  EXPECT_TRUE(msg->protected_bytes.empty());
  EXPECT_TRUE(msg->protected_header.is_map());
  EXPECT_EQ(msg->protected_header.map_size(), 0u);
  expect_error(verify_cose_sign1(*msg, good.get()), ErrorCode::CoseMissingAlgorithm);

  // The same claims as COSE_Mac0 (tag 17) are not a COSE_Sign1.
  expect_error(parse_cose_sign1(test::read_data("cose/vectors/tfmtools_iat-hmac.cbor")),
               ErrorCode::CoseMalformed, "COSE_Mac0");
}

TEST(CoseVectors, CcaPlatformTokenEs384) {
  const Bytes data = test::read_data("cose/vectors/tfmtools_cca_platform_token.cbor");
  auto key = load_key("cose/vectors/tfmtools_cca_platform_pub.pem");
  auto msg = parse_cose_sign1(data);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->alg(), kCoseAlgEs384);
  EXPECT_EQ(msg->signature.size(), 96u);
  EXPECT_TRUE(verify_cose_sign1(*msg, key.get()));
  // A P-256 key cannot verify an ES384 message.
  auto p256 = load_key("cose/vectors/psatoken_tfm_public.pem");
  expect_error(verify_cose_sign1(*msg, p256.get()), ErrorCode::KeyTypeMismatch);
  // Nor can a different P-384 key.
  auto other = fresh_key(ossl::KeyType::EcP384);
  expect_error(verify_cose_sign1(*msg, other.get()), ErrorCode::CoseBadSignature);
}

// ---------------------------------------------------------------------------
// Negative cases.

class CoseNegative : public ::testing::Test {
 protected:
  void SetUp() override {
    m_key = load_key("cose/generated/keys/es256.pub.test.pem");
    m_valid = test::read_data("cose/generated/valid-es256-tagged.cbor");
    ASSERT_TRUE(parse_and_verify(m_valid, m_key.get()));
  }
  ossl::UniquePtr<EVP_PKEY> m_key;
  Bytes m_valid;
};

TEST_F(CoseNegative, TruncatedAndTrailing) {
  for (std::size_t n = 0; n < m_valid.size(); ++n) {
    expect_error(parse_cose_sign1(ByteView(m_valid).first(n)), ErrorCode::CoseMalformed,
                 "truncated to " + std::to_string(n));
  }
  Bytes trailing = m_valid;
  trailing.push_back(0x00);
  expect_error(parse_cose_sign1(trailing), ErrorCode::CoseMalformed, "trailing byte");
}

TEST_F(CoseNegative, WrongShape) {
  const CborValue prot = CborValue::bytes(hex("a10126"));
  const CborValue sig = CborValue::bytes(Bytes(64, 1));
  const CborValue pl = CborValue::bytes(hex("01"));
  const CborValue empty = CborValue::map();
  // Not an array, too few, too many.
  expect_error(parse_cose_sign1(cbor_encode(CborValue::tag(18, CborValue::map()))),
               ErrorCode::CoseMalformed);
  expect_error(
      parse_cose_sign1(cbor_encode(CborValue::tag(18, CborValue::array({prot, empty, pl})))),
      ErrorCode::CoseMalformed);
  expect_error(parse_cose_sign1(
                   cbor_encode(CborValue::tag(18, CborValue::array({prot, empty, pl, sig, sig})))),
               ErrorCode::CoseMalformed);
  expect_error(parse_cose_sign1(hex("d2")), ErrorCode::CoseMalformed);
  // Wrong type in each position.
  expect_error(parse_cose_sign1(encode_sign1(CborValue::map(), empty, pl, sig)),
               ErrorCode::CoseMalformed, "protected map");
  expect_error(parse_cose_sign1(encode_sign1(CborValue::text("a10126"), empty, pl, sig)),
               ErrorCode::CoseMalformed, "protected text");
  expect_error(parse_cose_sign1(encode_sign1(prot, CborValue::bytes(hex("a0")), pl, sig)),
               ErrorCode::CoseMalformed, "unprotected bstr");
  expect_error(parse_cose_sign1(encode_sign1(prot, CborValue::array(), pl, sig)),
               ErrorCode::CoseMalformed, "unprotected array");
  expect_error(parse_cose_sign1(encode_sign1(prot, empty, CborValue::text("x"), sig)),
               ErrorCode::CoseMalformed, "payload text");
  expect_error(parse_cose_sign1(encode_sign1(prot, empty, CborValue::undefined(), sig)),
               ErrorCode::CoseMalformed, "payload undefined");
  expect_error(parse_cose_sign1(encode_sign1(prot, empty, pl, CborValue::null())),
               ErrorCode::CoseMalformed, "signature nil");
  expect_error(parse_cose_sign1(encode_sign1(prot, empty, pl, CborValue::uint(1))),
               ErrorCode::CoseMalformed, "signature int");
  // The well-formed shape parses (signature not checked).
  EXPECT_TRUE(parse_cose_sign1(encode_sign1(prot, empty, pl, sig)));
  EXPECT_TRUE(parse_cose_sign1(encode_sign1(prot, empty, CborValue::null(), sig)));
}

TEST_F(CoseNegative, Tags) {
  const CborValue prot = CborValue::bytes(hex("a10126"));
  const CborValue sig = CborValue::bytes(Bytes(64, 1));
  const CborValue pl = CborValue::bytes(hex("01"));
  // Untagged is accepted; 17 (COSE_Mac0), 98 (COSE_Sign), 998 are not.
  auto untagged = parse_cose_sign1(encode_sign1(prot, CborValue::map(), pl, sig, std::nullopt));
  ASSERT_TRUE(untagged);
  EXPECT_FALSE(untagged->outer_tag);
  for (std::uint64_t t : {17u, 98u, 998u, 61u}) {
    expect_error(parse_cose_sign1(encode_sign1(prot, CborValue::map(), pl, sig, t)),
                 ErrorCode::CoseMalformed, "tag " + std::to_string(t));
  }
  // 61 must wrap 18.
  const CborValue body = CborValue::array({prot, CborValue::map(), pl, sig});
  auto cwt = parse_cose_sign1(cbor_encode(CborValue::tag(61, CborValue::tag(18, body))));
  ASSERT_TRUE(cwt);
  EXPECT_EQ(cwt->outer_tag, kCwtTag);
  expect_error(parse_cose_sign1(cbor_encode(CborValue::tag(61, CborValue::tag(17, body)))),
               ErrorCode::CoseMalformed, "61(17)");
  expect_error(parse_cose_sign1(cbor_encode(CborValue::tag(18, CborValue::tag(18, body)))),
               ErrorCode::CoseMalformed, "18(18)");
}

TEST_F(CoseNegative, ProtectedHeader) {
  const CborValue sig = CborValue::bytes(Bytes(64, 1));
  const CborValue pl = CborValue::bytes(hex("01"));
  auto with_prot = [&](const char* h) {
    return parse_cose_sign1(encode_sign1(CborValue::bytes(hex(h)), CborValue::map(), pl, sig));
  };
  expect_error(with_prot("a201260126"), ErrorCode::CoseMalformed, "duplicate key");
  expect_error(with_prot("01"), ErrorCode::CoseMalformed, "not a map");
  expect_error(with_prot("80"), ErrorCode::CoseMalformed, "array");
  expect_error(with_prot("a101"), ErrorCode::CoseMalformed, "truncated map");
  expect_error(with_prot("a1012600"), ErrorCode::CoseMalformed, "trailing byte");
  expect_error(with_prot("a1f426"), ErrorCode::CoseMalformed, "label false");
  expect_error(with_prot("a101f5"), ErrorCode::CoseMalformed, "alg true");
  expect_error(with_prot("a2012602a0"), ErrorCode::CoseMalformed, "crit map");
  expect_error(with_prot("a201260280"), ErrorCode::CoseMalformed, "crit empty");
  expect_error(with_prot("a201260281f6"), ErrorCode::CoseMalformed, "crit nil label");
  expect_error(with_prot("a201260320"), ErrorCode::CoseMalformed, "content type negative");
  expect_error(with_prot("a201260401"), ErrorCode::CoseMalformed, "kid int");
  // h'a0' (an empty map, not the empty bstr) is allowed.
  auto a0 = with_prot("a0");
  ASSERT_TRUE(a0);
  EXPECT_EQ(a0->protected_header.map_size(), 0u);
  // crit in the unprotected header; a label in both buckets.
  expect_error(
      parse_cose_sign1(encode_sign1(
          CborValue::bytes(hex("a10126")),
          CborValue::map({{CborValue::uint(2), CborValue::array({CborValue::uint(4)})}}), pl, sig)),
      ErrorCode::CoseMalformed, "crit unprotected");
  expect_error(parse_cose_sign1(encode_sign1(
                   CborValue::bytes(hex("a20126044131")),
                   CborValue::map({{CborValue::uint(4), CborValue::bytes(hex("31"))}}), pl, sig)),
               ErrorCode::CoseMalformed, "kid in both buckets");
}

TEST_F(CoseNegative, Algorithm) {
  // Unknown / unsupported alg ids (PS256 = -37, text) with a valid shape.
  for (const char* prot : {"a1013824", "a101390000", "a1016545533235 36"}) {
    std::string h(prot);
    h.erase(std::remove(h.begin(), h.end(), ' '), h.end());
    auto msg =
        parse_cose_sign1(encode_sign1(CborValue::bytes(hex(h)), CborValue::map(),
                                      CborValue::bytes(hex("01")), CborValue::bytes(Bytes(64, 1))));
    ASSERT_TRUE(msg) << h;
    expect_error(verify_cose_sign1(*msg, m_key.get()), ErrorCode::UnsupportedAlgorithm, h);
  }
  // alg only in the unprotected header (empty protected header).
  auto msg = parse_cose_sign1(encode_sign1(
      CborValue::bytes(Bytes{}), CborValue::map({{CborValue::uint(1), CborValue::integer(-7)}}),
      CborValue::bytes(hex("01")), CborValue::bytes(Bytes(64, 1))));
  ASSERT_TRUE(msg);
  EXPECT_FALSE(msg->alg());
  expect_error(verify_cose_sign1(*msg, m_key.get()), ErrorCode::CoseMissingAlgorithm);
  // Unknown critical label, before any signature work.
  auto crit =
      parse_cose_sign1(encode_sign1(CborValue::bytes(hex("a30126028118631863f5")), CborValue::map(),
                                    CborValue::bytes(hex("01")), CborValue::bytes(Bytes(64, 1))));
  ASSERT_TRUE(crit) << crit.error().to_string();
  expect_error(verify_cose_sign1(*crit, m_key.get()), ErrorCode::CoseUnknownCritical);
  auto crit_text =
      parse_cose_sign1(encode_sign1(CborValue::bytes(hex("a2012602816178")), CborValue::map(),
                                    CborValue::bytes(hex("01")), CborValue::bytes(Bytes(64, 1))));
  ASSERT_TRUE(crit_text);
  expect_error(verify_cose_sign1(*crit_text, m_key.get()), ErrorCode::CoseUnknownCritical);
}

TEST_F(CoseNegative, WrongKeyType) {
  auto p384 = fresh_key(ossl::KeyType::EcP384);
  auto p521 = fresh_key(ossl::KeyType::EcP521);
  auto ed = fresh_key(ossl::KeyType::Ed25519);
  auto msg = parse_cose_sign1(m_valid);
  ASSERT_TRUE(msg);
  expect_error(verify_cose_sign1(*msg, p384.get()), ErrorCode::KeyTypeMismatch, "P-384");
  expect_error(verify_cose_sign1(*msg, p521.get()), ErrorCode::KeyTypeMismatch, "P-521");
  expect_error(verify_cose_sign1(*msg, ed.get()), ErrorCode::KeyTypeMismatch, "Ed25519");
  expect_error(verify_cose_sign1(*msg, nullptr), ErrorCode::InvalidArgument, "null key");
  auto eddsa = parse_cose_sign1(test::read_data("cose/generated/valid-eddsa-tagged.cbor"));
  ASSERT_TRUE(eddsa);
  expect_error(verify_cose_sign1(*eddsa, m_key.get()), ErrorCode::KeyTypeMismatch,
               "EdDSA with P-256");
}

TEST_F(CoseNegative, SignatureAndPayload) {
  // Wrong signature lengths (one byte short, one long, DER instead of raw).
  for (int delta : {-1, 1, -64}) {
    const Bytes m = edit_message(m_valid, [&](std::vector<CborValue>& items) {
      Bytes s = items[3].raw_bytes();
      s.resize(static_cast<std::size_t>(static_cast<int>(s.size()) + delta), 0);
      items[3] = CborValue::bytes(std::move(s));
    });
    expect_error(parse_and_verify(m, m_key.get()), ErrorCode::CoseBadSignature,
                 std::to_string(delta));
  }
  // A flipped payload byte, signature byte or protected byte.
  for (std::size_t pos : {0u, 3u}) {
    const Bytes m = edit_message(m_valid, [&](std::vector<CborValue>& items) {
      Bytes p = items[2].raw_bytes();
      p[pos] ^= 0x01;
      items[2] = CborValue::bytes(std::move(p));
    });
    expect_error(parse_and_verify(m, m_key.get()), ErrorCode::CoseBadSignature, "payload");
  }
  const Bytes bad_sig = edit_message(m_valid, [](std::vector<CborValue>& items) {
    Bytes s = items[3].raw_bytes();
    s[63] ^= 0x80;
    items[3] = CborValue::bytes(std::move(s));
  });
  expect_error(parse_and_verify(bad_sig, m_key.get()), ErrorCode::CoseBadSignature, "signature");
  const Bytes zero_sig = edit_message(
      m_valid, [](std::vector<CborValue>& items) { items[3] = CborValue::bytes(Bytes(64, 0)); });
  expect_error(parse_and_verify(zero_sig, m_key.get()), ErrorCode::CoseBadSignature, "zero r, s");
  // Equivalent protected map, different bytes (non-shortest int): signature breaks.
  const Bytes reencoded = edit_message(
      m_valid, [](std::vector<CborValue>& items) { items[0] = CborValue::bytes(hex("a1180126")); });
  expect_error(parse_and_verify(reencoded, m_key.get()), ErrorCode::CoseBadSignature,
               "protected bytes");
}

TEST_F(CoseNegative, DetachedPayload) {
  const Bytes det = test::read_data("cose/generated/valid-es256-detached.cbor");
  auto msg = parse_cose_sign1(det);
  ASSERT_TRUE(msg);
  EXPECT_FALSE(msg->payload);
  expect_error(verify_cose_sign1(*msg, m_key.get()), ErrorCode::CoseMalformed,
               "no detached payload");
  const Bytes wrong = to_bytes("detached content!");
  expect_error(verify_cose_sign1(*msg, m_key.get(), {}, ByteView(wrong)),
               ErrorCode::CoseBadSignature);
  EXPECT_TRUE(verify_cose_sign1(*msg, m_key.get(), {}, ByteView(to_bytes("detached content"))));
  auto attached = parse_cose_sign1(m_valid);
  ASSERT_TRUE(attached);
  expect_error(verify_cose_sign1(*attached, m_key.get(), {}, ByteView(wrong)),
               ErrorCode::InvalidArgument);
}

TEST(CoseSigStructure, Rfc9052Layout) {
  // ["Signature1", h'a10126', h'', h'01']
  EXPECT_EQ(cose_sig_structure(hex("a10126"), {}, hex("01")),
            hex("846a5369676e61747572653143a101264041"
                "01"));
  EXPECT_EQ(cose_sig_structure({}, hex("aabb"), {}), hex("846a5369676e61747572653140"
                                                         "42aabb"
                                                         "40"));
}

// ---------------------------------------------------------------------------
// Signing.

TEST(CoseSign, RoundTripAllKeyTypes) {
  struct Case {
    ossl::KeyType type;
    std::int64_t alg;
    std::size_t sig_len;
  };
  for (const Case& c : {Case{ossl::KeyType::EcP256, kCoseAlgEs256, 64},
                        Case{ossl::KeyType::EcP384, kCoseAlgEs384, 96},
                        Case{ossl::KeyType::EcP521, kCoseAlgEs512, 132},
                        Case{ossl::KeyType::Ed25519, kCoseAlgEdDsa, 64}}) {
    SCOPED_TRACE(std::string(ossl::key_type_name(c.type)));
    auto key = fresh_key(c.type);
    ASSERT_TRUE(key);
    CoseSignOptions opts;
    opts.protected_extra.emplace_back(CborValue::uint(3), CborValue::text("application/eat+cwt"));
    opts.unprotected.emplace_back(CborValue::uint(4), CborValue::bytes(to_bytes("kid-1")));
    opts.external_aad = to_bytes("binder");
    const Bytes payload = to_bytes("payload bytes");
    auto signed_msg = sign_cose_sign1(key.get(), payload, opts);
    ASSERT_TRUE(signed_msg) << signed_msg.error().to_string();
    auto msg = parse_cose_sign1(*signed_msg);
    ASSERT_TRUE(msg);
    EXPECT_EQ(msg->alg(), c.alg);
    EXPECT_EQ(msg->kid(), to_bytes("kid-1"));
    EXPECT_EQ(msg->content_type(), CborValue::text("application/eat+cwt"));
    EXPECT_EQ(msg->outer_tag, kCoseSign1Tag);
    EXPECT_EQ(msg->payload, payload);
    EXPECT_EQ(msg->signature.size(), c.sig_len);
    EXPECT_TRUE(verify_cose_sign1(*msg, key.get(), opts.external_aad));
    expect_error(verify_cose_sign1(*msg, key.get()), ErrorCode::CoseBadSignature, "aad missing");
    // Verification works with the public half alone.
    auto pub_pem = ossl::public_key_pem(key.get());
    ASSERT_TRUE(pub_pem);
    auto pub = ossl::parse_public_key(to_bytes(*pub_pem));
    ASSERT_TRUE(pub);
    EXPECT_TRUE(verify_cose_sign1(*msg, pub->get(), opts.external_aad));
  }
}

TEST(CoseSign, TagsAndOptions) {
  auto key = fresh_key(ossl::KeyType::EcP256);
  CoseSignOptions untagged;
  untagged.tagged = false;
  auto u = sign_cose_sign1(key.get(), hex("01"), untagged);
  ASSERT_TRUE(u);
  EXPECT_EQ((*u)[0], 0x84);
  EXPECT_EQ(Bytes(u->begin() + 1, u->begin() + 5), hex("43a10126"));
  EXPECT_TRUE(parse_and_verify(*u, key.get()));

  CoseSignOptions cwt;
  cwt.cwt_tagged = true;
  auto c = sign_cose_sign1(key.get(), hex("a0"), cwt);
  ASSERT_TRUE(c);
  EXPECT_EQ(Bytes(c->begin(), c->begin() + 3), hex("d83dd2"));
  auto cm = parse_cose_sign1(*c);
  ASSERT_TRUE(cm);
  EXPECT_EQ(cm->outer_tag, kCwtTag);
  EXPECT_TRUE(verify_cose_sign1(*cm, key.get()));

  CoseSignOptions dup_alg;
  dup_alg.protected_extra.emplace_back(CborValue::uint(1), CborValue::integer(-7));
  expect_error(sign_cose_sign1(key.get(), hex("01"), dup_alg), ErrorCode::InvalidArgument,
               "alg twice");
  CoseSignOptions both;
  both.protected_extra.emplace_back(CborValue::uint(4), CborValue::bytes(hex("01")));
  both.unprotected.emplace_back(CborValue::uint(4), CborValue::bytes(hex("01")));
  expect_error(sign_cose_sign1(key.get(), hex("01"), both), ErrorCode::InvalidArgument,
               "both buckets");
  CoseSignOptions bad_kid;
  bad_kid.unprotected.emplace_back(CborValue::uint(4), CborValue::text("kid"));
  expect_error(sign_cose_sign1(key.get(), hex("01"), bad_kid), ErrorCode::InvalidArgument,
               "text kid");
  expect_error(sign_cose_sign1(nullptr, hex("01")), ErrorCode::InvalidArgument, "null key");
}

// ---------------------------------------------------------------------------
// COSE_Key.

CborValue ec2_key(std::int64_t crv, Bytes x, Bytes y) {
  return CborValue::map({{CborValue::integer(1), CborValue::integer(2)},
                         {CborValue::integer(-1), CborValue::integer(crv)},
                         {CborValue::integer(-2), CborValue::bytes(std::move(x))},
                         {CborValue::integer(-3), CborValue::bytes(std::move(y))}});
}

TEST(CoseKey, RoundTripAndErrors) {
  for (auto t : {ossl::KeyType::EcP256, ossl::KeyType::EcP384, ossl::KeyType::EcP521,
                 ossl::KeyType::Ed25519}) {
    auto key = fresh_key(t);
    auto ck = pkey_to_cose_key(key.get());
    ASSERT_TRUE(ck);
    auto back = cose_key_to_pkey(*ck);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_TRUE(ossl::public_keys_equal(back->get(), key.get()));
  }
  auto key = fresh_key(ossl::KeyType::EcP256);
  auto xy = ossl::ec_public_xy(key.get());
  ASSERT_TRUE(xy);
  EXPECT_TRUE(cose_key_to_pkey(ec2_key(1, xy->x, xy->y)));

  expect_error(cose_key_to_pkey(CborValue::array()), ErrorCode::KeyInvalid, "not a map");
  expect_error(cose_key_to_pkey(CborValue::map()), ErrorCode::KeyInvalid, "empty");
  expect_error(cose_key_to_pkey(ec2_key(2, xy->x, xy->y)), ErrorCode::KeyInvalid,
               "P-384 with 32-byte coords");
  expect_error(cose_key_to_pkey(ec2_key(7, xy->x, xy->y)), ErrorCode::UnsupportedAlgorithm,
               "crv 7");
  Bytes short_x(xy->x.begin() + 1, xy->x.end());
  expect_error(cose_key_to_pkey(ec2_key(1, short_x, xy->y)), ErrorCode::KeyInvalid, "short x");
  Bytes off_curve = xy->y;
  off_curve[31] ^= 0x01;
  expect_error(cose_key_to_pkey(ec2_key(1, xy->x, off_curve)), ErrorCode::KeyInvalid, "off curve");

  CborValue compressed = CborValue::map({{CborValue::integer(1), CborValue::integer(2)},
                                         {CborValue::integer(-1), CborValue::integer(1)},
                                         {CborValue::integer(-2), CborValue::bytes(xy->x)},
                                         {CborValue::integer(-3), CborValue::boolean(true)}});
  expect_error(cose_key_to_pkey(compressed), ErrorCode::KeyInvalid, "compressed");
  CborValue with_alg = ec2_key(1, xy->x, xy->y);
  with_alg.map_put(CborValue::integer(3), CborValue::integer(kCoseAlgEs384));
  expect_error(cose_key_to_pkey(with_alg), ErrorCode::KeyTypeMismatch, "alg ES384 on P-256");
  CborValue rsa = CborValue::map({{CborValue::integer(1), CborValue::integer(3)},
                                  {CborValue::integer(-1), CborValue::bytes(hex("010001"))}});
  expect_error(cose_key_to_pkey(rsa), ErrorCode::KeyInvalid, "RSA key (n as crv label)");
  CborValue x25519 = CborValue::map({{CborValue::integer(1), CborValue::integer(1)},
                                     {CborValue::integer(-1), CborValue::integer(4)},
                                     {CborValue::integer(-2), CborValue::bytes(Bytes(32, 9))}});
  expect_error(cose_key_to_pkey(x25519), ErrorCode::UnsupportedAlgorithm, "X25519");
  CborValue ed_short = CborValue::map({{CborValue::integer(1), CborValue::integer(1)},
                                       {CborValue::integer(-1), CborValue::integer(6)},
                                       {CborValue::integer(-2), CborValue::bytes(Bytes(31, 9))}});
  expect_error(cose_key_to_pkey(ed_short), ErrorCode::KeyInvalid, "Ed25519 31 bytes");
  CborValue kty_text = CborValue::map({{CborValue::integer(1), CborValue::text("EC2")}});
  expect_error(cose_key_to_pkey(kty_text), ErrorCode::KeyInvalid, "kty text");
}

// ---------------------------------------------------------------------------
// Output for tests/interop/test_cose_interop.py: messages signed here, checked
// there with Python `cryptography` + `cbor2`. The directory is
// $ATLS_COSE_OUT_DIR, or cose_out/ under the working directory (the build's
// tests/ directory under ctest).

void write_file(const std::filesystem::path& p, ByteView data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << p;
}

TEST(CoseInterop, WriteSignedMessages) {
  const char* env = std::getenv("ATLS_COSE_OUT_DIR");
  const std::filesystem::path dir =
      env != nullptr ? std::filesystem::path(env) : std::filesystem::path("cose_out");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ASSERT_FALSE(ec) << dir;
  struct Case {
    const char* name;
    ossl::KeyType type;
    bool tagged;
    bool cwt;
    const char* aad;
  };
  for (const Case& c :
       {Case{"es256", ossl::KeyType::EcP256, true, false, ""},
        Case{"es256-untagged-aad", ossl::KeyType::EcP256, false, false, "0102030405"},
        Case{"es256-cwt", ossl::KeyType::EcP256, true, true, ""},
        Case{"es384", ossl::KeyType::EcP384, true, false, "aa"},
        Case{"es512", ossl::KeyType::EcP521, true, false, ""},
        Case{"eddsa", ossl::KeyType::Ed25519, true, false, "bb"}}) {
    SCOPED_TRACE(c.name);
    auto key = fresh_key(c.type);
    ASSERT_TRUE(key);
    CoseSignOptions opts;
    opts.tagged = c.tagged;
    opts.cwt_tagged = c.cwt;
    opts.external_aad = hex(c.aad);
    opts.unprotected.emplace_back(CborValue::uint(4), CborValue::bytes(to_bytes(c.name)));
    const Bytes payload =
        cbor_encode(CborValue::map({{CborValue::uint(10), CborValue::bytes(Bytes(32, 0x5a))}}));
    auto msg = sign_cose_sign1(key.get(), payload, opts);
    ASSERT_TRUE(msg);
    auto pem = ossl::public_key_pem(key.get());
    ASSERT_TRUE(pem);
    auto cose_key = pkey_to_cose_key(key.get());
    ASSERT_TRUE(cose_key);
    write_file(dir / (std::string(c.name) + ".cbor"), *msg);
    write_file(dir / (std::string(c.name) + ".pem"), to_bytes(*pem));
    write_file(dir / (std::string(c.name) + ".cosekey.cbor"), cbor_encode(*cose_key));
    write_file(dir / (std::string(c.name) + ".aad"), opts.external_aad);
    write_file(dir / (std::string(c.name) + ".payload"), payload);
  }
}

}  // namespace
}  // namespace atls
