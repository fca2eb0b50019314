#include "src/tls/openssl_attach.h"

#include <atls/openssl.h>

#include "src/tls/connection.h"
#include "src/tls/early/early_attestation.h"
#include "src/tls/engine.h"
#include "src/tls/gateway_attach.h"
#include "src/tls/ratls_attach.h"

#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include <algorithm>
#include <exception>

namespace atls {
namespace internal {
namespace {

// RFC 8446 §4.2 ExtensionType values the ClientHello callback looks for.
constexpr unsigned kExtSignatureAlgorithms = 13;
constexpr unsigned kExtPreSharedKey = 41;
constexpr unsigned kExtEarlyData = 42;

int ex_index() {
  static const int index = ::SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Builds the client's offer: what we accept from the server, what we can
// attest with. Returns nullopt when this client does nothing with atls.
std::optional<tls::AtlsOffer> make_offer(const ConfigState& c) {
  tls::AtlsOffer offer;
  offer.modes = tls::kModePostHandshake;
  if (c.peer_attestation != AttestationMode::Off) {
    offer.server_attester_schemes = c.accepted_schemes();
  }
  if (auto own = c.own_scheme()) {
    offer.client_attester_schemes.push_back(*own);
  }
  if (offer.server_attester_schemes.empty() && offer.client_attester_schemes.empty()) {
    return std::nullopt;
  }
  if (!offer.server_attester_schemes.empty() && c.accepts_push()) {
    offer.modes |= tls::kModePush;
  }
  if (c.exporter_label != ExporterLabelPolicy::Attestation) {
    offer.modes |= tls::kModeCmwLabel;
  }
  return offer;
}

Result<tls::AtlsAnswer> make_answer(const ConfigState& c, const tls::AtlsOffer& offer) {
  tls::AtlsAnswer answer;
  answer.mode = tls::kModePostHandshake;
  if (auto own = c.own_scheme(); own && lists_scheme(offer.server_attester_schemes, *own)) {
    answer.server_scheme = *own;
  }
  const std::vector<tls::AttestationScheme> ours = c.accepted_schemes();
  const bool client_can = std::any_of(
      offer.client_attester_schemes.begin(), offer.client_attester_schemes.end(),
      [&ours](const tls::AttestationScheme& theirs) { return lists_scheme(ours, theirs); });
  answer.wants_client_attestation = c.peer_attestation == AttestationMode::Required ||
                                    (c.peer_attestation == AttestationMode::Optional && client_can);
  //= docs/wire-profile.md §1.9: the server pushes when the client accepts it.
  if ((offer.modes & tls::kModePush) != 0 && answer.server_scheme && c.first_flight) {
    answer.mode |= tls::kModePush;
  }
  const bool cmw_offered = (offer.modes & tls::kModeCmwLabel) != 0;
  if (cmw_offered && c.exporter_label != ExporterLabelPolicy::Attestation) {
    answer.mode |= tls::kModeCmwLabel;
  } else if (c.exporter_label == ExporterLabelPolicy::CmwAttestation) {
    return Error{ErrorCode::ExporterLabelUnsupported,
                 "the client does not offer EXPORTER-cmw-attestation"};
  }
  return answer;
}

// check_answer is the client's check of the server's answer against its
// offer: only what was offered may be chosen.
Result<void> check_answer(const ConfigState& c, const std::optional<tls::AtlsOffer>& offer,
                          const tls::AtlsAnswer& answer) {
  const std::uint8_t offered = offer ? offer->modes : 0;
  if ((answer.mode & tls::kDeliveryModes) != tls::kModePostHandshake) {
    return Error{ErrorCode::NegotiationMalformed, "the server chose a mode we did not offer"};
  }
  if ((answer.mode & tls::kAnswerFlags & ~offered) != 0) {
    return Error{ErrorCode::NegotiationMalformed, "the server chose a flag we did not offer"};
  }
  if ((answer.mode & tls::kModePush) != 0 && !answer.server_scheme) {
    return Error{ErrorCode::NegotiationMalformed, "the server will push but names no scheme"};
  }
  if (answer.server_scheme &&
      !(offer && lists_scheme(offer->server_attester_schemes, *answer.server_scheme))) {
    return Error{ErrorCode::NegotiationMalformed, "the server chose a scheme we did not offer"};
  }
  if (c.exporter_label == ExporterLabelPolicy::CmwAttestation &&
      (answer.mode & tls::kModeCmwLabel) == 0) {
    return Error{ErrorCode::ExporterLabelUnsupported,
                 "the server does not use EXPORTER-cmw-attestation"};
  }
  return ok();
}

int add_cb(SSL* ssl, unsigned int /*ext_type*/, unsigned int context, const unsigned char** out,
           size_t* outlen, X509* /*x*/, size_t /*chainidx*/, int* al, void* /*arg*/) noexcept {
  try {
    HandshakeState* st = handshake_state(ssl);
    if (st == nullptr || st->config == nullptr) {
      return 0;
    }
    Result<Bytes> data = Error{ErrorCode::Internal, "no extension for this message"};
    if ((context & SSL_EXT_CLIENT_HELLO) != 0) {
      st->offer = make_offer(*st->config);
      if (!st->offer) {
        return 0;
      }
      data = tls::encode_offer(*st->offer);
    } else if ((context & SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS) != 0) {
      if (!st->offer || (st->offer->modes & tls::kModePostHandshake) == 0) {
        return 0;
      }
      auto answer = make_answer(*st->config, *st->offer);
      if (!answer) {
        st->failure = std::move(answer).error();
        *al = SSL_AD_HANDSHAKE_FAILURE;
        return -1;
      }
      st->answer = std::move(*answer);
      data = tls::encode_answer(*st->answer);
    } else {
      return 0;
    }
    if (!data) {
      st->failure = std::move(data).error();
      *al = SSL_AD_INTERNAL_ERROR;
      return -1;
    }
    st->ext_out = std::move(*data);
    *out = st->ext_out.data();
    *outlen = st->ext_out.size();
    return 1;
  } catch (...) {
    *al = SSL_AD_INTERNAL_ERROR;
    return -1;
  }
}

// hello_cmw_add_cb puts an empty cmw_attestation in a ClientHello that
// accepts a pushed authenticator: RFC 9261 §5.2.1 lets a spontaneous
// authenticator's Certificate carry only extensions the ClientHello
// carried (docs/protocol-choices.md). It is registered after
// atls_negotiation, whose add_cb has made the offer already.
int hello_cmw_add_cb(SSL* ssl, unsigned int /*ext_type*/, unsigned int context,
                     const unsigned char** out, size_t* outlen, X509* /*x*/, size_t /*chainidx*/,
                     int* /*al*/, void* /*arg*/) noexcept {
  const HandshakeState* st = handshake_state(ssl);
  if (st == nullptr || st->config == nullptr || (context & SSL_EXT_CLIENT_HELLO) == 0) {
    return 0;
  }
  if (!st->offer || (st->offer->modes & tls::kModePush) == 0) {
    return 0;
  }
  *out = nullptr;
  *outlen = 0;
  return 1;
}

void free_cb(SSL* /*ssl*/, unsigned int /*ext_type*/, unsigned int /*context*/,
             const unsigned char* /*out*/, void* /*arg*/) noexcept {
  // The bytes live in HandshakeState::ext_out.
}

int parse_cb(SSL* ssl, unsigned int /*ext_type*/, unsigned int context, const unsigned char* in,
             size_t inlen, X509* /*x*/, size_t /*chainidx*/, int* al, void* /*arg*/) noexcept {
  try {
    HandshakeState* st = handshake_state(ssl);
    if (st == nullptr || st->config == nullptr) {
      return 1;  // not an attested connection: ignore (RFC 8446 §4.2)
    }
    const ByteView data(in, inlen);
    if ((context & SSL_EXT_CLIENT_HELLO) != 0) {
      auto offer = tls::parse_offer(data);
      if (!offer) {
        st->failure = std::move(offer).error();
        *al = SSL_AD_DECODE_ERROR;
        return 0;
      }
      st->offer = std::move(*offer);
      return 1;
    }
    if ((context & SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS) != 0) {
      auto answer = tls::parse_answer(data);
      if (!answer) {
        st->failure = std::move(answer).error();
        *al = SSL_AD_DECODE_ERROR;
        return 0;
      }
      if (auto checked = check_answer(*st->config, st->offer, *answer); !checked) {
        st->failure = std::move(checked).error();
        *al = st->failure->code == ErrorCode::ExporterLabelUnsupported ? SSL_AD_HANDSHAKE_FAILURE
                                                                       : SSL_AD_ILLEGAL_PARAMETER;
        return 0;
      }
      st->answer = std::move(*answer);
      return 1;
    }
    return 1;
  } catch (...) {
    *al = SSL_AD_INTERNAL_ERROR;
    return 0;
  }
}

// client_hello_cb refuses resumption and 0-RTT on a connection that will
// be attested (draft-fossati-seat-expat §"connection handling"; docs/wire-profile.md
// §1.1). A plain TLS client's PSK is simply not accepted (no tickets exist).
int client_hello_cb(SSL* ssl, int* al, void* /*arg*/) noexcept {
  try {
    HandshakeState* st = handshake_state(ssl);
    if (st == nullptr || st->config == nullptr) {
      return SSL_CLIENT_HELLO_SUCCESS;
    }
    const unsigned char* p = nullptr;
    size_t n = 0;
    const bool psk = ::SSL_client_hello_get0_ext(ssl, kExtPreSharedKey, &p, &n) == 1;
    switch (check_token_offer(*st, psk ? p : nullptr, psk ? n : 0, al)) {
      case TokenOffer::Accepted:
        return SSL_CLIENT_HELLO_SUCCESS;
      case TokenOffer::Refused:
        return SSL_CLIENT_HELLO_ERROR;
      case TokenOffer::None:
        break;
    }
    const bool early = ::SSL_client_hello_get0_ext(ssl, kExtEarlyData, &p, &n) == 1;
    const bool offer =
        st->config->negotiation &&
        ::SSL_client_hello_get0_ext(ssl, st->config->codepoints.atls_negotiation, &p, &n) == 1;
    const bool attested = offer || st->config->peer_attestation == AttestationMode::Required;
    if (offer && ::SSL_client_hello_get0_ext(ssl, kExtSignatureAlgorithms, &p, &n) == 1) {
      // A malformed list fails the handshake in libssl itself.
      if (auto schemes = tls::parse_signature_algorithms(ByteView(p, n))) {
        st->client_sigalgs = std::move(*schemes);
      }
    }
    if (attested && (psk || early)) {
      st->failure =
          Error{ErrorCode::TlsResumptionRefused,
                psk ? "the ClientHello offers a PSK (resumption)" : "the ClientHello offers 0-RTT"};
      *al = error_tls_alert(ErrorCode::TlsResumptionRefused);
      return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  } catch (...) {
    *al = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
}

void msg_cb(int write_p, int /*version*/, int content_type, const void* buf, size_t len, SSL* ssl,
            void* /*arg*/) noexcept {
  HandshakeState* st = handshake_state(ssl);
  if (st == nullptr) {
    return;
  }
  if (st->early) {
    tls::early::on_message(*st->early, content_type, buf, len);
  }
  if (content_type != SSL3_RT_ALERT || len != 2) {
    return;
  }
  const int description = static_cast<const unsigned char*>(buf)[1];
  (write_p != 0 ? st->alert_sent : st->alert_received) = description;
}

}  // namespace

ExporterLabel negotiated_label(const HandshakeState& state, const ConfigState& config) {
  if (state.answer) {
    return (state.answer->mode & tls::kModeCmwLabel) != 0 ? ExporterLabel::CmwAttestation
                                                          : ExporterLabel::Attestation;
  }
  return config.exporter_label == ExporterLabelPolicy::CmwAttestation
             ? ExporterLabel::CmwAttestation
             : ExporterLabel::Attestation;
}

bool push_negotiated(const HandshakeState& state) {
  return state.answer && (state.answer->mode & tls::kModePush) != 0;
}

Result<void> set_handshake_state(SSL* ssl, HandshakeState* state) {
  if (ex_index() < 0 || ::SSL_set_ex_data(ssl, ex_index(), state) != 1) {
    return ossl::failure(ErrorCode::Internal, "SSL_set_ex_data");
  }
  return ok();
}

HandshakeState* handshake_state(const SSL* ssl) {
  if (ssl == nullptr || ex_index() < 0) {
    return nullptr;
  }
  return static_cast<HandshakeState*>(::SSL_get_ex_data(ssl, ex_index()));
}

Result<void> prepare_ctx(SSL_CTX* ctx, const ConfigState& c, Role role, bool install_identity) {
  if (ctx == nullptr) {
    return Error{ErrorCode::InvalidArgument, "null SSL_CTX"};
  }
  auto fail = [](const char* what) { return ossl::failure(ErrorCode::Internal, what); };
  //= docs/wire-profile.md §1.1: TLS 1.3 only; no NewSessionTicket, no 0-RTT, never resume.
  if (::SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      ::SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return fail("SSL_CTX_set_min/max_proto_version");
  }
  ::SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (::SSL_CTX_set_num_tickets(ctx, 0) != 1) {
    return fail("SSL_CTX_set_num_tickets");
  }
  ::SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (::SSL_CTX_set_max_early_data(ctx, 0) != 1 || ::SSL_CTX_set_recv_max_early_data(ctx, 0) != 1) {
    return fail("SSL_CTX_set_max_early_data");
  }
  ::SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  ::SSL_CTX_set_msg_callback(ctx, msg_cb);

  if (role == Role::Client) {
    const bool verify =
        c.effective_cert_policy() == PeerCertificatePolicy::WebPki && !c.dangerous_skip_cert_check;
    if (verify) {
      ::SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      if (c.ca_certs.empty()) {
        if (::SSL_CTX_set_default_verify_paths(ctx) != 1) {
          return fail("SSL_CTX_set_default_verify_paths");
        }
      } else {
        X509_STORE* store = ::SSL_CTX_get_cert_store(ctx);  // owned by ctx
        for (const auto& ca : c.ca_certs) {
          if (::X509_STORE_add_cert(store, ca.get()) != 1) {
            return fail("X509_STORE_add_cert");
          }
        }
      }
    } else {
      ::SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
  } else {
    // Clients authenticate (and attest) with exported authenticators after
    // the handshake, never with TLS client certificates.
    ::SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    ::SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, nullptr);
    if (install_identity && c.has_identity() && ::SSL_CTX_get0_certificate(ctx) == nullptr) {
      if (::SSL_CTX_use_certificate(ctx, c.chain.front().get()) != 1) {
        return fail("SSL_CTX_use_certificate");
      }
      for (std::size_t i = 1; i < c.chain.size(); ++i) {
        if (::SSL_CTX_add1_chain_cert(ctx, c.chain[i].get()) != 1) {
          return fail("SSL_CTX_add1_chain_cert");
        }
      }
      if (::SSL_CTX_use_PrivateKey(ctx, c.key.get()) != 1) {
        return fail("SSL_CTX_use_PrivateKey");
      }
    }
  }
  ATLS_TRY(prepare_token_ctx(ctx, c, role));
  if (tls::early::is_enabled(c)) {
    // The early-attestation mode replaces atls_negotiation and the
    // post-handshake stream (docs/intra-handshake.md).
    return tls::early::prepare_ctx(ctx, c, role);
  }
  if (is_ratls_mode(c)) {
    // So does the RA-TLS certificate mode (src/tls/ratls_attach.h).
    return prepare_ratls_ctx(ctx, c, role);
  }
  //= docs/wire-profile.md §3: a token connection carries no atls stream.
  if (c.negotiation && !(role == Role::Client && c.gateway_token)) {
    const unsigned int context =
        SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS | SSL_EXT_TLS1_3_ONLY;
    if (::SSL_CTX_add_custom_ext(ctx, c.codepoints.atls_negotiation, context, add_cb, free_cb,
                                 nullptr, parse_cb, nullptr) != 1) {
      return fail("SSL_CTX_add_custom_ext (already registered on this SSL_CTX?)");
    }
    if (role == Role::Client &&
        ::SSL_CTX_add_custom_ext(ctx, c.codepoints.cmw_attestation,
                                 SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_3_ONLY, hello_cmw_add_cb,
                                 free_cb, nullptr, nullptr, nullptr) != 1) {
      return fail("SSL_CTX_add_custom_ext(cmw_attestation)");
    }
  }
  return ok();
}

}  // namespace internal

Result<void> prepare_ssl_ctx(SSL_CTX* ctx, const Config& config, Role role) {
  try {
    return internal::prepare_ctx(ctx, internal::config_state(config), role, true);
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, e.what()};
  }
}

Result<Connection> attach_ssl(SSL* ssl, std::shared_ptr<const Config> config, Role role,
                              const std::string& host) {
  if (ssl == nullptr || !config) {
    return Error{ErrorCode::InvalidArgument, "null SSL or config"};
  }
  try {
    internal::EngineOptions opts;
    opts.role = role;
    opts.host = host;
    opts.borrowed_ssl = ssl;
    const int fd = ::SSL_get_fd(ssl);
    opts.fd = fd;
    opts.owns_fd = false;
    opts.mode = IoMode::Blocking;
    if (fd < 0) {
      opts.mode = IoMode::NonBlocking;
    } else if (internal::fd_is_nonblocking(fd)) {
      opts.mode = IoMode::NonBlocking;
    }
    ATLS_ASSIGN_OR_RETURN(auto engine,
                          internal::Engine::create(std::move(config), std::move(opts)));
    return internal::ConnectionAccess::adopt(std::move(engine));
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, e.what()};
  }
}

}  // namespace atls
