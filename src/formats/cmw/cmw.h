#pragma once

// RATS Conceptual Message Wrappers (draft-ietf-rats-msg-wrap): the record,
// tag and collection forms, in JSON and CBOR, with a bounded parser and
// encoders. Pure: no I/O.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/cbor/cbor.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace atls {

// Conceptual-message type indicator bits (the `ind` field, cm-type bit
// positions 0..4).
inline constexpr std::uint32_t kCmwIndReferenceValues = 1;
inline constexpr std::uint32_t kCmwIndEndorsements = 2;
inline constexpr std::uint32_t kCmwIndEvidence = 4;
inline constexpr std::uint32_t kCmwIndAttestationResults = 8;
inline constexpr std::uint32_t kCmwIndAppraisalPolicy = 16;

// The TN() range of RFC 9277 Appendix B: the CBOR tags that wrap a CoAP
// content format.
inline constexpr std::uint64_t kCmwTagMin = 1668546817;
inline constexpr std::uint64_t kCmwTagMax = 1668612095;
// The largest content format that TN() is defined for.
inline constexpr std::uint16_t kCmwTagMaxContentFormat = 65024;

// The reserved collection key that carries the collection type.
inline constexpr std::string_view kCmwCollectionTypeKey = "__cmwc_t";

// CmwRecord is the payload of a record (or of a tag). Exactly one of
// media_type (non-empty) and content_format is set; content_format is only
// possible in CBOR.
struct CmwRecord {
  std::string media_type;
  std::optional<std::uint16_t> content_format;
  Bytes value;
  std::optional<std::uint32_t> ind;  // non-zero when present
};

bool operator==(const CmwRecord& a, const CmwRecord& b);

struct Cmw;

// CmwLabel is a collection key: an integer (CBOR only) or a text string.
using CmwLabel = std::variant<std::int64_t, std::string>;

// CmwCollection maps labels to nested CMWs, in their order of appearance (a
// JSON collection comes back ordered by label). ctype is the optional
// "__cmwc_t" (an absolute URI or a dotted OID); it never appears in entries.
struct CmwCollection {
  // The special members are defined out of line, where Cmw is complete, so
  // that the recursive type also compiles with clang and libstdc++'s pair.
  CmwCollection();
  ~CmwCollection();
  CmwCollection(const CmwCollection&);
  CmwCollection(CmwCollection&&) noexcept;
  CmwCollection& operator=(const CmwCollection&);
  CmwCollection& operator=(CmwCollection&&) noexcept;

  std::optional<std::string> ctype;
  std::vector<std::pair<CmwLabel, Cmw>> entries;
};

// Cmw is one conceptual message wrapper.
struct Cmw {
  enum class Kind : std::uint8_t { Record, Tag, Collection };
  enum class Format : std::uint8_t { Json, Cbor };

  Kind kind = Kind::Record;
  Format format = Format::Cbor;
  // Record: the record. Tag: content_format is the one TN() maps to the tag
  // number, value is the tag's byte-string content, ind is absent.
  CmwRecord record;
  std::uint64_t tag = 0;     // Tag only
  CmwCollection collection;  // Collection only

  // make_record returns a record with a media type.
  static Cmw make_record(std::string media_type, Bytes value, std::optional<std::uint32_t> ind = {},
                         Format f = Format::Cbor);
  // make_record_cf returns a CBOR record whose type is a CoAP content format.
  static Cmw make_record_cf(std::uint16_t content_format, Bytes value,
                            std::optional<std::uint32_t> ind = {});
  // make_tag returns a CBOR tag form TN(content_format)(value). The caller
  // must pass content_format <= kCmwTagMaxContentFormat; otherwise encoding
  // the result fails with CmwBadTag.
  static Cmw make_tag(std::uint16_t content_format, Bytes value);
  // make_collection returns an empty collection; add entries before encoding.
  static Cmw make_collection(Format f = Format::Cbor, std::optional<std::string> ctype = {});

  // add appends an entry to a collection (no check for duplicates here;
  // the encoders reject them). Returns *this for chaining.
  Cmw& add(CmwLabel label, Cmw item);

  // find returns the collection entry with |label|, or nullptr.
  const Cmw* find(const CmwLabel& label) const;

  bool is_record() const { return kind == Kind::Record; }
  bool is_tag() const { return kind == Kind::Tag; }
  bool is_collection() const { return kind == Kind::Collection; }
};

// Structural equality, including formats and entry order.
bool operator==(const Cmw& a, const Cmw& b);
bool operator==(const CmwCollection& a, const CmwCollection& b);

