// The engine's socket and buffers: the output queue and its flushing, reading
// with back-pressure, waiting on the socket, and shutting down.

#include "src/tls/engine.h"

#include "src/ossl/ossl.h"
#include "src/tls/sigpipe_guard.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace atls::internal {
namespace {

// One TLS record's worth of plaintext per SSL_write and SSL_read.
constexpr std::size_t kChunk = 16384;
// Received DATA held while the peer is not (or no longer) attested: reading
// pauses above this, so an unattested peer cannot make us buffer more
// (docs/threat-model.md, request flood).
constexpr std::size_t kHeldCap = 1024 * 1024;
// Queued output above which reading pauses: above what write() queues by
// itself (4 MiB), so only output the peer provoked can reach it.
constexpr std::size_t kReadPauseOut = 5 * 1024 * 1024;

}  // namespace

bool fd_is_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

Result<void> set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) != 0) {
    return ok();  // already: spare the system call
  }
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Error{ErrorCode::IoError, std::string("fcntl(O_NONBLOCK): ") + std::strerror(errno)};
  }
  return ok();
}

void Engine::queue_raw(ByteView bytes) {
  if (m_close_notify_sent) {
    return;  // our direction is closed: nothing more can go out
  }
  m_out.insert(m_out.end(), bytes.begin(), bytes.end());
  m_queued += bytes.size();
}

Result<void> Engine::queue_frame(tls::FrameType type, ByteView body) {
  ATLS_ASSIGN_OR_RETURN(const Bytes frame, tls::encode_frame(type, body));
  queue_raw(frame);
  m_preamble_alone = false;
  return ok();
}

Result<void> Engine::queue_authenticator(ByteView authenticator) {
  ATLS_TRY(queue_frame(tls::FrameType::Authenticator, authenticator));
  m_answer_end = m_queued;
  return ok();
}

bool Engine::want_read() const {
  if (m_want_read) {
    return true;
  }
  return !want_write() && !m_peer_closed && !m_error && !m_closed && !m_work_pending && m_hs_done &&
         !read_paused();
}

Result<void> Engine::flush() {
  if (m_ssl == nullptr || (!m_hs_done && !m_flight_open)) {
    return ok();
  }
  if (m_close_notify_pending) {
    m_close_notify_pending = !shutdown_ssl();
    m_want_write = m_close_notify_pending;
    return ok();
  }
  if (m_out_pos >= m_out.size()) {
    // Nothing to write: no SIGPIPE to guard against (the guard costs four
    // system calls, and flush() runs twice per advance()).
    m_out.clear();
    m_out_pos = 0;
    send_close_notify_if_due();
    return ok();
  }
  m_preamble_alone = false;
  SigpipeGuard guard(m_guard_sigpipe);
  while (m_out_pos < m_out.size()) {
    const std::size_t len =
        m_inflight != 0 ? m_inflight : std::min(kChunk, m_out.size() - m_out_pos);
    ERR_clear_error();
    int n = 0;
    if (m_hs_done) {
      n = ::SSL_write(m_ssl, m_out.data() + m_out_pos, static_cast<int>(len));
    } else {
      //= docs/wire-profile.md §1.9: a server's first flight goes out as
      //= 0.5-RTT data, before the client's Finished.
      std::size_t written = 0;
      n = ::SSL_write_early_data(m_ssl, m_out.data() + m_out_pos, len, &written) == 1
              ? static_cast<int>(written)
              : 0;
    }
    if (n > 0) {
      m_out_pos += static_cast<std::size_t>(n);
      m_flushed += static_cast<std::size_t>(n);
      m_inflight = 0;
      continue;
    }
    const int err = ::SSL_get_error(m_ssl, n);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      (err == SSL_ERROR_WANT_WRITE ? m_want_write : m_want_read) = true;
      m_inflight = len;
      return ok();
    }
    m_out.clear();
    m_out_pos = 0;
    m_inflight = 0;
    if (m_error) {
      return *m_error;
    }
    if (m_peer_closed) {
      return Error{ErrorCode::ConnectionClosed, "the peer closed the connection"};
    }
    return Error{ErrorCode::IoError, "SSL_write: " + ossl::drain_errors()};
  }
  m_out.clear();
  m_out_pos = 0;
  send_close_notify_if_due();
  return ok();
}

void Engine::send_close_notify_if_due() {
  if (m_write_shut && !m_close_notify_sent) {
    //= RFC 8446 §6.1: close_notify closes the sender's direction only; the
    //= peer may go on writing, and we go on reading.
    m_close_notify_pending = !shutdown_ssl();
    m_want_write = m_want_write || m_close_notify_pending;
    m_close_notify_sent = true;
  }
}

bool Engine::note_wait(int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ) {
    m_want_read = true;
    return true;
  }
  if (ssl_error == SSL_ERROR_WANT_WRITE) {
    m_want_write = true;
    return true;
  }
  return false;
}

bool Engine::read_paused() const {
  if (m_held_frame) {
    return true;  // appraise it first (run_attestation_work)
  }
  if (m_out.size() - m_out_pos > kReadPauseOut) {
    return true;
  }
  // The cheap size test first: may_deliver() reads the clock.
  const std::size_t held = m_app_in.size() - m_app_pos;
  return held >= m_cs.receive_buffer_limit || (held >= kHeldCap && !may_deliver());
}

