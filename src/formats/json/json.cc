#include "src/formats/json/json.h"

#include <set>
#include <string>
#include <vector>

namespace atls {
namespace {

// max_nesting scans brackets outside strings; it lets us refuse a depth bomb
// before the parser builds anything.
std::size_t max_nesting(std::string_view text) {
  std::size_t depth = 0;
  std::size_t max = 0;
  bool in_string = false;
  bool escape = false;
  for (const char c : text) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max = std::max(max, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max;
}

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_size) {
    return Error{ErrorCode::JsonTooLarge,
                 std::to_string(text.size()) + " bytes exceeds " + std::to_string(limits.max_size)};
  }
  // nlohmann's lexer takes a NUL byte for the end of input, so "[1]\0junk"
  // would parse as [1]. A raw NUL is never valid JSON text (RFC 8259 §7:
  // control characters must be escaped, and none may appear outside strings).
  if (text.find('\0') != std::string_view::npos) {
    return Error{ErrorCode::JsonMalformed, "NUL byte in JSON text"};
  }
  if (max_nesting(text) > limits.max_depth) {
    return Error{ErrorCode::JsonTooDeep, "nesting exceeds " + std::to_string(limits.max_depth)};
  }
  std::vector<std::set<std::string>> keys;
  // A flag, not duplicate.empty(): the empty string is a valid key too.
  bool has_duplicate = false;
  std::string duplicate;
  const nlohmann::json::parser_callback_t cb = [&](int, nlohmann::json::parse_event_t ev,
                                                   nlohmann::json& parsed) {
    switch (ev) {
      case nlohmann::json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case nlohmann::json::parse_event_t::object_end:
        if (!keys.empty()) {
          keys.pop_back();
        }
        break;
      case nlohmann::json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get_ref<const std::string&>()).second && !has_duplicate) {
          has_duplicate = true;
          duplicate = parsed.get_ref<const std::string&>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), cb, true, false);
    if (has_duplicate) {
      return Error{ErrorCode::JsonDuplicateKey, "\"" + duplicate + "\""};
    }
    return j;
  } catch (const nlohmann::json::exception& e) {
    return Error{ErrorCode::JsonMalformed, e.what()};
  } catch (const std::exception& e) {
    return Error{ErrorCode::JsonMalformed, e.what()};
  }
}

std::string json_dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace atls
