#pragma once

// The per-connection attestation engine (PROTOCOL.md §1): drives the TLS
// handshake over an SSL* (owned or borrowed), the preamble exchange, the
// authenticator requests and answers in both roles, validation in the order
// of §1.6, DATA framing, fallback detection, re-attestation and the async
// policy. Non-blocking at its core: advance() does all the work possible
// without blocking; the blocking mode waits with poll() on the socket, so
// timers (attestation_timeout, valid_until) also fire in blocking calls.

#include <atls/config.h>
#include <atls/connection.h>
#include <atls/openssl.h>
#include <atls/verifier.h>

#include "src/ossl/ssl_ptr.h"
#include "src/tls/authenticator.h"
#include "src/tls/config.h"
#include "src/tls/frame.h"
#include "src/tls/openssl_attach.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace atls::internal {

// fd_is_nonblocking reports whether O_NONBLOCK is set on |fd|.
bool fd_is_nonblocking(int fd);
// set_nonblocking sets O_NONBLOCK on |fd|.
Result<void> set_nonblocking(int fd);

struct EngineOptions {
  Role role = Role::Client;
  std::string host;            // client: SNI and WebPKI name
  SSL* borrowed_ssl = nullptr;  // when set, used and never freed
  int fd = -1;                 // the socket (-1: the SSL has a memory BIO)
  bool owns_fd = false;        // close fd in the destructor
  IoMode mode = IoMode::Blocking;
};

class Engine {
 public:
  // create makes the SSL (unless borrowed), hangs the handshake state on
  // it and sets SNI and host-name checks. The fd is made non-blocking; a
  // blocking IoMode is emulated with poll(). An owned fd is closed on
  // failure too.
  static Result<std::unique_ptr<Engine>> create(std::shared_ptr<const Config> config, EngineOptions options);
  // Use create(); the constructor leaves the SSL unset.
  Engine(std::shared_ptr<const Config> config, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Result<void> handshake();
  Result<std::size_t> read(std::span<std::uint8_t> out);
  Result<std::size_t> write(ByteView data);
  Result<void> close();
  Result<void> reattest();
  Result<void> process();

  bool is_established() const { return m_established; }
  bool is_attested() const;
  bool is_plain_tls() const { return m_stream == Stream::Plain; }
  const AttestationResult* peer_result() const { return m_result ? &*m_result : nullptr; }
  std::size_t attestation_count() const { return m_attestation_count; }
  std::optional<PeerAlertInfo> peer_alert() const { return m_peer_alert; }
  int fd() const { return m_opts.fd; }
  bool want_read() const { return m_want_read; }
  bool want_write() const { return m_want_write || m_out_pos < m_out.size(); }
  int timeout_ms() const;
  SSL* ssl() const { return m_ssl; }
  Role role() const { return m_opts.role; }

 private:
  enum class Stream : std::uint8_t { Undecided, Detecting, Atls, Plain };

  struct IssuedRequest {
    tls::AuthRequest request;
    bool used = false;
    Bytes exported;  // TLS-Exporter("Attestation", context, 32); empty until computed
  };

  // What the I/O thread hands to the appraisal (which may run elsewhere).
  struct AppraisalJob {
    Evidence evidence;
    Bytes binder;
    Bytes leaf_spki;
    bool passport = false;
  };

  // advance does every step possible without blocking. It returns the
  // sticky error once the connection has failed.
  Result<void> advance();
  Result<void> drive_handshake();
  Result<void> on_handshake_done();
  Result<void> start_atls_stream(bool rp);
  Result<void> flush();
  Result<void> read_available();
  Result<void> on_bytes(ByteView data);
  Result<void> on_frame(tls::Frame frame);
  Result<void> on_auth_request(ByteView body);
  Result<void> on_authenticator(ByteView body);
  Result<void> check_peer_chain(const tls::ValidatedAuthenticator& va);
  Result<void> finish_appraisal(Result<AttestationResult> result);
  Result<void> on_peer_closed();
  void update_established();
  void drain_on_failure();
  Result<void> poll_async();
  Result<void> timers();
  Result<void> issue_request();
  // prepare_for_answer computes, while the peer works on our outstanding
  // request, what validating its answer needs and what does not depend on
  // the answer: the peer role's authenticator keys and the request's
  // exporter value. A failure here is not reported; the validation then
  // computes the value itself and reports it.
  void prepare_for_answer();
  Result<const tls::EaKeys*> peer_keys();
  Result<void> queue_frame(tls::FrameType type, ByteView body);
  Error fail(Error e, bool send_alert = true);
  Error map_handshake_failure();
  // wait blocks on the socket for what advance() wants, up to the next
  // timer. Fails with WouldBlock in non-blocking mode or without a socket.
  Result<void> wait();
  bool rp_pending() const;
  bool may_deliver() const;
  bool may_send() const;
  std::int64_t now_s() const;

  std::shared_ptr<const Config> m_config;
  const ConfigState& m_cs;
  EngineOptions m_opts;
  ossl::UniquePtr<SSL> m_owned_ssl;
  SSL* m_ssl = nullptr;
  HandshakeState m_hs;

  bool m_hs_done = false;
  bool m_established = false;
  Stream m_stream = Stream::Undecided;
  bool m_rp = false;          // we appraise the peer on this connection
  bool m_preamble_sent = false;
  bool m_preamble_alone = false;  // m_out holds our preamble and nothing else yet
  bool m_peer_preamble = false;
  bool m_peer_closed = false;
  bool m_closed = false;
  bool m_want_read = false;
  bool m_want_write = false;
  std::optional<Error> m_error;
  std::optional<PeerAlertInfo> m_peer_alert;

  tls::FrameDecoder m_decoder;
  Bytes m_detect;  // server without an offer: the client's first bytes

  Bytes m_out;
  std::size_t m_out_pos = 0;
  std::size_t m_inflight = 0;  // length of an SSL_write to retry

  Bytes m_app_in;
  std::size_t m_app_pos = 0;

  std::vector<IssuedRequest> m_issued;
  std::optional<tls::EaKeys> m_peer_keys;  // fixed for the connection (RFC 9261 §5.1)
  bool m_request_outstanding = false;
  std::optional<AttestationResult> m_result;
  std::size_t m_attestation_count = 0;
  std::int64_t m_valid_until = 0;
  std::int64_t m_renew_at = 0;
  std::chrono::steady_clock::time_point m_deadline{};  // first attestation / detection
  bool m_deadline_armed = false;
  std::optional<std::future<Result<AttestationResult>>> m_async;
};

}  // namespace atls::internal
