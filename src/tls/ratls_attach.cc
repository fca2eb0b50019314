#include "src/tls/ratls_attach.h"

#include "src/tls/ratls.h"

#include <openssl/x509_vfy.h>

#include <array>
#include <exception>

namespace atls::internal {
namespace {

// How long a minted certificate is valid: it serves one handshake.
constexpr std::int64_t kMintedLifetime = 300;

Bytes client_random(const SSL* ssl) {
  std::array<std::uint8_t, SSL3_RANDOM_SIZE> r{};
  const std::size_t n = ::SSL_get_client_random(ssl, r.data(), r.size());
  return Bytes(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(n));
}

// Server: a fresh key and certificate for this connection, its Evidence
// bound to SHA-256(SPKI ‖ ClientHello.random) (docs/protocol-choices.md).
int mint_cb(SSL* ssl, void* /*arg*/) noexcept {
  try {
    HandshakeState* st = handshake_state(ssl);
    if (st == nullptr || st->config == nullptr || !st->config->attester) {
      return 0;
    }
    if (st->ratls_minted) {
      return 1;  // after a HelloRetryRequest: the same ClientHello random
    }
    const ConfigState& c = *st->config;
    RatlsMintOptions o;
    o.common_name = c.identity_cn;
    o.not_before = c.clock->now() - 60;
    o.not_after = c.clock->now() + kMintedLifetime;
    o.connection_nonce = client_random(ssl);
    auto minted = mint_ratls_certificate(*c.attester, o);
    if (!minted) {
      st->failure = std::move(minted).error();
      return 0;
    }
    // Only the minted certificate: none of the configured chain.
    ::SSL_certs_clear(ssl);
    if (::SSL_use_certificate(ssl, minted->cert.get()) != 1 ||
        ::SSL_use_PrivateKey(ssl, minted->key.get()) != 1) {
      st->failure = Error{ErrorCode::Internal, "installing the minted RA-TLS certificate"};
      return 0;
    }
    st->ratls_minted = true;
    return 1;
  } catch (...) {
    return 0;
  }
}

// Client: the leaf is appraised once; the chain is the leaf alone (it is
// self-signed, and appraise_ratls_certificate checks its self-signature and
// validity), so libssl's own verdict on it is not consulted.
int verify_cb(int /*preverify_ok*/, X509_STORE_CTX* store) noexcept {
  try {
    auto* ssl = static_cast<SSL*>(
        ::X509_STORE_CTX_get_ex_data(store, ::SSL_get_ex_data_X509_STORE_CTX_idx()));
    HandshakeState* st = ssl != nullptr ? handshake_state(ssl) : nullptr;
    if (st == nullptr || st->config == nullptr) {
      return 0;
    }
    if (st->ratls_result) {
      ::X509_STORE_CTX_set_error(store, X509_V_OK);
      return 1;
    }
    if (st->failure) {
      return 0;
    }
    X509* leaf = ::X509_STORE_CTX_get0_cert(store);
    const ConfigState& c = *st->config;
    const RelyingParty rp(c.registry, *c.clock, c.policy);
    RatlsVerifyOptions o;
    o.at = c.clock->now();
    o.connection_nonce = client_random(ssl);
    auto r = verify_ratls_certificate(leaf, rp, o);
    if (!r) {
      st->failure = std::move(r).error();
      ::X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
    st->ratls_result = std::move(*r);
    // libssl's own verdict (a self-signed leaf, a host name) is replaced by
    // the appraisal: SSL_get_verify_result must not report it.
    ::X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  } catch (...) {
    return 0;
  }
}

}  // namespace

bool is_ratls_mode(const ConfigState& c) {
  return c.intra_handshake == IntraHandshake::RatlsCertificate;
}

Result<void> prepare_ratls_ctx(SSL_CTX* ctx, const ConfigState& c, Role role) {
  if (role == Role::Server) {
    if (!c.attester) {
      return Error{ErrorCode::InvalidArgument, "the RA-TLS certificate mode needs an attester"};
    }
    //= docs/intra-handshake.md: this mode attests the server only; a
    //= server that requires client attestation would admit anyone.
    if (c.peer_attestation == AttestationMode::Required) {
      return Error{ErrorCode::InvalidArgument,
                   "the RA-TLS certificate mode attests the server only: set "
                   "peer_attestation(Off) on the server"};
    }
    ::SSL_CTX_set_cert_cb(ctx, mint_cb, nullptr);
    return ok();
  }
  if (c.peer_attestation != AttestationMode::Off) {
    if (c.effective_cert_policy() == PeerCertificatePolicy::PinnedKey) {
      return Error{ErrorCode::InvalidArgument,
                   "a pinned server key cannot match the key the server mints per connection"};
    }
    ::SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
  }
  return ok();
}

}  // namespace atls::internal
