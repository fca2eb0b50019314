#pragma once

// Helpers the verifier and appraiser plug-ins share to validate and read
// their policy sections ("trust" and "reference"). Every check fails with
// ErrorCode::PolicyInvalid; the wording a plug-in wants in the detail (the
// section's name, what a file must hold) is passed in, so that each
// plug-in keeps its own error texts.

#include <atls/bytes.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace atls::internal {

// only_keys checks that |section| is an object whose keys are all in
// |allowed|. The detail names |where| ("<where> must be an object",
// "unknown key \"k\" in <where>"); with |where| empty it is
// "must be an object" and "unknown key \"k\"".
Result<void> only_keys(const nlohmann::json& section, const std::set<std::string>& allowed,
                       std::string_view where = {});

// check_file_list checks that |value| is a file reference or a non-empty
// list of them. On failure the detail is "\"<key>\" must be <what>".
Result<void> check_file_list(const nlohmann::json& value, std::string_view key,
                             std::string_view what);

// check_string_array checks that |section|[|key|], when present, is an
// array (possibly empty) of strings. On failure the detail is
// "\"<key>\" must be <what>".
Result<void> check_string_array(const nlohmann::json& section, std::string_view key,
                                std::string_view what);

// check_boolean and check_string check the type of |section|[|key|] when
// present ("\"<key>\" must be a boolean", "\"<key>\" must be a string").
Result<void> check_boolean(const nlohmann::json& section, std::string_view key);
Result<void> check_string(const nlohmann::json& section, std::string_view key);

// file_refs returns the file references under |key| of |section|: one
// string or a list (non-string entries are skipped). Empty when |section|
// is not an object or has no |key|.
std::vector<std::string> file_refs(const nlohmann::json& section, std::string_view key);

// kDangerousAnyMeasurement is the reference-section key with which a policy
// for a hardware scheme accepts any measurement (docs/policy.md). Without
// reference values a genuine machine of the same kind, rented by anyone,
// would pass; so such a policy fails to load unless it says this, and then
// the executables claim is kExecutablesUnrecognized.
inline constexpr std::string_view kDangerousAnyMeasurement = "dangerous_any_measurement";

// AR4SI executables value "unrecognized run-time" (warning): what a hardware
// appraiser reports when it compared no measurement of the workload.
inline constexpr std::int8_t kExecutablesUnrecognized = 33;

// require_reference_values checks the opt-in above: when |has_values| is
// false, |section| must hold "dangerous_any_measurement": true, else the
// detail is "no reference values (<which>); ...". The key, when present,
// must be a boolean, and true only without reference values.
Result<void> require_reference_values(const nlohmann::json& section, bool has_values,
                                      std::string_view which);

// load_file reads the policy file |ref| through |ctx|.load; without a
// loader it fails with FileNotFound ("no loader for policy file \"<ref>\"").
Result<Bytes> load_file(const VerifyContext& ctx, const std::string& ref);

// json_hex decodes |value| as hex; a value that is not a string fails with
// InvalidHex, as malformed hex does.
Result<Bytes> json_hex(const nlohmann::json& value);

// hex_equal compares two hex strings as bytes, in constant time (a policy
// may use upper case). False when either is not a string or not hex.
bool hex_equal(const nlohmann::json& a, const nlohmann::json& b);

// check_digests checks the optional |key| of |section|: a hex digest of
// |size| bytes or a non-empty list of them (PolicyInvalid otherwise).
Result<void> check_digests(const nlohmann::json& section, const char* key, std::size_t size);

// matches_any compares the claim |have| (hex) with the reference values
// |want| (a hex string or a list), as bytes: true when one equals it.
bool matches_any(const nlohmann::json& have, const nlohmann::json& want);

}  // namespace atls::internal
