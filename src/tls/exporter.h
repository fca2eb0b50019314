#pragma once

// TLS 1.3 exporter values for Exported Authenticators (RFC 9261 §5.1) and
// the expat attestation binder (docs/wire-profile.md §1.5). This is the only
// part of the authenticator layer that touches an SSL object; everything else
// in src/tls (extensions.h, signature_scheme.h, attestation_scheme.h,
// auth_request.h, authenticator.h, frame.h and negotiation.h) is pure.

#include <atls/bytes.h>
#include <atls/config.h>
#include <atls/result.h>

#include "src/ossl/crypto.h"
#include "src/tls/authenticator.h"

#include <openssl/types.h>

namespace atls::tls {

// connection_hash returns the handshake hash of |ssl|'s negotiated cipher
// suite (SHA-256 or SHA-384 for the TLS 1.3 suites). Fails with
// TlsVersionUnsupported unless |ssl| negotiated TLS 1.3, with InvalidArgument
// before a cipher was negotiated. |ssl| is borrowed.
Result<ossl::HashAlg> connection_hash(const SSL* ssl);

// authenticator_keys exports the Handshake Context and Finished MAC Key of
// one sender role (RFC 9261 §5.1):
//   TLS-Exporter("EXPORTER-<role> authenticator handshake context", "", Hash.length)
//   TLS-Exporter("EXPORTER-<role> authenticator finished key", "", Hash.length)
// with <role> = "server" when |sender_is_server|, else "client". Call it
// after the handshake completed (a server may call it right after its own
// Finished: docs/wire-profile.md §1.9). To build an authenticator pass your own
// role (SSL_is_server(ssl)); to validate one pass the peer's role
// (!SSL_is_server(ssl)). Fails with TlsVersionUnsupported unless TLS 1.3
// (RFC 9261 allows TLS 1.2 with EMS, docs/wire-profile.md §1.1 does not), with
// InvalidArgument before the handshake finished, with CryptoFailure if the
// exporter fails. |ssl| is borrowed; the result holds secret key material.
Result<EaKeys> authenticator_keys(SSL* ssl, bool sender_is_server);

// attestation_exporter returns
//   TLS-Exporter(label, certificate_request_context, 32)
// (draft-fossati-seat-expat, docs/wire-profile.md §1.5) for |context|, the
// request's (or a pushed authenticator's) certificate_request_context, with
// the connection's |label| ("Attestation" or "EXPORTER-cmw-attestation",
// docs/protocol-choices.md). Fails like authenticator_keys.
Result<Bytes> attestation_exporter(SSL* ssl, ExporterLabel label, ByteView context);

// compute_binder returns Hash(spki_der ‖ exported), the Evidence nonce of
// docs/wire-profile.md §1.5, with |hash| the connection's hash (connection_hash),
// |spki_der| the DER SubjectPublicKeyInfo of the authenticator's leaf and
// |exported| the attestation_exporter value. Fails with InvalidArgument on
// an empty |spki_der| or |exported|, CryptoFailure if hashing fails.
Result<Bytes> compute_binder(ossl::HashAlg hash, ByteView spki_der, ByteView exported);

// connection_binder is the binder of docs/wire-profile.md §1.5 on |ssl|
// (borrowed) for the request |context| and the leaf key |spki_der|: the one
// computation both the attester and the relying party make. |exported|,
// when not empty, is attestation_exporter(ssl, label, context) computed
// earlier; an exporter value computed here is wiped after use. Fails like
// connection_hash, attestation_exporter and compute_binder.
Result<Bytes> connection_binder(SSL* ssl, ExporterLabel label, ByteView context, ByteView spki_der,
                                ByteView exported = {});

}  // namespace atls::tls
