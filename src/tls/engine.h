#pragma once

// The per-connection attestation engine (docs/wire-profile.md §1): it drives
// the TLS handshake over an SSL* (owned or borrowed), decides what the
// stream is (atls, plain TLS, or still detecting), moves frames between the
// socket and the two halves of attestation (AttesterSide answers the
// peer's requests, RelyingPartySide asks and appraises), keeps the timers
// and records the connection's one sticky failure. Non-blocking at its
// core: advance() does all the work possible without blocking; the blocking
// mode waits with poll() on the socket, so timers also fire in blocking
// calls. The socket and buffer handling is in engine_io.cc, the TLS
// handshake in engine_handshake.cc.

#include <atls/config.h>
#include <atls/connection.h>
#include <atls/openssl.h>

#include "src/ossl/ssl_ptr.h"
#include "src/tls/attester_side.h"
#include "src/tls/config.h"
#include "src/tls/frame.h"
#include "src/tls/openssl_attach.h"
#include "src/tls/relying_party_side.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace atls::internal {

// fd_is_nonblocking reports whether O_NONBLOCK is set on |fd|.
bool fd_is_nonblocking(int fd);
// set_nonblocking sets O_NONBLOCK on |fd|.
Result<void> set_nonblocking(int fd);

struct EngineOptions {
  Role role = Role::Client;
  std::string host;             // client: SNI and WebPKI name
  SSL* borrowed_ssl = nullptr;  // when set, used and never freed
  int fd = -1;                  // the socket (-1: the SSL has a memory BIO)
  bool owns_fd = false;         // close fd in the destructor
  IoMode mode = IoMode::Blocking;
};

