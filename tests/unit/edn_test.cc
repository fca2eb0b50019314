// CBOR diagnostic notation: RFC 8949 Appendix A examples, the CMW test
// suite's .diag files against the .cbor files an independent tool
// (diag2cbor) made from them, and malformed text.

#include "src/formats/cbor/edn.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <cmath>

namespace atls {
namespace {

using test::hex;

Bytes encode_diag(const std::string& text) {
  auto v = cbor_from_diag(text);
  EXPECT_TRUE(v) << text << ": " << v.error().to_string();
  return v ? cbor_encode(*v) : Bytes{};
}

TEST(Edn, Rfc8949AppendixA) {
  const struct {
    const char* diag;
    const char* hex;
  } examples[] = {
      {"0", "00"},
      {"23", "17"},
      {"24", "1818"},
      {"1000000000000", "1b000000e8d4a51000"},
      {"18446744073709551615", "1bffffffffffffffff"},
      {"-1", "20"},
      {"-100", "3863"},
      {"-18446744073709551616", "3bffffffffffffffff"},
      {"false", "f4"},
      {"true", "f5"},
      {"null", "f6"},
      {"undefined", "f7"},
      {"simple(22)", "f6"},
      {"0(\"2013-03-21T20:04:00Z\")", "c074323031332d30332d32315432303a30343a30305a"},
      {"1(1363896240)", "c11a514b67b0"},
      {"23(h'01020304')", "d74401020304"},
      {"24(h'6449455446')", "d818456449455446"},
      {"h''", "40"},
      {"h'01020304'", "4401020304"},
      {"\"\"", "60"},
      {"\"a\"", "6161"},
      {"\"IETF\"", "6449455446"},
      {"\"\\\"\\\\\"", "62225c"},
      {"\"\\u00fc\"", "62c3bc"},
      {"\"\\u6c34\"", "63e6b0b4"},
      {"\"\\ud800\\udd51\"", "64f0908591"},
      {"[]", "80"},
      {"[1, 2, 3]", "83010203"},
      {"[1, [2, 3], [4, 5]]", "8301820203820405"},
      {"{}", "a0"},
      {"{1: 2, 3: 4}", "a201020304"},
      {"{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203"},
      {"[\"a\", {\"b\": \"c\"}]", "826161a161626163"},
  };
  for (const auto& e : examples) {
    EXPECT_EQ(encode_diag(e.diag), hex(e.hex)) << e.diag;
  }
}

TEST(Edn, FloatsCommentsAndByteStringForms) {
  auto v = cbor_from_diag("[1.5, -4.1, 1.0e+300, Infinity, -Infinity, NaN]");
  ASSERT_TRUE(v) << v.error().to_string();
  ASSERT_EQ(v->items().size(), 6u);
  EXPECT_EQ(*v->items()[0].as_float(), 1.5);
  EXPECT_EQ(*v->items()[1].as_float(), -4.1);
  EXPECT_EQ(*v->items()[2].as_float(), 1.0e+300);
  EXPECT_TRUE(std::isinf(*v->items()[3].as_float()));
  EXPECT_TRUE(std::isnan(*v->items()[5].as_float()));
  EXPECT_EQ(encode_diag("/ a comment / [ h'01 02\n 03' , b64'AQID' ] / trailing /"),
            hex("8243010203"
                "43010203"));
}

TEST(Edn, CmwSuiteDiagMatchesDiag2cbor) {
  for (const char* name : {"veraison_cmw_collection-cbor-ok", "veraison_cmw_collection-cbor-ok-2",
                           "veraison_cmw_collection-cbor-mixed-keys"}) {
    const std::string base = std::string("cmw/vectors/") + name;
    EXPECT_EQ(encode_diag(test::read_text(base + ".diag")), test::read_data(base + ".cbor"))
        << name;
  }
}

TEST(Edn, MalformedText) {
  const struct {
    const char* text;
    ErrorCode code;
  } bad[] = {
      {"", ErrorCode::CborMalformed},
      {"[1, 2", ErrorCode::CborMalformed},
      {"[1 2]", ErrorCode::CborMalformed},
      {"{1: 2, 1: 3}", ErrorCode::CborDuplicateKey},
      {"{1 2}", ErrorCode::CborMalformed},
      {"h'0'", ErrorCode::CborMalformed},
      {"h'zz'", ErrorCode::CborMalformed},
      {"\"abc", ErrorCode::CborMalformed},
      {"\"\\q\"", ErrorCode::CborMalformed},
      {"\"\\ud800\"", ErrorCode::CborInvalidUtf8},
      {"18446744073709551616", ErrorCode::CborIntegerOutOfRange},
      {"simple(24)", ErrorCode::CborIntegerOutOfRange},
      {"simple(16)", ErrorCode::CborMalformed},
      {"simple(255)", ErrorCode::CborMalformed},
      {"1 2", ErrorCode::CborMalformed},
      {"1(", ErrorCode::CborMalformed},
      {"@", ErrorCode::CborMalformed},
  };
  for (const auto& b : bad) {
    auto v = cbor_from_diag(b.text);
    ASSERT_FALSE(v) << b.text;
    EXPECT_EQ(v.error().code, b.code) << b.text << ": " << v.error().to_string();
  }
  const std::string deep(100, '[');
  EXPECT_EQ(cbor_from_diag(deep).error().code, ErrorCode::CborTooDeep);
  CborLimits small;
  small.max_size = 4;
  EXPECT_EQ(cbor_from_diag("[1, 2, 3]", small).error().code, ErrorCode::CborTooLarge);
}

// nest writes |inner| inside |n| containers, each |open| ... |close|.
std::string nest(std::size_t n, const std::string& open, const std::string& inner,
                 const std::string& close) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) {
    text += open;
  }
  text += inner;
  for (std::size_t i = 0; i < n; ++i) {
    text += close;
  }
  return text;
}

