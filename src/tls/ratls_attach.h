#pragma once

// libssl glue for the RA-TLS certificate mode (IntraHandshake::
// RatlsCertificate; docs/intra-handshake.md, "RA-TLS certificates"): the
// server mints, in its certificate callback, a self-signed certificate whose
// id-pe-cmw extension holds Evidence bound to the certificate's key and the
// ClientHello's random (src/tls/ratls.h); the client appraises the leaf in
// its verify callback, before the handshake can finish. The outcome lands
// in the connection's HandshakeState.

#include "src/tls/openssl_attach.h"

#include <openssl/ssl.h>

namespace atls::internal {

// is_ratls_mode: |c| uses the RA-TLS certificate mode.
bool is_ratls_mode(const ConfigState& c);

// prepare_ratls_ctx installs the mode's callbacks on |ctx| (a server needs
// an attester; a client appraises unless peer attestation is off). Fails
// with InvalidArgument or Internal.
Result<void> prepare_ratls_ctx(SSL_CTX* ctx, const ConfigState& c, Role role);

}  // namespace atls::internal
