#pragma once

// libssl glue for gateway tokens (docs/wire-profile.md §3, docs/gateway.md):
// a client that holds a token offers its PSK (and only SHA-256 cipher
// suites), a server with the gateway key opens the identity in its
// ClientHello callback and hands libssl the PSK. The outcome lands in the
// connection's HandshakeState; the Engine acts on it once the handshake is
// done.

#include "src/tls/openssl_attach.h"

#include <openssl/ssl.h>

namespace atls::internal {

// prepare_token_ctx installs the token callbacks on |ctx| when |c| has a
// token (client) or a gateway key (server). Fails with Internal.
Result<void> prepare_token_ctx(SSL_CTX* ctx, const ConfigState& c, Role role);

// TokenOffer is what the server's ClientHello callback decides about a
// ClientHello's PSKs.
enum class TokenOffer : std::uint8_t {
  None,      // no token offered: the rest of the callback decides
  Accepted,  // a token that passed its checks and the policy: st.token is set
  Refused,   // st.failure is set; abort with *al
};

// check_token_offer runs in the server's ClientHello callback. The PSK
// extension (RFC 8446 §4.2.11) is |psk_ext| (null: absent).
TokenOffer check_token_offer(HandshakeState& st, const unsigned char* psk_ext, std::size_t psk_len,
                             int* al);

}  // namespace atls::internal
