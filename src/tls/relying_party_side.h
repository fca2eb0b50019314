#pragma once

// The relying-party half of one connection (docs/wire-profile.md §1.3,
// §1.5, §1.6, §1.8): it issues authenticator requests, validates the
// answers (Finished, CertificateVerify, certificate policy, context, CMW,
// binder), has the Evidence appraised, and keeps the result, its validity
// and the identity the first appraisal established. It never touches the
// socket: the engine queues what it returns and reports what it fails with.

#include <atls/config.h>
#include <atls/verifier.h>

#include "src/ossl/secret.h"
#include "src/tls/authenticator.h"
#include "src/tls/config.h"

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atls::internal {

class RelyingPartySide {
 public:
  // |config| is kept alive for an appraisal that runs on a worker thread;
  // |host| is the name a client checks the authenticator's certificate for.
  RelyingPartySide(std::shared_ptr<const Config> config, const ConfigState& cs, Role role,
                   std::string host);
  // The destructor waits for an appraisal still running.
  ~RelyingPartySide();
  RelyingPartySide(const RelyingPartySide&) = delete;
  RelyingPartySide& operator=(const RelyingPartySide&) = delete;

  // new_request returns the body of an AUTH_REQUEST with a fresh 32-byte
  // context (§1.3) and remembers the request. With a remote Verifier that
  // will appraise Evidence, the context is the nonce of a new session of
  // the Verifier's. Fails with Internal, or the Verifier client's codes
  // (VerifierUnavailable, VerifierTimeout, ...).
  Result<Bytes> new_request();

  // on_authenticator validates an AUTHENTICATOR against the request whose
  // context it names, in the order of §1.6, and appraises its Evidence: at
  // once, or on a worker thread with the async policy (poll() finishes it).
  // |now| is the Clock's time. An authenticator naming no context we issued
  // is a push (§1.9): accepted once, after expect_push(), as the peer's
  // first frame (|first_frame|); otherwise it fails with PushContextReused
  // (the pushed context again), PushRepeated (another push), PushLate (not
  // the first frame), PushUnsolicited (no push was agreed and no request is
  // outstanding) or EaUnknownContext (a request is outstanding). Fails with
  // the first check's code.
  Result<void> on_authenticator(SSL* ssl, ByteView body, std::int64_t now, bool first_frame);

  // adopt takes an appraisal made before the connection's atls stream
  // could carry one (a gateway token's, docs/wire-profile.md §3): it counts
  // as the first attestation and lasts until its valid_until; nothing
  // renews it (renew_at is valid_until).
  void adopt(AttestationResult result);

  // expect_push: the peer agreed in the handshake to push its first
  // authenticator (docs/wire-profile.md §1.9).
  void expect_push() { m_push_expected = true; }
  bool push_expected() const { return m_push_expected; }
  // pushed: the peer's first attestation was a push.
  bool pushed() const { return m_pushed_context.has_value(); }
  // awaiting: an authenticator is due from the peer (an outstanding
  // request, or the agreed push not yet received).
  // (A push counts until its appraisal finished: under the async policy it
  // runs on a worker, and attestation_timeout bounds it too.)
  bool awaiting() const { return m_request_outstanding || (m_push_expected && m_count == 0); }
  // set_label sets the binder's exporter label (once the handshake chose it).
  void set_label(ExporterLabel label) { m_label = label; }

  // poll finishes an asynchronous appraisal if it is ready; the appraisal's
  // code when it failed.
  Result<void> poll();

  // prepare computes, while the peer works on our outstanding request,
  // what validating its answer needs: the peer's authenticator keys and the
  // request's exporter value. A failure here is not reported; validation
  // then computes the value itself and reports it.
  void prepare(SSL* ssl);

  // attestation_count counts successful appraisals on this connection.
  std::size_t attestation_count() const { return m_count; }
  bool request_outstanding() const { return m_request_outstanding; }
  // request_may_block: new_request() calls the remote Verifier (a session
  // for its nonce), so it may wait on the network.
  bool request_may_block() const {
    return m_cs.verifier != nullptr && m_cs.accepts(AttestationModel::BackgroundCheck);
  }
  bool appraising() const { return m_async.has_value(); }
  const AttestationResult* result() const { return m_result ? &*m_result : nullptr; }
  std::int64_t valid_until() const { return m_valid_until; }
  // renew_at is when the next request goes out (§1.8).
  std::int64_t renew_at() const { return m_renew_at; }

 private:
  struct IssuedRequest {
    tls::AuthRequest request;
    bool used = false;
    ossl::SecretBytes exported;  // TLS-Exporter("Attestation", context, 32); empty until computed
    // The remote Verifier's session whose nonce is the context (remote
    // background-check), if any.
    std::optional<remote::Session> session;
  };
  // The identity the first appraisal established; later ones must match
  // it (re-attestation may not switch the peer's key or machine).
  struct PeerIdentity {
    Bytes leaf_spki;
    std::string machine_id;
  };
  struct Pending {
    std::future<Result<AttestationResult>> result;
    Bytes leaf_spki;
  };

  Result<const tls::EaKeys*> peer_keys(SSL* ssl);
  Result<void> check_peer_chain(SSL* ssl, const tls::ValidatedAuthenticator& va,
                                std::int64_t now) const;
  Result<void> finish(Result<AttestationResult> result, const Bytes& leaf_spki);
  // refuse_push says why an authenticator naming a context we
  // did not issue is not an acceptable push (nullopt: it is one).
  std::optional<Error> refuse_push(ByteView context, bool first_frame) const;
  // appraise runs the steps after the authenticator itself verified: CMW,
  // model, binder, appraisal (§1.6).
  Result<void> appraise(SSL* ssl, const tls::ValidatedAuthenticator& va, ByteView exported,
                        const std::optional<remote::Session>& session);

  std::shared_ptr<const Config> m_config;
  const ConfigState& m_cs;
  Role m_role;
  std::string m_host;

  std::vector<IssuedRequest> m_issued;
  std::optional<tls::EaKeys> m_peer_keys;  // fixed for the connection (RFC 9261 §5.1)
  bool m_request_outstanding = false;
  ExporterLabel m_label = ExporterLabel::Attestation;
  bool m_push_expected = false;
  std::optional<Bytes> m_pushed_context;
  std::optional<AttestationResult> m_result;
  std::optional<PeerIdentity> m_identity;
  std::size_t m_count = 0;
  std::int64_t m_valid_until = 0;
  std::int64_t m_renew_at = 0;
  std::optional<Pending> m_async;
};

}  // namespace atls::internal
