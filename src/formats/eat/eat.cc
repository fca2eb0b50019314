#include "src/formats/eat/eat.h"

#include "src/core/encoding.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>

namespace atls {

bool operator==(const EatSubmod& a, const EatSubmod& b) {
  return a.name == b.name && a.kind == b.kind && a.claims == b.claims &&
         a.cbor_token == b.cbor_token && a.json_token == b.json_token &&
         a.digest_alg == b.digest_alg && a.digest == b.digest;
}

bool operator==(const EatClaims& a, const EatClaims& b) {
  return a.nonces == b.nonces && a.ueid == b.ueid && a.oemid == b.oemid && a.hwmodel == b.hwmodel &&
         a.swname == b.swname && a.swversion == b.swversion && a.measurements == b.measurements &&
         a.dbgstat == b.dbgstat && a.iat == b.iat && a.exp == b.exp && a.nbf == b.nbf &&
         a.profile == b.profile && a.issuer == b.issuer && a.submods == b.submods &&
         a.unknown == b.unknown;
}

namespace {

struct ClaimName {
  std::int64_t key;
  std::string_view name;
};

// JSON claim names of the CWT (RFC 8392 §4) and EAT (RFC 9711 §10) claims.
constexpr std::array kClaimNames = {
    ClaimName{eat_key::kIss, "iss"},
    ClaimName{eat_key::kSub, "sub"},
    ClaimName{eat_key::kAud, "aud"},
    ClaimName{eat_key::kExp, "exp"},
    ClaimName{eat_key::kNbf, "nbf"},
    ClaimName{eat_key::kIat, "iat"},
    ClaimName{eat_key::kCti, "cti"},
    ClaimName{eat_key::kCnf, "cnf"},
    ClaimName{eat_key::kNonce, "eat_nonce"},
    ClaimName{eat_key::kUeid, "ueid"},
    ClaimName{eat_key::kSueids, "sueids"},
    ClaimName{eat_key::kOemid, "oemid"},
    ClaimName{eat_key::kHwmodel, "hwmodel"},
    ClaimName{eat_key::kHwversion, "hwversion"},
    ClaimName{eat_key::kUptime, "uptime"},
    ClaimName{eat_key::kOemboot, "oemboot"},
    ClaimName{eat_key::kDbgstat, "dbgstat"},
    ClaimName{eat_key::kLocation, "location"},
    ClaimName{eat_key::kProfile, "eat_profile"},
    ClaimName{eat_key::kSubmods, "submods"},
    ClaimName{eat_key::kBootcount, "bootcount"},
    ClaimName{eat_key::kBootseed, "bootseed"},
    ClaimName{eat_key::kDloas, "dloas"},
    ClaimName{eat_key::kSwname, "swname"},
    ClaimName{eat_key::kSwversion, "swversion"},
    ClaimName{eat_key::kManifests, "manifests"},
    ClaimName{eat_key::kMeasurements, "measurements"},
    ClaimName{eat_key::kMeasres, "measres"},
    ClaimName{eat_key::kIntuse, "intuse"},
};

// The keys parse_eat_claims turns into typed fields.
constexpr std::array kTypedKeys = {
    eat_key::kIss,       eat_key::kExp,          eat_key::kNbf,     eat_key::kIat,
    eat_key::kNonce,     eat_key::kUeid,         eat_key::kOemid,   eat_key::kHwmodel,
    eat_key::kDbgstat,   eat_key::kProfile,      eat_key::kSubmods, eat_key::kSwname,
    eat_key::kSwversion, eat_key::kMeasurements,
};

bool is_typed_key(const CborValue& key) {
  if (!key.is_integer()) {
    return false;
  }
  auto k = key.as_int64();
  if (!k) {
    return false;
  }
  for (const std::int64_t t : kTypedKeys) {
    if (t == *k) {
      return true;
    }
  }
  return false;
}

constexpr std::array<std::string_view, 5> kDbgstatNames = {
    "enabled", "disabled", "disabled-since-boot", "disabled-permanently",
    "disabled-fully-and-permanently"};

// OID content octets tag (RFC 9090: tag 111 = OID).
constexpr std::uint64_t kOidTag = 111;

Error malformed(std::string_view claim, std::string_view what) {
  return Error{ErrorCode::EatMalformed, std::string(claim) + ": " + std::string(what)};
}

Error bad_claim(std::string_view claim, std::string_view what) {
  return Error{ErrorCode::EatBadClaim, std::string(claim) + ": " + std::string(what)};
}

Result<ByteView> expect_bytes(const CborValue& v, std::string_view claim) {
  if (!v.is_bytes()) {
    return malformed(claim, "expected a byte string");
  }
  return ByteView(v.raw_bytes());
}

Result<std::string> expect_text(const CborValue& v, std::string_view claim) {
  if (!v.is_text()) {
    return malformed(claim, "expected a text string");
  }
  return std::string(v.raw_text());
}

// expect_int accepts any CBOR integer in int64 range; larger magnitudes are
// an out-of-range claim value, not a type error.
Result<std::int64_t> expect_int(const CborValue& v, std::string_view claim) {
  if (!v.is_integer()) {
    return malformed(claim, "expected an integer");
  }
  auto i = v.as_int64();
  if (!i) {
    return bad_claim(claim, "integer out of int64 range");
  }
  return *i;
}

//= https://www.rfc-editor.org/rfc/rfc9711#section-4.1
//# nonce-type = bstr .size (8..64)
Result<Bytes> parse_one_nonce(const CborValue& v) {
  ATLS_ASSIGN_OR_RETURN(const ByteView b, expect_bytes(v, "eat_nonce"));
  if (b.size() < 8 || b.size() > 64) {
    return bad_claim("eat_nonce", "length " + std::to_string(b.size()) + " outside 8..64");
  }
  return Bytes(b.begin(), b.end());
}

//= https://www.rfc-editor.org/rfc/rfc9711#section-4.1
//# nonce-claim = (
//#     nonce-label => nonce-type / [ 2* nonce-type ]
//# )
Result<std::vector<Bytes>> parse_nonces(const CborValue& v) {
  std::vector<Bytes> out;
  if (v.is_array()) {
    if (v.items().size() < 2) {
      return bad_claim("eat_nonce", "an array of nonces needs at least two");
    }
    for (const CborValue& item : v.items()) {
      ATLS_ASSIGN_OR_RETURN(Bytes n, parse_one_nonce(item));
      out.push_back(std::move(n));
    }
    return out;
  }
  ATLS_ASSIGN_OR_RETURN(Bytes n, parse_one_nonce(v));
  out.push_back(std::move(n));
  return out;
}

//= https://www.rfc-editor.org/rfc/rfc9711#section-4.2.1
//# ueid-type = bstr .size (7..33)
// The first byte is the UEID type: 0x01 RAND, 0x02 IEEE EUI, 0x03 IMEI.
Result<Bytes> parse_ueid(const CborValue& v) {
  ATLS_ASSIGN_OR_RETURN(const ByteView b, expect_bytes(v, "ueid"));
  if (b.size() < 7 || b.size() > 33) {
    return bad_claim("ueid", "length " + std::to_string(b.size()) + " outside 7..33");
  }
  if (b[0] < 0x01 || b[0] > 0x03) {
    return bad_claim("ueid", "unknown UEID type " + std::to_string(b[0]));
  }
  return Bytes(b.begin(), b.end());
}

// oemid: IANA Private Enterprise Number (int), IEEE OUI (3-byte bstr) or a
// random 16-byte bstr (RFC 9711 §4.2.3).
Result<CborValue> parse_oemid(const CborValue& v) {
  if (v.is_integer()) {
    ATLS_TRY(expect_int(v, "oemid"));
    return v;
  }
  ATLS_ASSIGN_OR_RETURN(const ByteView b, expect_bytes(v, "oemid"));
  if (b.size() != 3 && b.size() != 16) {
    return bad_claim("oemid", "byte string must be 3 or 16 bytes, not " + std::to_string(b.size()));
  }
  return v;
}

//= https://www.rfc-editor.org/rfc/rfc9711#section-4.2.4
//# hardware-model-type = bytes .size (1..32)
Result<Bytes> parse_hwmodel(const CborValue& v) {
  ATLS_ASSIGN_OR_RETURN(const ByteView b, expect_bytes(v, "hwmodel"));
  if (b.empty() || b.size() > 32) {
    return bad_claim("hwmodel", "length " + std::to_string(b.size()) + " outside 1..32");
  }
  return Bytes(b.begin(), b.end());
}

Result<DebugStatus> parse_dbgstat(const CborValue& v) {
  ATLS_ASSIGN_OR_RETURN(const std::int64_t d, expect_int(v, "dbgstat"));
  if (d < 0 || d > 4) {
    return bad_claim("dbgstat", "value " + std::to_string(d) + " outside 0..4");
  }
  return static_cast<DebugStatus>(d);
}

// Times are CWT NumericDate; RFC 9711 §7.2.1 rules out floating point, so
// only integers are accepted.
Result<std::int64_t> parse_time(const CborValue& v, std::string_view claim) {
  if (v.is_float()) {
    return bad_claim(claim, "floating-point time is not allowed in EAT");
  }
  return expect_int(v, claim);
}

Result<EatSwVersion> parse_swversion(const CborValue& v) {
  if (!v.is_array()) {
    return malformed("swversion", "expected an array");
  }
  if (v.items().empty() || v.items().size() > 2) {
    return malformed("swversion", "expected [version, ?scheme]");
  }
  EatSwVersion out;
  ATLS_ASSIGN_OR_RETURN(out.version, expect_text(v.items()[0], "swversion"));
  if (v.items().size() == 2) {
    ATLS_ASSIGN_OR_RETURN(out.scheme, expect_int(v.items()[1], "swversion scheme"));
  }
  return out;
}

//= https://www.rfc-editor.org/rfc/rfc9711#section-4.2.16
//# measurements-type = [+ measurements-format]
//# measurements-format = [
//#     content-type:   coap-content-format,
//#     content-format: bytes
//# ]
Result<std::vector<EatMeasurement>> parse_measurements(const CborValue& v) {
  if (!v.is_array()) {
    return malformed("measurements", "expected an array");
  }
  if (v.items().empty()) {
    return bad_claim("measurements", "empty array");
  }
  std::vector<EatMeasurement> out;
  for (const CborValue& m : v.items()) {
    if (!m.is_array() || m.items().size() != 2 || !m.items()[0].is_integer()) {
      return malformed("measurements", "expected [content-type, bytes]");
    }
    if (!m.items()[0].is_unsigned()) {
      return bad_claim("measurements", "negative content type");
    }
    EatMeasurement em;
    em.content_type = m.items()[0].raw_uint();
    ATLS_ASSIGN_OR_RETURN(const ByteView b, expect_bytes(m.items()[1], "measurements"));
    em.value.assign(b.begin(), b.end());
    out.push_back(std::move(em));
  }
  return out;
}

// eat_profile: a URI (tstr) or an OID (~oid: untagged bstr; tag 111 is
// accepted too) rendered in dotted form.
Result<std::string> parse_profile(const CborValue& v) {
  if (v.is_text()) {
    return std::string(v.raw_text());
  }
  const CborValue* oid = &v;
  if (v.is_tag() && v.tag_number() == kOidTag) {
    oid = &v.tag_content();
  }
  if (!oid->is_bytes()) {
    return malformed("eat_profile", "expected a URI or an OID");
  }
  auto dotted = oid_to_dotted(oid->raw_bytes());
  if (!dotted) {
    return bad_claim("eat_profile", dotted.error().detail);
  }
  return std::move(*dotted);
}

Result<EatClaims> parse_claims_at(const CborValue& map, std::size_t depth_left);

//= https://www.rfc-editor.org/rfc/rfc9711#section-4.2.18
//# Submodule = Claims-Set / CBOR-Nested-Token /
//#     Detached-Submodule-Digest
Result<EatSubmod> parse_submod(const CborValue& v, std::size_t depth_left) {
  EatSubmod s;
  if (v.is_map()) {
    if (depth_left == 0) {
      return bad_claim("submods", "nested too deeply");
    }
    s.kind = EatSubmod::Kind::Claims;
    ATLS_ASSIGN_OR_RETURN(EatClaims c, parse_claims_at(v, depth_left - 1));
    s.claims.push_back(std::move(c));
    return s;
  }
  if (v.is_bytes()) {
    s.kind = EatSubmod::Kind::CborToken;
    s.cbor_token = v.raw_bytes();
    return s;
  }
  if (v.is_text()) {
    s.kind = EatSubmod::Kind::JsonToken;
    s.json_token = std::string(v.raw_text());
    return s;
  }
  if (v.is_array()) {
    if (v.items().size() != 2) {
      return malformed("submods", "detached digest must be [alg, digest]");
    }
    s.kind = EatSubmod::Kind::DetachedDigest;
    const CborValue& alg = v.items()[0];
    if (alg.is_text()) {
      s.digest_alg = std::string(alg.raw_text());
    } else {
      ATLS_ASSIGN_OR_RETURN(s.digest_alg, expect_int(alg, "submods digest alg"));
    }
    ATLS_ASSIGN_OR_RETURN(const ByteView d, expect_bytes(v.items()[1], "submods digest"));
    s.digest.assign(d.begin(), d.end());
    return s;
  }
  return malformed("submods", "entry is not a claims set, token or digest");
}

Result<std::vector<EatSubmod>> parse_submods(const CborValue& v, std::size_t depth_left) {
  if (!v.is_map()) {
    return malformed("submods", "expected a map");
  }
  if (v.map_size() == 0) {
    return bad_claim("submods", "empty map");
  }
  std::vector<EatSubmod> out;
  for (std::size_t i = 0; i < v.map_size(); ++i) {
    ATLS_ASSIGN_OR_RETURN(std::string name, expect_text(v.map_key(i), "submods name"));
    ATLS_ASSIGN_OR_RETURN(EatSubmod s, parse_submod(v.map_value(i), depth_left));
    s.name = std::move(name);
    out.push_back(std::move(s));
  }
  return out;
}

Result<EatClaims> parse_claims_at(const CborValue& map, std::size_t depth_left) {
  if (!map.is_map()) {
    return Error{ErrorCode::EatMalformed, "claims set is not a map"};
  }
  EatClaims c;
  for (std::size_t i = 0; i < map.map_size(); ++i) {
    const CborValue& key = map.map_key(i);
    const CborValue& value = map.map_value(i);
    if (key.is_text()) {
      c.unknown.map_put(key, value);
      continue;
    }
    if (!key.is_integer()) {
      return Error{ErrorCode::EatMalformed, "claim key is neither int nor text"};
    }
    auto k = key.as_int64();
    if (!k) {
      // A key outside int64 cannot be one of ours; keep it.
      c.unknown.map_put(key, value);
      continue;
    }
    switch (*k) {
      case eat_key::kNonce: {
        ATLS_ASSIGN_OR_RETURN(c.nonces, parse_nonces(value));
        break;
      }
      case eat_key::kUeid: {
        ATLS_ASSIGN_OR_RETURN(c.ueid, parse_ueid(value));
        break;
      }
      case eat_key::kOemid: {
        ATLS_ASSIGN_OR_RETURN(c.oemid, parse_oemid(value));
        break;
      }
      case eat_key::kHwmodel: {
        ATLS_ASSIGN_OR_RETURN(c.hwmodel, parse_hwmodel(value));
        break;
      }
      case eat_key::kSwname: {
        ATLS_ASSIGN_OR_RETURN(c.swname, expect_text(value, "swname"));
        break;
      }
      case eat_key::kSwversion: {
        ATLS_ASSIGN_OR_RETURN(c.swversion, parse_swversion(value));
        break;
      }
      case eat_key::kMeasurements: {
        ATLS_ASSIGN_OR_RETURN(c.measurements, parse_measurements(value));
        break;
      }
      case eat_key::kDbgstat: {
        ATLS_ASSIGN_OR_RETURN(c.dbgstat, parse_dbgstat(value));
        break;
      }
      case eat_key::kIat: {
        ATLS_ASSIGN_OR_RETURN(c.iat, parse_time(value, "iat"));
        break;
      }
      case eat_key::kExp: {
        ATLS_ASSIGN_OR_RETURN(c.exp, parse_time(value, "exp"));
        break;
      }
      case eat_key::kNbf: {
        ATLS_ASSIGN_OR_RETURN(c.nbf, parse_time(value, "nbf"));
        break;
      }
      case eat_key::kProfile: {
        ATLS_ASSIGN_OR_RETURN(c.profile, parse_profile(value));
        break;
      }
      case eat_key::kIss: {
        ATLS_ASSIGN_OR_RETURN(c.issuer, expect_text(value, "iss"));
        break;
      }
      case eat_key::kSubmods: {
        ATLS_ASSIGN_OR_RETURN(c.submods, parse_submods(value, depth_left));
        break;
      }
      default:
        c.unknown.map_put(key, value);
        break;
    }
  }
  //= https://www.rfc-editor.org/rfc/rfc9711#section-4.2.7
  //# This claim MUST only be present if the swname claim described in
  //# Section 4.2.6 is present.
  if (c.swversion && !c.swname) {
    return bad_claim("swversion", "present without swname");
  }
  return c;
}

// is_dotted_oid accepts canonical dotted decimal only (no empty arcs, no
// leading zeros), so that rendering a decoded OID and encoding it again
// gives the same bytes.
bool is_dotted_oid(std::string_view s) {
  if (s.empty() || s.find('.') == std::string_view::npos) {
    return false;
  }
  std::size_t arc_len = 0;
  bool leading_zero = false;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (arc_len == 0) {
        return false;
      }
      arc_len = 0;
      leading_zero = false;
      continue;
    }
    if (s[i] < '0' || s[i] > '9' || leading_zero) {
      return false;
    }
    leading_zero = arc_len == 0 && s[i] == '0';
    ++arc_len;
  }
  return true;
}