class Engine {
 public:
  // create makes the SSL (unless borrowed), hangs the handshake state on
  // it and sets SNI and host-name checks. The fd is made non-blocking; a
  // blocking IoMode is emulated with poll(). An owned fd is closed on
  // failure too. A client under WebPki needs a host name (InvalidArgument).
  static Result<std::unique_ptr<Engine>> create(std::shared_ptr<const Config> config,
                                                EngineOptions options);
  // Use create(); the constructor leaves the SSL unset.
  Engine(std::shared_ptr<const Config> config, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Result<void> handshake();
  Result<std::size_t> read(std::span<std::uint8_t> out);
  Result<std::size_t> write(ByteView data);
  Result<void> close();
  // shutdown_write: Connection::shutdown_write.
  Result<void> shutdown_write();
  Result<void> reattest();
  Result<void> process();
  // Connection::defer_attestation_work and its companions.
  Result<void> defer_attestation_work(bool on);
  bool attestation_work_pending() const { return m_work_pending; }
  Result<void> run_attestation_work();

  bool is_established() const { return m_established; }
  bool is_attested() const;
  // A connection attested in the handshake (early-attestation) or before it
  // (a gateway token) carries application bytes only, but is no plain TLS
  // fallback.
  bool is_plain_tls() const {
    return m_stream == Stream::Plain && !m_via_token && !m_hs.early && !m_hs.ratls;
  }
  bool via_gateway_token() const { return m_via_token; }
  const AttestationResult* peer_result() const { return m_rp.result(); }
  std::size_t attestation_count() const { return m_rp.attestation_count(); }
  std::optional<PeerAlertInfo> peer_alert() const { return m_peer_alert; }
  ExporterLabel exporter_label() const { return negotiated_label(m_hs, m_cs); }
  bool peer_pushed() const { return m_rp.pushed(); }
  int fd() const { return m_opts.fd; }
  // want_read: libssl asked for input, or nothing else is pending and
  // reading is neither paused (held data at its cap) nor over.
  bool want_read() const;
  // want_write: libssl asked to write, or something is queued -- except a
  // preamble alone in our first flight, which waits for our push (deferred
  // work) and must not make an event loop spin on a writable socket.
  bool want_write() const {
    return m_want_write || (m_out_pos < m_out.size() && !(m_flight_open && m_preamble_alone)) ||
           m_close_notify_pending;
  }
  int timeout_ms() const;
  Role role() const { return m_opts.role; }

 private:
  enum class Stream : std::uint8_t { Undecided, Detecting, Atls, Plain };
  using Clock = std::chrono::steady_clock;

  // advance does every step possible without blocking. It records the
  // first failure of any step (fail) and returns it from then on.
  Result<void> advance();
  Result<void> steps();
  // fail records the connection's sticky failure: the one place that does.
  // An ALERT goes to the peer when the atls stream is up and the peer can
  // still read it.
  Error fail(Error e);

  // --- stream and frames (engine.cc) ---
  Result<void> drive_handshake();
  // read_early_data is a server's first handshake call when it attests in
  // its first flight (docs/wire-profile.md §1.9): SSL_read_early_data until
  // libssl has sent the server Finished (no 0-RTT is ever accepted), then
  // on_server_flight().
  Result<void> read_early_data();
  Result<void> on_server_flight();
  Result<void> on_handshake_done();
  // on_token_handshake_done: a gateway-token handshake (docs/gateway.md)
  // is done; the PSK was used, the client's appraisal is the token's.
  Result<void> on_token_handshake_done();
  // token_failure explains a failed gateway-token handshake, if it was one
  // (|binder_failed|: libssl's error was a PSK binder that did not verify).
  std::optional<Error> token_failure(bool binder_failed) const;
  Result<void> start_atls_stream(bool rp);
  // send_first_frames queues what starts our side of the stream after the
  // preamble: a pushed authenticator (§1.9), then our first request.
  Result<void> send_first_frames();
  Result<void> on_bytes(ByteView data);
  Result<void> on_detect(ByteView data);
  // on_frame handles one frame; |first| says it is the peer's first.
  Result<void> on_frame(tls::Frame frame, bool first);
  Result<void> on_peer_closed();
  Result<void> issue_request();
  Result<void> answer_requests();
  Result<void> timers();
  void update_established();
  bool rp_pending() const;
  bool expired() const;
  bool may_deliver() const;
  bool may_send() const;
  std::int64_t now_s() const;
  void arm_attestation_deadline() { m_deadline = Clock::now() + m_cs.attestation_timeout; }
  Error map_handshake_failure();
  // defer reports whether work that may block must wait for
  // run_attestation_work(), and records that it does.
  bool defer();
  // run_held does the work a deferral held back (on the thread that may block).
  Result<void> run_held();

  // --- socket and buffers (engine_io.cc) ---
  Result<void> queue_frame(tls::FrameType type, ByteView body);
  // queue_authenticator queues one of our AUTHENTICATORs and notes where it
  // ends (m_answer_end: the peer's next request must wait until it is out).
  Result<void> queue_authenticator(ByteView authenticator);
  void queue_raw(ByteView bytes);
  // send_close_notify_if_due sends close_notify after shutdown_write once
  // everything queued before it is out.
  void send_close_notify_if_due();
  Result<void> flush();
  Result<void> read_available();
  bool read_paused() const;
  // note_wait records what an SSL call that failed with |ssl_error| waits
  // for (socket readable or writable); false when it is not a wait.
  bool note_wait(int ssl_error);
  void drain_on_failure();
  // wait blocks on the socket for what advance() wants, up to the next
  // timer. Fails with WouldBlock in non-blocking mode or without a socket.
  Result<void> wait();
  // shutdown_ssl sends close_notify; false when the socket took only part
  // of it (flush() retries: m_close_notify_pending).
  bool shutdown_ssl();

  std::shared_ptr<const Config> m_config;
  const ConfigState& m_cs;
  EngineOptions m_opts;
  ossl::UniquePtr<SSL> m_owned_ssl;
  SSL* m_ssl = nullptr;
  HandshakeState m_hs;
  RelyingPartySide m_rp;
  AttesterSide m_attester;

  bool m_hs_done = false;
  // Server, first flight: SSL_read_early_data has not finished yet.
  bool m_early_read = false;
  // Server, first flight: our Finished is out, the client's not yet in;
  // frames go out as 0.5-RTT data (SSL_write_early_data).
  bool m_flight_open = false;
  bool m_push_due = false;          // our pushed authenticator is still to build
  bool m_request_due = false;       // our first request is still to issue
  std::uint64_t m_peer_frames = 0;  // frames received from the peer
  bool m_established = false;
  // The handshake used a gateway token's PSK (docs/gateway.md): the bytes
  // after it are the application's, as on plain TLS.
  bool m_via_token = false;
  Stream m_stream = Stream::Undecided;
  bool m_is_rp = false;  // we appraise the peer on this connection
  bool m_preamble_sent = false;
  bool m_preamble_alone = false;  // m_out holds our preamble and nothing else yet
  bool m_peer_preamble = false;
  bool m_peer_is_rp = false;  // the peer said in the handshake that it will ask us to attest
  bool m_peer_closed = false;
  bool m_peer_alerted = false;
  bool m_closed = false;
  // shutdown_write was called; close_notify goes out once m_out drained.
  bool m_write_shut = false;
  bool m_close_notify_sent = false;
  bool m_close_notify_pending = false;  // close_notify still in libssl's buffer
  bool m_want_read = false;
  bool m_want_write = false;
  std::optional<Error> m_error;
  std::optional<PeerAlertInfo> m_peer_alert;

  tls::FrameDecoder m_decoder;
  Bytes m_detect;  // server without an offer: the client's first bytes

  Bytes m_out;
  std::size_t m_out_pos = 0;
  std::size_t m_inflight = 0;      // length of an SSL_write to retry
  std::uint64_t m_queued = 0;      // bytes ever queued
  std::uint64_t m_flushed = 0;     // bytes ever written to the SSL
  std::uint64_t m_answer_end = 0;  // m_queued just after our last AUTHENTICATOR

  Bytes m_app_in;
  std::size_t m_app_pos = 0;

  // Deferred attestation work (defer_attestation_work): off by default.
  bool m_defer = false;
  bool m_blocking_ok = false;              // inside run_attestation_work()
  bool m_work_pending = false;             // this advance() deferred something
  bool m_request_pending = false;          // issue_request() waits for a worker
  std::optional<tls::Frame> m_held_frame;  // an AUTHENTICATOR to appraise
  bool m_held_first = false;               // it was the peer's first frame

  Clock::time_point m_handshake_deadline{};
  Clock::time_point m_deadline{};  // first attestation / detection / the peer's preamble
  bool m_deadline_armed = false;
  // False when our own BIO writes with MSG_NOSIGNAL (Engine::create).
  bool m_guard_sigpipe = true;
};

}  // namespace atls::internal
