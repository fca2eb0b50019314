#include "src/tls/relying_party_side.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/ossl/secret.h"
#include "src/ossl/x509.h"
#include "src/remote/api.h"
#include "src/remote/remote_appraisal.h"
#include "src/tls/exporter.h"
#include "src/tls/host_name.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <exception>

namespace atls::internal {
namespace {

// How many issued requests are remembered (to tell reuse from forgery).
constexpr std::size_t kMaxIssued = 32;
// certificate_request_context size (docs/wire-profile.md §1.3).
constexpr std::size_t kContextSize = 32;

// appraise_job is the part of validation that needs no SSL: verify the
// Evidence (or EAR), appraise it, apply the relying party's policy. It may
// run on a worker thread (async policy); it only reads |cs|.
Result<AttestationResult> appraise_job(const ConfigState& cs, const Evidence& evidence,
                                       const Bytes& binder, const Bytes& leaf_spki, bool passport,
                                       const std::optional<remote::Session>& session) noexcept {
  try {
    const RelyingParty rp(cs.registry, *cs.clock, cs.policy);
    if (!passport && session && cs.verifier) {
      return remote::remote_background_check(rp, cs.policy, *cs.verifier, *session, evidence,
                                             binder);
    }
    //= docs/wire-profile.md §1.5: a passport EAR must name the leaf key (the
    //= authenticator's CertificateVerify binds it to this connection);
    //= Evidence must carry the binder.
    Expectation expect =
        passport ? Expectation::passport(leaf_spki) : Expectation::background_check(binder);
    if (passport && cs.verifier) {
      return remote::accept_with_verifier_key(rp, cs.policy, *cs.verifier, evidence,
                                              std::move(expect));
    }
    return rp.accept(evidence, std::move(expect));
  } catch (const std::exception& e) {  // copying the expectation may throw bad_alloc
    return Error{ErrorCode::Internal, std::string("appraisal: ") + e.what()};
  }
}

}  // namespace

RelyingPartySide::RelyingPartySide(std::shared_ptr<const Config> config, const ConfigState& cs,
                                   Role role, std::string host)
    : m_config(std::move(config)), m_cs(cs), m_role(role), m_host(std::move(host)) {}

RelyingPartySide::~RelyingPartySide() {
  if (m_async && m_async->result.valid()) {
    m_async->result.wait();
  }
}

Result<Bytes> RelyingPartySide::new_request() {
  Bytes context(kContextSize);
  std::optional<remote::Session> session;
  if (m_cs.verifier && m_cs.accepts(AttestationModel::BackgroundCheck)) {
    //= docs/wire-profile.md §1.3: with a remote Verifier (background-check)
    //= the context is the Verifier's nonce.
    ATLS_ASSIGN_OR_RETURN(session,
                          m_cs.verifier->new_session(remote::kBindingTls, {}, kContextSize));
    context = session->nonce;
  } else {
    m_cs.rng->fill(context);
  }
  tls::AuthRequestOptions o;
  o.msg_type = m_role == Role::Client ? tls::kClientCertificateRequest : tls::kCertificateRequest;
  o.context = std::move(context);
  o.request_attestation = true;
  o.schemes = m_cs.accepted_schemes();
  auto req = tls::encode_auth_request(o, m_cs.ext_codepoints());
  if (!req) {
    return Error{ErrorCode::Internal, "authenticator request: " + req.error().to_string()};
  }
  Bytes raw = req->raw;
  m_issued.push_back(IssuedRequest{std::move(*req), false, {}, std::move(session)});
  if (m_issued.size() > kMaxIssued) {
    m_issued.erase(m_issued.begin());
  }
  m_request_outstanding = true;
  return raw;
}

Result<void> RelyingPartySide::check_peer_chain(SSL* ssl, const tls::ValidatedAuthenticator& va,
                                                std::int64_t now) const {
  if (m_cs.dangerous_skip_cert_check) {
    return ok();
  }
  switch (m_cs.effective_cert_policy(m_role)) {
    case PeerCertificatePolicy::AttestationOnly:
      return ok();
    case PeerCertificatePolicy::PinnedKey: {
      ATLS_ASSIGN_OR_RETURN(const Bytes h, ossl::digest(ossl::HashAlg::Sha256, va.leaf_spki));
      if (std::find(m_cs.pins.begin(), m_cs.pins.end(), h) == m_cs.pins.end()) {
        return Error{ErrorCode::PinnedKeyMismatch, "authenticator key " + to_hex(h)};
      }
      return ok();
    }
    case PeerCertificatePolicy::WebPki:
      break;
  }
  const bool client = m_role == Role::Client;
  // The TLS certificate itself was checked by the handshake (chain and host).
  if (client) {
    X509* peer = ::SSL_get0_peer_certificate(ssl);  // owned by the SSL
    if (peer != nullptr && ::X509_cmp(peer, va.leaf.get()) == 0 &&
        ::SSL_get_verify_result(ssl) == X509_V_OK) {
      return ok();
    }
  }
  // validate_authenticator decoded every entry already.
  std::vector<X509*> intermediates;
  intermediates.reserve(va.intermediates.size());
  for (const auto& c : va.intermediates) {
    intermediates.push_back(c.get());
  }
  std::vector<X509*> roots;
  for (const auto& r : m_cs.ca_certs) {
    roots.push_back(r.get());
  }
  ossl::ChainOptions opts;
  opts.at = now;
  opts.system_roots = roots.empty();  // WebPki without ca_file: the system's roots
  if (auto v = ossl::verify_chain(va.leaf.get(), intermediates, roots, opts); !v) {
    return Error{ErrorCode::PeerCertUntrusted, v.error().to_string()};
  }
  if (client && !m_cs.dangerous_skip_hostname) {
    // Engine::create refused an empty host name under WebPki.
    if (!certificate_matches_host(va.leaf.get(), m_host)) {
      return Error{ErrorCode::PeerHostnameMismatch,
                   "the authenticator's certificate is not for " + m_host};
    }
  }
  return ok();
}

Result<void> RelyingPartySide::on_authenticator(SSL* ssl, ByteView body, std::int64_t now,
                                                bool first_frame) {
  ATLS_ASSIGN_OR_RETURN(const tls::EaKeys* keys, peer_keys(ssl));
  const tls::ExtensionCodepoints cp = m_cs.ext_codepoints();
  // The leaf usually repeats the TLS certificate (which libssl decoded), or
  // a certificate this config saw on an earlier connection.
  tls::CertificateReuse reuse;
  reuse.handshake_certificate = ::SSL_get0_peer_certificate(ssl);  // owned by the SSL
  reuse.cache = &m_cs.peer_certificates;
  // Parsed once; the checks below run on this value.
  ATLS_ASSIGN_OR_RETURN(const tls::ParsedAuthenticator parsed, tls::parse_authenticator(body));
  if (parsed.is_empty) {
    // An empty authenticator names no context: it must verify against one
    // of our outstanding requests before it counts as a refusal.
    Error last{ErrorCode::EaBadFinished, "the empty authenticator answers none of our requests"};
    for (const auto& ir : m_issued) {
      if (ir.used) {
        continue;
      }
      auto v = tls::validate_authenticator(*keys, ir.request, parsed, cp, reuse);
      if (!v && v.error().code == ErrorCode::EaEmptyAuthenticator) {
        return std::move(v).error();
      }
      if (!v) {
        last = std::move(v).error();
      }
    }
    return last;
  }
  const ByteView context = parsed.context;
  IssuedRequest* issued = nullptr;
  for (auto& ir : m_issued) {
    if (std::ranges::equal(ir.request.context, context)) {
      issued = &ir;
    }
  }
  if (issued == nullptr) {
    if (auto refused = refuse_push(context, first_frame)) {
      return *refused;
    }
    //= docs/wire-profile.md §1.9: the pushed authenticator is validated as
    //= in §1.6, with the sender's context in place of one we issued.
    const tls::AuthRequest implied = tls::spontaneous_request(context, cp);
    ATLS_ASSIGN_OR_RETURN(const tls::ValidatedAuthenticator va,
                          tls::validate_authenticator(*keys, implied, parsed, cp, reuse));
    ATLS_TRY(check_peer_chain(ssl, va, now));
    m_pushed_context = va.context;
    return appraise(ssl, va, {}, std::nullopt);
  }
  ATLS_ASSIGN_OR_RETURN(const tls::ValidatedAuthenticator va,
                        tls::validate_authenticator(*keys, issued->request, parsed, cp, reuse));
  ATLS_TRY(check_peer_chain(ssl, va, now));
  //= docs/wire-profile.md §1.6: the context is one this RP issued and not
  //= yet used.
  if (issued->used) {
    return Error{ErrorCode::EaContextReused, "context " + to_hex(context)};
  }
  issued->used = true;
  return appraise(ssl, va, issued->exported.view(), issued->session);
}

std::optional<Error> RelyingPartySide::refuse_push(ByteView context, bool first_frame) const {
  const std::string ctx = "context " + to_hex(context);
  //= docs/wire-profile.md §1.9: exactly one pushed authenticator, and only
  //= as the peer's first frame; any other spontaneous authenticator is
  //= unexpected_message.
  if (m_pushed_context && std::ranges::equal(*m_pushed_context, context)) {
    return Error{ErrorCode::PushContextReused, ctx};
  }
  if (m_pushed_context) {
    return Error{ErrorCode::PushRepeated, ctx};
  }
  if (!m_push_expected) {
    //= docs/wire-profile.md §1.6: an answer must name a context this RP
    //= issued.
    if (m_request_outstanding) {
      return Error{ErrorCode::EaUnknownContext, ctx};
    }
    return Error{ErrorCode::PushUnsolicited, "no push was agreed in the handshake; " + ctx};
  }
  if (!first_frame || m_count > 0) {
    return Error{ErrorCode::PushLate, ctx};
  }
  return std::nullopt;
}

Result<void> RelyingPartySide::appraise(SSL* ssl, const tls::ValidatedAuthenticator& va,
                                        ByteView exported,
                                        const std::optional<remote::Session>& session) {
  if (!va.cmw) {
    return Error{ErrorCode::EaNoAttestation, "the leaf carries no cmw_attestation"};
  }
  ATLS_ASSIGN_OR_RETURN(Evidence evidence, evidence_from_cmw(*va.cmw));
  const bool passport = evidence.media_type() == kMediaTypeEar;
  if (!m_cs.accepts(passport ? AttestationModel::Passport : AttestationModel::BackgroundCheck)) {
    return Error{
        ErrorCode::UnsupportedMediaType,
        passport ? "passports are not accepted" : "evidence (background-check) is not accepted"};
  }
  ATLS_ASSIGN_OR_RETURN(Bytes binder,
                        tls::connection_binder(ssl, m_label, va.context, va.leaf_spki, exported));
  if (m_async) {
    // One appraisal at a time: finish the previous one first.
    Pending previous = std::move(*m_async);
    m_async.reset();
    ATLS_TRY(finish(previous.result.get(), previous.leaf_spki));
  }
  if (m_cs.async_policy) {
    auto job = std::async(
        std::launch::async, [config = m_config, ev = std::move(evidence), b = std::move(binder),
                             spki = va.leaf_spki, passport, session]() {
          return appraise_job(config_state(*config), ev, b, spki, passport, session);
        });
    m_async = Pending{std::move(job), va.leaf_spki};
    return ok();
  }
  return finish(appraise_job(m_cs, evidence, binder, va.leaf_spki, passport, session),
                va.leaf_spki);
}

Result<const tls::EaKeys*> RelyingPartySide::peer_keys(SSL* ssl) {
  if (!m_peer_keys) {
    // The sender of the authenticators we validate is our peer.
    ATLS_ASSIGN_OR_RETURN(tls::EaKeys keys, tls::authenticator_keys(ssl, m_role == Role::Client));
    m_peer_keys = std::move(keys);
  }
  return &*m_peer_keys;
}

void RelyingPartySide::prepare(SSL* ssl) {
  if (!awaiting()) {
    return;
  }
  (void)peer_keys(ssl);
  if (!m_request_outstanding || m_issued.empty()) {
    return;  // a push: its context is not known yet
  }
  IssuedRequest& last = m_issued.back();
  if (!last.used && last.exported.empty()) {
    if (auto e = tls::attestation_exporter(ssl, m_label, last.request.context)) {
      last.exported = ossl::SecretBytes(*e);
      ossl::cleanse(*e);
    }
  }
}

Result<void> RelyingPartySide::poll() {
  if (!m_async || m_async->result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return ok();
  }
  Pending done = std::move(*m_async);
  m_async.reset();
  return finish(done.result.get(), done.leaf_spki);
}

void RelyingPartySide::adopt(AttestationResult result) {
  m_identity = PeerIdentity{Bytes{}, result.machine_id()};
  m_result = std::move(result);
  ++m_count;
  m_valid_until = m_result->valid_until();
  m_renew_at = m_valid_until;
  m_request_outstanding = false;
}

Result<void> RelyingPartySide::finish(Result<AttestationResult> result, const Bytes& leaf_spki) {
  ATLS_TRY(result);
  if (m_identity) {
    //= docs/threat-model.md: a re-attestation must come from the key and
    //= the machine that the first appraisal established.
    if (leaf_spki != m_identity->leaf_spki) {
      return Error{ErrorCode::AttestationIdentityChanged,
                   "re-attestation with another attestation key"};
    }
    if (result->machine_id() != m_identity->machine_id) {
      return Error{ErrorCode::AttestationIdentityChanged, "re-attestation from machine \"" +
                                                              result->machine_id() + "\", not \"" +
                                                              m_identity->machine_id + "\""};
    }
  } else {
    m_identity = PeerIdentity{leaf_spki, result->machine_id()};
  }
  m_result = std::move(*result);
  ++m_count;
  m_valid_until = m_result->valid_until();
  const std::int64_t lifetime = std::max<std::int64_t>(0, m_valid_until - m_cs.clock->now());
  const std::int64_t timeout_s =
      std::chrono::duration_cast<std::chrono::seconds>(m_cs.attestation_timeout).count() + 1;
  //= docs/wire-profile.md §1.8: before valid_until the RP sends a new
  //= AUTH_REQUEST.
  m_renew_at = m_valid_until - std::min(timeout_s, lifetime / 2);
  m_request_outstanding = false;
  return ok();
}

}  // namespace atls::internal
