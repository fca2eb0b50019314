#pragma once

// Authenticator requests (RFC 9261 §4), with the empty cmw_attestation
// extension of draft-fossati-seat-expat and the atls_schemes list
// (docs/wire-profile.md §1.3):
//
//   struct { opaque certificate_request_context<0..2^8-1>;
//            Extension extensions<2..2^16-1>; } CertificateRequest;   // type 13
//   (ClientCertificateRequest, type 17, has the same body)
//
// encoded as a full handshake message: uint8 msg_type ‖ uint24 length ‖ body.
// Pure: no SSL object.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/tls/attestation_scheme.h"
#include "src/tls/extensions.h"
#include "src/tls/signature_scheme.h"

#include <cstdint>
#include <vector>

namespace atls::tls {

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
  // (RFC 9261 §4, docs/wire-profile.md §1.3).
  std::uint8_t msg_type = kClientCertificateRequest;
  // certificate_request_context, 0..255 bytes. docs/wire-profile.md §1.3: 32
  // fresh random bytes, unique on the connection (the caller draws them).
  Bytes context;
  // signature_algorithms; empty means supported_signature_schemes().
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
// 255 bytes, more than 2^15-1 signature schemes, a duplicate extension type,
// or oversized fields. The result's |raw| is what goes into an AUTH_REQUEST
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

// spontaneous_request returns what a spontaneous (pushed) authenticator is
// validated against, in place of a request (RFC 9261 §5.2, docs/wire-profile.md
// §1.9): no request message (|raw| empty: the transcript has no request
// part), the sender's |context|, our supported signature schemes (the
// ClientHello offers libssl's list; these are the part of it we verify),
// and as the extensions a Certificate may carry the ClientHello's that
// apply to one: an empty cmw_attestation.
AuthRequest spontaneous_request(ByteView context, const ExtensionCodepoints& codepoints);

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

}  // namespace atls::tls
