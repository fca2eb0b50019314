#include "src/core/encoding.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <string>

namespace atls {
namespace {

TEST(Hex, RoundTripAndCase) {
  EXPECT_EQ(to_hex(Bytes{}), "");
  EXPECT_EQ(to_hex(Bytes{0x00, 0x0f, 0xa5, 0xff}), "000fa5ff");
  EXPECT_EQ(from_hex("000FA5ff").value(), (Bytes{0x00, 0x0f, 0xa5, 0xff}));
  EXPECT_EQ(from_hex("").value(), Bytes{});
}

TEST(Hex, RejectsBadInput) {
  EXPECT_EQ(from_hex("abc").error().code, ErrorCode::InvalidHex);
  EXPECT_EQ(from_hex("0g").error().code, ErrorCode::InvalidHex);
  EXPECT_EQ(from_hex("0x00").error().code, ErrorCode::InvalidHex);
  EXPECT_EQ(from_hex("00 11").error().code, ErrorCode::InvalidHex);
  EXPECT_EQ(from_hex(std::string("0\0", 2)).error().code, ErrorCode::InvalidHex);
}

// RFC 4648 §10 test vectors; the padding is dropped for the unpadded URL
// alphabet (none of these inputs produce '+' or '/').
TEST(Base64Url, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(to_bytes(plain)), encoded) << plain;
    auto d = base64url_decode(encoded);
    ASSERT_TRUE(d) << encoded;
    EXPECT_EQ(*d, to_bytes(plain));
  }
}

TEST(Base64Url, UrlAlphabet) {
  // 0xfb 0xff 0xbf is "+/+/" in the standard alphabet.
  EXPECT_EQ(base64url_encode(Bytes{0xfb, 0xef, 0xbe}), "----");
  EXPECT_EQ(base64url_encode(Bytes{0xff, 0xff, 0xff}), "____");
  EXPECT_EQ(base64url_decode("-_-_").value(), (Bytes{0xfb, 0xff, 0xbf}));
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) {
    all[i] = static_cast<std::uint8_t>(i);
  }
  EXPECT_EQ(base64url_decode(base64url_encode(all)).value(), all);
}

TEST(Base64Url, RejectsNonCanonicalInput) {
  EXPECT_EQ(base64url_decode("Zg==").error().code, ErrorCode::InvalidBase64);  // padding
  EXPECT_EQ(base64url_decode("Zm8=").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64url_decode("+/+/").error().code, ErrorCode::InvalidBase64);  // standard alphabet
  EXPECT_EQ(base64url_decode("ab+c").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64url_decode("ab/c").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64url_decode("Zh").error().code, ErrorCode::InvalidBase64);  // trailing bits set
  EXPECT_EQ(base64url_decode("Zm9").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64url_decode("Z").error().code, ErrorCode::InvalidBase64);  // length % 4 == 1
  EXPECT_EQ(base64url_decode("Zm9vY").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64url_decode("Zm 9v").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64url_decode("Zm9v\n").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64url_decode(std::string("Zm\0v", 4)).error().code, ErrorCode::InvalidBase64);
}

TEST(Base64Lenient, AcceptsBothAlphabetsAndPadding) {
  EXPECT_EQ(base64_decode_lenient("Zg==").value(), to_bytes("f"));
  EXPECT_EQ(base64_decode_lenient("Zm8=").value(), to_bytes("fo"));
  EXPECT_EQ(base64_decode_lenient("+/+/").value(), (Bytes{0xfb, 0xff, 0xbf}));
  EXPECT_EQ(base64_decode_lenient("-_-_").value(), (Bytes{0xfb, 0xff, 0xbf}));
  EXPECT_EQ(base64_decode_lenient("Zg").value(), to_bytes("f"));
  EXPECT_EQ(base64_decode_lenient("Z===").error().code, ErrorCode::InvalidBase64);
  EXPECT_EQ(base64_decode_lenient("Zg=a").error().code, ErrorCode::InvalidBase64);
}

TEST(Bytes, Helpers) {
  EXPECT_EQ(to_bytes("ab"), (Bytes{'a', 'b'}));
  const Bytes b{'x', 'y'};
  EXPECT_EQ(as_string_view(b), "xy");
  EXPECT_TRUE(constant_time_equal(Bytes{}, Bytes{}));
  EXPECT_TRUE(constant_time_equal(Bytes{1, 2}, Bytes{1, 2}));
  EXPECT_FALSE(constant_time_equal(Bytes{1, 2}, Bytes{1, 3}));
  EXPECT_FALSE(constant_time_equal(Bytes{1, 2}, Bytes{1, 2, 3}));
}

TEST(Utf8, AcceptsWellFormed) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8(std::string("\0", 1)));
  EXPECT_TRUE(is_valid_utf8("\xc2\x80"));          // U+0080
  EXPECT_TRUE(is_valid_utf8("\xdf\xbf"));          // U+07FF
  EXPECT_TRUE(is_valid_utf8("\xe0\xa0\x80"));      // U+0800
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));      // U+D7FF
  EXPECT_TRUE(is_valid_utf8("\xee\x80\x80"));      // U+E000
  EXPECT_TRUE(is_valid_utf8("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(is_valid_utf8("\xf0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_TRUE(is_valid_utf8("\xe6\xb0\xb4 \xf0\x9f\x98\x80"));
}

TEST(Utf8, RejectsMalformed) {
  // Overlong encodings.
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xe0\x9f\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));
  // Surrogates U+D800..U+DFFF.
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));
  // Above U+10FFFF, and 5/6-byte forms.
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf7\xbf\xbf\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xfc\x84\x80\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xfe"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  // Truncated sequences, also at the very end.
  EXPECT_FALSE(is_valid_utf8("\xc2"));
  EXPECT_FALSE(is_valid_utf8("\xe6\xb0"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x98"));
  EXPECT_FALSE(is_valid_utf8("a\xe6\xb0"));
  EXPECT_FALSE(is_valid_utf8("\xe6\xb0z"));
  // Lone continuation bytes.
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("a\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xc2\x80\x80"));
}

}  // namespace
}  // namespace atls
