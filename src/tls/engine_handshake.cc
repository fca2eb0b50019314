// The engine's TLS handshake: driving libssl (in a server's first flight,
// SSL_read_early_data first: docs/wire-profile.md §1.9), mapping its
// failures to error codes, and deciding what the stream is once the
// handshake is done (docs/wire-profile.md §1.7).

#include "src/tls/engine.h"

#include "src/core/encoding.h"
#include "src/tls/early/early_attestation.h"
#include "src/tls/sigpipe_guard.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace atls::internal {

Error Engine::map_handshake_failure() {
  const bool binder_failed =
      ERR_GET_REASON(::ERR_peek_last_error()) == SSL_R_BINDER_DOES_NOT_VERIFY;
  const std::string detail = ossl::drain_errors();
  if (m_hs.failure) {
    return *m_hs.failure;
  }
  if (auto e = token_failure(binder_failed)) {
    return *e;
  }
  if (m_hs.early) {
    if (auto e = tls::early::handshake_failure(m_hs.alert_sent, m_hs.alert_received)) {
      return *e;
    }
  }
  if (m_opts.role == Role::Client && !m_hs.ratls) {
    const long v = ::SSL_get_verify_result(m_ssl);
    if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      return Error{ErrorCode::PeerHostnameMismatch, ::X509_verify_cert_error_string(v)};
    }
    if (v != X509_V_OK) {
      return Error{ErrorCode::PeerCertUntrusted, ::X509_verify_cert_error_string(v)};
    }
  }
  //= RFC 8446 §6.2: protocol_version(70) is sent when the peer's version
  //= is recognised but not supported.
  if (m_hs.alert_sent == SSL_AD_PROTOCOL_VERSION ||
      m_hs.alert_received == SSL_AD_PROTOCOL_VERSION) {
    return Error{ErrorCode::TlsVersionUnsupported, "the peer does not offer TLS 1.3"};
  }
  if (m_hs.alert_received >= 0) {
    return Error{ErrorCode::TlsHandshakeFailed,
                 std::string("peer sent TLS alert ") +
                     ::SSL_alert_desc_string_long(m_hs.alert_received) +
                     (detail.empty() ? "" : "; " + detail)};
  }
  return Error{ErrorCode::TlsHandshakeFailed,
               detail.empty() ? "the connection closed during the handshake" : detail};
}

std::optional<Error> Engine::token_failure(bool binder_failed) const {
  const bool client = m_opts.role == Role::Client;
  if (client && m_cs.gateway_token && m_hs.alert_received >= 0) {
    //= docs/gateway.md: the server's reason stays on the server; its alert
    //= says only that it refused the token (unknown_psk_identity: invalid,
    //= expired, replayed, another server's or a refused machine;
    //= decrypt_error: the PSK binder did not verify).
    return Error{ErrorCode::GatewayTokenRejected,
                 std::string("the server refused the gateway token: TLS alert ") +
                     ::SSL_alert_desc_string_long(m_hs.alert_received)};
  }
  if (!client && m_hs.token && binder_failed) {
    return Error{ErrorCode::GatewayTokenPskMismatch,
                 "the client's PSK binder does not verify under the token's PSK"};
  }
  return std::nullopt;
}

Result<void> Engine::on_token_handshake_done() {
  //= docs/wire-profile.md §3: the session keys depend on the token's PSK
  //= (libssl reports an external PSK handshake as a resumed session).
  if (::SSL_session_reused(m_ssl) != 1) {
    if (m_opts.role == Role::Client) {
      return Error{ErrorCode::GatewayTokenNotAccepted, "the server did not use the token's PSK"};
    }
    return Error{ErrorCode::GatewayTokenInvalid, "the handshake did not use the token's PSK"};
  }
  m_stream = Stream::Plain;
  m_via_token = true;
  if (m_opts.role == Role::Client) {
    return ok();  // the server proved the gateway key; it does not attest
  }
  // The PSK binder verified: now a single-use token counts as used.
  ATLS_TRY(m_cs.token_acceptor->consume(*m_hs.token, now_s()));
  m_is_rp = true;
  m_rp.adopt(std::move(*m_hs.token_result));
  m_hs.token_result.reset();
  m_hs.token.reset();  // the PSK is wiped
  return ok();
}

Result<void> Engine::drive_handshake() {
  if (Clock::now() >= m_handshake_deadline) {
    return Error{
        ErrorCode::HandshakeTimeout,
        "no TLS handshake within " + std::to_string(m_cs.handshake_timeout.count()) + " ms"};
  }
  if (m_early_read) {
    ATLS_TRY(read_early_data());
    if (m_early_read) {
      return ok();
    }
  }
  ERR_clear_error();
  int rc = 0;
  {
    SigpipeGuard guard(m_guard_sigpipe);
    rc = ::SSL_do_handshake(m_ssl);
  }
  if (rc == 1) {
    m_hs_done = true;
    m_flight_open = false;
    return on_handshake_done();
  }
  if (note_wait(::SSL_get_error(m_ssl, rc))) {
    return ok();
  }
  return map_handshake_failure();
}

