#include "src/formats/cmw/cmw.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"

#include <cstdint>
#include <exception>
#include <limits>
#include <set>
#include <tuple>

namespace atls {
namespace {

// ---------------------------------------------------------------------------
// Grammars

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hexdig(char c) {
  return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// RFC 9110 §5.6.2: tchar.
bool is_tchar(char c) {
  if (is_alpha(c) || is_digit(c)) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// consume_token advances |pos| over 1*tchar; false if there is none.
bool consume_token(std::string_view s, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < s.size() && is_tchar(s[pos])) {
    ++pos;
  }
  return pos > start;
}

void skip_ows(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) {
    ++pos;
  }
}

// consume_quoted_string advances over an RFC 9110 §5.6.4 quoted-string
// (ASCII only: obs-text is not accepted).
bool consume_quoted_string(std::string_view s, std::size_t& pos) {
  if (pos >= s.size() || s[pos] != '"') {
    return false;
  }
  ++pos;
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '"') {
      ++pos;
      return true;
    }
    if (c == '\\') {
      if (pos + 1 >= s.size()) {
        return false;
      }
      const char q = s[pos + 1];
      if (!(q == '\t' || (q >= 0x20 && q <= 0x7e))) {
        return false;
      }
      pos += 2;
      continue;
    }
    if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
          (c >= 0x5d && c <= 0x7e))) {
      return false;
    }
    ++pos;
  }
  return false;
}

// Absolute URI (RFC 3986 §3): scheme ":" followed by URI characters, with
// well-formed percent escapes and at most one "#".
bool is_valid_uri(std::string_view s) {
  std::size_t pos = 0;
  if (s.empty() || !is_alpha(s[0])) {
    return false;
  }
  while (pos < s.size() && (is_alpha(s[pos]) || is_digit(s[pos]) || s[pos] == '+' ||
                            s[pos] == '-' || s[pos] == '.')) {
    ++pos;
  }
  if (pos >= s.size() || s[pos] != ':') {
    return false;
  }
  ++pos;
  bool fragment = false;
  constexpr std::string_view kOther = "-._~:/?[]@!$&'()*+,;=";
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '%') {
      if (pos + 2 >= s.size()) {
        return false;
      }
      if (!is_hexdig(s[pos + 1]) || !is_hexdig(s[pos + 2])) {
        return false;
      }
      pos += 3;
      continue;
    }
    if (c == '#') {
      if (fragment) {
        return false;
      }
      fragment = true;
    } else if (!is_alpha(c) && !is_digit(c) && kOther.find(c) == std::string_view::npos) {
      return false;
    }
    ++pos;
  }
  return true;
}

// Dotted OID as in the draft's CDDL: ([0-2])((\.0)|(\.[1-9][0-9]*))*
bool is_valid_oid(std::string_view s) {
  if (s.empty() || s[0] < '0' || s[0] > '2') {
    return false;
  }
  std::size_t pos = 1;
  while (pos < s.size()) {
    if (s[pos] != '.' || pos + 1 >= s.size() || !is_digit(s[pos + 1])) {
      return false;
    }
    ++pos;
    if (s[pos] == '0') {
      ++pos;
      if (pos < s.size() && s[pos] != '.') {
        return false;
      }
      continue;
    }
    while (pos < s.size() && is_digit(s[pos])) {
      ++pos;
    }
  }
  return true;
}

//= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-collections
//# "__cmwc_t": ~uri / oid
bool is_valid_collection_type(std::string_view s) {
  if (s.find(':') != std::string_view::npos) {
    return is_valid_uri(s);
  }
  return is_valid_oid(s);
}

// ---------------------------------------------------------------------------
// Validation shared by the decoders and the encoders

Result<std::uint32_t> check_ind(std::uint64_t ind) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-record
  //# ? ind: uint .bits cm-type
  // A zero bitmap indicates nothing (the field is omitted instead), and the
  // bitmap is at most 4 bytes.
  if (ind == 0 || ind > std::numeric_limits<std::uint32_t>::max()) {
    return Error{ErrorCode::CmwBadIndicator, "ind must be in 1..2^32-1"};
  }
  return static_cast<std::uint32_t>(ind);
}

