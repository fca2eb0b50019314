#pragma once

// CBOR (RFC 8949) values, a bounded decoder over libcbor's streaming parser,
// an encoder, and diagnostic notation. Pure: no I/O.

#include <atls/bytes.h>
#include <atls/result.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atls {

// CborLimits bounds what the decoder accepts. Every item takes at least one
// input byte, so max_size also bounds the number of items and the memory
// used (no allocation is sized by a declared length).
//
// max_depth counts containers: arrays, maps and tags. A scalar adds no level
// and a container is one level deeper than the deepest container in it, so
// 1 has depth 0, [] and [1] depth 1, and 1([[]]) depth 3. Chunks of an
// indefinite-length string are not data items and add no level either. The
// decoder and cbor_from_diag both ask admits_container, so a value one of
// them accepts the other accepts too (docs/fuzzing.md).
struct CborLimits {
  std::size_t max_size = 4 * 1024 * 1024;  // bytes of input
  std::size_t max_depth = 64;              // nesting of arrays, maps and tags

  // admits_container: may an array, map or tag start inside |enclosing|
  // containers that are still open?
  bool admits_container(std::size_t enclosing) const { return enclosing < max_depth; }
};

// CborValue is one decoded CBOR data item.
class CborValue {
 public:
  enum class Type : std::uint8_t {
    Unsigned,
    Negative,
    ByteString,
    TextString,
    Array,
    Map,
    Tag,
    Simple,
    Float
  };

  // Simple values (major type 7) as their RFC 8949 numbers.
  static constexpr std::uint8_t kFalse = 20;
  static constexpr std::uint8_t kTrue = 21;
  static constexpr std::uint8_t kNull = 22;
  static constexpr std::uint8_t kUndefined = 23;

  CborValue() : m_type(Type::Simple), m_uint(kNull) {}

  static CborValue uint(std::uint64_t v);
  static CborValue integer(std::int64_t v);
  // negative_raw makes the value -1 - n (covers the full CBOR range).
  static CborValue negative_raw(std::uint64_t n);
  static CborValue bytes(ByteView b);
  static CborValue bytes(Bytes&& b);
  static CborValue text(std::string_view s);
  static CborValue array(std::vector<CborValue> items = {});
  static CborValue map(std::vector<std::pair<CborValue, CborValue>> entries = {});
  static CborValue tag(std::uint64_t tag, CborValue content);
  static CborValue boolean(bool b);
  static CborValue null();
  static CborValue undefined();
  static CborValue simple(std::uint8_t v);
  static CborValue floating(double d);

  Type type() const { return m_type; }
  bool is_unsigned() const { return m_type == Type::Unsigned; }
  bool is_negative() const { return m_type == Type::Negative; }
  bool is_integer() const { return is_unsigned() || is_negative(); }
  bool is_bytes() const { return m_type == Type::ByteString; }
  bool is_text() const { return m_type == Type::TextString; }
  bool is_array() const { return m_type == Type::Array; }
  bool is_map() const { return m_type == Type::Map; }
  bool is_tag() const { return m_type == Type::Tag; }
  bool is_bool() const { return m_type == Type::Simple && (m_uint == kFalse || m_uint == kTrue); }
  bool is_null() const { return m_type == Type::Simple && m_uint == kNull; }
  bool is_float() const { return m_type == Type::Float; }

  // Typed accessors fail with CborWrongType (or CborIntegerOutOfRange).
  Result<std::int64_t> as_int64() const;
  Result<std::uint64_t> as_uint64() const;
  Result<ByteView> as_bytes() const;
  Result<std::string_view> as_text() const;
  Result<bool> as_bool() const;
  Result<double> as_float() const;

  // Raw access (valid only for the matching type).
  std::uint64_t raw_uint() const {
    return m_uint;
  }  // Unsigned value, Negative n, Tag number, Simple value
  double raw_float() const { return m_float; }
  const Bytes& raw_bytes() const { return m_bytes; }  // Bytes, or Text's UTF-8
  std::string_view raw_text() const;
  Bytes& mutable_bytes() { return m_bytes; }

  // Arrays: items. Tags: one item (the content).
  const std::vector<CborValue>& items() const { return m_items; }
  std::vector<CborValue>& items() { return m_items; }

  // Maps are stored as alternating key, value in items().
  std::size_t map_size() const { return m_type == Type::Map ? m_items.size() / 2 : 0; }
  const CborValue& map_key(std::size_t i) const { return m_items[2 * i]; }
  const CborValue& map_value(std::size_t i) const { return m_items[2 * i + 1]; }
  // find looks up a map entry by integer or text key; nullptr if absent or
  // if this is not a map.
  const CborValue* find(std::int64_t key) const;
  const CborValue* find(std::string_view key) const;
  const CborValue* find(const char* key) const { return find(std::string_view(key)); }
  // Map building helpers.
  void map_put(CborValue key, CborValue value);

  std::uint64_t tag_number() const { return m_uint; }
  const CborValue& tag_content() const { return m_items[0]; }

  // compare is a total order over values (type first, then content);
  // equal values compare 0.
  static int compare(const CborValue& a, const CborValue& b);
  bool operator==(const CborValue& o) const { return compare(*this, o) == 0; }

 private:
  CborValue(Type t, std::uint64_t u) : m_type(t), m_uint(u) {}

  Type m_type;
  std::uint64_t m_uint = 0;
  double m_float = 0;
  Bytes m_bytes;
  std::vector<CborValue> m_items;
};

// cbor_decode decodes exactly one item occupying all of |data|. Fails with
// CborMalformed (including truncation), CborTrailingData, CborTooDeep,
// CborTooLarge, CborDuplicateKey or CborInvalidUtf8.
Result<CborValue> cbor_decode(ByteView data, const CborLimits& limits = {});

// CborPrefix is an item decoded from the front of a buffer.
struct CborPrefix {
  CborValue value;
  std::size_t consumed = 0;
};
// cbor_decode_prefix decodes the first item of |data| and reports how many
// bytes it used (for CBOR sequences and embedded items).
Result<CborPrefix> cbor_decode_prefix(ByteView data, const CborLimits& limits = {});

// cbor_encode encodes |v| with definite lengths and shortest-form heads
// (RFC 8949 §4.2.1 preferred serialization; map order is kept as given).
Bytes cbor_encode(const CborValue& v);

// cbor_diag renders diagnostic notation (RFC 8949 §8), e.g. {1: h'01', "a": [2]}.
std::string cbor_diag(const CborValue& v);

}  // namespace atls
