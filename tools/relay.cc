#include "tools/relay.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace atls::tools {
namespace {

constexpr std::size_t kChunk = 16384;

bool is_socket(int fd) {
  struct stat st {};
  return fd >= 0 && ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

Error plain_error(const char* what) {
  return Error{ErrorCode::IoError, std::string(what) + " (plain side): " + std::strerror(errno)};
}

}  // namespace

std::uint8_t* ByteQueue::tail(std::size_t n) {
  if (m_pos > 0 && m_pos >= m_data.size() / 2) {
    m_data.erase(m_data.begin(), m_data.begin() + static_cast<std::ptrdiff_t>(m_pos));
    m_pos = 0;
  }
  const std::size_t old = m_data.size();
  m_data.resize(old + n);
  return m_data.data() + old;
}

void ByteQueue::commit(std::size_t reserved, std::size_t k) {
  m_data.resize(m_data.size() - reserved + k);
}

void ByteQueue::consume(std::size_t n) {
  m_pos += n;
  if (m_pos == m_data.size()) {
    m_data.clear();
    m_pos = 0;
  }
}

Relay::Relay(Connection& conn, RelayOptions options)
    : m_conn(conn),
      m_o(options),
      m_plain_is_socket(is_socket(options.plain_out)),
      m_plain_in_nonblocking(options.plain_in >= 0 &&
                             (::fcntl(options.plain_in, F_GETFL) & O_NONBLOCK) != 0) {
  m_plain_eof = m_o.plain_in < 0 && !m_o.echo;
  if (!m_o.reply.empty()) {
    std::copy(m_o.reply.begin(), m_o.reply.end(), m_to_peer.tail(m_o.reply.size()));
  }
}

bool Relay::wants_conn_read() const {
  const ByteQueue& dst = m_o.echo ? m_to_peer : m_to_plain;
  return (!m_peer_eof && dst.size() < m_o.buffer) || m_conn.want_read();
}

bool Relay::wants_conn_write() const {
  return m_conn.want_write();
}

bool Relay::wants_plain_read() const {
  return m_o.plain_in >= 0 && !m_plain_eof && m_to_peer.size() < m_o.buffer;
}

bool Relay::wants_plain_write() const {
  return m_o.plain_out >= 0 && !m_to_plain.empty() && m_plain_blocked;
}

Result<void> Relay::step(bool plain_readable) {
  if (m_done) {
    return ok();
  }
  // Rounds until nothing moves: room made on one side lets bytes the
  // Connection already holds (read ahead) go on at once, not at the next
  // socket event, which may never come.
  m_more = false;
  for (int round = 0; round < 16; ++round) {
    const std::uint64_t before = m_moved;
    m_read_called = false;
    ATLS_TRY(from_peer());
    ATLS_TRY(to_plain());
    ATLS_TRY(from_plain(plain_readable));
    ATLS_TRY(to_peer());
    if (!m_read_called) {
      // Timers, queued output and protocol work when reading was not due.
      if (auto p = m_conn.process(); !p && !is_would_block(p.error())) {
        if (p.error().code != ErrorCode::ConnectionClosed) {
          return std::move(p).error();
        }
        m_peer_eof = true;
      }
    }
    if (m_moved == before) {
      break;
    }
    // Still moving after the last round: the driver comes back at once
    // (other connections get their turn first).
    m_more = round == 15;
  }
  return ends();
}

Result<void> Relay::from_peer() {
  ByteQueue& dst = m_o.echo ? m_to_peer : m_to_plain;
  for (int i = 0; i < 64 && !m_peer_eof && dst.size() < m_o.buffer; ++i) {
    std::uint8_t* at = dst.tail(kChunk);
    m_read_called = true;
    auto r = m_conn.read({at, kChunk});
    if (!r) {
      dst.commit(kChunk, 0);
      if (is_would_block(r.error())) {
        return ok();
      }
      if (r.error().code == ErrorCode::ConnectionClosed) {
        m_peer_eof = true;
        return ok();
      }
      return std::move(r).error();
    }
    dst.commit(kChunk, *r);
    m_stats.from_peer += *r;
    m_moved += *r;
  }
  return ok();
}

Result<void> Relay::to_plain() {
  if (m_o.plain_out < 0) {
    m_to_plain.consume(m_to_plain.size());
    return ok();
  }
  m_plain_blocked = false;
  while (!m_to_plain.empty()) {
    const ssize_t n = ::write(m_o.plain_out, m_to_plain.data(), m_to_plain.size());
    if (n > 0) {
      m_to_plain.consume(static_cast<std::size_t>(n));
      m_moved += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      m_plain_blocked = true;
      return ok();
    }
    return plain_error("write");
  }
  return ok();
}

Result<void> Relay::from_plain(bool& readable) {
  if (!wants_plain_read() || !readable) {
    return ok();
  }
  // A blocking descriptor (a pipe on stdin) is read once per readiness.
  const int reads = m_plain_in_nonblocking ? 16 : 1;
  if (!m_plain_in_nonblocking) {
    readable = false;
  }
  for (int i = 0; i < reads && m_to_peer.size() < m_o.buffer; ++i) {
    std::uint8_t* at = m_to_peer.tail(kChunk);
    const ssize_t n = ::read(m_o.plain_in, at, kChunk);
    if (n > 0) {
      m_to_peer.commit(kChunk, static_cast<std::size_t>(n));
      m_moved += static_cast<std::size_t>(n);
      if (static_cast<std::size_t>(n) < kChunk) {
        readable = false;  // drained for now
        return ok();
      }
      continue;
    }
    m_to_peer.commit(kChunk, 0);
    if (n == 0) {
      m_plain_eof = true;
      ++m_moved;
      return ok();
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      readable = errno == EINTR;
      return ok();
    }
    if (errno == ECONNRESET) {
      // The local side went away abruptly: treat as its end (the peer
      // then sees close_notify, not a truncation).
      m_plain_eof = true;
      return ok();
    }
    return plain_error("read");
  }
  return ok();
}

Result<void> Relay::to_peer() {
  // Only when the Connection's own queue is empty: it then never holds more
  // than one step's bytes (backpressure reaches the plain side).
  if (m_to_peer.empty() || m_peer_shut || m_conn.want_write()) {
    return ok();
  }
  auto w = m_conn.write({m_to_peer.data(), m_to_peer.size()});
  if (w) {
    m_stats.to_peer += *w;
    m_moved += *w;
    m_to_peer.consume(*w);
    return ok();
  }
  if (is_would_block(w.error())) {
    return ok();
  }
  return std::move(w).error();
}

Result<void> Relay::ends() {
  if (m_o.echo) {
    // Done when the peer ended and its bytes are back.
    if (m_peer_eof && m_to_peer.empty() && !m_peer_shut) {
      ATLS_TRY(m_conn.shutdown_write());
      m_peer_shut = true;
    }
    m_done = m_peer_shut && !m_conn.want_write();
    return ok();
  }
  if (m_peer_eof && m_to_plain.empty() && !m_plain_shut) {
    if (m_o.plain_out < 0) {
      // No plain side (a gateway's reply): done once the reply is out.
      m_plain_shut = true;
    } else if (!m_plain_is_socket) {
      m_done = true;  // standard output: the session is over
      return ok();
    } else {
      ::shutdown(m_o.plain_out, SHUT_WR);
      m_plain_shut = true;
    }
  }
  if (m_plain_eof && m_to_peer.empty() && !m_peer_shut) {
    ATLS_TRY(m_conn.shutdown_write());
    m_peer_shut = true;
  }
  m_done =
      m_peer_eof && m_to_plain.empty() && m_plain_eof && m_to_peer.empty() && !m_conn.want_write();
  return ok();
}

}  // namespace atls::tools