CborValue int_value(std::int64_t v) {
  return CborValue::integer(v);
}

CborValue encode_submod(const EatSubmod& s) {
  switch (s.kind) {
    case EatSubmod::Kind::Claims:
      return s.claims.empty() ? CborValue::map() : encode_eat_claims(s.claims.front());
    case EatSubmod::Kind::CborToken:
      return CborValue::bytes(s.cbor_token);
    case EatSubmod::Kind::JsonToken:
      return CborValue::text(s.json_token);
    case EatSubmod::Kind::DetachedDigest: {
      CborValue alg = std::holds_alternative<std::int64_t>(s.digest_alg)
                          ? int_value(std::get<std::int64_t>(s.digest_alg))
                          : CborValue::text(std::get<std::string>(s.digest_alg));
      return CborValue::array({std::move(alg), CborValue::bytes(s.digest)});
    }
  }
  return CborValue::null();
}

nlohmann::json submod_to_json(const EatSubmod& s) {
  switch (s.kind) {
    case EatSubmod::Kind::Claims:
      return s.claims.empty() ? nlohmann::json::object() : eat_claims_to_json(s.claims.front());
    case EatSubmod::Kind::CborToken:
      return nlohmann::json{{"cbor_token", to_hex(s.cbor_token)}};
    case EatSubmod::Kind::JsonToken:
      return nlohmann::json{{"json_token", s.json_token}};
    case EatSubmod::Kind::DetachedDigest: {
      nlohmann::json alg = std::holds_alternative<std::int64_t>(s.digest_alg)
                               ? nlohmann::json(std::get<std::int64_t>(s.digest_alg))
                               : nlohmann::json(std::get<std::string>(s.digest_alg));
      return nlohmann::json{{"digest_alg", std::move(alg)}, {"digest", to_hex(s.digest)}};
    }
  }
  return nullptr;
}

}  // namespace

