#pragma once

// Bounded JSON parsing over nlohmann::json: size and depth limits,
// duplicate object keys rejected, no exceptions escape.

#include <atls/result.h>

#include <nlohmann/json.hpp>

#include <string_view>

namespace atls {

struct JsonLimits {
  std::size_t max_size = 4 * 1024 * 1024;
  std::size_t max_depth = 64;
};

// parse_json parses one JSON text (RFC 8259) with nothing but whitespace
// after it. Fails with JsonMalformed, JsonTooLarge, JsonTooDeep or
// JsonDuplicateKey.
Result<nlohmann::json> parse_json(std::string_view text, const JsonLimits& limits = {});

// json_dump serialises compactly, never throwing (invalid UTF-8 is replaced).
std::string json_dump(const nlohmann::json& j, int indent = -1);

}  // namespace atls
