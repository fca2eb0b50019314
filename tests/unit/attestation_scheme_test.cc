#include "src/tls/attestation_scheme.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace atls::tls {
namespace {

TEST(AttestationScheme, EncodingAndRoundTrip) {
  const std::vector<AttestationScheme> list = {
      AttestationScheme::evidence_content_format(0x1234),
      AttestationScheme::evidence_media_type("ab"),
      AttestationScheme::result(Bytes{0xEE}),
  };
  auto enc = encode_attestation_schemes(list);
  ASSERT_TRUE(enc);
  EXPECT_EQ(to_hex(*enc),
            "000e"
            "00001234"
            "0001"
            "00026162"
            "01"
            "0001ee");
  auto dec = parse_attestation_scheme_list(*enc, ErrorCode::NegotiationMalformed);
  ASSERT_TRUE(dec);
  EXPECT_EQ(*dec, list);
  EXPECT_FALSE(list[0] == list[1]);
}

TEST(AttestationScheme, Malformed) {
  const std::vector<std::string> bad = {
      "",
      "00",
      "0001",
      "000102",        // truncated
      "00020200",      // unknown mechanism
      "00020002",      // unknown type_encoding
      "0003000012",    // short content_format
      "000400010005",  // media type overruns
      "0003010001",    // verifier identity overruns
      "000400001234"
      "00",  // trailing byte
  };
  for (const std::string& h : bad) {
    auto b = from_hex(h);
    ASSERT_TRUE(b);
    auto r = parse_attestation_scheme_list(*b, ErrorCode::EaRequestMalformed);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, ErrorCode::EaRequestMalformed) << h;
  }
}

}  // namespace
}  // namespace atls::tls
