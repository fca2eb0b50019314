#pragma once

// The attester half of one connection (docs/wire-profile.md §1.3-§1.5): it
// takes the peer's authenticator requests and answers each with an
// exported authenticator whose leaf carries Evidence for the binder, or
// with an empty authenticator when this endpoint does not attest.
//
// It bounds what a peer can make it do (docs/threat-model.md, request
// flood): the peer may have one request outstanding, so a second request
// before the answer to the first has left is UnexpectedFrame; and answers
// after the first are at least min_reattestation_interval apart, so one
// peer cannot keep a shared attester (a TPM) busy. A request that comes
// sooner is answered when the interval has passed. A re-attestation that
// fails with TpmUnavailable is held and tried again every
// kUnavailableRetry: the connection lives on until the peer's appraisal of
// the previous answer expires (the peer then closes with
// AttestationExpired or AttestationTimeout), and is answered when the TPM
// is back.

#include <atls/config.h>

#include "src/tls/authenticator.h"
#include "src/tls/config.h"

#include <openssl/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace atls::internal {

// guarded_attest runs |attester| and turns an exception it throws into
// AttesterFailure (a plug-in's bug must not unwind through libssl or the
// engine).
Result<Evidence> guarded_attest(Attester& attester, const AttestationRequest& request) noexcept;

class AttesterSide {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  AttesterSide(const ConfigState& cs, Role role) : m_cs(cs), m_role(role) {}

  // on_request parses an AUTH_REQUEST and holds it until answer() builds
  // its authenticator. |answer_unsent| tells whether our answer to the
  // previous request is still queued. Fails with EaRequestMalformed, or
  // UnexpectedFrame (a request of the wrong type for our role, or a second
  // outstanding request).
  Result<void> on_request(ByteView body, bool answer_unsent);

  // How long a re-attestation waits after TpmUnavailable before it is tried
  // again.
  static constexpr std::chrono::milliseconds kUnavailableRetry{1000};

  // answer returns the AUTHENTICATOR body for the held request once it is
  // due at |now|, nullopt when nothing is due (or when a re-attestation
  // found the TPM unavailable and is held for a retry). Fails with
  // NoCommonScheme, AttesterFailure or the attester's and encoder's codes.
  Result<std::optional<Bytes>> answer(SSL* ssl, TimePoint now);

  // push returns the AUTHENTICATOR body of a pushed authenticator
  // (docs/wire-profile.md §1.9): RFC 9261 spontaneous, a fresh 32-byte
  // context of our own, Evidence for the binder over that context, the
  // CertificateVerify scheme the first of |offered| (the ClientHello's
  // signature_algorithms) our key can make. It counts as an answer. Fails
  // like answer(), or EaSignatureSchemeUnsupported.
  Result<Bytes> push(SSL* ssl, std::span<const std::uint16_t> offered, TimePoint now);

  // set_label sets the binder's exporter label (once the handshake chose it).
  void set_label(ExporterLabel label) { m_label = label; }

  // due_at is when the held request may be answered (nullopt: none held).
  std::optional<TimePoint> due_at() const;
  // answered counts the authenticators built on this connection.
  std::size_t answered() const { return m_answered; }

 private:
  Result<Bytes> build(SSL* ssl, const tls::AuthRequest& request);
  // evidence_extension returns the leaf's cmw_attestation for Evidence
  // bound to |context|.
  Result<tls::Extension> evidence_extension(SSL* ssl, ByteView context);

  const ConfigState& m_cs;
  Role m_role;
  ExporterLabel m_label = ExporterLabel::Attestation;
  std::optional<tls::AuthRequest> m_held;
  std::optional<TimePoint> m_last_answer;
  std::optional<TimePoint> m_retry_at;  // after a TpmUnavailable re-attestation
  std::size_t m_answered = 0;
};

}  // namespace atls::internal
