#include "src/tls/authenticator.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <memory>
#include <string>
#include <utility>

namespace atls::tls {
namespace {

// relabel turns a lower-level failure (Truncated, LengthOverflow, ...) into
// the layer's own code, keeping what went wrong as the detail.
Error relabel(ErrorCode code, const Error& e, std::string_view where) {
  std::string detail(where);
  detail += ": ";
  detail += error_name(e.code);
  if (!e.detail.empty()) {
    detail += " (" + e.detail + ")";
  }
  return Error{code, std::move(detail)};
}

// ATLS_RELABEL(decl, expr, code, where): like ATLS_ASSIGN_OR_RETURN, but a
// failure of |expr| is returned as |code| (through relabel), so that every
// short read inside a structure reports the structure's own error code.
#define ATLS_RELABEL(decl, expr, code, where)                              \
  ATLS_ASSIGN_OR_RETURN_IMPL_(ATLS_CONCAT_(atls_relabel_, __LINE__), decl, \
                              ([&]() -> decltype(expr) {                   \
                                auto r_ = (expr);                          \
                                if (!r_) {                                 \
                                  return relabel(code, r_.error(), where); \
                                }                                          \
                                return r_;                                 \
                              }()))

// ---------------------------------------------------------------------------
// Signature schemes.

constexpr std::array<std::uint16_t, 5> kSupportedSchemes = {
    kEcdsaSecp256r1Sha256, kEcdsaSecp384r1Sha384, kEd25519, kRsaPssRsaeSha256, kRsaPssRsaeSha384,
};

struct SchemeInfo {
  ossl::SignatureAlg alg;
  ossl::KeyType key;
};

std::optional<SchemeInfo> scheme_info(std::uint16_t scheme) {
  switch (scheme) {
    case kEcdsaSecp256r1Sha256:
      return SchemeInfo{ossl::SignatureAlg::EcdsaSha256, ossl::KeyType::EcP256};
    case kEcdsaSecp384r1Sha384:
      return SchemeInfo{ossl::SignatureAlg::EcdsaSha384, ossl::KeyType::EcP384};
    case kEd25519:
      return SchemeInfo{ossl::SignatureAlg::Ed25519, ossl::KeyType::Ed25519};
    case kRsaPssRsaeSha256:
      return SchemeInfo{ossl::SignatureAlg::RsaPssSha256, ossl::KeyType::Rsa};
    case kRsaPssRsaeSha384:
      return SchemeInfo{ossl::SignatureAlg::RsaPssSha384, ossl::KeyType::Rsa};
    default:
      return std::nullopt;
  }
}

// ---------------------------------------------------------------------------
// Handshake messages: uint8 msg_type ‖ uint24 length ‖ body.

Result<Bytes> handshake_message(std::uint8_t type, ByteView body) {
  ByteWriter w;
  w.u8(type);
  ATLS_TRY(w.vector24(body));
  return w.take();
}

struct HandshakeView {
  std::uint8_t type = 0;
  ByteView body;
  ByteView whole;
};

Result<HandshakeView> read_handshake(ByteReader& r, ByteView input) {
  const std::size_t start = r.position();
  ATLS_ASSIGN_OR_RETURN(const std::uint8_t type, r.u8());
  ATLS_ASSIGN_OR_RETURN(const ByteView body, r.vector24());
  return HandshakeView{type, body, input.subspan(start, r.position() - start)};
}

// TypeSet is a set of 16-bit extension types, so that duplicate and
// membership checks stay linear however many extensions a peer packs into a
// 64 KiB frame. It lives on the heap (8 KiB).
class TypeSet {
 public:
  // insert returns false if |t| was already present.
  bool insert(std::uint16_t t) {
    if (!m_bits) {
      m_bits = std::make_unique<std::bitset<65536>>();
    }
    if (m_bits->test(t)) {
      return false;
    }
    m_bits->set(t);
    return true;
  }
  bool contains(std::uint16_t t) const { return m_bits && m_bits->test(t); }
  bool empty() const { return !m_bits; }

