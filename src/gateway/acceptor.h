#pragma once

// The internal server's side of gateway tokens (docs/wire-profile.md §3):
// open the identity, check expiry, audience and single use, and give libssl
// the PSK as a TLS 1.3 session. One TokenAcceptor per Config: its replay
// cache is shared by every connection of that Config.

#include <atls/bytes.h>
#include <atls/gateway.h>
#include <atls/result.h>

#include "src/gateway/token.h"
#include "src/ossl/secret.h"
#include "src/ossl/ssl_ptr.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace atls::gateway {

// The cipher suites a token connection uses: the PSK is declared with
// SHA-256, so both sides offer only the SHA-256 suites (RFC 8446 §4.2.11:
// a PSK is usable only with its own hash).
inline constexpr const char* kTokenCipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";

// ReplayState is what a GatewayReplayCache holds: the ids of the single-use
// tokens a server has seen, until they expire.
struct ReplayState {
  std::mutex mu;
  std::set<Bytes> used;                       // ids of used single-use tokens
  std::multimap<std::int64_t, Bytes> expiry;  // when each id can be forgotten
};

class TokenAcceptor {
 public:
  // At most this many single-use token ids are remembered at once; a new
  // single-use token beyond it is refused (GatewayTokenReplayed) until old
  // ones expire: failing closed, never forgetting an unexpired id.
  static constexpr std::size_t kMaxRemembered = 1 << 20;

  // |replay| is shared by every Config built with it (a server that
  // rebuilds its Config on reload keeps its single-use history).
  TokenAcceptor(ByteView key, std::string audience, std::shared_ptr<GatewayReplayCache> replay)
      : m_key(key), m_audience(std::move(audience)), m_replay(std::move(replay)) {}

  // check opens |identity| and checks it at |now|: GatewayTokenInvalid,
  // GatewayTokenExpired, GatewayTokenWrongServer, or GatewayTokenReplayed
  // (a single-use token already used).
  Result<TokenContents> check(ByteView identity, std::int64_t now) const;

  // consume records a single-use token as used, once its connection's
  // handshake proved the PSK. GatewayTokenReplayed when it already was
  // (two handshakes with one token at once: the second to finish loses).
  Result<void> consume(const TokenContents& t, std::int64_t now);

 private:
  void purge(std::int64_t now);

  ReplayState& replay() const { return m_replay->state(); }

  ossl::SecretBytes m_key;
  std::string m_audience;
  std::shared_ptr<GatewayReplayCache> m_replay;
};

// make_psk_session returns the TLS 1.3 session libssl takes for |psk|:
// TLS_AES_128_GCM_SHA256's hash, no ticket. Fails with Internal.
Result<ossl::UniquePtr<SSL_SESSION>> make_psk_session(SSL* ssl, ByteView psk);

}  // namespace atls::gateway
