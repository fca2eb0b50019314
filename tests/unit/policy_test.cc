// The appraisal policy (src/attestation/policy.h, docs/policy.md): parsing,
// the defaults, max_result_age, and strictness about unknown keys.

#include "src/attestation/policy.h"

#include "src/core/defaults.h"
#include "src/core/encoding.h"
#include "src/plugins/builtin_plugins.h"
#include "tests/testlib/process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace atls {
namespace {

const Registry& registry() {
  static const Registry r = builtin_registry();
  return r;
}

Result<Policy> parse(const nlohmann::json& doc) {
  return parse_policy(doc.dump(), registry(), ".");
}

ErrorCode parse_error(const nlohmann::json& doc) {
  auto p = parse(doc);
  return p ? ErrorCode::Ok : p.error().code;
}

TEST(Policy, DefaultsAreTheDocumentedOnes) {
  // docs/policy.md: affirming, 300 s evidence and result age, 3600 s
  // re-attestation, EARs from "atls <version>" valid 300 s.
  const Policy d;
  EXPECT_EQ(d.required_tier, TrustTier::Affirming);
  EXPECT_EQ(d.max_evidence_age, 300);
  EXPECT_EQ(d.max_result_age, 300);
  EXPECT_EQ(d.reattest_interval, 3600);
  EXPECT_EQ(d.ear.lifetime, 300);
  EXPECT_EQ(d.ear.developer, "atls");
  EXPECT_EQ(d.ear.build, std::string("atls ") + ATLS_VERSION_STRING);
  EXPECT_TRUE(d.ear.signing_key.empty());
  EXPECT_TRUE(d.machine_ids.empty());
  EXPECT_TRUE(d.schemes.empty());
}

TEST(Policy, AnEmptyDocumentIsTheDefaultPolicy) {
  auto p = parse(nlohmann::json::object());
  ASSERT_TRUE(p) << p.error().to_string();
  const Policy d;
  EXPECT_EQ(p->required_tier, d.required_tier);
  EXPECT_EQ(p->max_evidence_age, d.max_evidence_age);
  EXPECT_EQ(p->max_result_age, d.max_result_age);
  EXPECT_EQ(p->reattest_interval, d.reattest_interval);
  EXPECT_EQ(p->ear.build, d.ear.build);
  EXPECT_EQ(p->ear.lifetime, d.ear.lifetime);
  EXPECT_EQ(p->base_dir, ".");
  EXPECT_NE(p->files, nullptr);
}

TEST(Policy, TopLevelSettings) {
  auto p = parse({{"required_tier", "warning"},
                  {"max_evidence_age", 0},
                  {"max_result_age", 60},
                  {"reattest_interval", 120},
                  {"machine_ids", {"ueid:01"}},
                  {"ear", {{"developer", "me"}, {"build", "b 1"}, {"lifetime", 30}}},
                  {"comment", {{"anything", 1}}}});
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->required_tier, TrustTier::Warning);
  EXPECT_EQ(p->max_evidence_age, 0);
  EXPECT_EQ(p->max_result_age, 60);
  EXPECT_EQ(p->reattest_interval, 120);
  EXPECT_EQ(p->machine_ids, std::vector<std::string>{"ueid:01"});
  EXPECT_EQ(p->ear.developer, "me");
  EXPECT_EQ(p->ear.build, "b 1");
  EXPECT_EQ(p->ear.lifetime, 30);
}

TEST(Policy, MaxResultAgeMustBeAPositiveInteger) {
  EXPECT_EQ(parse_error({{"max_result_age", 0}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"max_result_age", -1}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"max_result_age", "60"}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"max_result_age", 1.5}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"max_result_age", 1}}), ErrorCode::Ok);
}

TEST(Policy, BadValues) {
  EXPECT_EQ(parse_error({{"required_tier", "great"}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"max_evidence_age", -1}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"reattest_interval", 0}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"machine_ids", "ueid:01"}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"machine_ids", {""}}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"ear", {{"build", 1}}}}), ErrorCode::PolicyInvalid);
  EXPECT_EQ(parse_error({{"schemes", {1, 2}}}), ErrorCode::PolicyInvalid);
  EXPECT_NE(parse_error(nlohmann::json::array()), ErrorCode::Ok);
  auto bad_json = parse_policy("{", registry(), ".");
  ASSERT_FALSE(bad_json);
}