 private:
  std::unique_ptr<std::bitset<65536>> m_bits;
};

// Extension blocks: Extension extensions<min..2^16-1>, with no two of one
// type (RFC 8446 §4.2).
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

// signature_algorithms extension_data (RFC 8446 §4.2.3):
//   SignatureScheme supported_signature_algorithms<2..2^16-2>;
Result<std::vector<std::uint16_t>> parse_signature_algorithms(ByteView data) {
  ByteReader r(data);
  ATLS_RELABEL(const ByteView list, r.vector16(2, 0xfffe), ErrorCode::EaRequestMalformed,
               "signature_algorithms");
  if (!r.empty() || list.size() % 2 != 0) {
    return Error{ErrorCode::EaRequestMalformed, "signature_algorithms has a partial entry"};
  }
  std::vector<std::uint16_t> out;
  out.reserve(list.size() / 2);
  for (std::size_t i = 0; i < list.size(); i += 2) {
    out.push_back(static_cast<std::uint16_t>((list[i] << 8) | list[i + 1]));
  }
  return out;
}

// The Certificate message (RFC 8446 §4.4.2) with X.509 entries; only the leaf
// carries extensions.
Result<Bytes> encode_certificate(ByteView context, std::span<const Bytes> chain_der,
                                 std::span<const Extension> leaf_extensions) {
  ByteWriter w;
  ATLS_TRY(w.vector8(context));
  const std::size_t list = w.begin_vector(3);
  for (std::size_t i = 0; i < chain_der.size(); ++i) {
    if (chain_der[i].empty()) {
      return Error{ErrorCode::InvalidArgument, "empty certificate in chain"};
    }
    ATLS_TRY(w.vector24(chain_der[i]));
    ATLS_TRY(write_extensions(w, i == 0 ? leaf_extensions : std::span<const Extension>{}));
  }
  ATLS_TRY(w.end_vector(list));
  return handshake_message(kCertificate, w.data());
}

// RFC 9261 §5.2.2: the CertificateVerify signature covers, as in RFC 8446
// §4.4.3, 64 octets of 0x20, the context string "Exported Authenticator", a
// 0x00 byte, and Hash(Handshake Context || authenticator request ||
// Certificate); the request part is empty for a spontaneous authenticator.
Result<Bytes> certificate_verify_input(const EaKeys& keys, ByteView request, ByteView certificate) {
  ATLS_ASSIGN_OR_RETURN(ossl::Hasher h, ossl::Hasher::create(keys.hash));
  ATLS_TRY(h.update(keys.handshake_context));
  ATLS_TRY(h.update(request));
  ATLS_TRY(h.update(certificate));
  ATLS_ASSIGN_OR_RETURN(const Bytes transcript, h.finish());
  static constexpr std::string_view kContext = "Exported Authenticator";
  static constexpr std::array<std::uint8_t, 64> kPad = [] {
    std::array<std::uint8_t, 64> pad{};
    pad.fill(0x20);
    return pad;
  }();
  ByteWriter w;
  w.bytes(kPad);
  w.bytes(ByteView(reinterpret_cast<const std::uint8_t*>(kContext.data()), kContext.size()));
  w.u8(0x00);
  w.bytes(transcript);
  return w.take();
}

// RFC 9261 §5.2.3: Finished = HMAC(Finished MAC Key, Hash(Handshake Context
// || authenticator request || Certificate || CertificateVerify)), with the
// cipher suite's hash. For an empty authenticator, CertificateVerify is absent
// and Certificate has an empty certificate_list.
Result<Bytes> finished_mac(const EaKeys& keys, ByteView request, ByteView certificate,
                           ByteView certificate_verify) {
  ATLS_ASSIGN_OR_RETURN(ossl::Hasher h, ossl::Hasher::create(keys.hash));
  ATLS_TRY(h.update(keys.handshake_context));
  ATLS_TRY(h.update(request));
  ATLS_TRY(h.update(certificate));
  ATLS_TRY(h.update(certificate_verify));
  ATLS_ASSIGN_OR_RETURN(const Bytes transcript, h.finish());
  return ossl::hmac(keys.hash, keys.finished_key, transcript);
}

Result<void> check_keys(const EaKeys& keys) {
  const std::size_t n = ossl::hash_size(keys.hash);
  if (keys.handshake_context.size() != n || keys.finished_key.size() != n) {
    return Error{ErrorCode::InvalidArgument, "authenticator keys are not Hash.length bytes"};
  }
  return ok();
}

// decode_entry returns the X.509 certificate that |der| (one entry's
// cert_data) encodes: a certificate from |reuse| whose encoding is exactly
// |der|, else a fresh d2i_X509. Only the leaf is compared with the
// handshake certificate (itself a leaf).
// Fails with EaMalformed unless |der| is one DER certificate and nothing
// more.
Result<ossl::UniquePtr<X509>> decode_entry(ByteView der, const CertificateReuse& reuse,
                                           bool is_leaf) {
  if (reuse.cache != nullptr) {
    if (ossl::UniquePtr<X509> cached = reuse.cache->find(der)) {
      return cached;
    }
  }
  if (is_leaf && reuse.handshake_certificate != nullptr &&
      ossl::der_equals(reuse.handshake_certificate, der)) {
    ossl::UniquePtr<X509> cert = ossl::up_ref(reuse.handshake_certificate);
    if (cert) {
      if (reuse.cache != nullptr) {
        reuse.cache->insert(der, cert.get());
      }
      return cert;
    }
  }
  const unsigned char* in = der.data();
  ossl::UniquePtr<X509> cert(
      ::d2i_X509(nullptr, &in, static_cast<long>(der.size())));  // NOLINT(runtime/int)
  if (!cert || in != der.data() + der.size()) {
    return ossl::failure(ErrorCode::EaMalformed, "certificate entry is not one DER X.509");
  }
  if (reuse.cache != nullptr) {
    reuse.cache->insert(der, cert.get());
  }
  return cert;
}

std::optional<std::uint16_t> pick_scheme(std::span<const std::uint16_t> offered,
                                         const EVP_PKEY* key) {
  for (const std::uint16_t s : offered) {
    if (signature_scheme_matches_key(s, key)) {
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------

std::span<const std::uint16_t> supported_signature_schemes() {
  return kSupportedSchemes;
}

bool is_supported_signature_scheme(std::uint16_t scheme) {
  return scheme_info(scheme).has_value();
}

bool signature_scheme_matches_key(std::uint16_t scheme, const EVP_PKEY* key) {
  const auto info = scheme_info(scheme);
  return info && key != nullptr && ossl::key_type(key) == info->key;
}

// ---------------------------------------------------------------------------
// AttestationScheme

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

// ---------------------------------------------------------------------------
// Requests

const Extension* AuthRequest::find(std::uint16_t type) const {
  for (const Extension& e : extensions) {
    if (e.type == type) {
      return &e;
    }
  }
  return nullptr;
}

Result<AuthRequest> encode_auth_request(const AuthRequestOptions& options,
                                        const ExtensionCodepoints& codepoints) {
  if (options.msg_type != kCertificateRequest && options.msg_type != kClientCertificateRequest) {
    return Error{ErrorCode::InvalidArgument, "request type must be 13 or 17"};
  }
  if (options.context.size() > 0xff) {
    return Error{ErrorCode::InvalidArgument, "certificate_request_context over 255 bytes"};
  }
  AuthRequest req;
  req.msg_type = options.msg_type;
  req.context = options.context;
  if (options.signature_schemes.empty()) {
    const auto def = supported_signature_schemes();
    req.signature_schemes.assign(def.begin(), def.end());
  } else {
    req.signature_schemes = options.signature_schemes;
  }
  if (req.signature_schemes.size() > 0x7fff) {
    return Error{ErrorCode::InvalidArgument, "too many signature schemes"};
  }

  ByteWriter sa;
  const std::size_t h = sa.begin_vector(2);
  for (const std::uint16_t s : req.signature_schemes) {
    sa.u16(s);
  }
  ATLS_TRY(sa.end_vector(h));
  req.extensions.push_back(Extension{kExtSignatureAlgorithms, sa.take()});
  if (options.request_attestation) {
    req.extensions.push_back(Extension{codepoints.cmw_attestation, {}});
    if (!options.schemes.empty()) {
      ATLS_ASSIGN_OR_RETURN(Bytes list, encode_attestation_schemes(options.schemes));
      req.extensions.push_back(Extension{codepoints.atls_schemes, std::move(list)});
    }
  }
  req.extensions.insert(req.extensions.end(), options.extra_extensions.begin(),
                        options.extra_extensions.end());
  if (has_duplicate_types(req.extensions)) {
    return Error{ErrorCode::InvalidArgument, "duplicate extension type in request"};
  }

  ByteWriter body;
  ATLS_TRY(body.vector8(req.context));
  if (!write_extensions(body, req.extensions)) {
    return Error{ErrorCode::InvalidArgument, "request extensions over 65535 bytes"};
  }
  ATLS_ASSIGN_OR_RETURN(req.raw, handshake_message(req.msg_type, body.data()));
  return req;
}

// RFC 9261 §4: struct { opaque certificate_request_context<0..2^8-1>;
// Extension extensions<2..2^16-1>; }, for both request types.
Result<AuthRequest> parse_auth_request(ByteView message) {
  constexpr ErrorCode kBad = ErrorCode::EaRequestMalformed;
  ByteReader r(message);
  ATLS_RELABEL(const HandshakeView hs, read_handshake(r, message), kBad, "request header");
  if (!r.empty()) {
    return Error{kBad, "trailing bytes after the request"};
  }
  if (hs.type != kCertificateRequest && hs.type != kClientCertificateRequest) {
    return Error{kBad, "handshake type " + std::to_string(hs.type) + " is not a request"};
  }
  ByteReader br(hs.body);
  ATLS_RELABEL(const ByteView context, br.vector8(), kBad, "certificate_request_context");
  ATLS_ASSIGN_OR_RETURN(std::vector<Extension> exts, parse_extensions(br, 2, kBad));
  if (!br.empty()) {
    return Error{kBad, "trailing bytes in the request body"};
  }
  AuthRequest req;
  req.msg_type = hs.type;
  req.context.assign(context.begin(), context.end());
  req.extensions = std::move(exts);
  const Extension* sa = req.find(kExtSignatureAlgorithms);
  if (sa == nullptr) {
    return Error{kBad, "request lacks signature_algorithms"};
  }
  ATLS_ASSIGN_OR_RETURN(req.signature_schemes, parse_signature_algorithms(sa->data));
  req.raw.assign(message.begin(), message.end());
  return req;
}

Result<RequestedAttestation> requested_attestation(const AuthRequest& request,
                                                   const ExtensionCodepoints& codepoints) {
  RequestedAttestation out;
  const Extension* cmw = request.find(codepoints.cmw_attestation);
  if (cmw == nullptr) {
    return out;
  }
  // draft-fossati-seat-expat (negotiation): the requester signals support with
  // an empty cmw_attestation extension; data there has no meaning.
  if (!cmw->data.empty()) {
    return Error{ErrorCode::EaRequestMalformed, "cmw_attestation in a request must be empty"};
  }
  out.wants_attestation = true;
  if (const Extension* schemes = request.find(codepoints.atls_schemes)) {
    ATLS_ASSIGN_OR_RETURN(
        out.schemes, parse_attestation_scheme_list(schemes->data, ErrorCode::EaRequestMalformed));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Building authenticators

Result<Bytes> build_authenticator(const EaKeys& own, const AuthRequest* request, ByteView context,
                                  std::span<const Bytes> chain_der,
                                  std::span<const Extension> leaf_extensions, EVP_PKEY* key,
                                  std::span<const std::uint16_t> spontaneous_schemes) {
  ATLS_TRY(check_keys(own));
  if (key == nullptr || chain_der.empty()) {
    return Error{ErrorCode::InvalidArgument, "authenticator needs a key and a certificate"};
  }
  if (context.size() > 0xff) {
    return Error{ErrorCode::InvalidArgument, "certificate_request_context over 255 bytes"};
  }
  if (has_duplicate_types(leaf_extensions)) {
    return Error{ErrorCode::InvalidArgument, "duplicate leaf extension"};
  }
  // RFC 9261 §5.2.1: with a request, the Certificate carries only extensions
  // that the request carried.
  if (request != nullptr) {
    for (const Extension& e : leaf_extensions) {
      if (!request->has_extension(e.type)) {
        return Error{ErrorCode::InvalidArgument,
                     "extension " + std::to_string(e.type) + " was not in the request"};
      }
    }
  }
  std::optional<std::uint16_t> scheme;
  if (request != nullptr) {
    scheme = pick_scheme(request->signature_schemes, key);
  } else {
    scheme = pick_scheme(
        spontaneous_schemes.empty() ? supported_signature_schemes() : spontaneous_schemes, key);
  }
  if (!scheme) {
    return Error{ErrorCode::EaSignatureSchemeUnsupported,
                 std::string("no offered scheme fits the ") +
                     std::string(ossl::key_type_name(ossl::key_type(key))) + " key"};
  }
  const ByteView request_raw = request != nullptr ? ByteView(request->raw) : ByteView{};

  ATLS_ASSIGN_OR_RETURN(const Bytes certificate,
                        encode_certificate(context, chain_der, leaf_extensions));
  ATLS_ASSIGN_OR_RETURN(const Bytes signed_content,
                        certificate_verify_input(own, request_raw, certificate));
  ATLS_ASSIGN_OR_RETURN(const Bytes signature,
                        ossl::sign(key, scheme_info(*scheme)->alg, signed_content));
  ByteWriter cv;
  cv.u16(*scheme);
  ATLS_TRY(cv.vector16(signature));
  ATLS_ASSIGN_OR_RETURN(const Bytes certificate_verify,
                        handshake_message(kCertificateVerify, cv.data()));
  ATLS_ASSIGN_OR_RETURN(const Bytes mac,
                        finished_mac(own, request_raw, certificate, certificate_verify));
  ATLS_ASSIGN_OR_RETURN(const Bytes finished, handshake_message(kFinished, mac));

  Bytes out;
  out.reserve(certificate.size() + certificate_verify.size() + finished.size());
  out.insert(out.end(), certificate.begin(), certificate.end());
  out.insert(out.end(), certificate_verify.begin(), certificate_verify.end());
  out.insert(out.end(), finished.begin(), finished.end());
  return out;
}

Result<Bytes> build_empty_authenticator(const EaKeys& own, const AuthRequest& request) {
  ATLS_TRY(check_keys(own));
  ATLS_ASSIGN_OR_RETURN(const Bytes certificate, encode_certificate(request.context, {}, {}));
  ATLS_ASSIGN_OR_RETURN(const Bytes mac, finished_mac(own, request.raw, certificate, {}));
  return handshake_message(kFinished, mac);
}

Result<Extension> cmw_extension(ByteView cmw, const ExtensionCodepoints& codepoints) {
  if (cmw.empty() || cmw.size() > 0xffff - 2) {
    return Error{ErrorCode::InvalidArgument, "CMW must be 1..65533 bytes"};
  }
  ByteWriter w;
  ATLS_TRY(w.vector16(cmw));
  return Extension{codepoints.cmw_attestation, w.take()};
}

// ---------------------------------------------------------------------------
// Parsing and validating authenticators

Result<ParsedAuthenticator> parse_authenticator(ByteView authenticator) {
  constexpr ErrorCode kBad = ErrorCode::EaMalformed;
  ParsedAuthenticator out;
  ByteReader r(authenticator);
  ATLS_RELABEL(const HandshakeView first, read_handshake(r, authenticator), kBad, "first message");
  if (first.type == kFinished) {
    if (!r.empty()) {
      return Error{kBad, "bytes after the Finished message"};
    }
    if (first.body.empty()) {
      return Error{kBad, "empty Finished"};
    }
    out.is_empty = true;
    out.finished_message = first.whole;
    out.verify_data = first.body;
    return out;
  }
  if (first.type != kCertificate) {
    return Error{kBad, "authenticator starts with handshake type " + std::to_string(first.type)};
  }
  out.certificate_message = first.whole;

  // Certificate
  ByteReader cr(first.body);
  ATLS_RELABEL(out.context, cr.vector8(), kBad, "certificate_request_context");
  ATLS_RELABEL(const ByteView list, cr.vector24(), kBad, "certificate_list");
  if (!cr.empty()) {
    return Error{kBad, "trailing bytes in Certificate"};
  }
  ByteReader lr(list);
  while (!lr.empty()) {
    CertificateEntryView entry;
    ATLS_RELABEL(entry.cert_data, lr.vector24(1), kBad, "cert_data");
    ATLS_ASSIGN_OR_RETURN(entry.extensions, parse_extensions(lr, 0, kBad));
    out.entries.push_back(std::move(entry));
  }
  if (out.entries.empty()) {
    return Error{kBad, "Certificate with an empty certificate_list and a CertificateVerify"};
  }

  // CertificateVerify
  ATLS_RELABEL(const HandshakeView cv, read_handshake(r, authenticator), kBad, "CertificateVerify");
  if (cv.type != kCertificateVerify) {
    return Error{kBad, "expected CertificateVerify, got type " + std::to_string(cv.type)};
  }
  out.certificate_verify_message = cv.whole;
  ByteReader vr(cv.body);
  ATLS_RELABEL(out.scheme, vr.u16(), kBad, "CertificateVerify.algorithm");
  ATLS_RELABEL(out.signature, vr.vector16(), kBad, "CertificateVerify.signature");
  if (!vr.empty()) {
    return Error{kBad, "trailing bytes in CertificateVerify"};
  }

  // Finished
  ATLS_RELABEL(const HandshakeView fin, read_handshake(r, authenticator), kBad, "Finished");
  if (fin.type != kFinished) {
    return Error{kBad, "expected Finished, got type " + std::to_string(fin.type)};
  }
  if (fin.body.empty()) {
    return Error{kBad, "empty Finished"};
  }
  if (!r.empty()) {
    return Error{kBad, "bytes after the Finished message"};
  }
  out.finished_message = fin.whole;
  out.verify_data = fin.body;
  return out;
}

Result<Bytes> peek_context(ByteView authenticator) {
  ATLS_ASSIGN_OR_RETURN(const ParsedAuthenticator p, parse_authenticator(authenticator));
  if (p.is_empty) {
    return Error{ErrorCode::EaEmptyAuthenticator, "a Finished-only authenticator names no context"};
  }
  return Bytes(p.context.begin(), p.context.end());
}

Result<ValidatedAuthenticator> validate_authenticator(const EaKeys& peer,
                                                      const AuthRequest& request,
                                                      ByteView authenticator,
                                                      const ExtensionCodepoints& codepoints,
                                                      const CertificateReuse& reuse) {
  ATLS_TRY(check_keys(peer));
  // 1. parse
  ATLS_ASSIGN_OR_RETURN(const ParsedAuthenticator p, parse_authenticator(authenticator));
  if (p.verify_data.size() != ossl::hash_size(peer.hash)) {
    return Error{ErrorCode::EaMalformed, "Finished is not Hash.length bytes"};
  }

  // 2. Finished, in constant time. An empty authenticator's transcript has a
  // Certificate with the request's context and no entries (RFC 9261 §5.2.3).
  Bytes expected;
  if (p.is_empty) {
    ATLS_ASSIGN_OR_RETURN(const Bytes empty_cert, encode_certificate(request.context, {}, {}));
    ATLS_ASSIGN_OR_RETURN(expected, finished_mac(peer, request.raw, empty_cert, {}));
  } else {
    ATLS_ASSIGN_OR_RETURN(expected, finished_mac(peer, request.raw, p.certificate_message,
                                                 p.certificate_verify_message));
  }
  if (!constant_time_equal(expected, p.verify_data)) {
    return Error{ErrorCode::EaBadFinished, "Finished MAC mismatch"};
  }

  // 3. A verified refusal.
  // RFC 9261: a well-formed empty authenticator is reported as invalid, but
  // only once its Finished verified, so that a forgery is not mistaken for a
  // refusal.
  if (p.is_empty) {
    return Error{ErrorCode::EaEmptyAuthenticator, "peer sent an empty authenticator"};
  }

  // 4. CertificateVerify with the leaf key. Decode every entry first: the
  // chain is returned to the caller for its certificate policy.
  ValidatedAuthenticator out;
  out.chain_der.reserve(p.entries.size());
  for (const CertificateEntryView& e : p.entries) {
    ATLS_ASSIGN_OR_RETURN(ossl::UniquePtr<X509> cert, decode_entry(e.cert_data, reuse, !out.leaf));
    if (!out.leaf) {
      out.leaf = std::move(cert);
    } else {
      out.intermediates.push_back(std::move(cert));
    }
    out.chain_der.emplace_back(e.cert_data.begin(), e.cert_data.end());
  }
  // RFC 9261 §5.2.2: the scheme is a TLS 1.3 scheme chosen from the request's
  // signature_algorithms.
  if (std::find(request.signature_schemes.begin(), request.signature_schemes.end(), p.scheme) ==
      request.signature_schemes.end()) {
    return Error{ErrorCode::EaSignatureSchemeUnsupported,
                 "scheme " + std::to_string(p.scheme) + " was not requested"};
  }
  const auto info = scheme_info(p.scheme);
  if (!info) {
    return Error{ErrorCode::EaSignatureSchemeUnsupported,
                 "scheme " + std::to_string(p.scheme) + " is not supported"};
  }
  EVP_PKEY* leaf_key = ::X509_get0_pubkey(out.leaf.get());  // borrowed from out.leaf
  if (leaf_key == nullptr || !signature_scheme_matches_key(p.scheme, leaf_key)) {
    return Error{ErrorCode::EaBadCertificateVerify, "leaf key does not fit the scheme"};
  }
  ATLS_ASSIGN_OR_RETURN(const Bytes signed_content,
                        certificate_verify_input(peer, request.raw, p.certificate_message));
  if (auto v = ossl::verify(leaf_key, info->alg, signed_content, p.signature); !v) {
    if (v.error().code == ErrorCode::SignatureInvalid ||
        v.error().code == ErrorCode::KeyTypeMismatch) {
      return relabel(ErrorCode::EaBadCertificateVerify, v.error(), "CertificateVerify");
    }
    return std::move(v).error();
  }

  // 5. The Certificate must answer this request.
  if (!std::equal(p.context.begin(), p.context.end(), request.context.begin(),
                  request.context.end())) {
    return Error{ErrorCode::EaUnknownContext, "Certificate context differs from the request's"};
  }

  // 6. Extensions: only requested ones; cmw_attestation only on the leaf.
  TypeSet requested;
  for (const Extension& e : request.extensions) {
    (void)requested.insert(e.type);
  }
  for (std::size_t i = 0; i < p.entries.size(); ++i) {
    for (const Extension& e : p.entries[i].extensions) {
      if (!requested.contains(e.type)) {
        return Error{ErrorCode::EaUnsupportedExtension,
                     "extension " + std::to_string(e.type) + " was not requested"};
      }
      if (i != 0 && e.type == codepoints.cmw_attestation) {
        return Error{ErrorCode::EaUnsupportedExtension, "cmw_attestation on a non-leaf entry"};
      }
    }
  }
  out.leaf_extensions = p.entries[0].extensions;
  for (const Extension& e : out.leaf_extensions) {
    if (e.type != codepoints.cmw_attestation) {
      continue;
    }
    // draft-fossati-seat-expat: struct { opaque cmw_data<1..2^16-1>; }.
    ByteReader cr(e.data);
    auto cmw = cr.vector16(1);
    if (!cmw || !cr.empty()) {
      return Error{ErrorCode::EaMalformed, "cmw_attestation is not uint16 len || CMW"};
    }
    out.cmw = Bytes(cmw->begin(), cmw->end());
  }
  ATLS_ASSIGN_OR_RETURN(out.leaf_spki, ossl::cert_spki_der(out.leaf.get()));
  out.context.assign(p.context.begin(), p.context.end());
  out.scheme = p.scheme;
  return out;
}

}  // namespace atls::tls
