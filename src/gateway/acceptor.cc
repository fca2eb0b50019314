#include "src/gateway/acceptor.h"

#include "src/ossl/ossl.h"

#include <openssl/ssl.h>

namespace atls::gateway {

Result<TokenContents> TokenAcceptor::check(ByteView identity, std::int64_t now) const {
  ATLS_ASSIGN_OR_RETURN(TokenContents t, open_token(identity, m_key.view()));
  if (now >= t.exp) {
    return Error{ErrorCode::GatewayTokenExpired,
                 "the token expired " + std::to_string(now - t.exp) + " s ago"};
  }
  if (!m_audience.empty() && t.audience != m_audience) {
    return Error{ErrorCode::GatewayTokenWrongServer,
                 "the token is for \"" + t.audience + "\", this server is \"" + m_audience + "\""};
  }
  if (t.single_use) {
    std::lock_guard<std::mutex> lock(replay().mu);
    if (replay().used.count(t.token_id) != 0) {
      return Error{ErrorCode::GatewayTokenReplayed, "the single-use token was used before"};
    }
  }
  return t;
}

Result<void> TokenAcceptor::consume(const TokenContents& t, std::int64_t now) {
  if (!t.single_use) {
    return ok();
  }
  ReplayState& r = replay();
  std::lock_guard<std::mutex> lock(r.mu);
  purge(now);
  if (r.used.count(t.token_id) != 0) {
    return Error{ErrorCode::GatewayTokenReplayed, "the single-use token was used before"};
  }
  if (r.used.size() >= kMaxRemembered) {
    return Error{ErrorCode::GatewayTokenReplayed,
                 "too many unexpired single-use tokens remembered; refusing another"};
  }
  r.used.insert(t.token_id);
  r.expiry.emplace(t.exp, t.token_id);
  return ok();
}

void TokenAcceptor::purge(std::int64_t now) {
  ReplayState& r = replay();
  while (!r.expiry.empty() && r.expiry.begin()->first <= now) {
    r.used.erase(r.expiry.begin()->second);
    r.expiry.erase(r.expiry.begin());
  }
}

Result<ossl::UniquePtr<SSL_SESSION>> make_psk_session(SSL* ssl, ByteView psk) {
  static const unsigned char kAes128GcmSha256[] = {0x13, 0x01};
  const SSL_CIPHER* cipher = ::SSL_CIPHER_find(ssl, kAes128GcmSha256);
  ossl::UniquePtr<SSL_SESSION> s(::SSL_SESSION_new());
  if (cipher == nullptr || !s ||
      ::SSL_SESSION_set1_master_key(s.get(), psk.data(), psk.size()) != 1 ||
      ::SSL_SESSION_set_cipher(s.get(), cipher) != 1 ||
      ::SSL_SESSION_set_protocol_version(s.get(), TLS1_3_VERSION) != 1) {
    return ossl::failure(ErrorCode::Internal, "PSK session");
  }
  return s;
}

}  // namespace atls::gateway

namespace atls {

GatewayReplayCache::GatewayReplayCache() : m_state(std::make_unique<gateway::ReplayState>()) {}
GatewayReplayCache::~GatewayReplayCache() = default;

}  // namespace atls
