#pragma once

// SSL_CTX preparation for attested connections (TLS 1.3 only, no tickets,
// no resumption, no early data) and the OpenSSL callbacks of the
// atls_negotiation extension (docs/wire-profile.md §1.7). Every callback is noexcept
// and guarded; what it learns goes into the connection's HandshakeState,
// which the Engine owns and hangs on the SSL object as ex_data.

#include <atls/openssl.h>

#include "src/gateway/token.h"
#include "src/ossl/ssl_ptr.h"
#include "src/tls/config.h"
#include "src/tls/negotiation.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace atls::tls::early {
struct EarlyState;
}  // namespace atls::tls::early

namespace atls::internal {

// HandshakeState is what the handshake callbacks record for one SSL.
struct HandshakeState {
  const ConfigState* config = nullptr;  // borrowed from the Engine's Config
  Role role = Role::Client;
  // Server: the client's offer. Client: the offer we sent.
  std::optional<tls::AtlsOffer> offer;
  // Client: the server's answer. Server: the answer we sent.
  std::optional<tls::AtlsAnswer> answer;
  // Server: the ClientHello's signature_algorithms (the schemes a pushed
  // authenticator may use, RFC 9261 §5.2.2); empty if it had none.
  std::vector<std::uint16_t> client_sigalgs;
  // Storage for the extension bytes handed to OpenSSL by the add callback.
  Bytes ext_out;
  // A failure a callback detected (NegotiationMalformed,
  // TlsResumptionRefused); it explains the handshake failure.
  std::optional<Error> failure;
  // Server: the gateway token the ClientHello offered, its identity and
  // the client's appraisal it carries, once they passed every check
  // (docs/wire-profile.md §3).
  std::optional<gateway::TokenContents> token;
  Bytes token_identity;
  std::optional<AttestationResult> token_result;
  // The last TLS alert description sent / received (-1: none).
  int alert_sent = -1;
  int alert_received = -1;
  // The early-attestation mode's state (src/tls/early/early_attestation.h);
  // null on other connections.
  std::shared_ptr<tls::early::EarlyState> early;
  // The RA-TLS certificate mode (src/tls/ratls_attach.h): on, and the
  // appraisal of the peer's certificate once its verify callback made it.
  bool ratls = false;
  bool ratls_minted = false;  // server: this connection's certificate is made
  std::optional<AttestationResult> ratls_result;
};

// negotiated_label is the binder label of the connection once the
// handshake is done: the answer's kModeCmwLabel flag when atls_negotiation
// was answered, else the configured policy's label.
ExporterLabel negotiated_label(const HandshakeState& state, const ConfigState& config);

// push_negotiated: the server pushes its authenticator and the client
// accepted that (docs/wire-profile.md §1.9): the answer's kModePush.
bool push_negotiated(const HandshakeState& state);

// prepare_ctx configures |ctx| (borrowed) for |role|. With |install_identity|
// and an identity in |config|, a server ctx gets the certificate chain and
// key. Fails with Internal (detail says which setting failed).
Result<void> prepare_ctx(SSL_CTX* ctx, const ConfigState& config, Role role, bool install_identity);

// set_handshake_state hangs |state| (borrowed; nullptr detaches) on |ssl|.
Result<void> set_handshake_state(SSL* ssl, HandshakeState* state);

// handshake_state returns the state hung on |ssl|, or nullptr.
HandshakeState* handshake_state(const SSL* ssl);

}  // namespace atls::internal