Result<void> check_record(const CmwRecord& r) {
  if (r.content_format.has_value() == !r.media_type.empty()) {
    return Error{ErrorCode::CmwBadType, "record needs exactly one of media type or content format"};
  }
  if (!r.media_type.empty() && !is_valid_media_type(r.media_type)) {
    return Error{ErrorCode::CmwBadType, "invalid media type"};
  }
  if (r.ind.has_value()) {
    ATLS_TRY(check_ind(*r.ind));
  }
  return ok();
}

Result<void> check_collection_type(const std::optional<std::string>& ctype) {
  if (ctype.has_value() && !is_valid_collection_type(*ctype)) {
    return Error{ErrorCode::CmwBadCollectionType, "__cmwc_t is neither an absolute URI nor an OID"};
  }
  return ok();
}

bool is_reserved_label(const CmwLabel& label) {
  const auto* s = std::get_if<std::string>(&label);
  return s != nullptr && *s == kCmwCollectionTypeKey;
}

// check_entries rejects empty collections, reserved and duplicate labels.
Result<void> check_entries(const CmwCollection& c) {
  if (c.entries.empty()) {
    return Error{ErrorCode::CmwEmptyCollection, "collection needs at least one entry"};
  }
  std::set<CmwLabel> seen;
  for (const auto& [label, item] : c.entries) {
    if (is_reserved_label(label)) {
      return Error{ErrorCode::CmwMalformed, "label __cmwc_t is reserved"};
    }
    if (!seen.insert(label).second) {
      return Error{ErrorCode::CmwMalformed, "duplicate collection label"};
    }
  }
  return ok();
}

Result<void> enter_collection(std::size_t depth, const CmwLimits& limits) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-collections
  //# Since the collection type is recursive, implementations may limit the
  //# allowed depth of nesting.
  if (depth + 1 > limits.max_depth) {
    return Error{ErrorCode::CmwTooDeep,
                 "more than " + std::to_string(limits.max_depth) + " nested collections"};
  }
  return ok();
}

std::size_t saturating_add(std::size_t a, std::size_t b) {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                         : a + b;
}

// ---------------------------------------------------------------------------
// CBOR decoding

Result<Cmw> from_cbor(const CborValue& v, std::size_t depth, const CmwLimits& limits);

Result<Cmw> record_from_cbor(const CborValue& v) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-record
  //# cbor-record = [ type: coap-content-format-type / media-type, value: bytes,
  //#   ? ind: uint .bits cm-type ]
  const auto& items = v.items();
  if (items.size() < 2 || items.size() > 3) {
    return Error{ErrorCode::CmwMalformed, "record must have 2 or 3 elements"};
  }
  Cmw out;
  out.kind = Cmw::Kind::Record;
  out.format = Cmw::Format::Cbor;
  const CborValue& type = items[0];
  if (type.is_text()) {
    const std::string_view mt = type.raw_text();
    if (!is_valid_media_type(mt)) {
      return Error{ErrorCode::CmwBadType, "invalid media type"};
    }
    out.record.media_type = std::string(mt);
  } else if (type.is_unsigned()) {
    //# coap-content-format-type = uint .size 2
    if (type.raw_uint() > 0xffff) {
      return Error{ErrorCode::CmwBadType, "content format above 65535"};
    }
    out.record.content_format = static_cast<std::uint16_t>(type.raw_uint());
  } else {
    return Error{ErrorCode::CmwBadType, "record type must be text or uint"};
  }
  if (!items[1].is_bytes()) {
    return Error{ErrorCode::CmwMalformed, "record value must be a byte string"};
  }
  out.record.value = items[1].raw_bytes();
  if (items.size() == 3) {
    if (!items[2].is_unsigned()) {
      return Error{ErrorCode::CmwBadIndicator, "ind must be an unsigned integer"};
    }
    ATLS_ASSIGN_OR_RETURN(out.record.ind, check_ind(items[2].raw_uint()));
  }
  return out;
}