// Text and binary agree on max_depth: what cbor_from_diag accepts, cbor_decode
// accepts as CBOR with the same limits, and both refuse one level more. The
// fuzz campaign found 33 nested empty arrays accepted here and refused there
// at max_depth 32 (docs/fuzzing.md, finding 13).
TEST(Edn, DepthLimitMatchesDecoder) {
  CborLimits limits;
  limits.max_depth = 32;
  CborLimits roomy;
  roomy.max_depth = 64;
  const std::size_t max = limits.max_depth;
  const struct {
    const char* open;
    const char* inner;
    const char* close;
    std::size_t depth_of_inner;
  } shapes[] = {
      {"[", "", "]", 0},       // the innermost array is empty
      {"[", "0", "]", 0},      // a scalar adds no level
      {"[", "[]", "]", 1},     // an empty array inside adds one
      {"{0: ", "{}", "}", 1},  // maps
      {"1(", "0", ")", 0},     // tags
  };
  for (const auto& s : shapes) {
    const std::size_t at_max = max - s.depth_of_inner;
    const std::string ok_text = nest(at_max, s.open, s.inner, s.close);
    auto v = cbor_from_diag(ok_text, limits);
    ASSERT_TRUE(v) << ok_text << ": " << v.error().to_string();
    auto decoded = cbor_decode(cbor_encode(*v), limits);
    ASSERT_TRUE(decoded) << ok_text << ": " << decoded.error().to_string();
    EXPECT_TRUE(*decoded == *v) << ok_text;

    const std::string deep_text = nest(at_max + 1, s.open, s.inner, s.close);
    v = cbor_from_diag(deep_text, limits);
    ASSERT_FALSE(v) << deep_text;
    EXPECT_EQ(v.error().code, ErrorCode::CborTooDeep) << deep_text;
    auto wide = cbor_from_diag(deep_text, roomy);
    ASSERT_TRUE(wide) << deep_text;
    decoded = cbor_decode(cbor_encode(*wide), limits);
    ASSERT_FALSE(decoded) << deep_text;
    EXPECT_EQ(decoded.error().code, ErrorCode::CborTooDeep) << deep_text;
  }
  // The reproducer from the campaign, also in tests/fuzz/corpus/edn.
  EXPECT_EQ(cbor_from_diag(nest(33, "[", "", "]"), limits).error().code, ErrorCode::CborTooDeep);
  CborLimits flat;
  flat.max_depth = 0;
  EXPECT_TRUE(cbor_from_diag("1", flat));
  EXPECT_EQ(cbor_from_diag("[]", flat).error().code, ErrorCode::CborTooDeep);
  EXPECT_EQ(cbor_from_diag("1(2)", flat).error().code, ErrorCode::CborTooDeep);
}

}  // namespace
}  // namespace atls
