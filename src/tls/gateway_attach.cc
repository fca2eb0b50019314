#include "src/tls/gateway_attach.h"

#include "src/attestation/pipeline.h"
#include "src/gateway/acceptor.h"
#include "src/gateway/psk_offer.h"

#include <algorithm>
#include <exception>

namespace atls::internal {
namespace {

// Client: offer the token's PSK (RFC 8446 §4.2.11). Called again after a
// HelloRetryRequest with the chosen suite's hash: ours is SHA-256.
int use_session_cb(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* idlen,
                   SSL_SESSION** sess) noexcept {
  try {
    *sess = nullptr;
    const HandshakeState* st = handshake_state(ssl);
    if (st == nullptr || st->config == nullptr || !st->config->gateway_token) {
      return 1;
    }
    if (md != nullptr && ::EVP_MD_get_type(md) != NID_sha256) {
      return 1;  // cannot happen with kTokenCipherSuites; offer nothing
    }
    const GatewayToken& t = *st->config->gateway_token;
    auto s = gateway::make_psk_session(ssl, t.psk);
    if (!s) {
      return 0;
    }
    *id = t.identity.data();
    *idlen = t.identity.size();
    *sess = s->release();
    return 1;
  } catch (...) {
    return 0;
  }
}

// Client: a server that answers a token with a certificate did not take the
// PSK (it has no gateway key, or refused the token silently).
int token_verify_cb(int /*preverify_ok*/, X509_STORE_CTX* store) noexcept {
  try {
    auto* ssl = static_cast<SSL*>(
        ::X509_STORE_CTX_get_ex_data(store, ::SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (HandshakeState* st = ssl != nullptr ? handshake_state(ssl) : nullptr) {
      if (!st->failure) {
        st->failure = Error{ErrorCode::GatewayTokenNotAccepted,
                            "the server answered the token with a certificate (no gateway key?)"};
      }
    }
  } catch (...) {
  }
  return 0;
}

// Server: the PSK of the token that check_token_offer accepted.
int find_session_cb(SSL* ssl, const unsigned char* id, std::size_t idlen,
                    SSL_SESSION** sess) noexcept {
  try {
    *sess = nullptr;
    const HandshakeState* st = handshake_state(ssl);
    if (st == nullptr || !st->token ||
        !std::equal(st->token_identity.begin(), st->token_identity.end(), id, id + idlen)) {
      return 1;  // not our token: libssl goes on without it
    }
    auto s = gateway::make_psk_session(ssl, st->token->psk.view());
    if (!s) {
      return 0;
    }
    *sess = s->release();
    return 1;
  } catch (...) {
    return 0;
  }
}

}  // namespace

Result<void> prepare_token_ctx(SSL_CTX* ctx, const ConfigState& c, Role role) {
  if (role == Role::Client && c.gateway_token) {
    if (::SSL_CTX_set_ciphersuites(ctx, gateway::kTokenCipherSuites) != 1) {
      return ossl::failure(ErrorCode::Internal, "SSL_CTX_set_ciphersuites");
    }
    ::SSL_CTX_set_psk_use_session_callback(ctx, use_session_cb);
    //= docs/wire-profile.md §3: the server is the holder of the gateway
    //= key, proven by the PSK; a certificate instead means it refused it.
    ::SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, token_verify_cb);
  }
  if (role == Role::Server && c.token_acceptor) {
    ::SSL_CTX_set_psk_find_session_callback(ctx, find_session_cb);
  }
  return ok();
}

TokenOffer check_token_offer(HandshakeState& st, const unsigned char* psk_ext, std::size_t psk_len,
                             int* al) {
  const ConfigState& c = *st.config;
  if (!c.token_acceptor) {
    return TokenOffer::None;
  }
  auto refuse = [&](Error e) {
    *al = error_tls_alert(e.code);
    st.failure = std::move(e);
    return TokenOffer::Refused;
  };
  if (psk_ext == nullptr) {
    if (!c.has_identity()) {
      return refuse(Error{ErrorCode::GatewayTokenRequired,
                          "the ClientHello offers no gateway token (this server has no "
                          "certificate for other clients)"});
    }
    return TokenOffer::None;
  }
  auto ids = gateway::parse_offered_psks(ByteView(psk_ext, psk_len));
  if (!ids) {
    return refuse(std::move(ids).error());
  }
  const auto it = std::find_if(ids->begin(), ids->end(), gateway::is_token_identity);
  if (it == ids->end()) {
    if (!c.has_identity()) {
      return refuse(Error{ErrorCode::GatewayTokenRequired,
                          "the ClientHello offers a PSK that is not a gateway token"});
    }
    return TokenOffer::None;  // a resumption PSK: refused by the caller
  }
  //= docs/wire-profile.md §3: open with K_gateway_server, check expiry
  //= and policy. After a HelloRetryRequest the same token comes again.
  auto t = c.token_acceptor->check(*it, c.clock->now());
  if (!t) {
    return refuse(std::move(t).error());
  }
  AttestationResult result = Pipeline::restore(t->summary);
  if (auto verdict = Pipeline::check(result, c.policy); !verdict) {
    return refuse(std::move(verdict).error());  // e.g. MachineIdMismatch: another machine
  }
  st.token_identity.assign(it->begin(), it->end());
  st.token = std::move(*t);
  st.token_result = std::move(result);
  return TokenOffer::Accepted;
}

}  // namespace atls::internal
