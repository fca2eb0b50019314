#pragma once

#include <atls/bytes.h>
#include <atls/result.h>

#include <string>
#include <string_view>

namespace atls {

// to_hex returns lower-case hex of |data|.
std::string to_hex(ByteView data);

// from_hex decodes hex (either case, no separators, even length).
// Fails with InvalidHex.
Result<Bytes> from_hex(std::string_view hex);

// base64url_encode returns base64url without padding (RFC 4648 §5).
std::string base64url_encode(ByteView data);

// base64_encode returns standard base64 with padding (RFC 4648 §4).
std::string base64_encode(ByteView data);

// base64url_decode decodes base64url without padding. It rejects padding,
// characters outside the URL-safe alphabet, and non-canonical trailing bits.
// Fails with InvalidBase64.
Result<Bytes> base64url_decode(std::string_view text);

// base64_decode_lenient decodes standard or URL-safe base64, with or without
// padding (for inputs such as JWK or PEM bodies that are not ours).
Result<Bytes> base64_decode_lenient(std::string_view text);

// to_bytes copies a string's bytes.
Bytes to_bytes(std::string_view s);

// as_string_view views bytes as characters.
std::string_view as_string_view(ByteView b);

// constant_time_equal compares two byte strings in time that depends only on
// their lengths.
bool constant_time_equal(ByteView a, ByteView b);

// is_valid_utf8 reports whether |s| is well-formed UTF-8 (no overlongs,
// no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace atls
