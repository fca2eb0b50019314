#pragma once

// The appraisal policy: per media type, trust anchors ("trust") and
// reference values ("reference"), plus what the relying party requires of a
// result. JSON; unknown keys anywhere are an error. See docs/policy.md.

#include <atls/bytes.h>
#include <atls/result.h>
#include <atls/trust.h>

#include "src/core/defaults.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace atls {

class Registry;

struct SchemePolicy {
  nlohmann::json trust = nlohmann::json::object();
  nlohmann::json reference = nlohmann::json::object();
};

struct EarIssuerPolicy {
  std::string signing_key;  // file reference (PEM private key), "" = no EAR
  std::string developer = std::string(internal::kDefaultEarDeveloper);
  std::string build = std::string(internal::kBuildString);
  std::int64_t lifetime = internal::kDefaultEarLifetime;  // seconds until the EAR's exp
};

// FileCache keeps the contents of a policy's file references, so that a
// verification does not read its trust anchors from disk again. A cached
// file is used only while its identity and times (device, inode, size,
// mtime, ctime) are unchanged, so an edited or replaced file is read again.
// The identity is checked (one stat) at most once per |recheck| interval per
// file, not on every verification: a file edited on disk is seen within a
// second (docs/policy.md, "File references"). Thread-safe.
class FileCache {
 public:
  static constexpr std::chrono::milliseconds kDefaultRecheck{1000};

  explicit FileCache(std::chrono::steady_clock::duration recheck = kDefaultRecheck)
      : m_recheck(recheck) {}
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // load is load_reference(base_dir, ref) through the cache: the same
  // contents and the same errors.
  Result<Bytes> load(const std::string& base_dir, const std::string& ref) const;

 private:
  struct Stamp {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t mtime_s = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_s = 0;
    std::int64_t ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Entry {
    Stamp stamp;
    Bytes contents;
    std::chrono::steady_clock::time_point checked;  // when |stamp| was taken
  };
  static constexpr std::size_t kMaxEntries = 256;
  const std::chrono::steady_clock::duration m_recheck;
  mutable std::mutex m_mutex;
  mutable std::map<std::string, Entry> m_entries;  // by path
};

// Policy is what a relying party (or a passport attester's in-process
// Verifier) appraises with. A default-constructed Policy is the policy of a
// configuration that names none: the defaults below, no trust anchors, no
// reference values.
struct Policy {
  // The tier a result must reach to be accepted.
  TrustTier required_tier = TrustTier::Affirming;
  // Maximum age of evidence that carries its own time (seconds; 0 = none).
  std::int64_t max_evidence_age = internal::kDefaultMaxEvidenceAge;
  // Maximum age of a passport's attestation result (seconds, > 0): an EAR
  // issued longer ago is EvidenceStale.
  std::int64_t max_result_age = internal::kDefaultMaxResultAge;
  // How long an appraisal stays valid before re-attestation (seconds).
  std::int64_t reattest_interval = internal::kDefaultReattestInterval;
  // Pinned machine identifiers; empty = any machine.
  std::vector<std::string> machine_ids;
  // Per media type.
  std::map<std::string, SchemePolicy> schemes;
  EarIssuerPolicy ear;
  // Directory that relative file references are resolved against.
  std::string base_dir;
  // The contents of file references, shared by copies of the policy (set by
  // parse_policy; null: every verification reads them).
  std::shared_ptr<const FileCache> files;

  const SchemePolicy* scheme(const std::string& media_type) const;
};

// parse_policy parses and validates a policy document. Every scheme must
// have a verifier in |registry|, and its sections are validated by the
// plug-ins. Fails with PolicyInvalid (detail names the offending key) or the
// JSON parser's codes.
Result<Policy> parse_policy(std::string_view json_text, const Registry& registry,
                            std::string base_dir);

// load_policy_file reads and parses a policy file.
Result<Policy> load_policy_file(const std::string& path, const Registry& registry);

// load_reference resolves a file reference of |policy|: inline PEM text
// (starting with "-----BEGIN") is returned as is; anything else is a path,
// relative to policy.base_dir unless absolute. Fails with FileNotFound or
// IoError.
Result<Bytes> load_reference(const std::string& base_dir, const std::string& ref);

// read_file_bytes reads a whole file (at most 16 MiB).
Result<Bytes> read_file_bytes(const std::string& path);

}  // namespace atls
