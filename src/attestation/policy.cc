#include "src/attestation/policy.h"

#include "src/attestation/policy_sections.h"
#include "src/attestation/registry.h"
#include "src/formats/json/json.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

namespace atls {
namespace {

constexpr std::size_t kMaxPolicyFile = 16 * 1024 * 1024;

using internal::only_keys;

Result<std::int64_t> non_negative(const nlohmann::json& v, const std::string& name) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
    return Error{ErrorCode::PolicyInvalid, name + " must be a non-negative integer (seconds)"};
  }
  return v.get<std::int64_t>();
}

Result<TrustTier> tier(const nlohmann::json& v) {
  if (v.is_string()) {
    for (const TrustTier t :
         {TrustTier::None, TrustTier::Affirming, TrustTier::Warning, TrustTier::Contraindicated}) {
      if (tier_name(t) == v.get_ref<const std::string&>()) {
        return t;
      }
    }
  }
  return Error{
      ErrorCode::PolicyInvalid,
      "required_tier must be one of \"affirming\", \"warning\", \"none\", \"contraindicated\""};
}

std::string reference_path(const std::string& base_dir, const std::string& ref) {
  return ref[0] == '/' || base_dir.empty() ? ref : base_dir + "/" + ref;
}

}  // namespace

const SchemePolicy* Policy::scheme(const std::string& media_type) const {
  const auto it = schemes.find(media_type);
  return it == schemes.end() ? nullptr : &it->second;
}

Result<Policy> parse_policy(std::string_view json_text, const Registry& registry,
                            std::string base_dir) {
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json doc, parse_json(json_text));
  ATLS_TRY(only_keys(doc,
                     {"required_tier", "max_evidence_age", "max_result_age", "reattest_interval",
                      "machine_ids", "schemes", "ear", "comment"},
                     "the policy"));
  Policy p;
  p.base_dir = std::move(base_dir);
  p.files = std::make_shared<const FileCache>();
  if (doc.contains("required_tier")) {
    ATLS_ASSIGN_OR_RETURN(p.required_tier, tier(doc["required_tier"]));
  }
  if (doc.contains("max_evidence_age")) {
    ATLS_ASSIGN_OR_RETURN(p.max_evidence_age,
                          non_negative(doc["max_evidence_age"], "max_evidence_age"));
  }
  if (doc.contains("max_result_age")) {
    ATLS_ASSIGN_OR_RETURN(p.max_result_age, non_negative(doc["max_result_age"], "max_result_age"));
    if (p.max_result_age == 0) {
      return Error{ErrorCode::PolicyInvalid, "max_result_age must be positive"};
    }
  }
  if (doc.contains("reattest_interval")) {
    ATLS_ASSIGN_OR_RETURN(p.reattest_interval,
                          non_negative(doc["reattest_interval"], "reattest_interval"));
    if (p.reattest_interval == 0) {
      return Error{ErrorCode::PolicyInvalid, "reattest_interval must be positive"};
    }
  }
  if (doc.contains("machine_ids")) {
    const auto& ids = doc["machine_ids"];
    if (!ids.is_array()) {
      return Error{ErrorCode::PolicyInvalid, "machine_ids must be an array of strings"};
    }
    for (const auto& id : ids) {
      if (!id.is_string() || id.get_ref<const std::string&>().empty()) {
        return Error{ErrorCode::PolicyInvalid, "machine_ids must be an array of strings"};
      }
      p.machine_ids.push_back(id.get<std::string>());
    }
  }
  if (doc.contains("ear")) {
    const auto& ear = doc["ear"];
    ATLS_TRY(only_keys(ear, {"signing_key", "developer", "build", "lifetime"}, "\"ear\""));
    for (const char* k : {"signing_key", "developer", "build"}) {
      if (ear.contains(k) && !ear[k].is_string()) {
        return Error{ErrorCode::PolicyInvalid, std::string("ear.") + k + " must be a string"};
      }
    }
    p.ear.signing_key = ear.value("signing_key", "");
    p.ear.developer = ear.value("developer", p.ear.developer);
    p.ear.build = ear.value("build", p.ear.build);
    if (ear.contains("lifetime")) {
      ATLS_ASSIGN_OR_RETURN(p.ear.lifetime, non_negative(ear["lifetime"], "ear.lifetime"));
    }
  }
  if (doc.contains("schemes")) {
    const auto& schemes = doc["schemes"];
    if (!schemes.is_object()) {
      return Error{ErrorCode::PolicyInvalid, "schemes must be an object keyed by media type"};
    }
    for (const auto& [media_type, section] : schemes.items()) {
      const std::string where = "schemes[\"" + media_type + "\"]";
      ATLS_TRY(only_keys(section, {"trust", "reference"}, where));
      const Verifier* v = registry.verifier_for(media_type);
      if (v == nullptr) {
        return Error{ErrorCode::PolicyInvalid, "no verifier for media type \"" + media_type + "\""};
      }
      SchemePolicy sp;
      if (section.contains("trust")) {
        sp.trust = section["trust"];
      }
      if (section.contains("reference")) {
        sp.reference = section["reference"];
      }
      auto t = v->check_trust_section(sp.trust);
      if (!t) {
        return Error{ErrorCode::PolicyInvalid, where + ".trust: " + t.error().to_string()};
      }
      if (const Appraiser* a = registry.appraiser_for(media_type)) {
        auto r = a->check_reference_section(sp.reference);
        if (!r) {
          return Error{ErrorCode::PolicyInvalid, where + ".reference: " + r.error().to_string()};
        }
      } else if (!sp.reference.empty()) {
        return Error{ErrorCode::PolicyInvalid, where + ".reference: no appraiser for this type"};
      }
      p.schemes.emplace(media_type, std::move(sp));
    }
  }
  return p;
}

