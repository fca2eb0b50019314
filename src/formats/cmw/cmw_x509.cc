#include "src/formats/cmw/cmw_x509.h"

#include "src/core/encoding.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdint>

namespace atls {
namespace {

constexpr std::uint8_t kDerOctetString = 0x04;
constexpr std::uint8_t kDerUtf8String = 0x0c;

// DerItem is one primitive TLV whose content fills the rest of the input.
struct DerItem {
  std::uint8_t tag = 0;
  ByteView content;
};

// parse_der_item reads a DER TLV with a definite, minimally encoded length
// that must end exactly at the end of |der|.
Result<DerItem> parse_der_item(ByteView der) {
  if (der.size() < 2) {
    return Error{ErrorCode::CmwMalformed, "extension value truncated"};
  }
  DerItem item;
  item.tag = der[0];
  std::size_t len = der[1];
  std::size_t pos = 2;
  if (len >= 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 4) {
      return Error{ErrorCode::CmwMalformed, "extension value has an unsupported length form"};
    }
    if (der.size() - pos < n) {
      return Error{ErrorCode::CmwMalformed, "extension value truncated"};
    }
    len = 0;
    for (std::size_t i = 0; i < n; ++i) {
      len = (len << 8) | der[pos + i];
    }
    pos += n;
    // DER: the shortest length form, without leading zero octets.
    if (len < 0x80 || der[2] == 0) {
      return Error{ErrorCode::CmwMalformed, "extension value length is not minimal DER"};
    }
  }
  if (der.size() - pos != len) {
    return Error{ErrorCode::CmwMalformed, der.size() - pos < len
                                              ? "extension value truncated"
                                              : "trailing bytes after the extension value"};
  }
  item.content = der.subspan(pos);
  return item;
}

void append_der_length(Bytes& out, std::size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<std::uint8_t>(len));
    return;
  }
  std::array<std::uint8_t, sizeof(std::size_t)> digits{};
  std::size_t n = 0;
  for (std::size_t v = len; v != 0; v >>= 8) {
    digits[n++] = static_cast<std::uint8_t>(v & 0xff);
  }
  out.push_back(static_cast<std::uint8_t>(0x80 | n));
  while (n > 0) {
    out.push_back(digits[--n]);
  }
}

}  // namespace

Result<Cmw> cmw_from_extension_value(ByteView der, const CmwLimits& limits) {
  //= draft-ietf-rats-msg-wrap, "Transporting CMW in X.509 Messages"
  //# CMW ::= CHOICE {
  //#     json UTF8String,
  //#     cbor OCTET STRING
  //# }
  ATLS_ASSIGN_OR_RETURN(DerItem item, parse_der_item(der));
  if (item.tag == kDerUtf8String) {
    const std::string_view text = as_string_view(item.content);
    if (!is_valid_utf8(text)) {
      return Error{ErrorCode::CmwMalformed, "UTF8String is not valid UTF-8"};
    }
    return parse_cmw_json(text, limits);
  }
  if (item.tag == kDerOctetString) {
    return parse_cmw_cbor(item.content, limits);
  }
  return Error{ErrorCode::CmwMalformed, "extension value is neither UTF8String nor OCTET STRING"};
}

Result<Cmw> cmw_from_certificate(const X509* cert, const CmwLimits& limits) {
  if (cert == nullptr) {
    return Error{ErrorCode::InvalidArgument, "null certificate"};
  }
  X509_EXTENSION* found = nullptr;  // borrowed from cert
  const int count = ::X509_get_ext_count(cert);
  for (int i = 0; i < count; ++i) {
    X509_EXTENSION* ext = ::X509_get_ext(cert, i);  // borrowed from cert
    const ASN1_OBJECT* obj = ::X509_EXTENSION_get_object(ext);
    std::array<char, 80> oid{};
    const int n = ::OBJ_obj2txt(oid.data(), static_cast<int>(oid.size()), obj, 1);
    if (n <= 0 || static_cast<std::size_t>(n) >= oid.size() ||
        std::string_view(oid.data(), static_cast<std::size_t>(n)) != kOidPeCmw) {
      continue;
    }
    //= https://www.rfc-editor.org/rfc/rfc5280#section-4.2
    //# A certificate MUST NOT include more than one instance of a particular
    //# extension.
    if (found != nullptr) {
      return Error{ErrorCode::CertMalformed, "two id-pe-cmw extensions"};
    }
    found = ext;
  }
  if (found == nullptr) {
    return Error{ErrorCode::CertNoCmwExtension, std::string(kOidPeCmw)};
  }
  const ASN1_OCTET_STRING* data = ::X509_EXTENSION_get_data(found);  // borrowed
  if (data == nullptr) {
    return Error{ErrorCode::CertMalformed, "extension without value"};
  }
  const ByteView der(::ASN1_STRING_get0_data(data),
                     static_cast<std::size_t>(::ASN1_STRING_length(data)));
  return cmw_from_extension_value(der, limits);
}

Result<Bytes> cmw_extension_value(const Cmw& cmw) {
  Bytes content;
  std::uint8_t tag = kDerOctetString;
  if (cmw.format == Cmw::Format::Json) {
    ATLS_ASSIGN_OR_RETURN(std::string json, encode_cmw_json(cmw));
    content = to_bytes(json);
    tag = kDerUtf8String;
  } else {
    ATLS_ASSIGN_OR_RETURN(content, encode_cmw_cbor(cmw));
  }
  Bytes out;
  out.reserve(content.size() + 10);
  out.push_back(tag);
  append_der_length(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

}  // namespace atls
