#include "src/tls/attestation_scheme.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/tls/extensions.h"

#include <string>
#include <utility>

namespace atls::tls {

AttestationScheme AttestationScheme::evidence_media_type(std::string_view media_type) {
  AttestationScheme s;
  s.mechanism = AttestationMechanism::Evidence;
  s.type_encoding = EvidenceTypeEncoding::MediaType;
  s.media_type = std::string(media_type);
  return s;
}

AttestationScheme AttestationScheme::evidence_content_format(std::uint16_t content_format) {
  AttestationScheme s;
  s.mechanism = AttestationMechanism::Evidence;
  s.type_encoding = EvidenceTypeEncoding::ContentFormat;
  s.content_format = content_format;
  return s;
}

AttestationScheme AttestationScheme::result(ByteView verifier_identity) {
  AttestationScheme s;
  s.mechanism = AttestationMechanism::Result;
  s.verifier_identity.assign(verifier_identity.begin(), verifier_identity.end());
  return s;
}

bool AttestationScheme::operator==(const AttestationScheme& other) const {
  if (mechanism != other.mechanism) {
    return false;
  }
  if (mechanism == AttestationMechanism::Result) {
    return verifier_identity == other.verifier_identity;
  }
  if (type_encoding != other.type_encoding) {
    return false;
  }
  return type_encoding == EvidenceTypeEncoding::ContentFormat
             ? content_format == other.content_format
             : media_type == other.media_type;
}

Result<void> encode_attestation_scheme(ByteWriter& w, const AttestationScheme& scheme) {
  switch (scheme.mechanism) {
    case AttestationMechanism::Evidence:
      w.u8(0x00);
      switch (scheme.type_encoding) {
        case EvidenceTypeEncoding::ContentFormat:
          w.u8(0x00);
          w.u16(scheme.content_format);
          return ok();
        case EvidenceTypeEncoding::MediaType:
          w.u8(0x01);
          if (!w.vector16(to_bytes(scheme.media_type))) {
            return Error{ErrorCode::InvalidArgument, "media type over 65535 bytes"};
          }
          return ok();
      }
      return Error{ErrorCode::InvalidArgument, "unknown EvidenceType encoding"};
    case AttestationMechanism::Result:
      w.u8(0x01);
      if (!w.vector16(scheme.verifier_identity)) {
        return Error{ErrorCode::InvalidArgument, "verifier identity over 65535 bytes"};
      }
      return ok();
  }
  return Error{ErrorCode::InvalidArgument, "unknown attestation mechanism"};
}

Result<AttestationScheme> parse_attestation_scheme(ByteReader& r, ErrorCode malformed) {
  ATLS_RELABEL(const std::uint8_t mechanism, r.u8(), malformed, "AttestationScheme");
  switch (mechanism) {
    case 0x00: {
      ATLS_RELABEL(const std::uint8_t encoding, r.u8(), malformed, "EvidenceType");
      if (encoding == 0x00) {
        ATLS_RELABEL(const std::uint16_t cf, r.u16(), malformed, "content_format");
        return AttestationScheme::evidence_content_format(cf);
      }
      if (encoding == 0x01) {
        ATLS_RELABEL(const ByteView mt, r.vector16(), malformed, "media_type");
        return AttestationScheme::evidence_media_type(as_string_view(mt));
      }
      return Error{malformed, "unknown EvidenceType encoding " + std::to_string(encoding)};
    }
    case 0x01: {
      ATLS_RELABEL(const ByteView id, r.vector16(), malformed, "verifier_identity");
      return AttestationScheme::result(id);
    }
    default:
      return Error{malformed, "unknown attestation mechanism " + std::to_string(mechanism)};
  }
}

Result<Bytes> encode_attestation_schemes(std::span<const AttestationScheme> schemes) {
  ByteWriter w;
  const std::size_t h = w.begin_vector(2);
  for (const AttestationScheme& s : schemes) {
    ATLS_TRY(encode_attestation_scheme(w, s));
  }
  if (!w.end_vector(h)) {
    return Error{ErrorCode::InvalidArgument, "attestation scheme list over 65535 bytes"};
  }
  return w.take();
}

Result<std::vector<AttestationScheme>> parse_attestation_schemes(ByteReader& r,
                                                                 ErrorCode malformed) {
  ATLS_RELABEL(const ByteView list, r.vector16(), malformed, "AttestationScheme list");
  ByteReader lr(list);
  std::vector<AttestationScheme> out;
  while (!lr.empty()) {
    ATLS_ASSIGN_OR_RETURN(AttestationScheme s, parse_attestation_scheme(lr, malformed));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<AttestationScheme>> parse_attestation_scheme_list(ByteView data,
                                                                     ErrorCode malformed) {
  ByteReader r(data);
  ATLS_ASSIGN_OR_RETURN(std::vector<AttestationScheme> out,
                        parse_attestation_schemes(r, malformed));
  if (!r.empty()) {
    return Error{malformed, "trailing bytes after the scheme list"};
  }
  return out;
}

}  // namespace atls::tls