std::string_view eat_claim_name(std::int64_t key) {
  for (const ClaimName& n : kClaimNames) {
    if (n.key == key) {
      return n.name;
    }
  }
  return {};
}

//= https://www.itu.int/rec/T-REC-X.690 (8.19 Encoding of an object identifier value)
// Each subidentifier is base-128, big-endian, high bit set on all but the
// last byte, with no leading 0x80; the first one packs the first two arcs
// as 40 * X + Y.
Result<std::string> oid_to_dotted(ByteView der_content) {
  if (der_content.empty()) {
    return Error{ErrorCode::EatBadClaim, "empty OID"};
  }
  std::string out;
  std::uint64_t value = 0;
  bool first = true;
  bool in_sub = false;
  for (std::size_t i = 0; i < der_content.size(); ++i) {
    const std::uint8_t b = der_content[i];
    if (!in_sub && b == 0x80) {
      return Error{ErrorCode::EatBadClaim, "non-minimal OID subidentifier"};
    }
    if (value > (UINT64_MAX >> 7)) {
      return Error{ErrorCode::EatBadClaim, "OID subidentifier too large"};
    }
    value = (value << 7) | (b & 0x7f);
    in_sub = true;
    if ((b & 0x80) != 0) {
      continue;
    }
    if (first) {
      const std::uint64_t arc0 = value < 40 ? 0 : value < 80 ? 1 : 2;
      out += std::to_string(arc0) + "." + std::to_string(value - 40 * arc0);
      first = false;
    } else {
      out += "." + std::to_string(value);
    }
    value = 0;
    in_sub = false;
  }
  if (in_sub) {
    return Error{ErrorCode::EatBadClaim, "truncated OID"};
  }
  return out;
}