Result<void> Engine::read_early_data() {
  ERR_clear_error();
  std::uint8_t byte = 0;
  std::size_t n = 0;
  int rc = SSL_READ_EARLY_DATA_ERROR;
  {
    SigpipeGuard guard(m_guard_sigpipe);
    rc = ::SSL_read_early_data(m_ssl, &byte, 1, &n);
  }
  if (rc == SSL_READ_EARLY_DATA_SUCCESS) {
    //= docs/wire-profile.md §1.1: no 0-RTT on an attested connection
    //= (max_early_data is 0, so libssl never accepts any).
    return Error{ErrorCode::TlsResumptionRefused, "the client sent 0-RTT data"};
  }
  if (rc == SSL_READ_EARLY_DATA_ERROR) {
    if (note_wait(::SSL_get_error(m_ssl, 0))) {
      return ok();
    }
    return map_handshake_failure();
  }
  m_early_read = false;
  m_flight_open = true;
  return on_server_flight();
}

Result<void> Engine::on_server_flight() {
  if (m_hs.token) {
    return ok();  // docs/gateway.md: a token connection carries no atls stream
  }
  // Our Finished is sent and the exporter exists. Without the client's
  // offer the stream is decided after the handshake, as always; so is it
  // when nothing would go out in this flight but the preamble.
  if (!m_hs.offer || !m_hs.answer ||
      (!push_negotiated(m_hs) && !m_hs.answer->wants_client_attestation)) {
    return ok();
  }
  m_peer_is_rp = m_hs.answer->server_scheme.has_value();
  ATLS_TRY(start_atls_stream(m_hs.answer->wants_client_attestation));
  if (!m_preamble_alone) {
    ATLS_TRY(flush());
  }
  return ok();
}

Result<void> Engine::on_handshake_done() {
  if (::SSL_version(m_ssl) != TLS1_3_VERSION) {
    return Error{ErrorCode::TlsVersionUnsupported, ::SSL_get_version(m_ssl)};
  }
  const bool client = m_opts.role == Role::Client;
  if ((client && m_cs.gateway_token) || m_hs.token) {
    return on_token_handshake_done();
  }
  if (::SSL_session_reused(m_ssl) == 1) {
    return Error{ErrorCode::TlsResumptionRefused, "the handshake resumed a session"};
  }
  if (client && !m_cs.dangerous_skip_cert_check &&
      m_cs.effective_cert_policy() == PeerCertificatePolicy::PinnedKey) {
    X509* peer = ::SSL_get0_peer_certificate(m_ssl);  // owned by the SSL
    if (peer == nullptr) {
      return Error{ErrorCode::PinnedKeyMismatch, "the server sent no certificate"};
    }
    ATLS_ASSIGN_OR_RETURN(const Bytes h, spki_sha256(peer));
    if (std::find(m_cs.pins.begin(), m_cs.pins.end(), h) == m_cs.pins.end()) {
      return Error{ErrorCode::PinnedKeyMismatch, "TLS certificate key " + to_hex(h)};
    }
  }
  if (m_hs.ratls) {
    //= docs/intra-handshake.md: the client appraised the server's minted
    //= certificate in its verify callback; the stream is the application's.
    m_stream = Stream::Plain;
    if (client && m_cs.peer_attestation != AttestationMode::Off) {
      if (!m_hs.ratls_result) {
        return Error{ErrorCode::AttestationRequired, "the server's certificate was not appraised"};
      }
      m_is_rp = true;
      m_rp.adopt(std::move(*m_hs.ratls_result));
      m_hs.ratls_result.reset();
    }
    return ok();
  }
  if (m_hs.early) {
    //= docs/intra-handshake.md: attestation happened in the handshake; the
    //= stream carries application bytes only.
    ATLS_TRY(tls::early::finish(*m_hs.early));
    m_stream = Stream::Plain;
    if (m_hs.early->peer_result) {
      // The one relying-party state: valid_until, expiry and the result.
      m_is_rp = true;
      m_rp.adopt(*m_hs.early->peer_result);
    }
    return ok();
  }
  const AttestationMode want = m_cs.peer_attestation;
  if (client) {
    if (m_cs.negotiation) {
      if (!m_hs.answer) {
        //= docs/wire-profile.md §1.7: a client whose policy requires
        //= attestation and sees no answer aborts before sending a byte.
        if (want == AttestationMode::Required) {
          return Error{ErrorCode::AttestationRequired,
                       "the server did not answer atls_negotiation"};
        }
        m_stream = Stream::Plain;
        return ok();
      }
      const bool server_attests = m_hs.answer->server_scheme.has_value();
      if (want == AttestationMode::Required && !server_attests) {
        return Error{ErrorCode::AttestationRequired, "the server will not attest"};
      }
      m_peer_is_rp = m_hs.answer->wants_client_attestation;
      return start_atls_stream(want != AttestationMode::Off && server_attests);
    }
    if (want == AttestationMode::Off && m_cs.attester == nullptr) {
      m_stream = Stream::Plain;
      return ok();
    }
    return start_atls_stream(want != AttestationMode::Off);
  }
  // Server.
  if (m_stream == Stream::Atls) {
    return ok();  // started in our first flight (on_server_flight)
  }
  if (m_cs.negotiation && m_hs.offer && m_hs.answer) {
    m_peer_is_rp = m_hs.answer->server_scheme.has_value();
    return start_atls_stream(m_hs.answer->wants_client_attestation);
  }
  //= docs/wire-profile.md §1.7: a server that receives no atls_negotiation
  //= reads the client's first 5 bytes.
  m_stream = Stream::Detecting;
  arm_attestation_deadline();
  m_deadline_armed = true;
  return ok();
}

}  // namespace atls::internal
