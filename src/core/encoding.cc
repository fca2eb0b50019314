#include "src/core/encoding.h"

#include <openssl/crypto.h>

#include <array>

namespace atls {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// b64_value maps both alphabets: '+','-' -> 62 and '/','_' -> 63 when
// |lenient|; otherwise only the URL-safe alphabet.
int b64_value(char c, bool lenient) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '-') {
    return 62;
  }
  if (c == '_') {
    return 63;
  }
  if (lenient && c == '+') {
    return 62;
  }
  if (lenient && c == '/') {
    return 63;
  }
  return -1;
}

Result<Bytes> b64_decode(std::string_view text, bool lenient) {
  if (lenient) {
    while (!text.empty() && text.back() == '=') {
      text.remove_suffix(1);
    }
  }
  if (text.size() % 4 == 1) {
    return Error{ErrorCode::InvalidBase64, "impossible length"};
  }
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int v = b64_value(text[i], lenient);
    if (v < 0) {
      return Error{ErrorCode::InvalidBase64, "invalid character at offset " + std::to_string(i)};
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero (canonical encoding), RFC 4648 §3.5.
  if (!lenient && bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Error{ErrorCode::InvalidBase64, "non-zero padding bits"};
  }
  return out;
}

}  // namespace

std::string to_hex(ByteView data) {
  // Sized once and written in place: claims render many digests per
  // verification, and push_back's capacity check per character dominated.
  std::string s(data.size() * 2, '\0');
  char* out = s.data();
  for (const std::uint8_t b : data) {
    *out++ = kHex[b >> 4];
    *out++ = kHex[b & 0x0f];
  }
  return s;
}

Result<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Error{ErrorCode::InvalidHex, "odd number of hex digits"};
  }
  Bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Error{ErrorCode::InvalidHex, "invalid hex digit at offset " + std::to_string(2 * i)};
    }
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::string base64_encode(ByteView data) {
  std::string s = base64url_encode(data);
  for (char& c : s) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  s.append((4 - s.size() % 4) % 4, '=');
  return s;
}

std::string base64url_encode(ByteView data) {
  std::string s;
  s.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v =
        (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    s.push_back(kB64Url[(v >> 18) & 63]);
    s.push_back(kB64Url[(v >> 12) & 63]);
    s.push_back(kB64Url[(v >> 6) & 63]);
    s.push_back(kB64Url[v & 63]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    s.push_back(kB64Url[(v >> 18) & 63]);
    s.push_back(kB64Url[(v >> 12) & 63]);
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    s.push_back(kB64Url[(v >> 18) & 63]);
    s.push_back(kB64Url[(v >> 12) & 63]);
    s.push_back(kB64Url[(v >> 6) & 63]);
  }
  return s;
}

Result<Bytes> base64url_decode(std::string_view text) {
  return b64_decode(text, false);
}

Result<Bytes> base64_decode_lenient(std::string_view text) {
  return b64_decode(text, true);
}

Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

std::string_view as_string_view(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || ::CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (p[i + k] & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace atls
