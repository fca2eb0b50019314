#include "src/formats/cbor/cbor.h"

#include "src/core/encoding.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

namespace atls {
namespace {

using test::hex;

// RFC 8949 Appendix A: encoded bytes and their diagnostic notation.
struct Example {
  const char* hex;
  const char* diag;
};

TEST(Cbor, Rfc8949AppendixARoundTrip) {
  const Example examples[] = {
      {"00", "0"},
      {"17", "23"},
      {"1818", "24"},
      {"1903e8", "1000"},
      {"1b000000e8d4a51000", "1000000000000"},
      {"1bffffffffffffffff", "18446744073709551615"},
      {"20", "-1"},
      {"3863", "-100"},
      {"3bffffffffffffffff", "-18446744073709551616"},
      {"f4", "false"},
      {"f5", "true"},
      {"f6", "null"},
      {"f7", "undefined"},
      {"40", "h''"},
      {"4401020304", "h'01020304'"},
      {"60", "\"\""},
      {"6161", "\"a\""},
      {"6449455446", "\"IETF\""},
      {"62225c", "\"\\\"\\\\\""},
      {"63e6b0b4", "\"\xe6\xb0\xb4\""},
      {"80", "[]"},
      {"83010203", "[1, 2, 3]"},
      {"8301820203820405", "[1, [2, 3], [4, 5]]"},
      {"a0", "{}"},
      {"a201020304", "{1: 2, 3: 4}"},
      {"a26161016162820203", "{\"a\": 1, \"b\": [2, 3]}"},
      {"c074323031332d30332d32315432303a30343a30305a", "0(\"2013-03-21T20:04:00Z\")"},
      {"d74401020304", "23(h'01020304')"},
      {"c11a514b67b0", "1(1363896240)"},
      {"d28440a040f6", "18([h'', {}, h'', null])"},
      {"d4f5", "20(true)"},
      {"d818456449455446", "24(h'6449455446')"},
  };
  for (const auto& ex : examples) {
    const Bytes in = hex(ex.hex);
    auto v = cbor_decode(in);
    ASSERT_TRUE(v) << ex.hex << ": " << v.error().to_string();
    EXPECT_EQ(cbor_diag(*v), ex.diag) << ex.hex;
    EXPECT_EQ(cbor_encode(*v), in) << ex.hex;
  }
}

TEST(Cbor, IndefiniteLengthDecodes) {
  auto v = cbor_decode(hex("5f42010243030405ff"));
  ASSERT_TRUE(v);
  EXPECT_EQ(cbor_diag(*v), "h'0102030405'");
  v = cbor_decode(hex("bf61610161629f0203ffff"));
  ASSERT_TRUE(v);
  EXPECT_EQ(cbor_diag(*v), "{\"a\": 1, \"b\": [2, 3]}");
}

TEST(Cbor, RejectsBadInput) {
  EXPECT_EQ(cbor_decode(hex("")).error().code, ErrorCode::CborMalformed);
  EXPECT_EQ(cbor_decode(hex("830102")).error().code, ErrorCode::CborMalformed);  // truncated
  EXPECT_EQ(cbor_decode(hex("0000")).error().code, ErrorCode::CborTrailingData);
  EXPECT_EQ(cbor_decode(hex("a201020103")).error().code, ErrorCode::CborDuplicateKey);
  EXPECT_EQ(cbor_decode(hex("62c328")).error().code, ErrorCode::CborInvalidUtf8);
  EXPECT_EQ(cbor_decode(hex("9bffffffffffffffff")).error().code, ErrorCode::CborMalformed);
  EXPECT_EQ(cbor_decode(hex("5bffffffffffffffff")).error().code, ErrorCode::CborMalformed);
  EXPECT_EQ(cbor_decode(hex("ff")).error().code, ErrorCode::CborMalformed);
  EXPECT_EQ(cbor_decode(hex("1c")).error().code, ErrorCode::CborMalformed);
  Bytes deep(100000, 0x81);
  deep.push_back(0x00);
  EXPECT_EQ(cbor_decode(deep).error().code, ErrorCode::CborTooDeep);
  CborLimits small;
  small.max_size = 4;
  EXPECT_EQ(cbor_decode(hex("4401020304"), small).error().code, ErrorCode::CborTooLarge);
}

// nest wraps |inner| (hex) in |n| containers, each written as |one| (hex):
// "81" for [x], "a100" for {0: x}, "c1" for 1(x).
Bytes nest(std::size_t n, const std::string& one, const std::string& inner) {
  std::string h;
  for (std::size_t i = 0; i < n; ++i) {
    h += one;
  }
  return hex(h + inner);
}

// max_depth counts arrays, maps and tags; a scalar adds no level. Depth ==
// max_depth decodes and one more is CborTooDeep, whatever the innermost item
// is. cbor_from_diag counts the same way (Edn.DepthLimitMatchesDecoder).
TEST(Cbor, DepthLimitCountsContainers) {
  CborLimits limits;
  limits.max_depth = 32;
  const std::size_t max = limits.max_depth;
  const struct {
    const char* one;
    const char* inner;
    std::size_t depth_of_inner;
  } shapes[] = {
      {"81", "80", 1},        // [[...[]...]]
      {"81", "00", 0},        // [[...[0]...]]
      {"a100", "a0", 1},      // {0: {0: ... {}}}
      {"c1", "00", 0},        // 1(1(...1(0)))
      {"81", "5f4101ff", 0},  // an indefinite-length string adds no level
  };
  for (const auto& s : shapes) {
    const Bytes at_max = nest(max - s.depth_of_inner, s.one, s.inner);
    auto v = cbor_decode(at_max, limits);
    EXPECT_TRUE(v) << to_hex(at_max) << ": " << v.error().to_string();
    const Bytes over = nest(max - s.depth_of_inner + 1, s.one, s.inner);
    v = cbor_decode(over, limits);
    ASSERT_FALSE(v) << to_hex(over);
    EXPECT_EQ(v.error().code, ErrorCode::CborTooDeep) << to_hex(over);
  }
  CborLimits flat;
  flat.max_depth = 0;
  EXPECT_TRUE(cbor_decode(hex("01"), flat));
  EXPECT_EQ(cbor_decode(hex("80"), flat).error().code, ErrorCode::CborTooDeep);
}

}  // namespace
}  // namespace atls