Result<Bytes> oid_from_dotted(std::string_view dotted) {
  if (!is_dotted_oid(dotted)) {
    return Error{ErrorCode::InvalidArgument, "not a dotted OID"};
  }
  std::vector<std::uint64_t> arcs;
  std::size_t pos = 0;
  while (pos <= dotted.size()) {
    const std::size_t end = std::min(dotted.find('.', pos), dotted.size());
    std::uint64_t arc = 0;
    const auto [p, ec] = std::from_chars(dotted.data() + pos, dotted.data() + end, arc);
    if (ec != std::errc() || p != dotted.data() + end) {
      return Error{ErrorCode::InvalidArgument, "OID arc out of range"};
    }
    arcs.push_back(arc);
    pos = end + 1;
  }
  if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) ||
      arcs[1] > UINT64_MAX - 80) {
    return Error{ErrorCode::InvalidArgument, "invalid first OID arcs"};
  }
  arcs[1] += 40 * arcs[0];
  Bytes out;
  for (std::size_t i = 1; i < arcs.size(); ++i) {
    std::uint8_t tmp[10];
    std::size_t n = 0;
    std::uint64_t v = arcs[i];
    do {
      tmp[n++] = static_cast<std::uint8_t>(v & 0x7f);
      v >>= 7;
    } while (v != 0);
    while (n > 0) {
      --n;
      out.push_back(static_cast<std::uint8_t>(tmp[n] | (n > 0 ? 0x80 : 0)));
    }
  }
  return out;
}

