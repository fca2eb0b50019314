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
    std::lock_guard<std::mutex> lock(m_mu);
    if (m_used.count(t.token_id) != 0) {
      return Error{ErrorCode::GatewayTokenReplayed, "the single-use token was used before"};
    }
  }
  return t;
}

Result<void> TokenAcceptor::consume(const TokenContents& t, std::int64_t now) {
  if (!t.single_use) {
    return ok();
  }
  std::lock_guard<std::mutex> lock(m_mu);
  purge(now);
  if (m_used.count(t.token_id) != 0) {
    return Error{ErrorCode::GatewayTokenReplayed, "the single-use token was used before"};
  }
  if (m_used.size() >= kMaxRemembered) {
    return Error{ErrorCode::GatewayTokenReplayed,
                 "too many unexpired single-use tokens remembered; refusing another"};
  }
  m_used.insert(t.token_id);
  m_expiry.emplace(t.exp, t.token_id);
  return ok();
}

void TokenAcceptor::purge(std::int64_t now) {
  while (!m_expiry.empty() && m_expiry.begin()->first <= now) {
    m_used.erase(m_expiry.begin()->second);
    m_expiry.erase(m_expiry.begin());
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
