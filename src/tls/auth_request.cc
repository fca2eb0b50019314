#include "src/tls/auth_request.h"

#include "src/core/byte_reader.h"

#include <string>
#include <utility>

namespace atls::tls {

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
  ATLS_ASSIGN_OR_RETURN(Bytes sa, encode_signature_algorithms(req.signature_schemes));
  req.extensions.push_back(Extension{kExtSignatureAlgorithms, std::move(sa)});
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

AuthRequest spontaneous_request(ByteView context, const ExtensionCodepoints& codepoints) {
  AuthRequest req;
  req.context.assign(context.begin(), context.end());
  req.extensions.push_back(Extension{codepoints.cmw_attestation, {}});
  const auto schemes = supported_signature_schemes();
  req.signature_schemes.assign(schemes.begin(), schemes.end());
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

}  // namespace atls::tls