TEST(Policy, UnknownKeysAreRefusedAndNamed) {
  auto top = parse({{"max_result_ag", 60}});
  ASSERT_FALSE(top);
  EXPECT_EQ(top.error().code, ErrorCode::PolicyInvalid);
  EXPECT_NE(top.error().detail.find("max_result_ag"), std::string::npos) << top.error().detail;
  auto ear = parse({{"ear", {{"lifetim", 30}}}});
  ASSERT_FALSE(ear);
  EXPECT_NE(ear.error().detail.find("lifetim"), std::string::npos) << ear.error().detail;
  auto section =
      parse({{"schemes", {{"application/eat+cwt", {{"trusts", nlohmann::json::object()}}}}}});
  ASSERT_FALSE(section);
  EXPECT_EQ(section.error().code, ErrorCode::PolicyInvalid);
  EXPECT_NE(section.error().detail.find("trusts"), std::string::npos) << section.error().detail;
  auto plugin = parse(
      {{"schemes", {{"application/eat+cwt", {{"trust", {{"kyes", nlohmann::json::array()}}}}}}}});
  ASSERT_FALSE(plugin);
  EXPECT_EQ(plugin.error().code, ErrorCode::PolicyInvalid);
}

TEST(Policy, SchemesNeedAVerifier) {
  auto p = parse({{"schemes", {{"application/x-unknown", nlohmann::json::object()}}}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::PolicyInvalid);
  auto ok_scheme = parse({{"schemes", {{"application/eat+cwt", nlohmann::json::object()}}}});
  ASSERT_TRUE(ok_scheme) << ok_scheme.error().to_string();
  ASSERT_NE(ok_scheme->scheme("application/eat+cwt"), nullptr);
  EXPECT_EQ(ok_scheme->scheme("application/eat+jwt"), nullptr);
}

TEST(Policy, LoadPolicyFileNamesTheFile) {
  auto missing = load_policy_file("/nonexistent/policy.json", registry());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::FileNotFound);
}

// FileCache (docs/policy.md, "File references"): a file is read once and
// then checked at most once per re-check interval; within the interval no
// verification touches the file system, after it a change on disk is seen.
TEST(FileCache, WithinTheIntervalTheKeptCopyIsUsed) {
  const test::TempDir dir;
  ASSERT_TRUE(test::write_text_file(dir.file("anchor.pem"), "first"));
  const FileCache cache(std::chrono::hours(1));
  auto a = cache.load(dir.path(), "anchor.pem");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, to_bytes("first"));
  ASSERT_TRUE(test::write_text_file(dir.file("anchor.pem"), "second, longer"));
  auto b = cache.load(dir.path(), "anchor.pem");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, to_bytes("first"));
  ASSERT_EQ(std::remove(dir.file("anchor.pem").c_str()), 0);
  auto c = cache.load(dir.path(), "anchor.pem");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, to_bytes("first"));
}

TEST(FileCache, AfterTheIntervalChangesAreSeen) {
  const test::TempDir dir;
  ASSERT_TRUE(test::write_text_file(dir.file("anchor.pem"), "first"));
  const FileCache cache(std::chrono::milliseconds(0));
  auto a = cache.load(dir.path(), "anchor.pem");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, to_bytes("first"));
  // Another size, so that the stamp differs whatever the file system's
  // time granularity.
  ASSERT_TRUE(test::write_text_file(dir.file("anchor.pem"), "second, longer"));
  auto b = cache.load(dir.path(), "anchor.pem");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, to_bytes("second, longer"));
  ASSERT_EQ(std::remove(dir.file("anchor.pem").c_str()), 0);
  auto c = cache.load(dir.path(), "anchor.pem");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::FileNotFound);
}

TEST(FileCache, DefaultIntervalIsOneSecond) {
  EXPECT_EQ(FileCache::kDefaultRecheck, std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace atls
