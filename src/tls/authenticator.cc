#include "src/tls/authenticator.h"

#include "src/ossl/secret.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace atls::tls {

EaKeys& EaKeys::operator=(const EaKeys& other) {
  if (this != &other) {
    ossl::cleanse(handshake_context);
    ossl::cleanse(finished_key);
    hash = other.hash;
    handshake_context = other.handshake_context;
    finished_key = other.finished_key;
  }
  return *this;
}

EaKeys& EaKeys::operator=(EaKeys&& other) noexcept {
  if (this != &other) {
    ossl::cleanse(handshake_context);
    ossl::cleanse(finished_key);
    hash = other.hash;
    handshake_context = std::move(other.handshake_context);
    finished_key = std::move(other.finished_key);
  }
  return *this;
}

EaKeys::~EaKeys() {
  ossl::cleanse(handshake_context);
  ossl::cleanse(finished_key);
}

namespace {

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

}  // namespace

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
    scheme = select_signature_scheme(request->signature_schemes, key);
  } else {
    scheme = select_signature_scheme(
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
  // select_signature_scheme returns supported schemes only.
  ATLS_ASSIGN_OR_RETURN(const Bytes signature,
                        ossl::sign(key, *signature_scheme_alg(*scheme), signed_content));
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

Result<ValidatedAuthenticator> validate_authenticator(const EaKeys& peer,
                                                      const AuthRequest& request,
                                                      const ParsedAuthenticator& p,
                                                      const ExtensionCodepoints& codepoints,
                                                      const CertificateReuse& reuse) {
  ATLS_TRY(check_keys(peer));
  // 1. parse: done once, by the caller (parse_authenticator), which never
  // returns a Certificate without entries; a hand-made value might.
  if (!p.is_empty && p.entries.empty()) {
    return Error{ErrorCode::EaMalformed, "Certificate without entries"};
  }
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
  const std::optional<ossl::SignatureAlg> alg = signature_scheme_alg(p.scheme);
  if (!alg) {
    return Error{ErrorCode::EaSignatureSchemeUnsupported,
                 "scheme " + std::to_string(p.scheme) + " is not supported"};
  }
  EVP_PKEY* leaf_key = ::X509_get0_pubkey(out.leaf.get());  // borrowed from out.leaf
  if (leaf_key == nullptr || !signature_scheme_matches_key(p.scheme, leaf_key)) {
    return Error{ErrorCode::EaBadCertificateVerify, "leaf key does not fit the scheme"};
  }
  ATLS_ASSIGN_OR_RETURN(const Bytes signed_content,
                        certificate_verify_input(peer, request.raw, p.certificate_message));
  if (auto v = ossl::verify(leaf_key, *alg, signed_content, p.signature); !v) {
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