Result<void> Engine::read_available() {
  std::uint8_t buf[kChunk];
  while (!m_peer_closed && !m_error && !read_paused()) {
    ERR_clear_error();
    const int n = ::SSL_read(m_ssl, buf, sizeof buf);
    if (n > 0) {
      ATLS_TRY(on_bytes(ByteView(buf, static_cast<std::size_t>(n))));
      continue;
    }
    const int err = ::SSL_get_error(m_ssl, n);
    if (note_wait(err)) {
      return ok();
    }
    if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL) {
      // close_notify, or EOF without one (a truncation the framing detects).
      ossl::drain_errors();
      m_peer_closed = true;
      return on_peer_closed();
    }
    return Error{ErrorCode::IoError, "SSL_read: " + ossl::drain_errors()};
  }
  return ok();
}

bool Engine::shutdown_ssl() {
  SigpipeGuard guard(m_guard_sigpipe);
  ERR_clear_error();
  const int rc = ::SSL_shutdown(m_ssl);
  const bool partial = rc < 0 && ::SSL_get_error(m_ssl, rc) == SSL_ERROR_WANT_WRITE;
  ERR_clear_error();
  return !partial;
}

void Engine::drain_on_failure() {
  // In our first flight (m_flight_open) the ALERT still goes out, as
  // 0.5-RTT data; close_notify cannot before the handshake is done.
  if (m_ssl == nullptr || (!m_hs_done && !m_flight_open)) {
    return;
  }
  const auto until = Clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    (void)flush();
    if (m_out_pos >= m_out.size() || m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0 ||
        Clock::now() >= until) {
      break;
    }
    pollfd p{m_opts.fd, POLLOUT, 0};
    if (::poll(&p, 1, 50) < 0 && errno != EINTR) {
      break;
    }
  }
  if (m_hs_done) {
    shutdown_ssl();
  }
}

int Engine::timeout_ms() const {
  long long best = -1;
  auto take = [&best](Clock::time_point at) {
    const long long ms = std::max(
        0LL, static_cast<long long>(
                 std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now()).count()) +
                 1);
    best = best < 0 ? ms : std::min(best, ms);
  };
  if (m_error || m_closed) {
    return -1;
  }
  if (!m_hs_done) {
    take(m_handshake_deadline);
  }
  if (m_deadline_armed) {
    take(m_deadline);
  }
  if (auto due = m_attester.due_at()) {
    take(*due);
  }
  if (m_is_rp && m_rp.attestation_count() > 0) {
    // valid_until and renewal follow the injected Clock, which may not be
    // the real time: wake at least once a second to look at it.
    const std::int64_t next = m_rp.request_outstanding() ? m_rp.valid_until() : m_rp.renew_at();
    take(Clock::now() +
         std::chrono::milliseconds(std::min<long long>(1000, (next - now_s()) * 1000)));
  }
  if (m_rp.appraising()) {
    take(Clock::now() + std::chrono::milliseconds(5));
  }
  return static_cast<int>(best);
}

Result<void> Engine::wait() {
  if (m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0) {
    return Error{ErrorCode::WouldBlock, m_want_write ? "wants write" : "wants read"};
  }
  if (::SSL_pending(m_ssl) > 0 && !read_paused()) {
    return ok();
  }
  short events = 0;
  if (m_want_read) {
    events = static_cast<short>(events | POLLIN);
  }
  if (want_write()) {
    events = static_cast<short>(events | POLLOUT);
  }
  if (events == 0 && !read_paused()) {
    events = POLLIN;
  }
  pollfd p{m_opts.fd, events, 0};
  if (::poll(&p, 1, timeout_ms()) < 0 && errno != EINTR) {
    return fail(Error{ErrorCode::IoError, std::string("poll: ") + std::strerror(errno)});
  }
  return ok();
}

Result<void> Engine::shutdown_write() {
  ATLS_TRY(advance());
  if (!m_established) {
    return Error{ErrorCode::InvalidArgument,
                 "shutdown_write needs an established connection (handshake first)"};
  }
  if (m_write_shut) {
    return ok();
  }
  m_write_shut = true;
  if (auto f = flush(); !f) {
    return fail(std::move(f).error());
  }
  if (m_opts.mode == IoMode::Blocking && m_opts.fd >= 0) {
    while (!m_close_notify_sent) {
      ATLS_TRY(wait());
      ATLS_TRY(advance());
    }
  }
  return ok();
}

Result<void> Engine::close() {
  if (m_closed) {
    return ok();
  }
  if (m_hs_done && !m_error && !m_close_notify_sent) {
    if (m_opts.mode == IoMode::Blocking && m_opts.fd >= 0) {
      const auto until = Clock::now() + std::chrono::seconds(2);
      while (m_out_pos < m_out.size() && Clock::now() < until) {
        if (!flush()) {
          break;
        }
        if (m_out_pos < m_out.size()) {
          pollfd p{m_opts.fd, POLLOUT, 0};
          ::poll(&p, 1, 50);
        }
      }
      shutdown_ssl();
      m_close_notify_sent = true;
    } else {
      // What is queued goes first, then close_notify (flush() sends it once
      // the queue is empty); the caller goes on calling process() while
      // want_write().
      m_write_shut = true;
      (void)flush();
    }
  }
  m_closed = true;
  return ok();
}

}  // namespace atls::internal