Result<Cmw> tag_from_cbor(const CborValue& v) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-cbor-tags
  //# tag-cm-data<tn> = #6.<tn>(bytes)
  const std::optional<std::uint16_t> cf = cmw_content_format_from_tag(v.tag_number());
  if (!cf.has_value()) {
    return Error{ErrorCode::CmwBadTag,
                 "tag " + std::to_string(v.tag_number()) + " is not in the RFC 9277 TN() range"};
  }
  if (v.items().size() != 1 || !v.tag_content().is_bytes()) {
    return Error{ErrorCode::CmwBadTag, "CMW tag content must be a byte string"};
  }
  Cmw out;
  out.kind = Cmw::Kind::Tag;
  out.format = Cmw::Format::Cbor;
  out.tag = v.tag_number();
  out.record.content_format = cf;
  out.record.value = v.tag_content().raw_bytes();
  return out;
}

Result<Cmw> collection_from_cbor(const CborValue& v, std::size_t depth, const CmwLimits& limits) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-collections
  //# cbor-collection = { ? "__cmwc_t": ~uri / oid,
  //#   + &(label: (int / text)) => cbor-cmw }
  ATLS_TRY(enter_collection(depth, limits));
  Cmw out;
  out.kind = Cmw::Kind::Collection;
  out.format = Cmw::Format::Cbor;
  for (std::size_t i = 0; i < v.map_size(); ++i) {
    const CborValue& key = v.map_key(i);
    const CborValue& value = v.map_value(i);
    CmwLabel label;
    if (key.is_text()) {
      if (key.raw_text() == kCmwCollectionTypeKey) {
        if (out.collection.ctype.has_value()) {
          return Error{ErrorCode::CmwMalformed, "duplicate __cmwc_t"};
        }
        if (!value.is_text()) {
          return Error{ErrorCode::CmwBadCollectionType, "__cmwc_t must be a text string"};
        }
        out.collection.ctype = std::string(value.raw_text());
        continue;
      }
      label = std::string(key.raw_text());
    } else if (key.is_integer()) {
      auto n = key.as_int64();
      if (!n) {
        return Error{ErrorCode::CmwMalformed, "integer label out of range"};
      }
      label = *n;
    } else {
      return Error{ErrorCode::CmwMalformed, "collection label must be int or text"};
    }
    if (!value.is_array() && !value.is_tag() && !value.is_map()) {
      return Error{ErrorCode::CmwMalformed, "collection entry is not a CMW"};
    }
    ATLS_ASSIGN_OR_RETURN(Cmw item, from_cbor(value, depth + 1, limits));
    out.collection.entries.emplace_back(std::move(label), std::move(item));
  }
  ATLS_TRY(check_collection_type(out.collection.ctype));
  ATLS_TRY(check_entries(out.collection));
  return out;
}

Result<Cmw> from_cbor(const CborValue& v, std::size_t depth, const CmwLimits& limits) {
  if (v.is_array()) {
    return record_from_cbor(v);
  }
  if (v.is_tag()) {
    return tag_from_cbor(v);
  }
  if (v.is_map()) {
    return collection_from_cbor(v, depth, limits);
  }
  return Error{ErrorCode::CmwMalformed, "CBOR CMW must be an array, a tag or a map"};
}

// ---------------------------------------------------------------------------
// JSON decoding

Result<Cmw> from_json(const nlohmann::json& j, std::size_t depth, const CmwLimits& limits);

