#pragma once

// The early-attestation mode (draft-fossati-seat-early-attestation;
// docs/wire-profile.md §2, docs/intra-handshake.md): the remoteAttestation
// extension through OpenSSL custom extensions in ClientHello,
// EncryptedExtensions, CertificateRequest and the leaf CertificateEntry.
// The attester makes Evidence for the binder of src/tls/early/binder.h in
// its Certificate add callback; the relying party appraises it in its
// Certificate parse callback and aborts the handshake on failure. After
// the handshake the connection carries application bytes only.
//
// Every callback is noexcept and guarded; what it learns goes into the
// connection's EarlyState, hung on the HandshakeState the Engine owns.

#include <atls/config.h>
#include <atls/verifier.h>

#include "src/tls/config.h"
#include "src/tls/early/binder.h"
#include "src/tls/early/remote_attestation.h"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace atls::internal {
struct HandshakeState;
}  // namespace atls::internal

namespace atls::tls::early {

// The draft's three alerts are TBD1-TBD3. OpenSSL 3.0 sends only alert
// descriptions it knows (an unknown one is dropped, and the peer sees the
// connection close), so atls carries each on the standard alert closest in
// meaning (docs/protocol-choices.md "Intra-handshake: early-attestation").
inline constexpr int kAlertUnsupportedAttestationSchemes = 71;  // insufficient_security
inline constexpr int kAlertAttestationRequired = 116;           // certificate_required
inline constexpr int kAlertAttestationFailed = 49;              // access_denied

// EarlyState is what the callbacks record for one connection.
struct EarlyState {
  const internal::ConfigState* config = nullptr;  // borrowed from the Engine's Config
  Role role = Role::Client;
  HandshakeTranscript transcript;
  // Client: the offer we sent. Server: the offer we received.
  std::optional<RemoteAttestationOffer> offer;
  // The scheme the server attests with (EncryptedExtensions) and the one it
  // asked the client to attest with (CertificateRequest).
  std::optional<AttestationScheme> server_scheme;
  std::optional<AttestationScheme> client_scheme;
  // The appraisal of the peer's Evidence, made in the handshake.
  std::optional<AttestationResult> peer_result;
  // The binder our own Evidence carries, and the one we expected in the
  // peer's (empty until computed). Not secret; kept for tests and tools.
  Bytes own_binder;
  Bytes peer_binder;
  // Storage for the extension bytes handed to OpenSSL by the add callback.
  Bytes ext_out;
  // Tests only (the key-substitution attack): bind our Evidence to this
  // SPKI instead of our leaf's, as an attester whose key is not the TLS
  // key would.
  std::optional<Bytes> dangerous_binder_spki;
  // Tests only (the misplaced-extension attack): put our Evidence on this
  // CertificateEntry instead of the first.
  std::size_t dangerous_evidence_entry = 0;
  // Tests only (a server that picks what was not offered): the scheme a
  // server names in EncryptedExtensions instead of the one it chose.
  std::optional<AttestationScheme> dangerous_chosen_server_scheme;
};

// is_enabled: |config| runs the early-attestation mode.
bool is_enabled(const internal::ConfigState& config);

// prepare_ctx registers the remoteAttestation extension on |ctx| (borrowed)
// for |role|. Fails with Internal.
Result<void> prepare_ctx(SSL_CTX* ctx, const internal::ConfigState& config, Role role);

// attach makes the connection's EarlyState and prepares |ssl| (borrowed):
// a client that can attest gets its certificate and key for a
// CertificateRequest. Fails with Internal.
Result<std::shared_ptr<EarlyState>> attach(SSL* ssl, const internal::ConfigState& config,
                                           Role role);

// on_message is the message-callback hook: it records handshake messages
// (content type 22 only) into the transcript.
void on_message(EarlyState& state, int content_type, const void* buf, std::size_t len);

// finish is the check once the handshake returned: a relying party that
// requires attestation and holds no appraisal fails (AttestationRequired,
// or EarlyAttestationMissing when a scheme was chosen but the leaf carried
// no Evidence).
Result<void> finish(const EarlyState& state);

// handshake_failure explains a failed handshake of this mode from the
// alerts seen (nullopt: nothing specific): an alert received from the peer
// maps to the code it stands for (EarlyPeer*); certificate_required sent by
// libssl itself (the client sent no certificate although asked to attest)
// is AttestationRequired.
std::optional<Error> handshake_failure(int alert_sent, int alert_received);

}  // namespace atls::tls::early
