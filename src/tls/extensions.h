#pragma once

// The TLS framing shared by the authenticator structures of src/tls: full
// handshake messages (RFC 8446 §4) and Extension blocks (RFC 8446 §4.2).
// The structures themselves live one per file: signature_scheme.h,
// attestation_scheme.h, auth_request.h and authenticator.h. The wire
// profile is docs/wire-profile.md §1.3-§1.6. Pure: no SSL object.

#include <atls/bytes.h>
#include <atls/error.h>
#include <atls/result.h>

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace atls {
class ByteReader;
class ByteWriter;
}  // namespace atls

namespace atls::tls {

// HandshakeType values (RFC 8446 §4; client_certificate_request from
// RFC 9261 §4).
inline constexpr std::uint8_t kCertificateRequest = 0x0d;        // 13
inline constexpr std::uint8_t kClientCertificateRequest = 0x11;  // 17
inline constexpr std::uint8_t kCertificate = 0x0b;               // 11
inline constexpr std::uint8_t kCertificateVerify = 0x0f;         // 15
inline constexpr std::uint8_t kFinished = 0x14;                  // 20

// ExtensionType signature_algorithms (RFC 8446 §4.2), which every
// authenticator request must carry (RFC 9261 §4).
inline constexpr std::uint16_t kExtSignatureAlgorithms = 0x000d;

// ExtensionCodepoints holds the extension types that have no IANA
// assignment yet (docs/wire-profile.md table). Both peers must use the same
// values.
struct ExtensionCodepoints {
  std::uint16_t cmw_attestation = 0xFFA0;
  std::uint16_t atls_schemes = 0xFFA1;
  std::uint16_t atls_negotiation = 0xFFA2;
};

// Extension is one TLS Extension: uint16 type ‖ opaque data<0..2^16-1>.
struct Extension {
  std::uint16_t type = 0;
  Bytes data;

  bool operator==(const Extension&) const = default;
};

// relabel turns a lower-level failure (Truncated, LengthOverflow, ...) into
// the structure's own code, keeping what went wrong as the detail.
Error relabel(ErrorCode code, const Error& e, std::string_view where);

// ATLS_RELABEL(decl, expr, code, where): like ATLS_ASSIGN_OR_RETURN, but a
// failure of |expr| is returned as |code| (through relabel), so that every
// short read inside a structure reports the structure's own error code.
#define ATLS_RELABEL(decl, expr, code, where)                                           \
  ATLS_ASSIGN_OR_RETURN_IMPL_(ATLS_CONCAT_(atls_relabel_, __LINE__), decl,              \
                              ([&]() -> decltype(expr) {                                \
                                auto r_ = (expr);                                       \
                                if (!r_) {                                              \
                                  return ::atls::tls::relabel(code, r_.error(), where); \
                                }                                                       \
                                return r_;                                              \
                              }()))

// handshake_message returns uint8 |type| ‖ uint24 length ‖ |body|. Fails
// with LengthOverflow when |body| exceeds 2^24-1 bytes.
Result<Bytes> handshake_message(std::uint8_t type, ByteView body);

// HandshakeView is one handshake message read from a buffer; the views
// borrow that buffer.
struct HandshakeView {
  std::uint8_t type = 0;
  ByteView body;
  ByteView whole;  // type ‖ length ‖ body
};

// read_handshake reads one handshake message from |r|, which reads |input|
// (|whole| is a view of |input|). A short read fails with the reader's code.
Result<HandshakeView> read_handshake(ByteReader& r, ByteView input);

// TypeSet is a set of 16-bit extension types, so that duplicate and
// membership checks stay linear however many extensions a peer packs into a
// 64 KiB frame. It lives on the heap (8 KiB), allocated on first insert.
class TypeSet {
 public:
  // insert returns false if |t| was already present.
  bool insert(std::uint16_t t);
  bool contains(std::uint16_t t) const { return m_bits && m_bits->test(t); }
  bool empty() const { return !m_bits; }

 private:
  std::unique_ptr<std::bitset<65536>> m_bits;
};

// parse_extensions reads `Extension extensions<min..2^16-1>` from |r|. A
// short read, a partial extension or two extensions of one type
// (RFC 8446 §4.2) fail with |code|.
Result<std::vector<Extension>> parse_extensions(ByteReader& r, std::size_t min, ErrorCode code);

// write_extensions appends `Extension extensions<0..2^16-1>` to |w|. Fails
// with LengthOverflow when an extension or the block exceeds 2^16-1 bytes.
Result<void> write_extensions(ByteWriter& w, std::span<const Extension> exts);

// has_duplicate_types reports whether two of |exts| share a type.
bool has_duplicate_types(std::span<const Extension> exts);

}  // namespace atls::tls
