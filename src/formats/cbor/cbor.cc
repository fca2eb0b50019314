#include "src/formats/cbor/cbor.h"

#include "src/core/encoding.h"

#include <cbor.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

namespace atls {

// ---------------------------------------------------------------------------
// CborValue

CborValue CborValue::uint(std::uint64_t v) {
  return CborValue(Type::Unsigned, v);
}

CborValue CborValue::integer(std::int64_t v) {
  if (v >= 0) {
    return uint(static_cast<std::uint64_t>(v));
  }
  // -1 - n = v  =>  n = -1 - v, computed without overflow.
  return negative_raw(static_cast<std::uint64_t>(-(v + 1)));
}

CborValue CborValue::negative_raw(std::uint64_t n) {
  return CborValue(Type::Negative, n);
}

CborValue CborValue::bytes(ByteView b) {
  CborValue v(Type::ByteString, 0);
  v.m_bytes.assign(b.begin(), b.end());
  return v;
}

CborValue CborValue::bytes(Bytes&& b) {
  CborValue v(Type::ByteString, 0);
  v.m_bytes = std::move(b);
  return v;
}

CborValue CborValue::text(std::string_view s) {
  CborValue v(Type::TextString, 0);
  v.m_bytes.assign(s.begin(), s.end());
  return v;
}

CborValue CborValue::array(std::vector<CborValue> items) {
  CborValue v(Type::Array, 0);
  v.m_items = std::move(items);
  return v;
}

CborValue CborValue::map(std::vector<std::pair<CborValue, CborValue>> entries) {
  CborValue v(Type::Map, 0);
  v.m_items.reserve(entries.size() * 2);
  for (auto& [k, val] : entries) {
    v.m_items.push_back(std::move(k));
    v.m_items.push_back(std::move(val));
  }
  return v;
}

CborValue CborValue::tag(std::uint64_t tag, CborValue content) {
  CborValue v(Type::Tag, tag);
  v.m_items.push_back(std::move(content));
  return v;
}

CborValue CborValue::boolean(bool b) {
  return CborValue(Type::Simple, b ? kTrue : kFalse);
}
CborValue CborValue::null() {
  return CborValue(Type::Simple, kNull);
}
CborValue CborValue::undefined() {
  return CborValue(Type::Simple, kUndefined);
}
CborValue CborValue::simple(std::uint8_t v) {
  return CborValue(Type::Simple, v);
}

CborValue CborValue::floating(double d) {
  CborValue v(Type::Float, 0);
  v.m_float = d;
  return v;
}

Result<std::int64_t> CborValue::as_int64() const {
  if (m_type == Type::Unsigned) {
    if (m_uint > static_cast<std::uint64_t>(INT64_MAX)) {
      return Error{ErrorCode::CborIntegerOutOfRange, "unsigned integer above INT64_MAX"};
    }
    return static_cast<std::int64_t>(m_uint);
  }
  if (m_type == Type::Negative) {
    if (m_uint > static_cast<std::uint64_t>(INT64_MAX)) {
      return Error{ErrorCode::CborIntegerOutOfRange, "negative integer below INT64_MIN"};
    }
    return -1 - static_cast<std::int64_t>(m_uint);
  }
  return Error{ErrorCode::CborWrongType, "expected an integer"};
}

Result<std::uint64_t> CborValue::as_uint64() const {
  if (m_type == Type::Unsigned) {
    return m_uint;
  }
  if (m_type == Type::Negative) {
    return Error{ErrorCode::CborIntegerOutOfRange, "expected a non-negative integer"};
  }
  return Error{ErrorCode::CborWrongType, "expected an unsigned integer"};
}

Result<ByteView> CborValue::as_bytes() const {
  if (m_type != Type::ByteString) {
    return Error{ErrorCode::CborWrongType, "expected a byte string"};
  }
  return ByteView(m_bytes);
}

Result<std::string_view> CborValue::as_text() const {
  if (m_type != Type::TextString) {
    return Error{ErrorCode::CborWrongType, "expected a text string"};
  }
  return raw_text();
}

Result<bool> CborValue::as_bool() const {
  if (!is_bool()) {
    return Error{ErrorCode::CborWrongType, "expected a boolean"};
  }
  return m_uint == kTrue;
}

Result<double> CborValue::as_float() const {
  if (m_type != Type::Float) {
    return Error{ErrorCode::CborWrongType, "expected a float"};
  }
  return m_float;
}

std::string_view CborValue::raw_text() const {
  return as_string_view(m_bytes);
}

const CborValue* CborValue::find(std::int64_t key) const {
  for (std::size_t i = 0; i < map_size(); ++i) {
    const CborValue& k = map_key(i);
    if (k.is_integer()) {
      auto v = k.as_int64();
      if (v && *v == key) {
        return &map_value(i);
      }
    }
  }
  return nullptr;
}

const CborValue* CborValue::find(std::string_view key) const {
  for (std::size_t i = 0; i < map_size(); ++i) {
    const CborValue& k = map_key(i);
    if (k.is_text() && k.raw_text() == key) {
      return &map_value(i);
    }
  }
  return nullptr;
}

void CborValue::map_put(CborValue key, CborValue value) {
  m_items.push_back(std::move(key));
  m_items.push_back(std::move(value));
}

int CborValue::compare(const CborValue& a, const CborValue& b) {
  if (a.m_type != b.m_type) {
    return a.m_type < b.m_type ? -1 : 1;
  }
  switch (a.m_type) {
    case Type::Unsigned:
    case Type::Negative:
    case Type::Simple:
      return a.m_uint < b.m_uint ? -1 : a.m_uint > b.m_uint ? 1 : 0;
    case Type::Float:
      if (std::isnan(a.m_float) || std::isnan(b.m_float)) {
        return std::isnan(a.m_float) == std::isnan(b.m_float) ? 0 : std::isnan(a.m_float) ? 1 : -1;
      }
      return a.m_float < b.m_float ? -1 : a.m_float > b.m_float ? 1 : 0;
    case Type::ByteString:
    case Type::TextString:
      if (a.m_bytes.size() != b.m_bytes.size()) {
        return a.m_bytes.size() < b.m_bytes.size() ? -1 : 1;
      }
      return a.m_bytes < b.m_bytes ? -1 : a.m_bytes > b.m_bytes ? 1 : 0;
    case Type::Tag:
      if (a.m_uint != b.m_uint) {
        return a.m_uint < b.m_uint ? -1 : 1;
      }
      [[fallthrough]];
    case Type::Array:
    case Type::Map: {
      if (a.m_items.size() != b.m_items.size()) {
        return a.m_items.size() < b.m_items.size() ? -1 : 1;
      }
      for (std::size_t i = 0; i < a.m_items.size(); ++i) {
        const int c = compare(a.m_items[i], b.m_items[i]);
        if (c != 0) {
          return c;
        }
      }
      return 0;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Decoder: libcbor's streaming parser reads one head at a time; we build the
// tree with an explicit stack, so nesting depth costs heap, not C stack.

namespace {

enum class FrameKind : std::uint8_t { Array, Map, Tag, IndefBytes, IndefText };

struct Frame {
  CborValue value;
  FrameKind kind;
  bool indefinite;
  std::uint64_t remaining;  // items still expected (definite frames)
};

struct Decoder {
  const CborLimits* limits = nullptr;
  std::size_t input_size = 0;
  std::size_t offset = 0;  // offset of the head being decoded
  std::vector<Frame> stack;
  std::optional<CborValue> root;
  std::optional<Error> error;

  void fail(ErrorCode code, std::string detail) {
    if (!error) {
      error = Error{code, std::move(detail) + " at offset " + std::to_string(offset)};
    }
  }

  bool in_indef_string() const {
    return !stack.empty() && (stack.back().kind == FrameKind::IndefBytes ||
                              stack.back().kind == FrameKind::IndefText);
  }

  Result<void> check_duplicates(const CborValue& map) {
    const std::size_t n = map.map_size();
    if (n < 2) {
      return ok();
    }
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) {
      return CborValue::compare(map.map_key(x), map.map_key(y)) < 0;
    });
    for (std::size_t i = 1; i < n; ++i) {
      if (CborValue::compare(map.map_key(idx[i - 1]), map.map_key(idx[i])) == 0) {
        return Error{ErrorCode::CborDuplicateKey, cbor_diag(map.map_key(idx[i]))};
      }
    }
    return ok();
  }

  // emit hands a completed item to its parent, closing parents that are full.
  void emit(CborValue v) {
    if (error) {
      return;
    }
    while (true) {
      if (stack.empty()) {
        root = std::move(v);
        return;
      }
      Frame& top = stack.back();
      switch (top.kind) {
        case FrameKind::IndefBytes:
        case FrameKind::IndefText: {
          const bool want_text = top.kind == FrameKind::IndefText;
          if ((want_text && !v.is_text()) || (!want_text && !v.is_bytes())) {
            fail(ErrorCode::CborMalformed, "indefinite string chunk of the wrong type");
            return;
          }
          Bytes& dst = top.value.mutable_bytes();
          dst.insert(dst.end(), v.raw_bytes().begin(), v.raw_bytes().end());
          return;
        }
        case FrameKind::Array:
        case FrameKind::Map:
        case FrameKind::Tag:
          top.value.items().push_back(std::move(v));
          break;
      }
      if (top.indefinite || --top.remaining > 0) {
        return;
      }
      // The frame is complete: pop it and emit it to its parent.
      Frame done = std::move(stack.back());
      stack.pop_back();
      if (!finish(done.value)) {
        return;
      }
      v = std::move(done.value);
    }
  }

  bool finish(const CborValue& v) {
    if (v.is_map()) {
      auto r = check_duplicates(v);
      if (!r) {
        error = std::move(r).error();
        return false;
      }
    }
    if (v.is_text() && !is_valid_utf8(v.raw_text())) {
      fail(ErrorCode::CborInvalidUtf8, "text string");
      return false;
    }
    return true;
  }

  void leaf(CborValue v) {
    if (error) {
      return;
    }
    if (in_indef_string() && !(v.is_bytes() || v.is_text())) {
      fail(ErrorCode::CborMalformed, "non-string item inside an indefinite-length string");
      return;
    }
    emit(std::move(v));
  }

  void open(FrameKind kind, bool indefinite, std::uint64_t count, CborValue value) {
    if (error) {
      return;
    }
    if (in_indef_string()) {
      fail(ErrorCode::CborMalformed, "container inside an indefinite-length string");
      return;
    }
    // Below a container only containers are open (nothing opens inside an
    // indefinite-length string), so the stack size is its nesting depth.
    const bool is_container =
        kind == FrameKind::Array || kind == FrameKind::Map || kind == FrameKind::Tag;
    if (is_container && !limits->admits_container(stack.size())) {
      fail(ErrorCode::CborTooDeep, "nesting exceeds " + std::to_string(limits->max_depth));
      return;
    }
    if (!indefinite) {
      // Each item needs at least one byte: refuse counts the input cannot hold
      // before anything is sized by them.
      const std::uint64_t left = input_size - offset;
      if (count > left || (kind == FrameKind::Map && count > left / 2 + 1)) {
        fail(ErrorCode::CborMalformed,
             "declared " + std::to_string(count) + " items, input too short");
        return;
      }
      const std::uint64_t items = kind == FrameKind::Map ? 2 * count : count;
      if (items == 0) {
        emit(std::move(value));
        return;
      }
      stack.push_back(Frame{std::move(value), kind, false, items});
      return;
    }
    stack.push_back(Frame{std::move(value), kind, true, 0});
  }

  void brk() {
    if (error) {
      return;
    }
    if (stack.empty() || !stack.back().indefinite) {
      fail(ErrorCode::CborMalformed, "unexpected break");
      return;
    }
    Frame done = std::move(stack.back());
    stack.pop_back();
    if (done.kind == FrameKind::Map && done.value.items().size() % 2 != 0) {
      fail(ErrorCode::CborMalformed, "indefinite map with a key but no value");
      return;
    }
    if (!finish(done.value)) {
      return;
    }
    emit(std::move(done.value));
  }
};

Decoder& dec(void* ctx) {
  return *static_cast<Decoder*>(ctx);
}

void on_uint8(void* c, std::uint8_t v) {
  dec(c).leaf(CborValue::uint(v));
}
void on_uint16(void* c, std::uint16_t v) {
  dec(c).leaf(CborValue::uint(v));
}
void on_uint32(void* c, std::uint32_t v) {
  dec(c).leaf(CborValue::uint(v));
}
void on_uint64(void* c, std::uint64_t v) {
  dec(c).leaf(CborValue::uint(v));
}
void on_neg8(void* c, std::uint8_t v) {
  dec(c).leaf(CborValue::negative_raw(v));
}
void on_neg16(void* c, std::uint16_t v) {
  dec(c).leaf(CborValue::negative_raw(v));
}
void on_neg32(void* c, std::uint32_t v) {
  dec(c).leaf(CborValue::negative_raw(v));
}
void on_neg64(void* c, std::uint64_t v) {
  dec(c).leaf(CborValue::negative_raw(v));
}
void on_bytes(void* c, cbor_data d, std::size_t n) {
  dec(c).leaf(CborValue::bytes(ByteView(d, n)));
}
void on_text(void* c, cbor_data d, std::size_t n) {
  Decoder& D = dec(c);
  CborValue v = CborValue::text(std::string_view(reinterpret_cast<const char*>(d), n));
  // Chunks of an indefinite text string are validated once joined.
  if (!D.in_indef_string() && !is_valid_utf8(v.raw_text())) {
    D.fail(ErrorCode::CborInvalidUtf8, "text string");
    return;
  }
  D.leaf(std::move(v));
}
void on_bytes_start(void* c) {
  dec(c).open(FrameKind::IndefBytes, true, 0, CborValue::bytes(Bytes{}));
}
void on_text_start(void* c) {
  dec(c).open(FrameKind::IndefText, true, 0, CborValue::text(""));
}
void on_indef_array(void* c) {
  dec(c).open(FrameKind::Array, true, 0, CborValue::array());
}
void on_array(void* c, std::size_t n) {
  dec(c).open(FrameKind::Array, false, n, CborValue::array());
}
void on_indef_map(void* c) {
  dec(c).open(FrameKind::Map, true, 0, CborValue::map());
}
void on_map(void* c, std::size_t n) {
  dec(c).open(FrameKind::Map, false, n, CborValue::map());
}
void on_tag(void* c, std::uint64_t t) {
  CborValue shell = CborValue::tag(t, CborValue());
  shell.items().clear();  // the content arrives as the frame's one item
  dec(c).open(FrameKind::Tag, false, 1, std::move(shell));
}
void on_float(void* c, float f) {
  dec(c).leaf(CborValue::floating(f));
}
void on_double(void* c, double d) {
  dec(c).leaf(CborValue::floating(d));
}
void on_undef(void* c) {
  dec(c).leaf(CborValue::undefined());
}
void on_null(void* c) {
  dec(c).leaf(CborValue::null());
}
void on_bool(void* c, bool b) {
  dec(c).leaf(CborValue::boolean(b));
}
void on_break(void* c) {
  dec(c).brk();
}

cbor_callbacks make_callbacks() {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = on_uint8;
  cb.uint16 = on_uint16;
  cb.uint32 = on_uint32;
  cb.uint64 = on_uint64;
  cb.negint8 = on_neg8;
  cb.negint16 = on_neg16;
  cb.negint32 = on_neg32;
  cb.negint64 = on_neg64;
  cb.byte_string = on_bytes;
  cb.byte_string_start = on_bytes_start;
  cb.string = on_text;
  cb.string_start = on_text_start;
  cb.indef_array_start = on_indef_array;
  cb.array_start = on_array;
  cb.indef_map_start = on_indef_map;
  cb.map_start = on_map;
  cb.tag = on_tag;
  cb.float2 = on_float;
  cb.float4 = on_float;
  cb.float8 = on_double;
  cb.undefined = on_undef;
  cb.null = on_null;
  cb.boolean = on_bool;
  cb.indef_break = on_break;
  return cb;
}

const cbor_callbacks kCallbacks = make_callbacks();

Result<CborPrefix> decode(ByteView data, const CborLimits& limits) {
  if (data.size() > limits.max_size) {
    return Error{ErrorCode::CborTooLarge,
                 std::to_string(data.size()) + " bytes exceeds " + std::to_string(limits.max_size)};
  }
  if (data.empty()) {
    return Error{ErrorCode::CborMalformed, "empty input"};
  }
  Decoder d;
  d.limits = &limits;
  d.input_size = data.size();
  std::size_t off = 0;
  while (!d.root) {
    d.offset = off;
    if (off >= data.size()) {
      return Error{ErrorCode::CborMalformed, "truncated: input ends inside an item"};
    }
    // libcbor 0.8 reports the one-byte tag heads 0xc6..0xd4 (tags 6..20) as
    // errors ("unassigned"), yet RFC 8949 §3.4 makes every tag number
    // well-formed and COSE_Sign1 is tag 18 (0xd2). Those heads carry the tag
    // number in the initial byte, so they are decoded here.
    if (const std::uint8_t ib = data[off]; ib >= 0xc6 && ib <= 0xd4) {
      on_tag(&d, ib - 0xc0u);
      if (d.error) {
        return *d.error;
      }
      off += 1;
      continue;
    }
    const cbor_decoder_result r =
        ::cbor_stream_decode(data.data() + off, data.size() - off, &kCallbacks, &d);
    if (d.error) {
      return *d.error;
    }
    if (r.status == CBOR_DECODER_NEDATA) {
      return Error{ErrorCode::CborMalformed, "truncated item at offset " + std::to_string(off)};
    }
    if (r.status != CBOR_DECODER_FINISHED || r.read == 0) {
      return Error{ErrorCode::CborMalformed, "invalid item head at offset " + std::to_string(off)};
    }
    off += r.read;
  }
  return CborPrefix{std::move(*d.root), off};
}

}  // namespace

Result<CborPrefix> cbor_decode_prefix(ByteView data, const CborLimits& limits) {
  return decode(data, limits);
}

Result<CborValue> cbor_decode(ByteView data, const CborLimits& limits) {
  ATLS_ASSIGN_OR_RETURN(auto p, decode(data, limits));
  if (p.consumed != data.size()) {
    return Error{ErrorCode::CborTrailingData,
                 std::to_string(data.size() - p.consumed) + " bytes after the item"};
  }
  return std::move(p.value);
}

// ---------------------------------------------------------------------------
// Encoder

namespace {

void put(Bytes& out, std::size_t (*fn)(std::uint64_t, unsigned char*, std::size_t),
         std::uint64_t v) {
  unsigned char buf[9];
  const std::size_t n = fn(v, buf, sizeof buf);
  out.insert(out.end(), buf, buf + n);
}

std::size_t enc_bytes_start(std::uint64_t n, unsigned char* b, std::size_t s) {
  return ::cbor_encode_bytestring_start(n, b, s);
}
std::size_t enc_text_start(std::uint64_t n, unsigned char* b, std::size_t s) {
  return ::cbor_encode_string_start(n, b, s);
}
std::size_t enc_array_start(std::uint64_t n, unsigned char* b, std::size_t s) {
  return ::cbor_encode_array_start(n, b, s);
}
std::size_t enc_map_start(std::uint64_t n, unsigned char* b, std::size_t s) {
  return ::cbor_encode_map_start(n, b, s);
}

void encode_into(Bytes& out, const CborValue& v) {
  switch (v.type()) {
    case CborValue::Type::Unsigned:
      put(out, ::cbor_encode_uint, v.raw_uint());
      break;
    case CborValue::Type::Negative:
      put(out, ::cbor_encode_negint, v.raw_uint());
      break;
    case CborValue::Type::ByteString:
      put(out, enc_bytes_start, v.raw_bytes().size());
      out.insert(out.end(), v.raw_bytes().begin(), v.raw_bytes().end());
      break;
    case CborValue::Type::TextString:
      put(out, enc_text_start, v.raw_bytes().size());
      out.insert(out.end(), v.raw_bytes().begin(), v.raw_bytes().end());
      break;
    case CborValue::Type::Array:
      put(out, enc_array_start, v.items().size());
      for (const auto& i : v.items()) {
        encode_into(out, i);
      }
      break;
    case CborValue::Type::Map:
      put(out, enc_map_start, v.map_size());
      for (const auto& i : v.items()) {
        encode_into(out, i);
      }
      break;
    case CborValue::Type::Tag:
      put(out, ::cbor_encode_tag, v.tag_number());
      encode_into(out, v.tag_content());
      break;
    case CborValue::Type::Simple: {
      const auto s = static_cast<std::uint8_t>(v.raw_uint());
      if (s < 24) {
        out.push_back(static_cast<std::uint8_t>(0xe0 | s));
      } else {
        out.push_back(0xf8);
        out.push_back(s);
      }
      break;
    }
    case CborValue::Type::Float: {
      unsigned char buf[9];
      const double d = v.raw_float();
      const float f = static_cast<float>(d);
      const std::size_t n = (static_cast<double>(f) == d || std::isnan(d))
                                ? ::cbor_encode_single(f, buf, sizeof buf)
                                : ::cbor_encode_double(d, buf, sizeof buf);
      out.insert(out.end(), buf, buf + n);
      break;
    }
  }
}

void diag_into(std::string& s, const CborValue& v) {
  switch (v.type()) {
    case CborValue::Type::Unsigned:
      s += std::to_string(v.raw_uint());
      break;
    case CborValue::Type::Negative:
      if (v.raw_uint() == UINT64_MAX) {
        s += "-18446744073709551616";
      } else {
        s += "-" + std::to_string(v.raw_uint() + 1);
      }
      break;
    case CborValue::Type::ByteString:
      s += "h'" + to_hex(v.raw_bytes()) + "'";
      break;
    case CborValue::Type::TextString: {
      s += '"';
      for (const char c : v.raw_text()) {
        if (c == '"' || c == '\\') {
          s += '\\';
          s += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          s += buf;
        } else {
          s += c;
        }
      }
      s += '"';
      break;
    }
    case CborValue::Type::Array:
      s += '[';
      for (std::size_t i = 0; i < v.items().size(); ++i) {
        if (i) {
          s += ", ";
        }
        diag_into(s, v.items()[i]);
      }
      s += ']';
      break;
    case CborValue::Type::Map:
      s += '{';
      for (std::size_t i = 0; i < v.map_size(); ++i) {
        if (i) {
          s += ", ";
        }
        diag_into(s, v.map_key(i));
        s += ": ";
        diag_into(s, v.map_value(i));
      }
      s += '}';
      break;
    case CborValue::Type::Tag:
      s += std::to_string(v.tag_number()) + "(";
      diag_into(s, v.tag_content());
      s += ')';
      break;
    case CborValue::Type::Simple:
      switch (v.raw_uint()) {
        case CborValue::kFalse:
          s += "false";
          break;
        case CborValue::kTrue:
          s += "true";
          break;
        case CborValue::kNull:
          s += "null";
          break;
        case CborValue::kUndefined:
          s += "undefined";
          break;
        default:
          s += "simple(" + std::to_string(v.raw_uint()) + ")";
          break;
      }
      break;
    case CborValue::Type::Float: {
      const double d = v.raw_float();
      if (std::isnan(d)) {
        s += "NaN";
      } else if (std::isinf(d)) {
        s += d > 0 ? "Infinity" : "-Infinity";
      } else {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        std::string t = buf;
        if (t.find_first_of(".eE") == std::string::npos) {
          t += ".0";
        }
        s += t;
      }
      break;
    }
  }
}

}  // namespace

Bytes cbor_encode(const CborValue& v) {
  Bytes out;
  encode_into(out, v);
  return out;
}

std::string cbor_diag(const CborValue& v) {
  std::string s;
  diag_into(s, v);
  return s;
}

}  // namespace atls
