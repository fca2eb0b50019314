#pragma once

// RFC 9261 Exported Authenticators, built and validated outside the TLS stack
// (RFC 9261 §7 allows this), with the cmw_attestation extension of
// draft-fossati-seat-expat and the AttestationScheme structure of
// draft-fossati-seat-early-attestation §3.1. The wire profile is
// docs/design PROTOCOL.md §1.3-§1.6.
//
// This header is pure: it never sees an SSL object. The keys come from
// src/tls/exporter.h (authenticator_keys), the bytes travel in atls frames
// (src/tls/frame.h). What it does NOT do, and the caller must:
//   * certificate-chain policy (WebPKI chain, pinned key, attestation-only
//     identity) on ValidatedAuthenticator::chain_der / leaf;
//   * context bookkeeping: that the context was issued by this RP on this
//     connection and not yet used (EaUnknownContext / EaContextReused for an
//     unknown or replayed context are the caller's checks; the check here is
//     only that the Certificate echoes the request it is validated against);
//   * CMW extraction, binder comparison and appraisal (src/attestation/).

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/crypto.h"
#include "src/ossl/ossl.h"
#include "src/ossl/x509.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
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
// assignment yet (PROTOCOL.md table). Both peers must use the same values.
struct ExtensionCodepoints {
  std::uint16_t cmw_attestation = 0xFFA0;
  std::uint16_t atls_schemes = 0xFFA1;
  std::uint16_t atls_negotiation = 0xFFA2;
  std::uint16_t remote_attestation = 0xFFA3;
};

// Extension is one TLS Extension: uint16 type ‖ opaque data<0..2^16-1>.
struct Extension {
  std::uint16_t type = 0;
  Bytes data;

  bool operator==(const Extension&) const = default;
};

// SignatureScheme values (RFC 8446 §4.2.3) that authenticators support.
// ECDSA signatures are DER ECDSA-Sig-Value, as in TLS 1.3.
inline constexpr std::uint16_t kEcdsaSecp256r1Sha256 = 0x0403;
inline constexpr std::uint16_t kEcdsaSecp384r1Sha384 = 0x0503;
inline constexpr std::uint16_t kEd25519 = 0x0807;
inline constexpr std::uint16_t kRsaPssRsaeSha256 = 0x0804;
inline constexpr std::uint16_t kRsaPssRsaeSha384 = 0x0805;

// supported_signature_schemes returns the schemes above in our order of
// preference; it is the default signature_algorithms of a request. The span
// refers to static storage.
std::span<const std::uint16_t> supported_signature_schemes();

// is_supported_signature_scheme reports whether |scheme| is one of the above.
bool is_supported_signature_scheme(std::uint16_t scheme);

// signature_scheme_matches_key reports whether |scheme| can be produced by
// |key| under TLS 1.3 rules (the ECDSA schemes fix the curve; rsa_pss_rsae
// needs an rsaEncryption key).
bool signature_scheme_matches_key(std::uint16_t scheme, const EVP_PKEY* key);

// ---------------------------------------------------------------------------
// AttestationScheme (draft-fossati-seat-early-attestation §3.1):
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

// ---------------------------------------------------------------------------
// Authenticator requests (RFC 9261 §4):
//
//   struct { opaque certificate_request_context<0..2^8-1>;
//            Extension extensions<2..2^16-1>; } CertificateRequest;   // type 13
//   (ClientCertificateRequest, type 17, has the same body)
//
// encoded as a full handshake message: uint8 msg_type ‖ uint24 length ‖ body.

// AuthRequest is a parsed (or freshly built) authenticator request. |raw| is
// the full handshake message exactly as sent: it enters the authenticator's
// transcript, so keep it until the answer is validated.
struct AuthRequest {
  std::uint8_t msg_type = kClientCertificateRequest;  // 13 or 17
  Bytes context;                                      // certificate_request_context
  std::vector<Extension> extensions;                  // in wire order, no duplicates
  std::vector<std::uint16_t> signature_schemes;       // parsed signature_algorithms
  Bytes raw;                                          // the full handshake message

  // find returns the extension of |type|, or nullptr. The pointer borrows
  // this object.
  const Extension* find(std::uint16_t type) const;
  // has_extension reports whether an extension of |type| is present.
  bool has_extension(std::uint16_t type) const { return find(type) != nullptr; }
};

// AuthRequestOptions describes a request to build.
struct AuthRequestOptions {
  // kClientCertificateRequest (17) when a client asks the server to
  // authenticate; kCertificateRequest (13) when a server asks the client
  // (RFC 9261 §4, PROTOCOL §1.3).
  std::uint8_t msg_type = kClientCertificateRequest;
  // certificate_request_context, 0..255 bytes. PROTOCOL §1.3: 32 fresh random
  // bytes, unique on the connection (the caller draws them).
  Bytes context;
  // signature_algorithms, non-empty; defaults to supported_signature_schemes().
  std::vector<std::uint16_t> signature_schemes;
  // Put an empty cmw_attestation extension in the request (expat's signal).
  bool request_attestation = true;
  // atls_schemes, in order of preference. The extension is sent only when
  // request_attestation is set and this list is non-empty.
  std::vector<AttestationScheme> schemes;
  // Further extensions, appended after ours; their types must differ from
  // every other extension of the request.
  std::vector<Extension> extra_extensions;
};

