#include "src/formats/cbor/edn.h"

#include "src/core/encoding.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace atls {
namespace {

// Parser is a recursive-descent reader over the text; every step consumes
// at least one character, and depth is bounded, so it always terminates.
// |depth| is the number of enclosing containers (CborLimits::max_depth).
class Parser {
 public:
  Parser(std::string_view text, const CborLimits& limits) : m_text(text), m_limits(limits) {}

  Result<CborValue> parse_document() {
    ATLS_ASSIGN_OR_RETURN(CborValue v, parse_item(0));
    skip_space();
    if (m_pos != m_text.size()) {
      return fail("unexpected text after the data item");
    }
    return v;
  }

 private:
  Error fail(std::string_view what, ErrorCode code = ErrorCode::CborMalformed) const {
    return Error{
        code, "diagnostic notation at offset " + std::to_string(m_pos) + ": " + std::string(what)};
  }

  bool at_end() const { return m_pos >= m_text.size(); }
  char peek() const { return at_end() ? '\0' : m_text[m_pos]; }

  // skip_space skips white space and /comments/.
  void skip_space() {
    while (!at_end()) {
      const char c = m_text[m_pos];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++m_pos;
      } else if (c == '/') {
        const std::size_t end = m_text.find('/', m_pos + 1);
        m_pos = end == std::string_view::npos ? m_text.size() : end + 1;
      } else {
        return;
      }
    }
  }

  // open_container is called where an array, map or tag starts, inside
  // |depth| open containers; the decoder applies the same limit.
  Result<void> open_container(std::size_t depth) const {
    if (!m_limits.admits_container(depth)) {
      return fail("nesting exceeds " + std::to_string(m_limits.max_depth), ErrorCode::CborTooDeep);
    }
    return ok();
  }

  bool consume_word(std::string_view w) {
    if (m_text.substr(m_pos, w.size()) == w) {
      m_pos += w.size();
      return true;
    }
    return false;
  }

  Result<CborValue> parse_item(std::size_t depth) {
    skip_space();
    if (at_end()) {
      return fail("data item expected");
    }
    const char c = peek();
    if (c == '[') {
      return parse_array(depth);
    }
    if (c == '{') {
      return parse_map(depth);
    }
    if (c == '"') {
      ATLS_ASSIGN_OR_RETURN(std::string s, parse_text());
      return CborValue::text(s);
    }
    if (c == 'h' && m_text.substr(m_pos, 2) == "h'") {
      return parse_hex_bytes();
    }
    if (c == 'b' && m_text.substr(m_pos, 4) == "b64'") {
      return parse_b64_bytes();
    }
    if (consume_word("true")) {
      return CborValue::boolean(true);
    }
    if (consume_word("false")) {
      return CborValue::boolean(false);
    }
    if (consume_word("null")) {
      return CborValue::null();
    }
    if (consume_word("Infinity")) {
      return CborValue::floating(std::numeric_limits<double>::infinity());
    }
    if (consume_word("NaN")) {
      return CborValue::floating(std::numeric_limits<double>::quiet_NaN());
    }
    if (consume_word("undefined")) {
      return CborValue::undefined();
    }
    if (consume_word("simple(")) {
      ATLS_ASSIGN_OR_RETURN(const std::uint64_t n, parse_unsigned());
      if (n > 255 || (n >= 24 && n < 32)) {
        return fail("simple value out of range", ErrorCode::CborIntegerOutOfRange);
      }
      // The decoder (libcbor) reads only false, true, null and undefined;
      // accept no other simple value here either, so text and binary agree.
      if (n < CborValue::kFalse || n > CborValue::kUndefined) {
        return fail("unsupported simple value");
      }
      skip_space();
      if (peek() != ')') {
        return fail("')' expected");
      }
      ++m_pos;
      return CborValue::simple(static_cast<std::uint8_t>(n));
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return parse_number(depth);
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

  Result<std::uint64_t> parse_unsigned() {
    skip_space();
    const std::size_t start = m_pos;
    std::uint64_t v = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      const auto d = static_cast<std::uint64_t>(peek() - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
        return fail("integer out of range", ErrorCode::CborIntegerOutOfRange);
      }
      v = v * 10 + d;
      ++m_pos;
    }
    if (m_pos == start) {
      return fail("digits expected");
    }
    return v;
  }

  Result<CborValue> parse_number(std::size_t depth) {
    const std::size_t start = m_pos;
    const bool negative = peek() == '-';
    if (negative) {
      ++m_pos;
      if (consume_word("Infinity")) {
        return CborValue::floating(-std::numeric_limits<double>::infinity());
      }
      // -2^64 is the most negative CBOR integer; its magnitude does not fit
      // a uint64.
      if (consume_word("18446744073709551616")) {
        return CborValue::negative_raw(std::numeric_limits<std::uint64_t>::max());
      }
    }
    ATLS_ASSIGN_OR_RETURN(const std::uint64_t v, parse_unsigned());
    if (peek() == '.' || peek() == 'e' || peek() == 'E') {
      // A decimal float: let strtod read the whole literal.
      std::size_t end = m_pos;
      while (end < m_text.size() &&
             (std::isdigit(static_cast<unsigned char>(m_text[end])) || m_text[end] == '.' ||
              m_text[end] == 'e' || m_text[end] == 'E' || m_text[end] == '+' ||
              m_text[end] == '-')) {
        ++end;
      }
      const std::string literal(m_text.substr(start, end - start));
      char* stop = nullptr;
      const double d = std::strtod(literal.c_str(), &stop);
      if (stop != literal.c_str() + literal.size() || !std::isfinite(d)) {
        return fail("malformed number");
      }
      m_pos = end;
      return CborValue::floating(d);
    }
    if (!negative && peek() == '(') {
      // A tag: N(item).
      ATLS_TRY(open_container(depth));
      ++m_pos;
      ATLS_ASSIGN_OR_RETURN(CborValue content, parse_item(depth + 1));
      skip_space();
      if (peek() != ')') {
        return fail("')' expected after tag content");
      }
      ++m_pos;
      return CborValue::tag(v, std::move(content));
    }
    if (negative) {
      if (v == 0) {
        return CborValue::uint(0);
      }
      return CborValue::negative_raw(v - 1);
    }
    return CborValue::uint(v);
  }

  Result<std::string> parse_text() {
    ++m_pos;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) {
        return fail("unterminated text string");
      }
      const char c = m_text[m_pos++];
      if (c == '"') {
        break;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (at_end()) {
        return fail("unterminated escape");
      }
      const char e = m_text[m_pos++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          ATLS_ASSIGN_OR_RETURN(std::uint32_t cp, parse_hex4());
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!consume_word("\\u")) {
              return fail("unpaired surrogate", ErrorCode::CborInvalidUtf8);
            }
            ATLS_ASSIGN_OR_RETURN(const std::uint32_t lo, parse_hex4());
            if (lo < 0xDC00 || lo > 0xDFFF) {
              return fail("unpaired surrogate", ErrorCode::CborInvalidUtf8);
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("unpaired surrogate", ErrorCode::CborInvalidUtf8);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return fail("unknown escape");
      }
    }
    if (!is_valid_utf8(out)) {
      return fail("text string is not valid UTF-8", ErrorCode::CborInvalidUtf8);
    }
    return out;
  }

