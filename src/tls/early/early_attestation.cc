#include "src/tls/early/early_attestation.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/relying_party.h"
#include "src/ossl/x509.h"
#include "src/tls/attester_side.h"
#include "src/tls/openssl_attach.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <exception>
#include <string>
#include <utility>

namespace atls::tls::early {
namespace {

using internal::ConfigState;
using internal::HandshakeState;

struct Context {
  HandshakeState* hs = nullptr;
  EarlyState* st = nullptr;
  explicit operator bool() const { return st != nullptr && st->config != nullptr; }
};

Context context_of(const SSL* ssl) {
  Context c;
  c.hs = internal::handshake_state(ssl);
  if (c.hs != nullptr) {
    c.st = c.hs->early.get();
  }
  return c;
}

// alert_for is the alert a local failure of this mode sends.
int alert_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::NoCommonScheme:
      return kAlertUnsupportedAttestationSchemes;
    case ErrorCode::AttestationRequired:
      return kAlertAttestationRequired;
    case ErrorCode::EarlyAttestationMalformed:
      return SSL_AD_DECODE_ERROR;
    case ErrorCode::EarlyAttestationMisplaced:
      return SSL_AD_ILLEGAL_PARAMETER;
    case ErrorCode::Internal:
    case ErrorCode::CryptoFailure:
      return SSL_AD_INTERNAL_ERROR;
    default:
      //= draft-fossati-seat-early-attestation §5.1.2: binder mismatch,
      //= failed Evidence appraisal or malformed CMW: attestation_failed.
      return kAlertAttestationFailed;
  }
}

// fail records |e| as the connection's failure and sets the alert.
int fail(const Context& c, Error e, int* al) {
  *al = alert_for(e.code);
  if (c.hs != nullptr && !c.hs->failure) {
    c.hs->failure = std::move(e);
  }
  return -1;
}

Result<ossl::HashAlg> connection_hash(const SSL* ssl) {
  const SSL_CIPHER* cipher = ::SSL_get_current_cipher(ssl);
  if (cipher == nullptr) {
    cipher = ::SSL_get_pending_cipher(ssl);
  }
  if (cipher == nullptr) {
    return Error{ErrorCode::Internal, "no cipher suite chosen yet"};
  }
  return ossl::hash_alg_from_md(::SSL_CIPHER_get_handshake_digest(cipher));
}

Result<Bytes> binder_for(const SSL* ssl, const EarlyState& st, ByteView spki) {
  ATLS_ASSIGN_OR_RETURN(const ossl::HashAlg alg, connection_hash(ssl));
  ATLS_ASSIGN_OR_RETURN(const Bytes h, st.transcript.hash(alg));
  return attestation_binder(alg, h, spki);
}

RemoteAttestationOffer make_offer(const ConfigState& c) {
  RemoteAttestationOffer offer;
  if (c.peer_attestation != AttestationMode::Off) {
    offer.server_attester_schemes = c.accepted_schemes();
  }
  if (auto own = c.own_scheme(); own && c.has_identity()) {
    offer.client_attester_schemes.push_back(*own);
  }
  return offer;
}