// encode_auth_request builds the request: signature_algorithms, then
// cmw_attestation (empty), then atls_schemes, then |extra_extensions|.
// Fails with InvalidArgument on a msg_type other than 13/17, a context over
// 255 bytes, an empty or odd signature list, a duplicate extension type, or
// oversized fields. The result's |raw| is what goes into an AUTH_REQUEST
// frame.
Result<AuthRequest> encode_auth_request(const AuthRequestOptions& options,
                                        const ExtensionCodepoints& codepoints);

// parse_auth_request parses one request (a full handshake message). It is
// strict: a msg_type other than 13/17, a length that disagrees with the
// input, trailing bytes, a context over 255 bytes, an extension block under
// 2 bytes or with a partial extension, two extensions of one type, no
// signature_algorithms or a malformed one (RFC 8446 §4.2.3:
// `SignatureScheme supported_signature_algorithms<2..2^16-2>`) all fail with
// EaRequestMalformed. Unknown extensions are kept and otherwise ignored
// (RFC 8446 §4.2).
Result<AuthRequest> parse_auth_request(ByteView message);

// RequestedAttestation is what a request asks of an attester.
struct RequestedAttestation {
  bool wants_attestation = false;          // an (empty) cmw_attestation is present
  std::vector<AttestationScheme> schemes;  // atls_schemes, in the requester's order
};

// requested_attestation reads cmw_attestation and atls_schemes of |request|.
// A non-empty cmw_attestation or a malformed atls_schemes fails with
// EaRequestMalformed.
Result<RequestedAttestation> requested_attestation(const AuthRequest& request,
                                                   const ExtensionCodepoints& codepoints);

// ---------------------------------------------------------------------------
// Authenticators (RFC 9261 §5): Certificate ‖ CertificateVerify ‖ Finished,
// each a full handshake message, or Finished alone (empty authenticator).

// EaKeys are the two exporter values of one sender role (RFC 9261 §5.1):
// Handshake Context and Finished MAC Key, each Hash.length bytes, taken with
// the labels of the role that SENDS the authenticator. A sender builds with
// its own role's keys; a receiver validates with the peer role's keys.
// Obtain them with authenticator_keys() in src/tls/exporter.h. The finished
// key is secret: do not log it.
struct EaKeys {
  ossl::HashAlg hash = ossl::HashAlg::Sha256;  // the cipher suite's hash
  Bytes handshake_context;
  Bytes finished_key;
};

// build_authenticator returns Certificate ‖ CertificateVerify ‖ Finished:
//   Certificate       = context ‖ one CertificateEntry per |chain_der|
//                       element (leaf first); the leaf carries
//                       |leaf_extensions|, the others none;
//   CertificateVerify = scheme ‖ Sign(key, 0x20 x 64 ‖ "Exported Authenticator"
//                       ‖ 0x00 ‖ Hash(HandshakeContext ‖ request ‖ Certificate));
//   Finished          = HMAC(FinishedKey, Hash(HandshakeContext ‖ request ‖
//                       Certificate ‖ CertificateVerify)).
// |request| is the request being answered; nullptr means a spontaneous
// (server-only) authenticator, whose request part is empty. |context| is
// written into the Certificate as given: pass request->context when
// answering a request (RFC 9261 §5.2.1: it is copied from the request), or
// a fresh unpredictable value for a spontaneous one.
// The scheme is the first of the request's signature_algorithms (the
// requester's order) that we support and |key| can produce; for a
// spontaneous authenticator, the first of |spontaneous_schemes| (the
// ClientHello's signature_algorithms; empty means our supported list). No
// match fails with EaSignatureSchemeUnsupported. RFC 9261 §5.2.1 lets the
// Certificate carry only extensions the request carried: any leaf extension
// type absent from the request fails with InvalidArgument (for a spontaneous
// authenticator the caller vouches for them). An empty |chain_der|, a
// context over 255 bytes or oversized fields fail with InvalidArgument.
// |key| is borrowed; it must be the private key of chain_der[0].
Result<Bytes> build_authenticator(const EaKeys& own, const AuthRequest* request, ByteView context,
                                  std::span<const Bytes> chain_der,
                                  std::span<const Extension> leaf_extensions, EVP_PKEY* key,
                                  std::span<const std::uint16_t> spontaneous_schemes = {});

// build_empty_authenticator returns the refusal: a Finished message alone,
//   HMAC(FinishedKey, Hash(HandshakeContext ‖ request ‖ Certificate)),
// where Certificate has request.context and an empty certificate_list
// (RFC 9261 §5.2.3).
Result<Bytes> build_empty_authenticator(const EaKeys& own, const AuthRequest& request);

