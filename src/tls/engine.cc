#include "src/tls/engine.h"

#include "src/ossl/socket_bio.h"
#include "src/ossl/x509.h"
#include "src/tls/early/early_attestation.h"
#include "src/tls/host_name.h"
#include "src/tls/ratls_attach.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <algorithm>

namespace atls::internal {
namespace {

// One TLS record's worth of plaintext per DATA frame.
constexpr std::size_t kChunk = 16384;
// Outbound bytes queued before write() pushes back.
constexpr std::size_t kOutCap = 4 * 1024 * 1024;

std::string alert_text(const tls::Alert& a) {
  std::string s = "peer alert " + std::to_string(static_cast<int>(a.code)) + " (" +
                  std::string(tls::alert_name(a.code)) + ")";
  if (!a.reason.empty()) {
    s += ": " + a.reason;
  }
  return s;
}

}  // namespace

Engine::Engine(std::shared_ptr<const Config> config, EngineOptions options)
    : m_config(std::move(config)),
      m_cs(config_state(*m_config)),
      m_opts(std::move(options)),
      m_rp(m_config, m_cs, m_opts.role, m_opts.host),
      m_attester(m_cs, m_opts.role),
      m_decoder(m_cs.tls_frame_limits(), true),
      m_handshake_deadline(Clock::now() + m_cs.handshake_timeout) {}

Result<std::unique_ptr<Engine>> Engine::create(std::shared_ptr<const Config> config,
                                               EngineOptions options) {
  if (!config) {
    if (options.owns_fd && options.fd >= 0) {
      ::close(options.fd);
    }
    return Error{ErrorCode::InvalidArgument, "null config"};
  }
  // From here on the engine owns the fd: failures below close it.
  auto e = std::make_unique<Engine>(std::move(config), std::move(options));
  const ConfigState& cs = e->m_cs;
  const bool client = e->m_opts.role == Role::Client;
  if (e->m_opts.borrowed_ssl != nullptr) {
    e->m_ssl = e->m_opts.borrowed_ssl;
  } else {
    SSL_CTX* ctx = client ? cs.client_ctx.get() : cs.server_ctx.get();
    if (ctx == nullptr) {
      return Error{ErrorCode::InvalidArgument,
                   "a server needs a certificate chain and key, or attestation_only_identity()"};
    }
    e->m_owned_ssl.reset(::SSL_new(ctx));
    if (!e->m_owned_ssl) {
      return ossl::failure(ErrorCode::Internal, "SSL_new");
    }
    e->m_ssl = e->m_owned_ssl.get();
    if (e->m_opts.fd >= 0) {
      // Writes with MSG_NOSIGNAL: no SigpipeGuard needed (m_guard_sigpipe).
      ossl::UniquePtr<BIO> bio = ossl::new_nosigpipe_socket_bio(e->m_opts.fd);
      if (!bio) {
        return ossl::failure(ErrorCode::Internal, "socket BIO");
      }
      BIO* b = bio.release();
      ::SSL_set_bio(e->m_ssl, b, b);  // the SSL owns b
      e->m_guard_sigpipe = false;
    }
  }
  if (e->m_opts.fd >= 0) {
    ATLS_TRY(set_nonblocking(e->m_opts.fd));
  }
  e->m_hs.config = &cs;
  e->m_hs.role = e->m_opts.role;
  if (tls::early::is_enabled(cs)) {
    ATLS_ASSIGN_OR_RETURN(e->m_hs.early, tls::early::attach(e->m_ssl, cs, e->m_opts.role));
  }
  e->m_hs.ratls = is_ratls_mode(cs);
  ATLS_TRY(set_handshake_state(e->m_ssl, &e->m_hs));
  ::SSL_set_options(e->m_ssl, SSL_OP_NO_TICKET);
  if (e->m_owned_ssl) {
    // Read what the socket holds in one read(), not a header and a body
    // per record. read_available() always reads until SSL_read wants more
    // from the socket, so no complete record is left in libssl's buffer
    // while wait() polls. A borrowed SSL keeps its owner's setting.
    ::SSL_set_read_ahead(e->m_ssl, 1);
  }
  if (!client) {
    e->m_early_read = cs.first_flight && cs.negotiation && !e->m_hs.early && !e->m_hs.ratls &&
                      ::SSL_in_before(e->m_ssl) == 1;
    ::SSL_set_accept_state(e->m_ssl);
    if (::SSL_set_num_tickets(e->m_ssl, 0) != 1) {
      return ossl::failure(ErrorCode::Internal, "SSL_set_num_tickets");
    }
    return e;
  }
  ::SSL_set_connect_state(e->m_ssl);
  const std::string& host = e->m_opts.host;
  const bool check_host = cs.effective_cert_policy() == PeerCertificatePolicy::WebPki &&
                          !cs.dangerous_skip_cert_check && !cs.dangerous_skip_hostname;
  if (host.empty()) {
    if (check_host) {
      //= docs/threat-model.md: WebPKI without a host name would accept any
      //= certificate the roots vouch for.
      return Error{ErrorCode::InvalidArgument,
                   "WebPKI needs the server's host name (or dangerous().skip_hostname_check())"};
    }
    return e;
  }
  const bool ip = is_ip_literal(host);
  if (!ip && ::SSL_set_tlsext_host_name(e->m_ssl, host.c_str()) != 1) {
    return ossl::failure(ErrorCode::InvalidArgument, "SNI " + host);
  }
  if (check_host) {
    X509_VERIFY_PARAM* param = ::SSL_get0_param(e->m_ssl);  // owned by the SSL
    const int rc = ip ? ::X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                      : ::X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (rc != 1) {
      return ossl::failure(ErrorCode::InvalidArgument, "host name check " + host);
    }
  }
  return e;
}

Engine::~Engine() {
  if (m_ssl != nullptr) {
    if (m_hs_done && !m_closed && !m_error && m_owned_ssl) {
      shutdown_ssl();
    }
    (void)set_handshake_state(m_ssl, nullptr);
    ERR_clear_error();
  }
  if (m_opts.owns_fd && m_opts.fd >= 0) {
    ::close(m_opts.fd);
  }
}

std::int64_t Engine::now_s() const {
  return m_cs.clock->now();
}

bool Engine::expired() const {
  return m_rp.attestation_count() > 0 && now_s() >= m_rp.valid_until();
}

bool Engine::is_attested() const {
  return m_is_rp && !m_error && m_rp.attestation_count() > 0 && !expired();
}

bool Engine::rp_pending() const {
  return m_is_rp && m_rp.attestation_count() == 0;
}

bool Engine::may_deliver() const {
  if (m_stream == Stream::Plain) {
    return true;
  }
  //= docs/wire-profile.md §1.1: nothing reaches the application before the
  //= peer is attested, nor after its attestation expired (while the renewal
  //= is still being appraised).
  return m_stream == Stream::Atls && (!m_is_rp || (m_rp.attestation_count() > 0 && !expired()));
}

bool Engine::may_send() const {
  if (m_stream == Stream::Plain) {
    return true;
  }
  if (m_stream != Stream::Atls || !m_preamble_sent) {
    return false;
  }
  // A peer that will ask us to attest gets its answer before our DATA, so
  // that the DATA it must hold until then stays small.
  if (m_peer_is_rp && m_attester.answered() == 0) {
    return false;
  }
  if (!m_is_rp) {
    return true;
  }
  if (m_rp.attestation_count() == 0) {
    return m_cs.async_policy;
  }
  return !expired();
}

void Engine::update_established() {
  if (m_error || m_established) {
    return;
  }
  if (m_stream == Stream::Plain) {
    m_established = true;
  } else if (m_stream == Stream::Atls) {
    m_established =
        m_peer_preamble && (!m_is_rp || m_rp.attestation_count() > 0 || m_cs.async_policy);
  }
}

Error Engine::fail(Error e) {
  if (m_error) {
    return *m_error;
  }
  m_error = e;
  m_established = false;
  const ErrorCategory cat = error_category(e.code);
  // A failed socket cannot carry an ALERT; other local failures (a remote
  // Verifier down or slow) can, and the peer learns why it was dropped.
  const bool socket_failed = e.code == ErrorCode::IoError || e.code == ErrorCode::HandshakeTimeout;
  const bool peer_listens =
      !m_peer_closed && !m_peer_alerted && !socket_failed && cat != ErrorCategory::Closed;
  if (peer_listens && m_preamble_sent && m_stream == Stream::Atls) {
    //= docs/threat-model.md: by default the ALERT says only which check
    //= failed, never the local detail (file paths, library strings).
    const std::string reason =
        m_cs.detailed_alerts ? e.to_string() : std::string(error_name(e.code));
    queue_raw(tls::alert_frame(tls::alert_for(e.code), reason));
  }
  // Data held for the application is not delivered after a failure.
  m_app_in.clear();
  m_app_pos = 0;
  drain_on_failure();
  return e;
}

Result<void> Engine::start_atls_stream(bool rp) {
  m_stream = Stream::Atls;
  m_is_rp = rp;
  const bool nothing_queued = m_out_pos >= m_out.size();
  queue_raw(tls::kPreamble);
  m_preamble_alone = nothing_queued;
  m_preamble_sent = true;
  const ExporterLabel label = negotiated_label(m_hs, m_cs);
  m_rp.set_label(label);
  m_attester.set_label(label);
  // The peer's preamble is due within attestation_timeout too.
  arm_attestation_deadline();
  m_deadline_armed = true;
  const bool push = push_negotiated(m_hs);
  m_push_due = push && m_opts.role == Role::Server;
  if (m_is_rp && push && m_opts.role == Role::Client) {
    m_rp.expect_push();
  }
  //= docs/wire-profile.md §1.3: the client RP sends its request in the
  //= same flight as its Finished; a server in first flight sends its own
  //= in its first flight (docs/protocol-choices.md).
  m_request_due = m_is_rp && !m_rp.push_expected();
  return send_first_frames();
}

Result<void> Engine::send_first_frames() {
  if (m_push_due) {
    if (defer()) {
      return ok();
    }
    //= docs/wire-profile.md §1.9: the pushed authenticator is our first
    //= frame; our request (if any) follows it.
    ATLS_ASSIGN_OR_RETURN(const Bytes pushed,
                          m_attester.push(m_ssl, m_hs.client_sigalgs, Clock::now()));
    m_push_due = false;
    ATLS_TRY(queue_authenticator(pushed));
  }
  // A request that needs a remote Verifier's session waits for the
  // client's Finished: a ClientHello alone must not cost a Verifier call.
  if (m_request_due && (m_hs_done || !m_rp.request_may_block())) {
    m_request_due = false;
    ATLS_TRY(issue_request());
  }
  return ok();
}

Result<void> Engine::issue_request() {
  if (m_rp.request_may_block() && defer()) {
    m_request_pending = true;
    return ok();
  }
  m_request_pending = false;
  ATLS_ASSIGN_OR_RETURN(const Bytes request, m_rp.new_request());
  // The first attestation has attestation_timeout (reattest() arms it for
  // on-demand requests too); a scheduled renewal has until valid_until.
  // (A deferred on-demand request keeps the deadline reattest() armed.)
  arm_attestation_deadline();
  if (m_rp.attestation_count() == 0) {
    m_deadline_armed = true;
  }
  return queue_frame(tls::FrameType::AuthRequest, request);
}

Result<void> Engine::on_detect(ByteView data) {
  m_detect.insert(m_detect.end(), data.begin(), data.end());
  const std::size_t n = std::min(m_detect.size(), tls::kPreamble.size());
  const bool prefix = std::equal(
      m_detect.begin(), m_detect.begin() + static_cast<std::ptrdiff_t>(n), tls::kPreamble.begin());
  if (prefix && n < tls::kPreamble.size() && !m_peer_closed) {
    return ok();  // need more
  }
  m_deadline_armed = false;
  if (!prefix || n < tls::kPreamble.size()) {
    if (m_cs.peer_attestation == AttestationMode::Required) {
      return Error{ErrorCode::AttestationRequired, "the client does not speak atls"};
    }
    //= docs/wire-profile.md §1.7: a plain TLS client; its bytes go to the
    //= application unchanged.
    m_stream = Stream::Plain;
    m_app_in = std::move(m_detect);
    m_app_pos = 0;
    m_detect.clear();
    return ok();
  }
  ATLS_TRY(start_atls_stream(m_cs.peer_attestation != AttestationMode::Off));
  const Bytes detected = std::move(m_detect);
  m_detect.clear();
  return on_bytes(detected);
}

Result<void> Engine::on_bytes(ByteView data) {
  if (m_stream == Stream::Plain) {
    m_app_in.insert(m_app_in.end(), data.begin(), data.end());
    return ok();
  }
  if (m_stream == Stream::Detecting) {
    return on_detect(data);
  }
  if (m_stream != Stream::Atls) {
    return Error{ErrorCode::Internal, "bytes before the stream was set up"};
  }
  m_decoder.feed(data);
  if (!m_peer_preamble) {
    auto pr = m_decoder.check_preamble();
    if (pr.status == tls::PreambleStatus::NeedMore) {
      return ok();
    }
    if (pr.status == tls::PreambleStatus::NotPreamble) {
      //= docs/wire-profile.md §1.2: an RP that requires attestation aborts
      //= if the first 5 bytes from the peer are not the preamble.
      return Error{m_is_rp ? ErrorCode::AttestationRequired : ErrorCode::FrameMalformed,
                   "the peer's stream does not start with the preamble"};
    }
    m_peer_preamble = true;
    if (!m_is_rp) {
      m_deadline_armed = false;
    }
  }
  // A held AUTHENTICATOR is appraised before any frame after it.
  while (!m_held_frame) {
    ATLS_ASSIGN_OR_RETURN(std::optional<tls::Frame> f, m_decoder.next());
    if (!f) {
      return ok();
    }
    ATLS_TRY(on_frame(std::move(*f), m_peer_frames++ == 0));
  }
  return ok();
}

Result<void> Engine::on_frame(tls::Frame frame, bool first) {
  switch (frame.type) {
    case tls::FrameType::AuthRequest:
      ATLS_TRY(m_attester.on_request(frame.body, m_flushed < m_answer_end));
      return answer_requests();
    case tls::FrameType::Authenticator:
      if (!m_is_rp) {
        //= RFC 9261 §1.1 (specs.md): clients MUST NOT send an authenticator
        //= without a preceding request; a server's push needs our consent.
        if (m_opts.role == Role::Client) {
          return Error{ErrorCode::PushUnsolicited, "we do not appraise the server"};
        }
        return Error{ErrorCode::UnexpectedFrame, "an authenticator we did not ask for"};
      }
      if (defer()) {
        m_held_frame = std::move(frame);
        m_held_first = first;
        return ok();
      }
      return m_rp.on_authenticator(m_ssl, frame.body, now_s(), first);
    case tls::FrameType::Data:
      m_app_in.insert(m_app_in.end(), frame.body.begin(), frame.body.end());
      return ok();
    case tls::FrameType::Alert: {
      m_peer_alerted = true;
      ATLS_ASSIGN_OR_RETURN(const tls::Alert a, tls::parse_alert(frame.body));
      m_peer_alert = PeerAlertInfo{static_cast<std::uint8_t>(a.code), a.reason};
      return Error{ErrorCode::PeerAlert, alert_text(a)};
    }
  }
  return Error{ErrorCode::UnexpectedFrame, "unknown frame type"};
}

Result<void> Engine::answer_requests() {
  if (auto due = m_attester.due_at(); due && *due <= Clock::now() && defer()) {
    return ok();
  }
  ATLS_ASSIGN_OR_RETURN(const std::optional<Bytes> answer, m_attester.answer(m_ssl, Clock::now()));
  if (answer) {
    ATLS_TRY(queue_authenticator(*answer));
  }
  return ok();
}

Result<void> Engine::on_peer_closed() {
  if (m_stream == Stream::Detecting) {
    if (m_detect.empty() && m_cs.peer_attestation != AttestationMode::Required) {
      m_stream = Stream::Plain;
      return ok();
    }
    return on_bytes({});  // decide on the bytes we have
  }
  if (m_stream == Stream::Atls) {
    if (m_decoder.buffered() > 0) {
      return Error{ErrorCode::FrameMalformed, "the stream ended inside a frame"};
    }
    if (rp_pending()) {
      return Error{ErrorCode::AttestationRequired, "the peer closed without attesting"};
    }
  }
  return ok();
}

Result<void> Engine::timers() {
  if (m_deadline_armed && Clock::now() >= m_deadline) {
    m_deadline_armed = false;
    if (m_stream == Stream::Detecting) {
      if (m_cs.peer_attestation == AttestationMode::Required) {
        return Error{ErrorCode::AttestationRequired, "no atls preamble within attestation_timeout"};
      }
      m_stream = Stream::Plain;  // a plain client that has not spoken yet
      m_app_in = std::move(m_detect);
      m_app_pos = 0;
      m_detect.clear();
      return ok();
    }
    if (m_is_rp && m_rp.awaiting()) {
      //= docs/wire-profile.md §1.2: no valid AUTHENTICATOR within
      //= attestation_timeout.
      return Error{ErrorCode::AttestationTimeout,
                   "no valid authenticator within " +
                       std::to_string(m_cs.attestation_timeout.count()) + " ms"};
    }
    if (m_stream == Stream::Atls && !m_peer_preamble) {
      return Error{ErrorCode::AttestationTimeout,
                   "no atls preamble from the peer within attestation_timeout"};
    }
  }
  if (m_is_rp && m_rp.attestation_count() > 0) {
    if (expired() && !m_rp.appraising()) {
      //= docs/wire-profile.md §1.8: no valid answer by valid_until →
      //= attestation_failed. While a renewal is still being appraised
      //= (async policy) nothing is delivered or sent (may_deliver).
      return Error{ErrorCode::AttestationExpired,
                   "valid_until " + std::to_string(m_rp.valid_until()) + " passed"};
    }
    // Only an atls stream can carry a renewal; an appraisal adopted in the
    // handshake (a gateway token) ends at valid_until.
    if (m_stream == Stream::Atls && !m_rp.request_outstanding() && now_s() >= m_rp.renew_at()) {
      ATLS_TRY(issue_request());
      m_deadline_armed = false;
    }
  }
  return answer_requests();
}

Result<void> Engine::advance() {
  m_want_read = false;
  m_want_write = false;
  m_work_pending = false;
  if (m_error) {
    (void)flush();
    return *m_error;
  }
  if (m_closed) {
    (void)flush();  // what close() left queued, then close_notify
    return Error{ErrorCode::ConnectionClosed, "closed"};
  }
  if (auto r = steps(); !r) {
    return fail(std::move(r).error());
  }
  return ok();
}

Result<void> Engine::steps() {
  if (!m_hs_done) {
    ATLS_TRY(drive_handshake());
    if (!m_hs_done) {
      if (m_flight_open) {
        // Between our Finished and the client's: the deferred push, then
        // what is queued goes out as 0.5-RTT data.
        ATLS_TRY(run_held());
        if (!m_preamble_alone) {
          ATLS_TRY(flush());
        }
      }
      return ok();
    }
  }
  // Queued output goes first, so that the peer can act on it (a request
  // it answers while we work on ours) -- except a preamble alone, which
  // gives the peer nothing to do: it waits for what reading produces in this
  // same call (the authenticator of an attester that is not an RP), so that
  // both leave in one record instead of waking the peer twice. Nothing
  // below blocks, and the flush at the end sends it in any case.
  if (!m_preamble_alone) {
    ATLS_TRY(flush());
  }
  ATLS_TRY(run_held());
  ATLS_TRY(read_available());
  ATLS_TRY(m_rp.poll());
  ATLS_TRY(timers());
  ATLS_TRY(flush());
  update_established();
  // Our request is on its way: use the wait for its answer.
  if (m_is_rp && !m_error) {
    m_rp.prepare(m_ssl);
  }
  return ok();
}

Result<void> Engine::handshake() {
  for (;;) {
    ATLS_TRY(advance());
    if (m_established) {
      return ok();
    }
    if (m_peer_closed) {
      return fail(Error{ErrorCode::ConnectionClosed, "the peer closed the connection"});
    }
    ATLS_TRY(wait());
  }
}

Result<std::size_t> Engine::read(std::span<std::uint8_t> out) {
  for (;;) {
    ATLS_TRY(advance());
    if (m_established && may_deliver() && m_app_pos < m_app_in.size()) {
      const std::size_t n = std::min(out.size(), m_app_in.size() - m_app_pos);
      std::copy_n(m_app_in.begin() + static_cast<std::ptrdiff_t>(m_app_pos), n, out.begin());
      m_app_pos += n;
      if (m_app_pos == m_app_in.size()) {
        m_app_in.clear();
        m_app_pos = 0;
      } else if (m_app_pos > m_app_in.size() / 2) {
        m_app_in.erase(m_app_in.begin(), m_app_in.begin() + static_cast<std::ptrdiff_t>(m_app_pos));
        m_app_pos = 0;
      }
      return n;
    }
    if (out.empty() && m_established) {
      return std::size_t{0};
    }
    if (m_peer_closed) {
      return Error{ErrorCode::ConnectionClosed, "the peer closed the connection"};
    }
    ATLS_TRY(wait());
  }
}

Result<std::size_t> Engine::write(ByteView data) {
  if (m_write_shut && !m_error) {
    return Error{ErrorCode::ConnectionClosed, "this side has shut down its direction"};
  }
  std::size_t done = 0;
  for (;;) {
    ATLS_TRY(advance());
    if (m_established && may_send()) {
      while (done < data.size() && m_out.size() - m_out_pos < kOutCap) {
        const std::size_t n = std::min(kChunk, data.size() - done);
        const ByteView chunk = data.subspan(done, n);
        if (m_stream == Stream::Atls) {
          ATLS_TRY(queue_frame(tls::FrameType::Data, chunk));
        } else {
          queue_raw(chunk);
        }
        done += n;
      }
      if (auto f = flush(); !f) {
        return fail(std::move(f).error());
      }
      if (m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0) {
        if (done > 0 || data.empty()) {
          return done;
        }
        return Error{ErrorCode::WouldBlock, "the send queue is full"};
      }
      if (done == data.size() && m_out_pos >= m_out.size()) {
        return done;
      }
    } else if (m_peer_closed) {
      return Error{ErrorCode::ConnectionClosed, "the peer closed the connection"};
    }
    ATLS_TRY(wait());
  }
}

Result<void> Engine::process() {
  return advance();
}

bool Engine::defer() {
  if (!m_defer || m_blocking_ok) {
    return false;
  }
  m_work_pending = true;
  return true;
}

Result<void> Engine::run_held() {
  if (m_push_due || m_request_due) {
    ATLS_TRY(send_first_frames());
  }
  if (m_request_pending && !defer()) {
    ATLS_TRY(issue_request());
  }
  if (m_held_frame && !defer()) {
    tls::Frame f = std::move(*m_held_frame);
    m_held_frame.reset();
    ATLS_TRY(on_frame(std::move(f), m_held_first));
    ATLS_TRY(on_bytes({}));  // the frames decoded after it
  }
  return ok();
}

Result<void> Engine::defer_attestation_work(bool on) {
  if (on && m_opts.mode == IoMode::Blocking && m_opts.fd >= 0) {
    return Error{ErrorCode::InvalidArgument, "deferred attestation work needs IoMode::NonBlocking"};
  }
  m_defer = on;
  return ok();
}

Result<void> Engine::run_attestation_work() {
  m_blocking_ok = true;
  auto r = advance();
  m_blocking_ok = false;
  return r;
}

Result<void> Engine::reattest() {
  if (m_hs.early || m_hs.ratls || m_via_token) {
    //= docs/intra-handshake.md, docs/gateway.md: a connection attested in
    //= or before the handshake has no stream to re-attest on; reconnect.
    return Error{ErrorCode::InvalidArgument,
                 m_via_token ? "re-attestation is not available on a gateway-token connection"
                             : "re-attestation is not available in the intra-handshake mode"};
  }
  ATLS_TRY(advance());
  if (!m_hs_done || m_push_due || m_request_due) {
    // Our first frames (a push, then the first request) go first.
    return Error{ErrorCode::InvalidArgument, "the first attestation has not started yet"};
  }
  if (!m_is_rp || m_stream != Stream::Atls) {
    return Error{ErrorCode::InvalidArgument, "this endpoint does not appraise its peer"};
  }
  const std::size_t before = m_rp.attestation_count();
  if (!m_rp.request_outstanding()) {
    if (auto r = issue_request(); !r) {
      return fail(std::move(r).error());
    }
  }
  arm_attestation_deadline();
  m_deadline_armed = true;
  ATLS_TRY(advance());
  if (m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0) {
    return ok();
  }
  while (m_rp.attestation_count() == before) {
    ATLS_TRY(wait());
    ATLS_TRY(advance());
    if (m_peer_closed && m_rp.attestation_count() == before) {
      return fail(Error{ErrorCode::ConnectionClosed, "the peer closed before re-attesting"});
    }
  }
  return ok();
}

}  // namespace atls::internal
