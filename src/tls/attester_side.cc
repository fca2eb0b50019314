#include "src/tls/attester_side.h"

#include "src/attestation/evidence_cmw.h"
#include "src/ossl/x509.h"
#include "src/tls/exporter.h"

#include <exception>
#include <string>
#include <vector>

namespace atls::internal {

Result<Evidence> guarded_attest(Attester& attester, const AttestationRequest& request) noexcept {
  try {
    return attester.attest(request);
  } catch (const std::exception& e) {
    return Error{ErrorCode::AttesterFailure, std::string(attester.name()) + ": " + e.what()};
  } catch (...) {
    return Error{ErrorCode::AttesterFailure, std::string(attester.name())};
  }
}

Result<void> AttesterSide::on_request(ByteView body, bool answer_unsent) {
  ATLS_ASSIGN_OR_RETURN(tls::AuthRequest req, tls::parse_auth_request(body));
  //= RFC 9261 §4: a client asks with ClientCertificateRequest (17), a
  //= server with CertificateRequest (13).
  const std::uint8_t expected =
      m_role == Role::Server ? tls::kClientCertificateRequest : tls::kCertificateRequest;
  if (req.msg_type != expected) {
    return Error{ErrorCode::UnexpectedFrame,
                 "authenticator request of the wrong type for our role"};
  }
  if (m_held || answer_unsent) {
    return Error{ErrorCode::UnexpectedFrame,
                 "a second authenticator request before the first was answered"};
  }
  m_held = std::move(req);
  return ok();
}

std::optional<AttesterSide::TimePoint> AttesterSide::due_at() const {
  if (!m_held) {
    return std::nullopt;
  }
  if (!m_last_answer) {
    return TimePoint{};  // the first request is answered at once
  }
  const TimePoint due = *m_last_answer + m_cs.min_reattestation_interval;
  return m_retry_at && *m_retry_at > due ? *m_retry_at : due;
}

Result<std::optional<Bytes>> AttesterSide::answer(SSL* ssl, TimePoint now) {
  const auto due = due_at();
  if (!due || now < *due) {
    return std::optional<Bytes>{};
  }
  tls::AuthRequest req = std::move(*m_held);
  m_held.reset();
  auto built = build(ssl, req);
  if (!built && built.error().code == ErrorCode::TpmUnavailable && m_answered > 0) {
    // A re-attestation while the TPM is out of reach does not end the
    // connection: the peer's appraisal of our last answer holds until it
    // expires, and the peer (not we) closes when no answer has come by
    // then. Keep the request and try again a little later.
    m_held = std::move(req);
    m_retry_at = now + kUnavailableRetry;
    return std::optional<Bytes>{};
  }
  ATLS_ASSIGN_OR_RETURN(Bytes auth, std::move(built));
  m_retry_at.reset();
  m_last_answer = now;
  ++m_answered;
  return std::optional<Bytes>(std::move(auth));
}

Result<Bytes> AttesterSide::build(SSL* ssl, const tls::AuthRequest& req) {
  const bool server = m_role == Role::Server;
  ATLS_ASSIGN_OR_RETURN(const tls::EaKeys own_keys, tls::authenticator_keys(ssl, server));
  ATLS_ASSIGN_OR_RETURN(const tls::RequestedAttestation wanted,
                        tls::requested_attestation(req, m_cs.ext_codepoints()));
  if (!m_cs.attester || !m_cs.has_identity()) {
    //= RFC 9261 §5.2.3: refuse with an empty authenticator.
    return tls::build_empty_authenticator(own_keys, req);
  }
  std::vector<tls::Extension> leaf_extensions;
  if (wanted.wants_attestation) {
    const auto own = m_cs.own_scheme();
    if (!wanted.schemes.empty()) {
      if (!own || !lists_scheme(wanted.schemes, *own)) {
        return Error{ErrorCode::NoCommonScheme,
                     "the request lists no scheme our attester produces"};
      }
    }
    ATLS_ASSIGN_OR_RETURN(tls::Extension ext, evidence_extension(ssl, req.context));
    leaf_extensions.push_back(std::move(ext));
  }
  return tls::build_authenticator(own_keys, &req, req.context, m_cs.chain_der, leaf_extensions,
                                  m_cs.key.get());
}

Result<tls::Extension> AttesterSide::evidence_extension(SSL* ssl, ByteView context) {
  ATLS_ASSIGN_OR_RETURN(Bytes spki, !m_cs.leaf_spki.empty()
                                        ? Result<Bytes>(m_cs.leaf_spki)
                                        : ossl::cert_spki_der(m_cs.chain.front().get()));
  AttestationRequest ar;
  ATLS_ASSIGN_OR_RETURN(ar.nonce, tls::connection_binder(ssl, m_label, context, spki));
  ar.media_types.emplace_back(m_cs.attester->media_type());
  ar.key_spki = std::move(spki);
  ATLS_ASSIGN_OR_RETURN(const Evidence evidence, guarded_attest(*m_cs.attester, ar));
  return tls::cmw_extension(evidence.cmw, m_cs.ext_codepoints());
}

Result<Bytes> AttesterSide::push(SSL* ssl, std::span<const std::uint16_t> offered, TimePoint now) {
  if (!m_cs.attester || !m_cs.has_identity()) {
    return Error{ErrorCode::Internal, "a push needs an attester and an identity"};
  }
  ATLS_ASSIGN_OR_RETURN(const tls::EaKeys own_keys,
                        tls::authenticator_keys(ssl, m_role == Role::Server));
  //= docs/wire-profile.md §1.9: context = 32 fresh random bytes chosen by
  //= the sender (RFC 9261 §5.2.1: unique in the connection, unpredictable).
  Bytes context(32);
  m_cs.rng->fill(context);
  ATLS_ASSIGN_OR_RETURN(tls::Extension ext, evidence_extension(ssl, context));
  const std::vector<tls::Extension> leaf_extensions{std::move(ext)};
  //= RFC 9261 §5.2.2: a spontaneous authenticator's scheme comes from the
  //= ClientHello's signature_algorithms.
  if (offered.empty()) {
    return Error{ErrorCode::EaSignatureSchemeUnsupported,
                 "the ClientHello listed no signature_algorithms"};
  }
  ATLS_ASSIGN_OR_RETURN(Bytes auth,
                        tls::build_authenticator(own_keys, nullptr, context, m_cs.chain_der,
                                                 leaf_extensions, m_cs.key.get(), offered));
  m_last_answer = now;
  ++m_answered;
  return auth;
}

}  // namespace atls::internal