// cmw_extension returns the leaf's cmw_attestation extension for |cmw|:
// extension_data = uint16 len ‖ CMW (draft-fossati-seat-expat:
// `opaque cmw_data<1..2^16-1>`). Fails with InvalidArgument on an empty CMW
// or one over 65533 bytes (the outer extension_data has a 16-bit length too).
Result<Extension> cmw_extension(ByteView cmw, const ExtensionCodepoints& codepoints);

// CertificateEntryView is one parsed CertificateEntry; views borrow the
// authenticator bytes.
struct CertificateEntryView {
  ByteView cert_data;
  std::vector<Extension> extensions;
};

// ParsedAuthenticator is the structure of an authenticator, unauthenticated.
// Views borrow the input of parse_authenticator.
struct ParsedAuthenticator {
  bool is_empty = false;         // Finished only
  ByteView certificate_message;  // full handshake message; empty if is_empty
  ByteView certificate_verify_message;
  ByteView finished_message;
  ByteView context;  // the Certificate's certificate_request_context
  std::vector<CertificateEntryView> entries;
  std::uint16_t scheme = 0;  // CertificateVerify.algorithm
  ByteView signature;
  ByteView verify_data;  // Finished body
};

// parse_authenticator splits |authenticator| into its messages, structurally
// only (no keys, no crypto, no X.509 decoding). It accepts Certificate(11) ‖
// CertificateVerify(15) ‖ Finished(20) with a non-empty certificate_list, or
// Finished(20) alone. Wrong types or order, bad lengths, trailing bytes, an
// empty cert_data, a duplicate extension within one entry, an empty
// certificate_list, or an empty Finished fail with EaMalformed.
Result<ParsedAuthenticator> parse_authenticator(ByteView authenticator);

// peek_context returns the Certificate's certificate_request_context, to
// find the request an authenticator answers, without validating anything.
// An empty authenticator names no context: Finished-only input fails with
// EaEmptyAuthenticator, and the caller then validates it against its
// outstanding request(s), which checks the Finished before reporting the
// refusal. Other malformed input fails with EaMalformed.
Result<Bytes> peek_context(ByteView authenticator);

// ValidatedAuthenticator is what a valid authenticator proves: the sender
// holds the leaf key (CertificateVerify), over this connection and request
// (Finished). It proves nothing about the chain; apply certificate policy.
struct ValidatedAuthenticator {
  Bytes context;                 // equals the request's
  std::vector<Bytes> chain_der;  // leaf first
  ossl::UniquePtr<X509> leaf;    // decoded chain_der[0]
  Bytes leaf_spki;               // DER SubjectPublicKeyInfo, for the binder
  std::vector<Extension> leaf_extensions;
  std::optional<Bytes> cmw;  // cmw_data of the leaf's cmw_attestation
  std::uint16_t scheme = 0;  // the CertificateVerify scheme
  // decoded chain_der[1..], for the caller's certificate policy
  std::vector<ossl::UniquePtr<X509>> intermediates;
};

// CertificateReuse lets validate_authenticator take certificates that are
// already decoded instead of decoding them again. Both are optional and
// borrowed. A certificate is reused only for an entry whose cert_data is
// byte for byte its encoding, so the result is the one d2i_X509 would give;
// every check still runs on it.
struct CertificateReuse {
  // The certificate of the TLS handshake (SSL_get0_peer_certificate), which
  // the authenticator's leaf usually repeats.
  X509* handshake_certificate = nullptr;
  // Certificates decoded on earlier connections; entries decoded here are
  // added. Thread-safe.
  const ossl::CertificateCache* cache = nullptr;
};

// validate_authenticator checks |authenticator| as the answer to |request|,
// with |peer| = the keys of the SENDER's role (the peer's role). In the
// order of PROTOCOL.md §1.6, the first failure ends validation:
//   1. parse                                     → EaMalformed
//   2. Finished, compared in constant time       → EaBadFinished
//      (a Finished of the wrong length           → EaMalformed)
//   3. empty authenticator whose Finished verified → EaEmptyAuthenticator
//   4. X.509 decoding of every entry             → EaMalformed
//      scheme not in the request's list, or not one we support
//                                                → EaSignatureSchemeUnsupported
//      CertificateVerify with the leaf key       → EaBadCertificateVerify
//   5. Certificate context != request context    → EaUnknownContext
//   6. an extension, in any entry, of a type the request did not carry, or
//      cmw_attestation on a non-leaf entry       → EaUnsupportedExtension
//      cmw_attestation data not `uint16 len ‖ CMW` with 1 ≤ len, exact
//                                                → EaMalformed
// A missing cmw_attestation is not an error here (cmw is nullopt); the
// caller decides whether attestation was required (EaNoAttestation).
// Spontaneous authenticators (no request) are not validated here: the
// atls profile always answers a request (PROTOCOL.md §1.3).
// |reuse| only saves decoding work; it never changes the outcome.
Result<ValidatedAuthenticator> validate_authenticator(const EaKeys& peer,
                                                      const AuthRequest& request,
                                                      ByteView authenticator,
                                                      const ExtensionCodepoints& codepoints,
                                                      const CertificateReuse& reuse = {});

}  // namespace atls::tls