Result<Cmw> record_from_json(const nlohmann::json& j) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-record
  //# json-record = [ type: media-type, value: base64url-string,
  //#   ? ind: uint .bits cm-type ]
  if (j.size() < 2 || j.size() > 3) {
    return Error{ErrorCode::CmwMalformed, "record must have 2 or 3 elements"};
  }
  Cmw out;
  out.kind = Cmw::Kind::Record;
  out.format = Cmw::Format::Json;
  const auto* type = j[0].get_ptr<const std::string*>();
  if (type == nullptr) {
    return Error{ErrorCode::CmwBadType, "JSON record type must be a string"};
  }
  if (!is_valid_media_type(*type)) {
    return Error{ErrorCode::CmwBadType, "invalid media type"};
  }
  out.record.media_type = *type;
  const auto* value = j[1].get_ptr<const std::string*>();
  if (value == nullptr || value->empty()) {
    return Error{ErrorCode::CmwMalformed, "JSON record value must be a non-empty string"};
  }
  //# base64url-string = text .regexp "[A-Za-z0-9_-]+"
  auto bytes = base64url_decode(*value);
  if (!bytes) {
    return Error{ErrorCode::CmwMalformed, "record value is not unpadded base64url"};
  }
  out.record.value = std::move(*bytes);
  if (j.size() == 3) {
    const auto* ind = j[2].get_ptr<const nlohmann::json::number_unsigned_t*>();
    if (ind == nullptr) {
      return Error{ErrorCode::CmwBadIndicator, "ind must be an unsigned integer"};
    }
    ATLS_ASSIGN_OR_RETURN(out.record.ind, check_ind(*ind));
  }
  return out;
}

Result<Cmw> collection_from_json(const nlohmann::json& j, std::size_t depth,
                                 const CmwLimits& limits) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-collections
  //# json-collection = { ? "__cmwc_t": ~uri / oid, + &(label: text) => json-cmw }
  ATLS_TRY(enter_collection(depth, limits));
  Cmw out;
  out.kind = Cmw::Kind::Collection;
  out.format = Cmw::Format::Json;
  for (const auto& [key, value] : j.items()) {
    if (key == kCmwCollectionTypeKey) {
      const auto* s = value.get_ptr<const std::string*>();
      if (s == nullptr) {
        return Error{ErrorCode::CmwBadCollectionType, "__cmwc_t must be a string"};
      }
      out.collection.ctype = *s;
      continue;
    }
    if (!value.is_array() && !value.is_object()) {
      return Error{ErrorCode::CmwMalformed, "collection entry is not a CMW"};
    }
    ATLS_ASSIGN_OR_RETURN(Cmw item, from_json(value, depth + 1, limits));
    // Built in place: moving a temporary variant trips a g++ 12
    // -Wmaybe-uninitialized false positive.
    out.collection.entries.emplace_back(std::piecewise_construct,
                                        std::forward_as_tuple(std::in_place_index<1>, key),
                                        std::forward_as_tuple(std::move(item)));
  }
  ATLS_TRY(check_collection_type(out.collection.ctype));
  ATLS_TRY(check_entries(out.collection));
  return out;
}

Result<Cmw> from_json(const nlohmann::json& j, std::size_t depth, const CmwLimits& limits) {
  if (j.is_array()) {
    return record_from_json(j);
  }
  if (j.is_object()) {
    return collection_from_json(j, depth, limits);
  }
  return Error{ErrorCode::CmwMalformed, "JSON CMW must be an array or an object"};
}

// ---------------------------------------------------------------------------
// Encoding

Result<CborValue> to_cbor(const Cmw& cmw) {
  switch (cmw.kind) {
    case Cmw::Kind::Record: {
      ATLS_TRY(check_record(cmw.record));
      std::vector<CborValue> items;
      if (cmw.record.content_format.has_value()) {
        items.push_back(CborValue::uint(*cmw.record.content_format));
      } else {
        items.push_back(CborValue::text(cmw.record.media_type));
      }
      items.push_back(CborValue::bytes(ByteView(cmw.record.value)));
      if (cmw.record.ind.has_value()) {
        items.push_back(CborValue::uint(*cmw.record.ind));
      }
      return CborValue::array(std::move(items));
    }
    case Cmw::Kind::Tag: {
      if (!cmw_content_format_from_tag(cmw.tag).has_value()) {
        return Error{ErrorCode::CmwBadTag, "tag is not in the RFC 9277 TN() range"};
      }
      return CborValue::tag(cmw.tag, CborValue::bytes(ByteView(cmw.record.value)));
    }
    case Cmw::Kind::Collection: {
      ATLS_TRY(check_collection_type(cmw.collection.ctype));
      ATLS_TRY(check_entries(cmw.collection));
      std::vector<std::pair<CborValue, CborValue>> entries;
      if (cmw.collection.ctype.has_value()) {
        entries.emplace_back(CborValue::text(kCmwCollectionTypeKey),
                             CborValue::text(*cmw.collection.ctype));
      }
      for (const auto& [label, item] : cmw.collection.entries) {
        CborValue key = std::holds_alternative<std::int64_t>(label)
                            ? CborValue::integer(std::get<std::int64_t>(label))
                            : CborValue::text(std::get<std::string>(label));
        ATLS_ASSIGN_OR_RETURN(CborValue value, to_cbor(item));
        entries.emplace_back(std::move(key), std::move(value));
      }
      return CborValue::map(std::move(entries));
    }
  }
  return Error{ErrorCode::InvalidArgument, "unknown CMW kind"};
}

