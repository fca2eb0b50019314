#include "src/formats/json/json.h"

#include <gtest/gtest.h>

#include <string>

namespace atls {
namespace {

TEST(Json, ParsesValidText) {
  auto j = parse_json(R"( {"a": [1, 2.5, "x", true, null], "b": {"c": "\u00e9"}} )");
  ASSERT_TRUE(j) << j.error().to_string();
  EXPECT_EQ((*j)["a"][0], 1);
  EXPECT_EQ((*j)["b"]["c"], "\xc3\xa9");
  EXPECT_TRUE(parse_json("0"));
  EXPECT_TRUE(parse_json("\"s\""));
  EXPECT_TRUE(parse_json("[]"));
  // The same key in different objects is fine.
  EXPECT_TRUE(parse_json(R"({"a": {"a": 1}, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]})"));
}

TEST(Json, RejectsDuplicateKeys) {
  EXPECT_EQ(parse_json(R"({"a": 1, "a": 2})").error().code, ErrorCode::JsonDuplicateKey);
  EXPECT_EQ(parse_json(R"({"a": 1, "b": {"x": 1, "y": 2, "x": 3}})").error().code,
            ErrorCode::JsonDuplicateKey);
  EXPECT_EQ(parse_json(R"([{"ok": 1}, {"k": 1, "k": 1}])").error().code,
            ErrorCode::JsonDuplicateKey);
  // Keys that are equal after unescaping are duplicates.
  EXPECT_EQ(parse_json(R"({"a": 1, "\u0061": 2})").error().code, ErrorCode::JsonDuplicateKey);
  // The empty key, too.
  EXPECT_EQ(parse_json(R"({"": 1, "": 2})").error().code, ErrorCode::JsonDuplicateKey);
  EXPECT_EQ(parse_json(R"({"x": {"": 1, "": 2}})").error().code, ErrorCode::JsonDuplicateKey);
  auto e = parse_json(R"({"dup": 1, "dup": 2})");
  EXPECT_NE(e.error().detail.find("dup"), std::string::npos);
}

TEST(Json, DepthLimit) {
  JsonLimits limits;
  limits.max_depth = 4;
  EXPECT_TRUE(parse_json("[[[[1]]]]", limits));
  EXPECT_EQ(parse_json("[[[[[1]]]]]", limits).error().code, ErrorCode::JsonTooDeep);
  EXPECT_EQ(parse_json(R"({"a":{"b":{"c":{"d":{}}}}})", limits).error().code,
            ErrorCode::JsonTooDeep);
  // Brackets inside strings do not count.
  EXPECT_TRUE(parse_json(R"(["[[[[[[[[", "\"[[[[[["])", limits));
  // A depth bomb with the default limit fails fast and cleanly.
  const std::string bomb(100000, '[');
  EXPECT_EQ(parse_json(bomb).error().code, ErrorCode::JsonTooDeep);
}

TEST(Json, SizeLimit) {
  JsonLimits limits;
  limits.max_size = 8;
  EXPECT_TRUE(parse_json("[1,2,3]", limits));
  EXPECT_EQ(parse_json("[1,2,3,4]", limits).error().code, ErrorCode::JsonTooLarge);
}

TEST(Json, RejectsMalformedText) {
  EXPECT_EQ(parse_json("").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("{} x").error().code, ErrorCode::JsonMalformed);  // trailing garbage
  EXPECT_EQ(parse_json("{}{}").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("1 2").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("[1,]").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("{'a': 1}").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("[1] // c").error().code, ErrorCode::JsonMalformed);  // no comments
  EXPECT_EQ(parse_json("[NaN]").error().code, ErrorCode::JsonMalformed);
  // A NUL byte ends input for nlohmann's lexer; it must not hide trailing data.
  EXPECT_EQ(parse_json(std::string("[1]\0", 4)).error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json(std::string("{\"a\":1}\0{\"a\":2}", 15)).error().code,
            ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("\"unterminated").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("\"ctl\x01\"").error().code, ErrorCode::JsonMalformed);
  EXPECT_TRUE(parse_json(" [1] \n\t"));  // trailing whitespace is fine
}

TEST(Json, RejectsInvalidUtf8) {
  EXPECT_EQ(parse_json("\"\xff\"").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("\"\xc0\xaf\"").error().code, ErrorCode::JsonMalformed);      // overlong
  EXPECT_EQ(parse_json("\"\xed\xa0\x80\"").error().code, ErrorCode::JsonMalformed);  // surrogate
  EXPECT_EQ(parse_json("\"\xf4\x90\x80\x80\"").error().code, ErrorCode::JsonMalformed);
  EXPECT_EQ(parse_json("\"\xe6\xb0\"").error().code, ErrorCode::JsonMalformed);  // truncated
  EXPECT_EQ(parse_json("{\"\xff\": 1}").error().code, ErrorCode::JsonMalformed);
  // A lone escaped surrogate is not a character either.
  EXPECT_EQ(parse_json(R"("\ud800")").error().code, ErrorCode::JsonMalformed);
  EXPECT_TRUE(parse_json(R"("\ud83d\ude00")"));
}

TEST(Json, DumpNeverThrows) {
  nlohmann::json j = std::string("bad \xff utf8");
  const std::string out = json_dump(j);
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(json_dump(nlohmann::json{{"a", 1}}), R"({"a":1})");
  EXPECT_EQ(json_dump(nlohmann::json{{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}

}  // namespace
}  // namespace atls
