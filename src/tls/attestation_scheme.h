#pragma once

// AttestationScheme (draft-fossati-seat-early-attestation §3.1), the
// structure that names one way to attest, and lists of them. Requests carry
// a list in atls_schemes (src/tls/auth_request.h); the atls_negotiation
// extension carries lists too (src/tls/negotiation.h). Pure: no SSL object.
//
//   enum { CONTENT_FORMAT(0), MEDIA_TYPE(1) } typeEncoding;
//   struct { typeEncoding type_encoding;
//            select (type_encoding) { case CONTENT_FORMAT: uint16 content_format;
//                                     case MEDIA_TYPE: opaque media_type<0..2^16-1>; };
//   } EvidenceType;
//   enum { evidence(0), result(1), (255) } AttestationMechanism;
//   struct { AttestationMechanism mechanism;
//            select (mechanism) { case evidence: EvidenceType;
//                                 case result: opaque verifier_identity<0..2^16-1>; };
//   } AttestationScheme;

#include <atls/bytes.h>
#include <atls/error.h>
#include <atls/result.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace atls {
class ByteReader;
class ByteWriter;
}  // namespace atls

namespace atls::tls {

enum class AttestationMechanism : std::uint8_t { Evidence = 0x00, Result = 0x01 };
enum class EvidenceTypeEncoding : std::uint8_t { ContentFormat = 0x00, MediaType = 0x01 };

// AttestationScheme names one way to attest: Evidence of a media type or
// CoAP content format (background-check), or an Attestation Result from a
// named Verifier (passport). Only the fields of the selected arm are
// meaningful; the factories leave the others empty, the parser too, and
// operator== compares only the selected arm.
struct AttestationScheme {
  AttestationMechanism mechanism = AttestationMechanism::Evidence;
  EvidenceTypeEncoding type_encoding = EvidenceTypeEncoding::MediaType;
  std::uint16_t content_format = 0;  // Evidence + ContentFormat
  std::string media_type;            // Evidence + MediaType (opaque bytes on the wire)
  Bytes verifier_identity;           // Result

  static AttestationScheme evidence_media_type(std::string_view media_type);
  static AttestationScheme evidence_content_format(std::uint16_t content_format);
  static AttestationScheme result(ByteView verifier_identity);

  bool operator==(const AttestationScheme& other) const;
};

// encode_attestation_scheme appends one AttestationScheme to |w|. Fails with
// InvalidArgument when a media type or verifier identity exceeds 2^16-1
// bytes, or the mechanism/encoding is not one of the enumerators.
Result<void> encode_attestation_scheme(ByteWriter& w, const AttestationScheme& scheme);

// parse_attestation_scheme reads one AttestationScheme from |r|. An unknown
// mechanism or type_encoding, or a short read, fails with |malformed| (the
// caller's code: EaRequestMalformed, NegotiationMalformed, ...).
Result<AttestationScheme> parse_attestation_scheme(ByteReader& r, ErrorCode malformed);

// encode_attestation_schemes returns `AttestationScheme schemes<0..2^16-1>`
// (uint16 length ‖ schemes). Fails with InvalidArgument as above or when the
// list exceeds 2^16-1 bytes.
Result<Bytes> encode_attestation_schemes(std::span<const AttestationScheme> schemes);

// parse_attestation_schemes reads one `AttestationScheme schemes<0..2^16-1>`
// vector from |r|; the vector's bytes must hold whole schemes exactly.
// Failures carry |malformed|.
Result<std::vector<AttestationScheme>> parse_attestation_schemes(ByteReader& r,
                                                                 ErrorCode malformed);

// parse_attestation_scheme_list parses |data| as exactly one such vector (no
// trailing bytes). Failures carry |malformed|.
Result<std::vector<AttestationScheme>> parse_attestation_scheme_list(ByteView data,
                                                                     ErrorCode malformed);

}  // namespace atls::tls