Result<nlohmann::json> to_json(const Cmw& cmw) {
  switch (cmw.kind) {
    case Cmw::Kind::Record: {
      ATLS_TRY(check_record(cmw.record));
      if (cmw.record.content_format.has_value()) {
        return Error{ErrorCode::InvalidArgument, "JSON records cannot carry a content format"};
      }
      if (cmw.record.value.empty()) {
        return Error{ErrorCode::InvalidArgument, "JSON records cannot carry an empty value"};
      }
      nlohmann::json out = nlohmann::json::array();
      out.push_back(cmw.record.media_type);
      out.push_back(base64url_encode(cmw.record.value));
      if (cmw.record.ind.has_value()) {
        out.push_back(static_cast<nlohmann::json::number_unsigned_t>(*cmw.record.ind));
      }
      return out;
    }
    case Cmw::Kind::Tag:
      return Error{ErrorCode::InvalidArgument, "CBOR tags cannot be represented in JSON"};
    case Cmw::Kind::Collection: {
      ATLS_TRY(check_collection_type(cmw.collection.ctype));
      ATLS_TRY(check_entries(cmw.collection));
      nlohmann::json out = nlohmann::json::object();
      if (cmw.collection.ctype.has_value()) {
        out[std::string(kCmwCollectionTypeKey)] = *cmw.collection.ctype;
      }
      for (const auto& [label, item] : cmw.collection.entries) {
        const auto* key = std::get_if<std::string>(&label);
        if (key == nullptr) {
          return Error{ErrorCode::InvalidArgument, "JSON collections cannot have integer labels"};
        }
        ATLS_ASSIGN_OR_RETURN(nlohmann::json value, to_json(item));
        out[*key] = std::move(value);
      }
      return out;
    }
  }
  return Error{ErrorCode::InvalidArgument, "unknown CMW kind"};
}

