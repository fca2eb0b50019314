#include "src/formats/tdx/qe_identity.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"

#include <chrono>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

namespace atls {
namespace {

constexpr std::size_t kMaxQeIdentitySize = 64 * 1024;

Error malformed(std::string detail) {
  return Error{ErrorCode::TdxQeIdentityMalformed, std::move(detail)};
}

// raw_member_object returns the exact text of the object value of member
// |name| of the top-level object of |text|, which must already be known to
// be valid JSON. Keys are compared as sent (an escaped spelling of |name|
// is not found).
std::optional<std::string_view> raw_member_object(std::string_view text, std::string_view name) {
  std::size_t depth = 0;
  std::size_t i = 0;
  const auto skip_ws = [&](std::size_t k) {
    while (k < text.size() &&
           (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r')) {
      ++k;
    }
    return k;
  };
  // Returns the index just after the string that starts at |k| (a quote).
  const auto skip_string = [&](std::size_t k) {
    for (++k; k < text.size(); ++k) {
      if (text[k] == '\\') {
        ++k;
      } else if (text[k] == '"') {
        return k + 1;
      }
    }
    return text.size();
  };
  std::optional<std::size_t> start;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      const std::size_t end = skip_string(i);
      if (depth == 1 && !start) {
        const std::size_t colon = skip_ws(end);
        if (colon < text.size() && text[colon] == ':' && end >= i + 2 &&
            text.substr(i + 1, end - i - 2) == name) {
          const std::size_t v = skip_ws(colon + 1);
          if (v >= text.size() || text[v] != '{') {
            return std::nullopt;
          }
          start = v;
          depth = 2;
          i = v + 1;
          continue;
        }
      }
      i = end;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {
        return std::nullopt;
      }
      --depth;
      if (start && depth == 1) {
        return text.substr(*start, i + 1 - *start);
      }
    }
    ++i;
  }
  return std::nullopt;
}

// Parses "YYYY-MM-DDTHH:MM:SSZ", optionally with fractional seconds before
// the Z (dropped), as Unix seconds.
std::optional<std::int64_t> parse_utc(std::string_view s) {
  const auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > s.size()) {
      return std::nullopt;
    }
    int v = 0;
    for (std::size_t k = at; k < at + n; ++k) {
      if (s[k] < '0' || s[k] > '9') {
        return std::nullopt;
      }
      v = v * 10 + (s[k] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return std::nullopt;
  }
  const auto y = digits(0, 4);
  const auto mo = digits(5, 2);
  const auto d = digits(8, 2);
  const auto h = digits(11, 2);
  const auto mi = digits(14, 2);
  const auto sec = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 60) {
    return std::nullopt;
  }
  if (s.size() > 20) {
    // Fractional seconds: ".d+" before the Z.
    if (s[19] != '.' || s.size() == 21 || !digits(20, s.size() - 21)) {
      return std::nullopt;
    }
  }
  const std::chrono::year_month_day ymd{std::chrono::year{*y},
                                        std::chrono::month{static_cast<unsigned>(*mo)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return days * 86400 + *h * 3600 + *mi * 60 + *sec;
}

Result<std::string> string_field(const nlohmann::json& o, const char* key) {
  if (!o.contains(key) || !o[key].is_string()) {
    return malformed(std::string("enclaveIdentity.") + key + " must be a string");
  }
  return o[key].get<std::string>();
}

Result<std::uint64_t> uint_field(const nlohmann::json& o, const char* key, std::uint64_t max) {
  if (!o.contains(key) || !o[key].is_number_unsigned() || o[key].get<std::uint64_t>() > max) {
    return malformed(std::string(key) + " must be an integer from 0 to " + std::to_string(max));
  }
  return o[key].get<std::uint64_t>();
}

Result<Bytes> hex_field(const nlohmann::json& o, const char* key, std::size_t size) {
  ATLS_ASSIGN_OR_RETURN(const std::string s, string_field(o, key));
  auto b = from_hex(s);
  if (!b || b->size() != size) {
    return malformed(std::string("enclaveIdentity.") + key + " must be " + std::to_string(size) +
                     " bytes of hex");
  }
  return std::move(*b);
}

Result<std::int64_t> date_field(const nlohmann::json& o, const char* key) {
  ATLS_ASSIGN_OR_RETURN(const std::string s, string_field(o, key));
  const auto t = parse_utc(s);
  if (!t) {
    return malformed(std::string("enclaveIdentity.") + key + " is not a UTC date-time");
  }
  return *t;
}

// A 4-byte hex field read as the big-endian number it spells.
Result<std::uint32_t> u32_hex_field(const nlohmann::json& o, const char* key) {
  ATLS_ASSIGN_OR_RETURN(const Bytes b, hex_field(o, key, 4));
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

Result<std::vector<QeTcbLevel>> tcb_levels(const nlohmann::json& o) {
  if (!o.contains("tcbLevels") || !o["tcbLevels"].is_array() || o["tcbLevels"].empty()) {
    return malformed("enclaveIdentity.tcbLevels must be a non-empty array");
  }
  std::vector<QeTcbLevel> out;
  for (const auto& l : o["tcbLevels"]) {
    if (!l.is_object() || !l.contains("tcb") || !l["tcb"].is_object()) {
      return malformed("each tcbLevel must be an object with a \"tcb\" object");
    }
    QeTcbLevel level;
    ATLS_ASSIGN_OR_RETURN(const std::uint64_t svn, uint_field(l["tcb"], "isvsvn", 0xFFFF));
    level.isv_svn = static_cast<std::uint16_t>(svn);
    ATLS_ASSIGN_OR_RETURN(level.tcb_status, string_field(l, "tcbStatus"));
    if (l.contains("tcbDate")) {
      ATLS_ASSIGN_OR_RETURN(level.tcb_date, string_field(l, "tcbDate"));
    }
    out.push_back(std::move(level));
  }
  return out;
}

bool masked_equal(ByteView a, ByteView b, ByteView mask) {
  if (a.size() != mask.size() || b.size() != mask.size()) {
    return false;
  }
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    diff |= static_cast<std::uint8_t>((a[i] ^ b[i]) & mask[i]);
  }
  return diff == 0;
}

bool is_debug(const SgxReportBody& qe) {
  return !qe.attributes.empty() && ((qe.attributes[0] >> kSgxAttrDebugBit) & 1U) != 0;
}

}  // namespace

Result<QeIdentity> parse_qe_identity(ByteView data) {
  if (data.size() > kMaxQeIdentitySize) {
    return malformed("QE Identity document is larger than 64 KiB");
  }
  const std::string_view text = as_string_view(data);
  auto doc = parse_json(text);
  if (!doc) {
    return malformed("QE Identity is not JSON: " + doc.error().detail);
  }
  if (!doc->is_object() || doc->size() != 2 || !doc->contains("enclaveIdentity") ||
      !doc->contains("signature")) {
    return malformed("QE Identity must be {\"enclaveIdentity\": {...}, \"signature\": hex}");
  }
  const nlohmann::json& e = (*doc)["enclaveIdentity"];
  if (!e.is_object()) {
    return malformed("enclaveIdentity must be an object");
  }
  const auto raw = raw_member_object(text, "enclaveIdentity");
  if (!raw) {
    return malformed("the enclaveIdentity text could not be located");
  }
  QeIdentity id;
  id.signed_bytes = to_bytes(*raw);
  ATLS_ASSIGN_OR_RETURN(id.signature, hex_field(*doc, "signature", 64));
  ATLS_ASSIGN_OR_RETURN(const std::uint64_t version, uint_field(e, "version", 0xFFFFFFFF));
  if (version != 2) {
    return malformed("enclaveIdentity.version " + std::to_string(version) + " is not 2");
  }
  id.version = static_cast<std::uint32_t>(version);
  ATLS_ASSIGN_OR_RETURN(id.id, string_field(e, "id"));
  ATLS_ASSIGN_OR_RETURN(id.issue_date, date_field(e, "issueDate"));
  ATLS_ASSIGN_OR_RETURN(id.next_update, date_field(e, "nextUpdate"));
  ATLS_ASSIGN_OR_RETURN(const std::uint64_t eval,
                        uint_field(e, "tcbEvaluationDataNumber", 0xFFFFFFFF));
  id.tcb_evaluation_data_number = static_cast<std::uint32_t>(eval);
  ATLS_ASSIGN_OR_RETURN(id.misc_select, u32_hex_field(e, "miscselect"));
  ATLS_ASSIGN_OR_RETURN(id.misc_select_mask, u32_hex_field(e, "miscselectMask"));
  ATLS_ASSIGN_OR_RETURN(id.attributes, hex_field(e, "attributes", 16));
  ATLS_ASSIGN_OR_RETURN(id.attributes_mask, hex_field(e, "attributesMask", 16));
  ATLS_ASSIGN_OR_RETURN(id.mr_signer, hex_field(e, "mrsigner", 32));
  ATLS_ASSIGN_OR_RETURN(const std::uint64_t prod, uint_field(e, "isvprodid", 0xFFFF));
  id.isv_prod_id = static_cast<std::uint16_t>(prod);
  ATLS_ASSIGN_OR_RETURN(id.tcb_levels, tcb_levels(e));
  return id;
}

Result<void> check_qe_identity_time(const QeIdentity& id, std::int64_t at) {
  if (at < id.issue_date) {
    return Error{ErrorCode::TdxQeIdentityExpired, "the QE Identity is not yet issued"};
  }
  if (at > id.next_update) {
    return Error{ErrorCode::TdxQeIdentityExpired, "the QE Identity is past its nextUpdate"};
  }
  return ok();
}

Result<std::string> match_qe_identity(const QeIdentity& id, const SgxReportBody& qe) {
  if (is_debug(qe)) {
    return Error{ErrorCode::TdxQeDebug, "the QE report has ATTRIBUTES.DEBUG set"};
  }
  if (id.id != "TD_QE") {
    return Error{ErrorCode::TdxQeIdentityMismatch,
                 "the QE Identity is for \"" + id.id + "\", not the TD QE"};
  }
  if (!constant_time_equal(id.mr_signer, qe.mr_signer)) {
    return Error{ErrorCode::TdxQeIdentityMismatch,
                 "QE MRSIGNER " + to_hex(qe.mr_signer) + " is not the identity's"};
  }
  if (id.isv_prod_id != qe.isv_prod_id) {
    return Error{ErrorCode::TdxQeIdentityMismatch,
                 "QE ISVPRODID " + std::to_string(qe.isv_prod_id) + " is not the identity's " +
                     std::to_string(id.isv_prod_id)};
  }
  if (((id.misc_select ^ qe.misc_select) & id.misc_select_mask) != 0) {
    return Error{ErrorCode::TdxQeIdentityMismatch, "QE MISCSELECT does not match under the mask"};
  }
  if (!masked_equal(id.attributes, qe.attributes, id.attributes_mask)) {
    return Error{ErrorCode::TdxQeIdentityMismatch, "QE ATTRIBUTES do not match under the mask"};
  }
  for (const auto& level : id.tcb_levels) {
    if (level.isv_svn <= qe.isv_svn) {
      if (level.tcb_status == "Revoked") {
        return Error{ErrorCode::TcbTooLow,
                     "QE ISVSVN " + std::to_string(qe.isv_svn) + " is at a revoked TCB level"};
      }
      return level.tcb_status;
    }
  }
  return Error{ErrorCode::TcbTooLow, "QE ISVSVN " + std::to_string(qe.isv_svn) +
                                         " is below every tcbLevel of the QE Identity"};
}

namespace {

Result<void> check_intel_qe(const SgxReportBody& qe, const char* mr_signer,
                            std::uint16_t isv_prod_id, const char* which) {
  if (is_debug(qe)) {
    return Error{ErrorCode::TdxQeDebug, "the QE report has ATTRIBUTES.DEBUG set"};
  }
  const Bytes intel = from_hex(mr_signer).value_or(Bytes{});
  if (!constant_time_equal(intel, qe.mr_signer)) {
    return Error{ErrorCode::TdxQeIdentityMismatch,
                 "QE MRSIGNER " + to_hex(qe.mr_signer) + " is not Intel's " + which + "'s"};
  }
  if (qe.isv_prod_id != isv_prod_id) {
    return Error{ErrorCode::TdxQeIdentityMismatch,
                 "QE ISVPRODID " + std::to_string(qe.isv_prod_id) + " is not the " + which +
                     "'s (" + std::to_string(isv_prod_id) + ")"};
  }
  return ok();
}

}  // namespace

Result<void> check_intel_td_qe(const SgxReportBody& qe) {
  return check_intel_qe(qe, kIntelQeMrSigner, kIntelTdQeIsvProdId, "TD QE");
}

Result<void> check_intel_sgx_qe(const SgxReportBody& qe) {
  return check_intel_qe(qe, kIntelSgxQeMrSigner, kIntelSgxQeIsvProdId, "SGX QE");
}

nlohmann::json qe_identity_to_json(const QeIdentity& id) {
  nlohmann::json levels = nlohmann::json::array();
  for (const auto& l : id.tcb_levels) {
    levels.push_back(
        {{"isvsvn", l.isv_svn}, {"tcb_date", l.tcb_date}, {"tcb_status", l.tcb_status}});
  }
  return {{"id", id.id},
          {"version", id.version},
          {"issue_date", id.issue_date},
          {"next_update", id.next_update},
          {"tcb_evaluation_data_number", id.tcb_evaluation_data_number},
          {"miscselect", id.misc_select},
          {"miscselect_mask", id.misc_select_mask},
          {"attributes", to_hex(id.attributes)},
          {"attributes_mask", to_hex(id.attributes_mask)},
          {"mrsigner", to_hex(id.mr_signer)},
          {"isvprodid", id.isv_prod_id},
          {"tcb_levels", std::move(levels)}};
}

}  // namespace atls