Result<Bytes> read_file_bytes(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Error{errno == ENOENT ? ErrorCode::FileNotFound : ErrorCode::IoError,
                 path + ": " + std::strerror(errno)};
  }
  Bytes out;
  std::uint8_t buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (out.size() + n > kMaxPolicyFile) {
      std::fclose(f);
      return Error{ErrorCode::FileTooLarge, path};
    }
    out.insert(out.end(), buf, buf + n);
  }
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) {
    return Error{ErrorCode::IoError, path + ": read error"};
  }
  return out;
}

Result<Policy> load_policy_file(const std::string& path, const Registry& registry) {
  ATLS_ASSIGN_OR_RETURN(const Bytes text, read_file_bytes(path));
  const auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  auto p = parse_policy(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()),
                        registry, dir);
  if (!p) {
    Error e = std::move(p).error();
    e.detail = path + ": " + e.detail;
    return e;
  }
  return p;
}

Result<Bytes> load_reference(const std::string& base_dir, const std::string& ref) {
  if (ref.rfind("-----BEGIN", 0) == 0) {
    return Bytes(ref.begin(), ref.end());
  }
  if (ref.empty()) {
    return Error{ErrorCode::FileNotFound, "empty file reference"};
  }
  return read_file_bytes(reference_path(base_dir, ref));
}

Result<Bytes> FileCache::load(const std::string& base_dir, const std::string& ref) const {
  if (ref.empty() || ref.rfind("-----BEGIN", 0) == 0) {
    return load_reference(base_dir, ref);
  }
  const std::string path = reference_path(base_dir, ref);
  const auto now = std::chrono::steady_clock::now();
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_entries.find(path);
    if (it != m_entries.end() && now - it->second.checked < m_recheck) {
      return it->second.contents;
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    // read_file_bytes reports the error (or reads what is not a plain file).
    return read_file_bytes(path);
  }
  Stamp stamp;
  stamp.device = static_cast<std::uint64_t>(st.st_dev);
  stamp.inode = static_cast<std::uint64_t>(st.st_ino);
  stamp.size = static_cast<std::int64_t>(st.st_size);
  stamp.mtime_s = static_cast<std::int64_t>(st.st_mtim.tv_sec);
  stamp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  stamp.ctime_s = static_cast<std::int64_t>(st.st_ctim.tv_sec);
  stamp.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_nsec);
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_entries.find(path);
    if (it != m_entries.end() && it->second.stamp == stamp) {
      it->second.checked = now;
      return it->second.contents;
    }
  }
  // The stamp was taken before reading: if the file changes meanwhile, the
  // next stat differs and the file is read again.
  ATLS_ASSIGN_OR_RETURN(Bytes contents, read_file_bytes(path));
  const std::lock_guard<std::mutex> lock(m_mutex);
  if (m_entries.size() >= kMaxEntries && m_entries.count(path) == 0) {
    m_entries.clear();
  }
  m_entries[path] = Entry{stamp, contents, now};
  return contents;
}

}  // namespace atls