const Cmw* find_record_at(const Cmw& cmw, std::string_view media_type) {
  if (cmw.kind == Cmw::Kind::Record) {
    return !cmw.record.content_format.has_value() && cmw.record.media_type == media_type ? &cmw
                                                                                         : nullptr;
  }
  if (cmw.kind == Cmw::Kind::Collection) {
    for (const auto& entry : cmw.collection.entries) {
      if (const Cmw* hit = find_record_at(entry.second, media_type)) {
        return hit;
      }
    }
  }
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API

CmwCollection::CmwCollection() = default;
CmwCollection::~CmwCollection() = default;
CmwCollection::CmwCollection(const CmwCollection&) = default;
CmwCollection::CmwCollection(CmwCollection&&) noexcept = default;
CmwCollection& CmwCollection::operator=(const CmwCollection&) = default;
CmwCollection& CmwCollection::operator=(CmwCollection&&) noexcept = default;

bool operator==(const CmwRecord& a, const CmwRecord& b) {
  return a.media_type == b.media_type && a.content_format == b.content_format &&
         a.value == b.value && a.ind == b.ind;
}

bool operator==(const CmwCollection& a, const CmwCollection& b) {
  return a.ctype == b.ctype && a.entries == b.entries;
}

bool operator==(const Cmw& a, const Cmw& b) {
  if (a.kind != b.kind || a.format != b.format) {
    return false;
  }
  switch (a.kind) {
    case Cmw::Kind::Record:
      return a.record == b.record;
    case Cmw::Kind::Tag:
      return a.tag == b.tag && a.record == b.record;
    case Cmw::Kind::Collection:
      return a.collection == b.collection;
  }
  return false;
}

Cmw Cmw::make_record(std::string media_type, Bytes value, std::optional<std::uint32_t> ind,
                     Format f) {
  Cmw out;
  out.kind = Kind::Record;
  out.format = f;
  out.record.media_type = std::move(media_type);
  out.record.value = std::move(value);
  out.record.ind = ind;
  return out;
}

Cmw Cmw::make_record_cf(std::uint16_t content_format, Bytes value,
                        std::optional<std::uint32_t> ind) {
  Cmw out;
  out.kind = Kind::Record;
  out.format = Format::Cbor;
  out.record.content_format = content_format;
  out.record.value = std::move(value);
  out.record.ind = ind;
  return out;
}

Cmw Cmw::make_tag(std::uint16_t content_format, Bytes value) {
  Cmw out;
  out.kind = Kind::Tag;
  out.format = Format::Cbor;
  out.tag = cmw_tag_from_content_format(content_format);
  out.record.content_format = content_format;
  out.record.value = std::move(value);
  return out;
}

Cmw Cmw::make_collection(Format f, std::optional<std::string> ctype) {
  Cmw out;
  out.kind = Kind::Collection;
  out.format = f;
  out.collection.ctype = std::move(ctype);
  return out;
}

Cmw& Cmw::add(CmwLabel label, Cmw item) {
  collection.entries.emplace_back(std::move(label), std::move(item));
  return *this;
}

const Cmw* Cmw::find(const CmwLabel& label) const {
  for (const auto& entry : collection.entries) {
    if (entry.first == label) {
      return &entry.second;
    }
  }
  return nullptr;
}

Result<Cmw> parse_cmw(ByteView data, const CmwLimits& limits) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-decapsulation-algorithm
  //# the CMW decoder performs a 1-byte lookahead to determine how to decode
  //# the remaining byte buffer.
  if (data.empty()) {
    return Error{ErrorCode::CmwMalformed, "empty input"};
  }
  const std::uint8_t first = data[0];
  // JSON may start with whitespace; none of these bytes can start a CBOR CMW
  // (they are small integers and -1).
  if (first == '[' || first == '{' || first == ' ' || first == '\t' || first == '\n' ||
      first == '\r') {
    return parse_cmw_json(as_string_view(data), limits);
  }
  return parse_cmw_cbor(data, limits);
}

Result<Cmw> parse_cmw_cbor(ByteView data, const CmwLimits& limits) {
  CborLimits cl;
  cl.max_size = limits.max_size;
  // One map per collection, plus the leaf array or tag and an indefinite
  // byte string inside it.
  cl.max_depth = saturating_add(limits.max_depth, 3);
  auto v = cbor_decode(data, cl);
  if (!v) {
    if (v.error().code == ErrorCode::CborTooDeep) {
      return Error{ErrorCode::CmwTooDeep, v.error().detail};
    }
    return std::move(v).error();
  }
  return from_cbor(*v, 0, limits);
}

Result<Cmw> parse_cmw_json(std::string_view text, const CmwLimits& limits) {
  try {
    JsonLimits jl;
    jl.max_size = limits.max_size;
    jl.max_depth = saturating_add(limits.max_depth, 1);  // objects plus the leaf array
    auto j = parse_json(text, jl);
    if (!j) {
      if (j.error().code == ErrorCode::JsonTooDeep) {
        return Error{ErrorCode::CmwTooDeep, j.error().detail};
      }
      return std::move(j).error();
    }
    return from_json(*j, 0, limits);
  } catch (const std::exception& e) {
    return Error{ErrorCode::CmwMalformed, e.what()};
  }
}

Result<Cmw> cmw_from_cbor(const CborValue& v, const CmwLimits& limits) {
  return from_cbor(v, 0, limits);
}

Result<Cmw> cmw_from_json(const nlohmann::json& j, const CmwLimits& limits) {
  try {
    return from_json(j, 0, limits);
  } catch (const std::exception& e) {
    return Error{ErrorCode::CmwMalformed, e.what()};
  }
}