  Result<std::uint32_t> parse_hex4() {
    if (m_pos + 4 > m_text.size()) {
      return fail("truncated \\u escape");
    }
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = m_text[m_pos++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return fail("bad \\u escape");
      }
    }
    return v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // quoted_body returns the text between the quotes of h'...' / b64'...'
  // with white space removed (RFC 8610 G.2 allows it inside).
  Result<std::string> quoted_body(std::size_t prefix) {
    m_pos += prefix;
    std::string body;
    while (true) {
      if (at_end()) {
        return fail("unterminated byte string");
      }
      const char c = m_text[m_pos++];
      if (c == '\'') {
        return body;
      }
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        body.push_back(c);
      }
    }
  }

  Result<CborValue> parse_hex_bytes() {
    ATLS_ASSIGN_OR_RETURN(const std::string body, quoted_body(2));
    auto b = from_hex(body);
    if (!b) {
      return fail("invalid hex in byte string");
    }
    return CborValue::bytes(std::move(*b));
  }

  Result<CborValue> parse_b64_bytes() {
    ATLS_ASSIGN_OR_RETURN(std::string body, quoted_body(4));
    // Accept both alphabets, with or without padding.
    for (char& c : body) {
      if (c == '+') {
        c = '-';
      } else if (c == '/') {
        c = '_';
      }
    }
    while (!body.empty() && body.back() == '=') {
      body.pop_back();
    }
    auto b = base64url_decode(body);
    if (!b) {
      return fail("invalid base64 in byte string");
    }
    return CborValue::bytes(std::move(*b));
  }

  Result<CborValue> parse_array(std::size_t depth) {
    ATLS_TRY(open_container(depth));
    ++m_pos;
    std::vector<CborValue> items;
    skip_space();
    if (peek() == ']') {
      ++m_pos;
      return CborValue::array(std::move(items));
    }
    while (true) {
      ATLS_ASSIGN_OR_RETURN(CborValue v, parse_item(depth + 1));
      items.push_back(std::move(v));
      skip_space();
      if (peek() == ',') {
        ++m_pos;
        continue;
      }
      if (peek() == ']') {
        ++m_pos;
        return CborValue::array(std::move(items));
      }
      return fail("',' or ']' expected");
    }
  }

  Result<CborValue> parse_map(std::size_t depth) {
    ATLS_TRY(open_container(depth));
    ++m_pos;
    CborValue map = CborValue::map();
    skip_space();
    if (peek() == '}') {
      ++m_pos;
      return map;
    }
    while (true) {
      ATLS_ASSIGN_OR_RETURN(CborValue key, parse_item(depth + 1));
      skip_space();
      if (peek() != ':') {
        return fail("':' expected after map key");
      }
      ++m_pos;
      ATLS_ASSIGN_OR_RETURN(CborValue value, parse_item(depth + 1));
      for (std::size_t i = 0; i < map.map_size(); ++i) {
        if (map.map_key(i) == key) {
          return fail("duplicate map key", ErrorCode::CborDuplicateKey);
        }
      }
      map.map_put(std::move(key), std::move(value));
      skip_space();
      if (peek() == ',') {
        ++m_pos;
        continue;
      }
      if (peek() == '}') {
        ++m_pos;
        return map;
      }
      return fail("',' or '}' expected");
    }
  }

  std::string_view m_text;
  const CborLimits& m_limits;
  std::size_t m_pos = 0;
};

}  // namespace

Result<CborValue> cbor_from_diag(std::string_view text, const CborLimits& limits) {
  if (text.size() > limits.max_size) {
    return Error{ErrorCode::CborTooLarge, "diagnostic notation larger than " +
                                              std::to_string(limits.max_size) + " characters"};
  }
  return Parser(text, limits).parse_document();
}

}  // namespace atls