Result<EatClaims> parse_eat_claims(const CborValue& claims_map, std::size_t max_submod_depth) {
  return parse_claims_at(claims_map, max_submod_depth);
}

Result<EatClaims> parse_eat_claims(ByteView cbor_payload) {
  ATLS_ASSIGN_OR_RETURN(const CborValue v, cbor_decode(cbor_payload));
  return parse_claims_at(v, 4);
}

CborValue encode_eat_claims(const EatClaims& c) {
  CborValue m = CborValue::map();
  if (c.issuer) {
    m.map_put(int_value(eat_key::kIss), CborValue::text(*c.issuer));
  }
  if (c.exp) {
    m.map_put(int_value(eat_key::kExp), int_value(*c.exp));
  }
  if (c.nbf) {
    m.map_put(int_value(eat_key::kNbf), int_value(*c.nbf));
  }
  if (c.iat) {
    m.map_put(int_value(eat_key::kIat), int_value(*c.iat));
  }
  if (c.nonces.size() == 1) {
    m.map_put(int_value(eat_key::kNonce), CborValue::bytes(c.nonces.front()));
  } else if (c.nonces.size() > 1) {
    std::vector<CborValue> items;
    for (const Bytes& n : c.nonces) {
      items.push_back(CborValue::bytes(n));
    }
    m.map_put(int_value(eat_key::kNonce), CborValue::array(std::move(items)));
  }
  if (c.ueid) {
    m.map_put(int_value(eat_key::kUeid), CborValue::bytes(*c.ueid));
  }
  if (c.oemid) {
    m.map_put(int_value(eat_key::kOemid), *c.oemid);
  }
  if (c.hwmodel) {
    m.map_put(int_value(eat_key::kHwmodel), CborValue::bytes(*c.hwmodel));
  }
  if (c.dbgstat) {
    m.map_put(int_value(eat_key::kDbgstat), CborValue::uint(static_cast<std::uint8_t>(*c.dbgstat)));
  }
  if (c.profile) {
    auto oid = oid_from_dotted(*c.profile);
    m.map_put(int_value(eat_key::kProfile),
              oid ? CborValue::bytes(std::move(*oid)) : CborValue::text(*c.profile));
  }
  if (!c.submods.empty()) {
    CborValue s = CborValue::map();
    for (const EatSubmod& sub : c.submods) {
      s.map_put(CborValue::text(sub.name), encode_submod(sub));
    }
    m.map_put(int_value(eat_key::kSubmods), std::move(s));
  }
  if (c.swname) {
    m.map_put(int_value(eat_key::kSwname), CborValue::text(*c.swname));
  }
  if (c.swversion) {
    std::vector<CborValue> items{CborValue::text(c.swversion->version)};
    if (c.swversion->scheme) {
      items.push_back(int_value(*c.swversion->scheme));
    }
    m.map_put(int_value(eat_key::kSwversion), CborValue::array(std::move(items)));
  }
  if (!c.measurements.empty()) {
    std::vector<CborValue> items;
    for (const EatMeasurement& e : c.measurements) {
      items.push_back(
          CborValue::array({CborValue::uint(e.content_type), CborValue::bytes(e.value)}));
    }
    m.map_put(int_value(eat_key::kMeasurements), CborValue::array(std::move(items)));
  }
  for (std::size_t i = 0; i < c.unknown.map_size(); ++i) {
    if (!is_typed_key(c.unknown.map_key(i))) {
      m.map_put(c.unknown.map_key(i), c.unknown.map_value(i));
    }
  }
  return m;
}

