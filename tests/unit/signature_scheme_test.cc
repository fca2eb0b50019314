#include "src/tls/signature_scheme.h"

#include "src/core/encoding.h"

#include "tests/testlib/ea_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace atls::tls {
namespace {

using test::make_key;

TEST(SignatureSchemes, MatchKeys) {
  auto p256 = make_key(ossl::KeyType::EcP256);
  auto ed = make_key(ossl::KeyType::Ed25519);
  EXPECT_TRUE(signature_scheme_matches_key(kEcdsaSecp256r1Sha256, p256.get()));
  EXPECT_FALSE(signature_scheme_matches_key(kEcdsaSecp384r1Sha384, p256.get()));
  EXPECT_FALSE(signature_scheme_matches_key(kRsaPssRsaeSha256, p256.get()));
  EXPECT_TRUE(signature_scheme_matches_key(kEd25519, ed.get()));
  EXPECT_FALSE(signature_scheme_matches_key(0x0401, p256.get()));
  EXPECT_FALSE(is_supported_signature_scheme(0x0401));
  EXPECT_TRUE(is_supported_signature_scheme(kRsaPssRsaeSha384));
}

TEST(SignatureSchemes, AlgorithmsAndSelection) {
  EXPECT_EQ(signature_scheme_alg(kEd25519), ossl::SignatureAlg::Ed25519);
  EXPECT_EQ(signature_scheme_alg(kEcdsaSecp384r1Sha384), ossl::SignatureAlg::EcdsaSha384);
  EXPECT_EQ(signature_scheme_alg(kRsaPssRsaeSha384), ossl::SignatureAlg::RsaPssSha384);
  EXPECT_FALSE(signature_scheme_alg(0x0603));  // ecdsa_secp521r1_sha512: not ours
  for (const std::uint16_t s : supported_signature_schemes()) {
    EXPECT_TRUE(signature_scheme_alg(s)) << s;
  }
  auto p256 = make_key(ossl::KeyType::EcP256);
  // The first offered scheme the key can produce, in the offerer's order.
  const std::uint16_t offered[] = {kEd25519, 0x0603, kEcdsaSecp256r1Sha256, kEcdsaSecp384r1Sha384};
  EXPECT_EQ(select_signature_scheme(offered, p256.get()), kEcdsaSecp256r1Sha256);
  const std::uint16_t only_ed[] = {kEd25519};
  EXPECT_FALSE(select_signature_scheme(only_ed, p256.get()));
  EXPECT_FALSE(select_signature_scheme(offered, nullptr));
}

// signature_algorithms extension_data (RFC 8446 §4.2.3).
TEST(SignatureAlgorithms, RoundTrip) {
  const std::vector<std::uint16_t> list = {kEcdsaSecp256r1Sha256, kEd25519, 0x0603};
  auto enc = encode_signature_algorithms(list);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(*enc), "0006040308070603");
  auto dec = parse_signature_algorithms(*enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(*dec, list);  // unknown schemes are kept
  EXPECT_EQ(encode_signature_algorithms({}).error().code, ErrorCode::InvalidArgument);
  const std::vector<std::uint16_t> too_many(0x8000, kEd25519);
  EXPECT_EQ(encode_signature_algorithms(too_many).error().code, ErrorCode::InvalidArgument);
  const std::vector<std::uint16_t> most(0x7fff, kEd25519);
  EXPECT_TRUE(encode_signature_algorithms(most));
}

TEST(SignatureAlgorithms, Malformed) {
  const std::vector<std::string> bad = {
      "",            // nothing
      "00",          // short length
      "0000",        // empty list
      "000104",      // under one scheme
      "0003040308",  // partial scheme
      "0002040300",  // trailing byte
      "00040403",    // overruns
  };
  for (const std::string& h : bad) {
    auto b = from_hex(h);
    ASSERT_TRUE(b);
    auto r = parse_signature_algorithms(*b);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::EaRequestMalformed) << h;
  }
}

}  // namespace
}  // namespace atls::tls