Result<CborValue> cmw_to_cbor(const Cmw& cmw) {
  return to_cbor(cmw);
}

Result<Bytes> encode_cmw_cbor(const Cmw& cmw) {
  ATLS_ASSIGN_OR_RETURN(CborValue v, to_cbor(cmw));
  return cbor_encode(v);
}

Result<nlohmann::json> cmw_to_json(const Cmw& cmw) {
  try {
    return to_json(cmw);
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, e.what()};
  }
}

Result<std::string> encode_cmw_json(const Cmw& cmw) {
  ATLS_ASSIGN_OR_RETURN(nlohmann::json j, cmw_to_json(cmw));
  return json_dump(j);
}

Result<Bytes> encode_cmw(const Cmw& cmw) {
  if (cmw.format == Cmw::Format::Json) {
    ATLS_ASSIGN_OR_RETURN(std::string s, encode_cmw_json(cmw));
    return to_bytes(s);
  }
  return encode_cmw_cbor(cmw);
}

std::uint64_t cmw_tag_from_content_format(std::uint16_t cf) {
  //= https://www.rfc-editor.org/rfc/rfc9277#appendix-B
  //# TN(ct) = 1668546817 + (ct / 255) * 256 + ct % 255
  if (cf > kCmwTagMaxContentFormat) {
    return 0;
  }
  return kCmwTagMin + static_cast<std::uint64_t>(cf / 255) * 256 + cf % 255;
}

std::optional<std::uint16_t> cmw_content_format_from_tag(std::uint64_t tag) {
  if (tag < kCmwTagMin || tag > kCmwTagMax) {
    return std::nullopt;
  }
  const std::uint64_t t = tag - kCmwTagMin;
  if (t % 256 == 255) {
    return std::nullopt;  // TN() never yields these numbers
  }
  return static_cast<std::uint16_t>((t / 256) * 255 + t % 256);
}

std::vector<std::string> cmw_indicator_names(std::uint32_t ind) {
  //= https://datatracker.ietf.org/doc/draft-ietf-rats-msg-wrap#name-cmw-record
  //# cm-type = &( reference-values: 0, endorsements: 1, evidence: 2,
  //#   attestation-results: 3, appraisal-policy: 4 )
  static constexpr const char* kNames[] = {"reference-values", "endorsements", "evidence",
                                           "attestation-results", "appraisal-policy"};
  std::vector<std::string> out;
  for (unsigned bit = 0; bit < 32; ++bit) {
    if ((ind & (std::uint32_t{1} << bit)) == 0) {
      continue;
    }
    out.emplace_back(bit < 5 ? std::string(kNames[bit]) : "bit-" + std::to_string(bit));
  }
  return out;
}

bool is_valid_media_type(std::string_view s) {
  //= https://www.rfc-editor.org/rfc/rfc9110#section-8.3.1
  //# media-type = type "/" subtype parameters
  //# parameters = *( OWS ";" OWS [ parameter ] )
  //# parameter = parameter-name "=" parameter-value
  std::size_t pos = 0;
  if (!consume_token(s, pos) || pos >= s.size() || s[pos] != '/') {
    return false;
  }
  ++pos;
  if (!consume_token(s, pos)) {
    return false;
  }
  while (pos < s.size()) {
    skip_ows(s, pos);
    if (pos >= s.size() || s[pos] != ';') {
      return false;
    }
    ++pos;
    skip_ows(s, pos);
    if (pos >= s.size() || s[pos] == ';') {
      continue;  // an empty parameter is allowed
    }
    if (!consume_token(s, pos) || pos >= s.size() || s[pos] != '=') {
      return false;
    }
    ++pos;
    if (pos < s.size() && s[pos] == '"') {
      if (!consume_quoted_string(s, pos)) {
        return false;
      }
    } else if (!consume_token(s, pos)) {
      return false;
    }
  }
  return true;
}

const Cmw* find_record(const Cmw& cmw, std::string_view media_type) {
  return find_record_at(cmw, media_type);
}

}  // namespace atls
