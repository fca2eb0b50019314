#include "src/attestation/policy_sections.h"

#include "src/core/encoding.h"

#include <utility>

namespace atls::internal {

Result<void> only_keys(const nlohmann::json& section, const std::set<std::string>& allowed,
                       std::string_view where) {
  if (!section.is_object()) {
    std::string detail = "must be an object";
    if (!where.empty()) {
      detail = std::string(where) + " " + detail;
    }
    return Error{ErrorCode::PolicyInvalid, std::move(detail)};
  }
  for (const auto& item : section.items()) {
    if (allowed.count(item.key()) == 0) {
      std::string detail = "unknown key \"" + item.key() + "\"";
      if (!where.empty()) {
        detail += " in " + std::string(where);
      }
      return Error{ErrorCode::PolicyInvalid, std::move(detail)};
    }
  }
  return ok();
}

Result<void> check_file_list(const nlohmann::json& value, std::string_view key,
                             std::string_view what) {
  bool good = value.is_string() || (value.is_array() && !value.empty());
  if (value.is_array()) {
    for (const auto& r : value) {
      good = good && r.is_string();
    }
  }
  if (!good) {
    return Error{ErrorCode::PolicyInvalid,
                 "\"" + std::string(key) + "\" must be " + std::string(what)};
  }
  return ok();
}

Result<void> check_string_array(const nlohmann::json& section, std::string_view key,
                                std::string_view what) {
  const std::string k(key);
  if (!section.contains(k)) {
    return ok();
  }
  const auto& v = section[k];
  bool good = v.is_array();
  for (const auto& e : good ? v : nlohmann::json::array()) {
    good = good && e.is_string();
  }
  if (!good) {
    return Error{ErrorCode::PolicyInvalid, "\"" + k + "\" must be " + std::string(what)};
  }
  return ok();
}

Result<void> check_boolean(const nlohmann::json& section, std::string_view key) {
  const std::string k(key);
  if (section.contains(k) && !section[k].is_boolean()) {
    return Error{ErrorCode::PolicyInvalid, "\"" + k + "\" must be a boolean"};
  }
  return ok();
}

Result<void> check_string(const nlohmann::json& section, std::string_view key) {
  const std::string k(key);
  if (section.contains(k) && !section[k].is_string()) {
    return Error{ErrorCode::PolicyInvalid, "\"" + k + "\" must be a string"};
  }
  return ok();
}

std::vector<std::string> file_refs(const nlohmann::json& section, std::string_view key) {
  std::vector<std::string> refs;
  const std::string k(key);
  if (!section.is_object() || !section.contains(k)) {
    return refs;
  }
  const auto& v = section[k];
  if (v.is_string()) {
    refs.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& r : v) {
      if (r.is_string()) {
        refs.push_back(r.get<std::string>());
      }
    }
  }
  return refs;
}

Result<Bytes> load_file(const VerifyContext& ctx, const std::string& ref) {
  if (!ctx.load) {
    return Error{ErrorCode::FileNotFound, "no loader for policy file \"" + ref + "\""};
  }
  return ctx.load(ref);
}

Result<Bytes> json_hex(const nlohmann::json& value) {
  return value.is_string() ? from_hex(value.get<std::string>())
                           : Result<Bytes>(ErrorCode::InvalidHex);
}

bool hex_equal(const nlohmann::json& a, const nlohmann::json& b) {
  if (!a.is_string() || !b.is_string()) {
    return false;
  }
  const auto x = from_hex(a.get<std::string>());
  const auto y = from_hex(b.get<std::string>());
  return x && y && constant_time_equal(*x, *y);
}

Result<void> check_digests(const nlohmann::json& section, const char* key, std::size_t size) {
  if (!section.contains(key)) {
    return ok();
  }
  const auto& v = section[key];
  const bool list = v.is_array();
  if ((!list && !v.is_string()) || (list && v.empty())) {
    return Error{ErrorCode::PolicyInvalid,
                 std::string("\"") + key + "\" must be a hex digest or a non-empty list of them"};
  }
  for (const auto& d : list ? v : nlohmann::json::array({v})) {
    auto b = json_hex(d);
    if (!b || b->size() != size) {
      return Error{ErrorCode::PolicyInvalid, std::string("each value of \"") + key + "\" must be " +
                                                 std::to_string(size) + " bytes of hex"};
    }
  }
  return ok();
}

bool matches_any(const nlohmann::json& have, const nlohmann::json& want) {
  bool found = false;
  for (const auto& d : want.is_array() ? want : nlohmann::json::array({want})) {
    found = hex_equal(have, d) || found;
  }
  return found;
}

Result<void> require_reference_values(const nlohmann::json& section, bool has_values,
                                      std::string_view which) {
  const std::string key(kDangerousAnyMeasurement);
  ATLS_TRY(check_boolean(section, key));
  const bool any = section.is_object() && section.value(key, false);
  if (has_values && any) {
    return Error{ErrorCode::PolicyInvalid,
                 "\"" + key + "\" cannot be combined with reference values"};
  }
  if (!has_values && !any) {
    return Error{ErrorCode::PolicyInvalid,
                 "no reference values (" + std::string(which) + "): any genuine machine would " +
                     "pass; give reference values or \"" + key + "\": true"};
  }
  return ok();
}

}  // namespace atls::internal