// CmwLimits bounds the parser. max_depth is the number of nested
// collections accepted (a top-level collection is depth 1).
struct CmwLimits {
  std::size_t max_depth = 8;
  std::size_t max_size = 4 * 1024 * 1024;
};

// parse_cmw auto-detects the serialisation: a first byte of '[', '{' or JSON
// whitespace means JSON, anything else CBOR (draft "Decapsulation Algorithm"). Fails as
// parse_cmw_json / parse_cmw_cbor, or with CmwMalformed on empty input.
Result<Cmw> parse_cmw(ByteView data, const CmwLimits& limits = {});

// parse_cmw_cbor decodes one CBOR CMW (record, tag or collection) filling all
// of |data|. Fails with the CBOR decoder's codes (CborMalformed for
// truncation, CborTrailingData, CborDuplicateKey, CborTooLarge, ...),
// CmwTooDeep, or a CMW code from cmw_from_cbor.
Result<Cmw> parse_cmw_cbor(ByteView data, const CmwLimits& limits = {});

// parse_cmw_json parses one JSON CMW (record or collection). Fails with the
// JSON parser's codes (JsonMalformed, JsonDuplicateKey, JsonTooLarge),
// CmwTooDeep, or a CMW code from cmw_from_json.
Result<Cmw> parse_cmw_json(std::string_view text, const CmwLimits& limits = {});

// cmw_from_cbor interprets an already decoded CBOR item (for example a CWT
// "cmw" claim) as a CMW. Fails with CmwMalformed (wrong shape), CmwBadType,
// CmwBadIndicator, CmwBadTag, CmwEmptyCollection, CmwBadCollectionType or
// CmwTooDeep.
Result<Cmw> cmw_from_cbor(const CborValue& v, const CmwLimits& limits = {});

// cmw_from_json interprets an already parsed JSON value (for example a JWT
// "cmw" claim) as a JSON CMW. Fails like cmw_from_cbor.
Result<Cmw> cmw_from_json(const nlohmann::json& j, const CmwLimits& limits = {});

// cmw_to_cbor builds the CBOR item of |cmw| (every nested item in CBOR,
// whatever its format field says). Fails with the CMW code the parser would
// report for the same defect (e.g. CmwEmptyCollection, CmwBadType), or
// CmwMalformed for duplicate or reserved labels.
Result<CborValue> cmw_to_cbor(const Cmw& cmw);

// encode_cmw_cbor serialises |cmw| as CBOR (preferred serialisation, entries
// in order, "__cmwc_t" first). Fails like cmw_to_cbor.
Result<Bytes> encode_cmw_cbor(const Cmw& cmw);

// cmw_to_json builds the JSON value of |cmw|. Fails like cmw_to_cbor, and
// with InvalidArgument for what JSON cannot carry: tags, content-format
// types, integer labels, and empty values (base64url-string needs >= 1
// character).
Result<nlohmann::json> cmw_to_json(const Cmw& cmw);

// encode_cmw_json serialises |cmw| as compact JSON. Fails like cmw_to_json.
Result<std::string> encode_cmw_json(const Cmw& cmw);

// encode_cmw serialises |cmw| in its own format (cmw.format).
Result<Bytes> encode_cmw(const Cmw& cmw);

// cmw_tag_from_content_format returns TN(cf) = 1668546817 + (cf / 255) * 256
// + cf % 255 (RFC 9277 Appendix B), or 0 when cf > 65024 (TN undefined).
std::uint64_t cmw_tag_from_content_format(std::uint16_t cf);

// cmw_content_format_from_tag inverts TN(); nullopt for tag numbers outside
// [1668546817, 1668612095] or that TN() never produces.
std::optional<std::uint16_t> cmw_content_format_from_tag(std::uint64_t tag);

// cmw_indicator_names names the bits set in |ind|: "reference-values",
// "endorsements", "evidence", "attestation-results", "appraisal-policy", and
// "bit-N" for unregistered bits.
std::vector<std::string> cmw_indicator_names(std::uint32_t ind);

// is_valid_media_type checks the Content-Type grammar of RFC 9110 §8.3:
// type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ),
// ASCII only.
bool is_valid_media_type(std::string_view s);

// find_record returns the first record (depth-first, in entry order) whose
// media type equals |media_type| exactly, or nullptr. Records typed by a
// content format and tags never match.
const Cmw* find_record(const Cmw& cmw, std::string_view media_type);

}  // namespace atls