// accept_client_certificate is the server's verify callback when it asked
// for client attestation: the client's key is the one its Evidence binds
// (attestation-only identity), so chain errors do not count; what counts
// is that a chosen scheme was answered with Evidence.
int accept_client_certificate(int /*preverify_ok*/, X509_STORE_CTX* store) noexcept {
  auto* ssl = static_cast<SSL*>(
      ::X509_STORE_CTX_get_ex_data(store, ::SSL_get_ex_data_X509_STORE_CTX_idx()));
  const Context c = context_of(ssl);
  if (!c || ::X509_STORE_CTX_get_error_depth(store) != 0) {
    return 1;
  }
  if (c.hs->failure) {
    ::X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (c.st->client_scheme && !c.st->peer_result) {
    c.hs->failure =
        Error{ErrorCode::EarlyAttestationMissing, "the client's leaf carries no remoteAttestation"};
    ::X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

// check_server_certificate is the client's verify callback: the chain
// check as configured (WebPKI, else none), then, at the leaf, the
// early-attestation outcome, so that a missing attestation aborts the
// handshake before our Finished.
int check_server_certificate(int preverify_ok, X509_STORE_CTX* store) noexcept {
  auto* ssl = static_cast<SSL*>(
      ::X509_STORE_CTX_get_ex_data(store, ::SSL_get_ex_data_X509_STORE_CTX_idx()));
  const Context c = context_of(ssl);
  if (!c) {
    return preverify_ok;
  }
  const ConfigState& cfg = *c.st->config;
  const bool webpki = cfg.effective_cert_policy() == PeerCertificatePolicy::WebPki &&
                      !cfg.dangerous_skip_cert_check;
  if (webpki && preverify_ok == 0) {
    return 0;
  }
  if (::X509_STORE_CTX_get_error_depth(store) != 0) {
    return 1;
  }
  if (!c.hs->failure) {
    if (auto done = finish(*c.st); !done) {
      c.hs->failure = std::move(done).error();
    }
  }
  if (c.hs->failure) {
    ::X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

// server_choose is the server's answer to an offer (§7.2 "Server Hello" of
// the draft): the scheme it attests with, the one it asks of the client.
Result<void> server_choose(SSL* ssl, EarlyState& st) {
  const ConfigState& c = *st.config;
  const RemoteAttestationOffer& offer = *st.offer;
  st.server_scheme.reset();
  st.client_scheme.reset();
  if (auto own = c.own_scheme();
      own && c.has_identity() && internal::lists_scheme(offer.server_attester_schemes, *own)) {
    st.server_scheme = *own;
  }
  if (c.peer_attestation != AttestationMode::Off) {
    const std::vector<AttestationScheme> ours = c.accepted_schemes();
    for (const AttestationScheme& theirs : offer.client_attester_schemes) {
      if (internal::lists_scheme(ours, theirs)) {
        st.client_scheme = theirs;
        break;
      }
    }
  }
  //= draft-fossati-seat-early-attestation §7: no scheme in common (or both
  //= lists empty): unsupported_attestation_schemes.
  if (!st.server_scheme && !st.client_scheme) {
    return Error{ErrorCode::NoCommonScheme, "no offered scheme is one we produce or accept"};
  }
  if (c.peer_attestation == AttestationMode::Required && !st.client_scheme) {
    return Error{ErrorCode::AttestationRequired,
                 "the client offers no attestation scheme we accept"};
  }
  if (st.client_scheme) {
    // A CertificateRequest goes out (it carries chosen_client_scheme).
    const int mode = c.peer_attestation == AttestationMode::Required
                         ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                         : SSL_VERIFY_PEER;
    ::SSL_set_verify(ssl, mode, accept_client_certificate);
  }
  return ok();
}

// own_evidence returns the Certificate extension_data: Evidence for the
// binder over our leaf.
Result<Bytes> own_evidence(SSL* ssl, EarlyState& st) {
  const ConfigState& c = *st.config;
  X509* leaf = ::SSL_get_certificate(ssl);  // owned by the SSL
  if (!c.attester || leaf == nullptr) {
    return Error{ErrorCode::Internal, "a scheme was chosen but there is no attester or leaf"};
  }
  ATLS_ASSIGN_OR_RETURN(Bytes spki, ossl::cert_spki_der(leaf));
  AttestationRequest req;
  ATLS_ASSIGN_OR_RETURN(
      req.nonce, binder_for(ssl, st, st.dangerous_binder_spki ? *st.dangerous_binder_spki : spki));
  st.own_binder = req.nonce;
  req.media_types.emplace_back(c.attester->media_type());
  req.key_spki = std::move(spki);
  ATLS_ASSIGN_OR_RETURN(const Evidence evidence, internal::guarded_attest(*c.attester, req));
  return encode_cmw_payload(evidence.cmw);
}

// appraise_peer checks the peer's Evidence in its leaf |leaf|.
Result<void> appraise_peer(const SSL* ssl, EarlyState& st, X509* leaf, ByteView data) {
  const ConfigState& c = *st.config;
  ATLS_ASSIGN_OR_RETURN(const ByteView cmw, parse_cmw_payload(data));
  ATLS_ASSIGN_OR_RETURN(Evidence evidence, evidence_from_cmw(cmw));
  const bool passport = evidence.media_type() == kMediaTypeEar;
  if (!c.accepts(passport ? AttestationModel::Passport : AttestationModel::BackgroundCheck)) {
    return Error{ErrorCode::UnsupportedMediaType,
                 passport ? "passports are not accepted" : "Evidence is not accepted"};
  }
  ATLS_ASSIGN_OR_RETURN(Bytes spki, ossl::cert_spki_der(leaf));
  ATLS_ASSIGN_OR_RETURN(st.peer_binder, binder_for(ssl, st, spki));
  //= draft-fossati-seat-early-attestation §5.1.2: the peer compares the
  //= computed binder with the one in the signed Evidence (here: the
  //= Verifier must find it bound as the nonce, else NonceMismatch).
  internal::Expectation expect = passport ? internal::Expectation::passport(std::move(spki))
                                          : internal::Expectation::background_check(st.peer_binder);
  const internal::RelyingParty rp(c.registry, *c.clock, c.policy);
  ATLS_ASSIGN_OR_RETURN(AttestationResult result, rp.accept(evidence, std::move(expect)));
  st.peer_result = std::move(result);
  return ok();
}

int add_cb(SSL* ssl, unsigned int /*ext_type*/, unsigned int context, const unsigned char** out,
           size_t* outlen, X509* x, size_t chainidx, int* al, void* /*arg*/) noexcept {
  const Context c = context_of(ssl);
  if (!c) {
    return 0;
  }
  try {
    EarlyState& st = *c.st;
    Result<Bytes> data = Error{ErrorCode::Internal, "nothing to add"};
    if ((context & SSL_EXT_CLIENT_HELLO) != 0) {
      st.offer = make_offer(*st.config);
      if (st.offer->server_attester_schemes.empty() && st.offer->client_attester_schemes.empty()) {
        st.offer.reset();
        return 0;
      }
      data = encode_offer(*st.offer);
    } else if ((context & SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS) != 0) {
      if (!st.server_scheme) {
        return 0;  // §7: omitted when the server will not attest
      }
      data = encode_chosen_scheme(st.dangerous_chosen_server_scheme
                                      ? *st.dangerous_chosen_server_scheme
                                      : *st.server_scheme);
    } else if ((context & SSL_EXT_TLS1_3_CERTIFICATE_REQUEST) != 0) {
      if (!st.client_scheme) {
        return 0;
      }
      data = encode_chosen_scheme(*st.client_scheme);
    } else if ((context & SSL_EXT_TLS1_3_CERTIFICATE) != 0) {
      const bool ours =
          st.role == Role::Server ? st.server_scheme.has_value() : st.client_scheme.has_value();
      //= draft-fossati-seat-early-attestation §4.1: only in the first
      //= CertificateEntry (the end-entity certificate).
      if (!ours || chainidx != st.dangerous_evidence_entry || x == nullptr) {
        return 0;
      }
      data = own_evidence(ssl, st);
    } else {
      return 0;
    }
    if (!data) {
      return fail(c, std::move(data).error(), al);
    }
    st.ext_out = std::move(*data);
    *out = st.ext_out.data();
    *outlen = st.ext_out.size();
    return 1;
  } catch (...) {
    return fail(c, Error{ErrorCode::Internal, "remoteAttestation add callback"}, al);
  }
}

void free_cb(SSL* /*ssl*/, unsigned int /*ext_type*/, unsigned int /*context*/,
             const unsigned char* /*out*/, void* /*arg*/) noexcept {
  // The bytes live in EarlyState::ext_out.
}

int parse_cb(SSL* ssl, unsigned int /*ext_type*/, unsigned int context, const unsigned char* in,
             size_t inlen, X509* x, size_t chainidx, int* al, void* /*arg*/) noexcept {
  const Context c = context_of(ssl);
  if (!c) {
    return 1;  // not an early-attestation connection: ignore (RFC 8446 §4.2)
  }
  try {
    EarlyState& st = *c.st;
    const ByteView data(in, inlen);
    if ((context & SSL_EXT_CLIENT_HELLO) != 0) {
      auto offer = parse_offer(data);
      if (!offer) {
        fail(c, std::move(offer).error(), al);
        return 0;
      }
      st.offer = std::move(*offer);
      if (auto chosen = server_choose(ssl, st); !chosen) {
        fail(c, std::move(chosen).error(), al);
        return 0;
      }
      return 1;
    }
    if ((context & (SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS | SSL_EXT_TLS1_3_CERTIFICATE_REQUEST)) !=
        0) {
      const bool ee = (context & SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS) != 0;
      auto scheme = parse_chosen_scheme(data);
      if (!scheme) {
        fail(c, std::move(scheme).error(), al);
        return 0;
      }
      //= draft-fossati-seat-early-attestation §7.1.3: the client checks
      //= that the returned schemes were among those it proposed.
      const bool offered =
          st.offer &&
          internal::lists_scheme(
              ee ? st.offer->server_attester_schemes : st.offer->client_attester_schemes, *scheme);
      if (!offered) {
        fail(c,
             Error{ErrorCode::EarlyAttestationMisplaced,
                   ee ? "chosen_server_scheme was not offered"
                      : "chosen_client_scheme was not offered"},
             al);
        return 0;
      }
      (ee ? st.server_scheme : st.client_scheme) = std::move(*scheme);
      return 1;
    }
    if ((context & SSL_EXT_TLS1_3_CERTIFICATE) != 0) {
      //= draft-fossati-seat-early-attestation §4.1: received in any other
      //= position, the receiver MUST abort with illegal_parameter.
      if (chainidx != 0) {
        fail(c,
             Error{ErrorCode::EarlyAttestationMisplaced,
                   "remoteAttestation on certificate entry " + std::to_string(chainidx)},
             al);
        return 0;
      }
      const bool expected =
          st.role == Role::Client ? st.server_scheme.has_value() : st.client_scheme.has_value();
      if (!expected || x == nullptr) {
        fail(c, Error{ErrorCode::EarlyAttestationMisplaced, "Evidence for a scheme nobody chose"},
             al);
        return 0;
      }
      if (auto appraised = appraise_peer(ssl, st, x, data); !appraised) {
        fail(c, std::move(appraised).error(), al);
        return 0;
      }
      return 1;
    }
    return 1;
  } catch (...) {
    fail(c, Error{ErrorCode::Internal, "remoteAttestation parse callback"}, al);
    return 0;
  }
}

}  // namespace

bool is_enabled(const ConfigState& config) {
  return config.intra_handshake == IntraHandshake::EarlyAttestation;
}

Result<void> prepare_ctx(SSL_CTX* ctx, const ConfigState& config, Role /*role*/) {
  const unsigned int contexts = SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS |
                                SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE |
                                SSL_EXT_TLS1_3_ONLY;
  if (::SSL_CTX_add_custom_ext(ctx, config.codepoints.remote_attestation, contexts, add_cb, free_cb,
                               nullptr, parse_cb, nullptr) != 1) {
    return ossl::failure(ErrorCode::Internal,
                         "SSL_CTX_add_custom_ext(remoteAttestation; already registered?)");
  }
  return ok();
}

Result<std::shared_ptr<EarlyState>> attach(SSL* ssl, const ConfigState& config, Role role) {
  auto st = std::make_shared<EarlyState>();
  st->config = &config;
  st->role = role;
  if (role == Role::Client) {
    ::SSL_set_verify(ssl, SSL_VERIFY_PEER, check_server_certificate);
    if (config.attester && config.has_identity()) {
      // For a CertificateRequest that asks us to attest.
      if (::SSL_use_certificate(ssl, config.chain.front().get()) != 1 ||
          ::SSL_use_PrivateKey(ssl, config.key.get()) != 1) {
        return ossl::failure(ErrorCode::Internal, "SSL_use_certificate / SSL_use_PrivateKey");
      }
      for (std::size_t i = 1; i < config.chain.size(); ++i) {
        if (::SSL_add1_chain_cert(ssl, config.chain[i].get()) != 1) {
          return ossl::failure(ErrorCode::Internal, "SSL_add1_chain_cert");
        }
      }
    }
  }
  return st;
}

void on_message(EarlyState& state, int content_type, const void* buf, std::size_t len) {
  if (content_type != SSL3_RT_HANDSHAKE || buf == nullptr) {
    return;  // record headers and inner content types are other content types
  }
  state.transcript.add(ByteView(static_cast<const std::uint8_t*>(buf), len));
}

Result<void> finish(const EarlyState& st) {
  const ConfigState& c = *st.config;
  const bool client = st.role == Role::Client;
  const std::optional<AttestationScheme>& chosen = client ? st.server_scheme : st.client_scheme;
  if (chosen && !st.peer_result) {
    return Error{ErrorCode::EarlyAttestationMissing,
                 "a scheme was chosen but the peer's leaf carried no Evidence"};
  }
  //= draft-fossati-seat-early-attestation §7.1.3: the server rejected
  //= attesting and our policy demands it: attestation_required.
  if (c.peer_attestation == AttestationMode::Required && !st.peer_result) {
    return Error{ErrorCode::AttestationRequired, client
                                                     ? "the server chose no scheme to attest with"
                                                     : "the client did not attest"};
  }
  return ok();
}

std::optional<Error> handshake_failure(int alert_sent, int alert_received) {
  if (alert_sent == SSL_AD_CERTIFICATE_REQUIRED) {
    return Error{ErrorCode::AttestationRequired, "the client sent no certificate to attest"};
  }
  switch (alert_received) {
    case kAlertUnsupportedAttestationSchemes:
      return Error{ErrorCode::EarlyPeerUnsupportedSchemes, "unsupported_attestation_schemes"};
    case kAlertAttestationRequired:
      return Error{ErrorCode::EarlyPeerAttestationRequired, "attestation_required"};
    case kAlertAttestationFailed:
      return Error{ErrorCode::EarlyPeerAttestationFailed, "attestation_failed"};
    default:
      return std::nullopt;
  }
}

}  // namespace atls::tls::early
