#pragma once

// Pre-handshake attestation through a gateway (docs/wire-profile.md §3,
// docs/gateway.md). A client attests to a gateway once (an ordinary atls
// connection with client attestation); the gateway gives it a short-lived
// token: a TLS 1.3 external PSK and the PSK identity that carries, sealed
// under a key the gateway shares with the internal servers, the PSK and a
// summary of the client's appraisal. The client then connects to internal
// servers with that PSK (psk_dhe_ke: a fresh (EC)DHE share as well), and a
// server that opens the identity knows the client was attested, without
// seeing its Evidence and without a round trip to the gateway.
//
//   gateway:  auto token = issue_gateway_token(*conn.peer_result(), key, {});
//             write token->to_json() to the client over |conn|
//   client:   Config::builder().gateway_token(GatewayToken::from_json(text))
//   server:   Config::builder().accept_gateway_tokens(key)

#include <atls/bytes.h>
#include <atls/clock.h>
#include <atls/export.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace atls {

namespace gateway {
struct ReplayState;
}  // namespace gateway

// GatewayReplayCache remembers the single-use tokens a server has admitted,
// until they expire. Config::Builder::accept_gateway_tokens makes one per
// Config unless it is given one: a server that rebuilds its Config (a
// reload) passes the same cache to every build, so that a token used before
// stays used. Thread-safe.
class ATLS_API GatewayReplayCache {
 public:
  GatewayReplayCache();
  ~GatewayReplayCache();
  GatewayReplayCache(const GatewayReplayCache&) = delete;
  GatewayReplayCache& operator=(const GatewayReplayCache&) = delete;
  // For the library.
  gateway::ReplayState& state() const { return *m_state; }

 private:
  std::unique_ptr<gateway::ReplayState> m_state;
};

// GatewayToken is what a client holds: the PSK identity (opaque to the
// client) and the PSK. The PSK is a secret: it is wiped when the token is
// destroyed, and to_json() output belongs in a file only its owner reads.
struct ATLS_API GatewayToken {
  Bytes identity;
  Bytes psk;                    // 32 bytes
  std::int64_t expires_at = 0;  // seconds since the epoch

  GatewayToken() = default;
  GatewayToken(const GatewayToken&) = default;
  GatewayToken(GatewayToken&&) noexcept = default;
  // Assignment wipes the PSK it replaces.
  GatewayToken& operator=(const GatewayToken& other);
  GatewayToken& operator=(GatewayToken&& other) noexcept;
  ~GatewayToken();

  // to_json renders the token file: {"atls_gateway_token": 1, "identity":
  // base64url, "psk": base64url, "expires_at": seconds}.
  std::string to_json() const;
  // from_json reads it back. Fails with GatewayTokenInvalid.
  static Result<GatewayToken> from_json(std::string_view text);
  // load reads a token file. Fails with FileNotFound, IoError or
  // GatewayTokenInvalid.
  static Result<GatewayToken> load(const std::string& path);
};

// GatewayTokenOptions: how a gateway issues tokens.
struct ATLS_API GatewayTokenOptions {
  // How long the token can be presented (the connection it opens lives on).
  std::chrono::seconds lifetime{300};
  // A server accepts the token on one connection only (it keeps the ids of
  // single-use tokens it has seen until they expire).
  bool single_use = false;
  // The server the token is for, checked by a server that names itself
  // (accept_gateway_tokens' |audience|); empty: any server holding the key.
  std::string audience;
  std::shared_ptr<const Clock> clock;  // null: the system clock
  std::shared_ptr<Rng> rng;            // null: the system RNG
};

// issue_gateway_token seals a fresh PSK and the summary of |client| (its
// tier, trustworthiness vectors, media type, machine id and validity, not
// its claims) under |key| (32 bytes). The token expires after |lifetime|,
// and never after the appraisal's valid_until. Fails with InvalidArgument
// (key size, a lifetime that is not positive, an appraisal no longer
// valid, a result too large for a PSK identity) or CryptoFailure.
ATLS_API Result<GatewayToken> issue_gateway_token(const AttestationResult& client, ByteView key,
                                                  const GatewayTokenOptions& options = {});

// load_gateway_key reads a key file: 64 hexadecimal digits (32 bytes),
// surrounding whitespace ignored. Fails with FileNotFound, IoError or
// InvalidArgument.
ATLS_API Result<Bytes> load_gateway_key(const std::string& path);

// new_gateway_key returns 32 random bytes as the 64 hexadecimal digits of a
// key file.
ATLS_API std::string new_gateway_key();

}  // namespace atls
