#pragma once

// The remoteAttestation TLS extension of draft-fossati-seat-early-attestation
// (§4.1; docs/wire-profile.md §2, docs/protocol-choices.md "Intra-handshake:
// early-attestation"): one extension whose extension_data depends on the
// handshake message that carries it. Pure codecs; the OpenSSL callbacks are
// in src/tls/early/early_attestation.h.
//
//   struct {
//     select (Handshake.msg_type) {
//       case client_hello:
//         AttestationScheme server_attester_schemes<0..2^16-1>;
//         AttestationScheme client_attester_schemes<0..2^16-1>;
//       case encrypted_extensions: AttestationScheme chosen_server_scheme;
//       case certificate_request:  AttestationScheme chosen_client_scheme;
//       case certificate:          opaque cmw_payload<1..2^24-1>;
//     };
//   } remoteAttestation;
//
// Every parser is strict: a short input, a partial scheme, an unknown
// enumerator, a length outside its range or a trailing byte fails with
// EarlyAttestationMalformed.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/tls/attestation_scheme.h"

#include <vector>

namespace atls::tls::early {

// RemoteAttestationOffer is the ClientHello form: the schemes, in order of
// preference, that the client accepts from the server as attester and the
// schemes it can produce as attester itself.
struct RemoteAttestationOffer {
  std::vector<AttestationScheme> server_attester_schemes;
  std::vector<AttestationScheme> client_attester_schemes;

  bool operator==(const RemoteAttestationOffer&) const = default;
};

// encode_offer returns the ClientHello extension_data. Fails with
// InvalidArgument when a list does not fit its 16-bit length or a scheme is
// invalid.
Result<Bytes> encode_offer(const RemoteAttestationOffer& offer);

// parse_offer parses the ClientHello extension_data (both vectors, nothing
// after them).
Result<RemoteAttestationOffer> parse_offer(ByteView extension_data);

// encode_chosen_scheme returns the EncryptedExtensions (chosen_server_scheme)
// or CertificateRequest (chosen_client_scheme) extension_data: one
// AttestationScheme without a length prefix. Fails with InvalidArgument.
Result<Bytes> encode_chosen_scheme(const AttestationScheme& scheme);

// parse_chosen_scheme parses exactly one AttestationScheme.
Result<AttestationScheme> parse_chosen_scheme(ByteView extension_data);

// encode_cmw_payload returns the Certificate extension_data: uint24 length ‖
// |cmw|. Fails with InvalidArgument when |cmw| is empty or longer than
// 2^24-1 bytes.
Result<Bytes> encode_cmw_payload(ByteView cmw);

// parse_cmw_payload returns the CMW inside the Certificate extension_data
// (a view of |extension_data|). An empty payload is malformed (<1..>).
Result<ByteView> parse_cmw_payload(ByteView extension_data);

}  // namespace atls::tls::early