nlohmann::json eat_claims_to_json(const EatClaims& c) {
  nlohmann::json j = nlohmann::json::object();
  if (c.issuer) {
    j["iss"] = *c.issuer;
  }
  if (c.exp) {
    j["exp"] = *c.exp;
  }
  if (c.nbf) {
    j["nbf"] = *c.nbf;
  }
  if (c.iat) {
    j["iat"] = *c.iat;
  }
  if (c.nonces.size() == 1) {
    j["eat_nonce"] = to_hex(c.nonces.front());
  } else if (c.nonces.size() > 1) {
    nlohmann::json a = nlohmann::json::array();
    for (const Bytes& n : c.nonces) {
      a.push_back(to_hex(n));
    }
    j["eat_nonce"] = std::move(a);
  }
  if (c.ueid) {
    j["ueid"] = to_hex(*c.ueid);
  }
  if (c.oemid) {
    if (c.oemid->is_bytes()) {
      j["oemid"] = to_hex(c.oemid->raw_bytes());
    } else if (auto v = c.oemid->as_int64()) {
      j["oemid"] = *v;
    } else {
      j["oemid"] = cbor_diag(*c.oemid);
    }
  }
  if (c.hwmodel) {
    j["hwmodel"] = to_hex(*c.hwmodel);
  }
  if (c.dbgstat) {
    const auto d = static_cast<std::size_t>(*c.dbgstat);
    j["dbgstat"] = d < kDbgstatNames.size() ? std::string(kDbgstatNames[d]) : std::to_string(d);
  }
  if (c.profile) {
    j["eat_profile"] = *c.profile;
  }
  if (c.swname) {
    j["swname"] = *c.swname;
  }
  if (c.swversion) {
    nlohmann::json a = nlohmann::json::array({c.swversion->version});
    if (c.swversion->scheme) {
      a.push_back(*c.swversion->scheme);
    }
    j["swversion"] = std::move(a);
  }
  if (!c.measurements.empty()) {
    nlohmann::json a = nlohmann::json::array();
    for (const EatMeasurement& e : c.measurements) {
      a.push_back(nlohmann::json::array({e.content_type, to_hex(e.value)}));
    }
    j["measurements"] = std::move(a);
  }
  if (!c.submods.empty()) {
    nlohmann::json s = nlohmann::json::object();
    for (const EatSubmod& sub : c.submods) {
      s[sub.name] = submod_to_json(sub);
    }
    j["submods"] = std::move(s);
  }
  if (c.unknown.map_size() > 0) {
    nlohmann::json u = nlohmann::json::object();
    for (std::size_t i = 0; i < c.unknown.map_size(); ++i) {
      const CborValue& k = c.unknown.map_key(i);
      const std::string key = k.is_text() ? std::string(k.raw_text()) : cbor_diag(k);
      u[key] = cbor_diag(c.unknown.map_value(i));
    }
    j["unknown"] = std::move(u);
  }
  return j;
}

}  // namespace atls
