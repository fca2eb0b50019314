#include "src/tls/extensions.h"

#include "src/core/byte_reader.h"

#include <algorithm>
#include <string>
#include <utility>

namespace atls::tls {

Error relabel(ErrorCode code, const Error& e, std::string_view where) {
  std::string detail(where);
  detail += ": ";
  detail += error_name(e.code);
  if (!e.detail.empty()) {
    detail += " (" + e.detail + ")";
  }
  return Error{code, std::move(detail)};
}

// ---------------------------------------------------------------------------
// Handshake messages: uint8 msg_type ‖ uint24 length ‖ body.

Result<Bytes> handshake_message(std::uint8_t type, ByteView body) {
  ByteWriter w;
  w.u8(type);
  ATLS_TRY(w.vector24(body));
  return w.take();
}

Result<HandshakeView> read_handshake(ByteReader& r, ByteView input) {
  const std::size_t start = r.position();
  ATLS_ASSIGN_OR_RETURN(const std::uint8_t type, r.u8());
  ATLS_ASSIGN_OR_RETURN(const ByteView body, r.vector24());
  return HandshakeView{type, body, input.subspan(start, r.position() - start)};
}

// ---------------------------------------------------------------------------
// Extension blocks: Extension extensions<min..2^16-1>, with no two of one
// type (RFC 8446 §4.2).

bool TypeSet::insert(std::uint16_t t) {
  if (!m_bits) {
    m_bits = std::make_unique<std::bitset<65536>>();
  }
  if (m_bits->test(t)) {
    return false;
  }
  m_bits->set(t);
  return true;
}

Result<std::vector<Extension>> parse_extensions(ByteReader& r, std::size_t min, ErrorCode code) {
  ATLS_RELABEL(const ByteView block, r.vector16(min), code, "extensions");
  ByteReader er(block);
  std::vector<Extension> out;
  // Typical blocks hold a handful of extensions: scan those, and switch to a
  // TypeSet only for long blocks.
  constexpr std::size_t kScanLimit = 16;
  TypeSet seen;
  while (!er.empty()) {
    ATLS_RELABEL(const std::uint16_t type, er.u16(), code, "extension type");
    ATLS_RELABEL(const ByteView data, er.vector16(), code, "extension data");
    bool duplicate = false;
    if (out.size() < kScanLimit) {
      duplicate = std::any_of(out.begin(), out.end(),
                              [type](const Extension& e) { return e.type == type; });
    } else {
      if (seen.empty()) {
        for (const Extension& e : out) {
          (void)seen.insert(e.type);
        }
      }
      duplicate = !seen.insert(type);
    }
    if (duplicate) {
      return Error{code, "duplicate extension " + std::to_string(type)};
    }
    out.push_back(Extension{type, Bytes(data.begin(), data.end())});
  }
  return out;
}

Result<void> write_extensions(ByteWriter& w, std::span<const Extension> exts) {
  const std::size_t h = w.begin_vector(2);
  for (const Extension& e : exts) {
    w.u16(e.type);
    ATLS_TRY(w.vector16(e.data));
  }
  return w.end_vector(h);
}

bool has_duplicate_types(std::span<const Extension> exts) {
  TypeSet seen;
  for (const Extension& e : exts) {
    if (!seen.insert(e.type)) {
      return true;
    }
  }
  return false;
}

}  // namespace atls::tls
