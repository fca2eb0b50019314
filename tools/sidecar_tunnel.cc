// One sidecar connection (tools/sidecar_loop.h): TCP connect (connect side),
// handshake and attestation with deferred attestation work on the pool,
// backend connect (serve side), relay, and a bounded close.

#include "tools/session.h"
#include "tools/sidecar_loop.h"

#include <sys/socket.h>

namespace atls::tools {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kCloseLimit{2000};

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

}  // namespace

Tunnel::Tunnel(SidecarLoop& loop, std::uint64_t id, Fd accepted, std::string peer,
               std::shared_ptr<const SidecarGeneration> generation)
    : m_loop(loop),
      m_id(id),
      m_peer(std::move(peer)),
      m_gen(std::move(generation)),
      m_tls_sd(loop.io()),
      m_plain_sd(loop.io()),
      m_timer(loop.io()),
      m_start(SteadyClock::now()),
      m_deadline(m_start + milliseconds(loop.options().handshake_timeout_ms)) {
  if (loop.setup().mode == SidecarMode::Connect) {
    m_plain = std::move(accepted);
  } else {
    m_accepted = std::move(accepted);
  }
}

Tunnel::~Tunnel() {
  release_io();
}

void Tunnel::start() {
  const SidecarSetup& s = m_loop.setup();
  if (s.mode == SidecarMode::Connect) {
    auto fd = connect_start(m_loop.target());
    if (!fd) {
      finish(Error{ErrorCode::IoError, "server " + fd.error().detail});
      return;
    }
    m_outbound = std::move(*fd);
    m_tls_sd.assign(m_outbound.get());
    m_plain_sd.assign(m_plain.get());
    m_phase = Phase::TcpConnect;
  } else {
    const int fd = m_accepted.release();
    auto conn = m_gen->server->accept_fd(fd, IoMode::NonBlocking);
    if (!conn) {
      finish(conn.error());
      return;
    }
    m_conn.emplace(std::move(*conn));
    (void)m_conn->defer_attestation_work(true);
    m_tls_sd.assign(m_conn->fd());
    m_phase = Phase::Handshake;
  }
  step();
}

void Tunnel::close_now() {
  if (m_phase == Phase::Done || m_phase == Phase::Closing) {
    return;
  }
  if (m_in_worker) {
    m_outcome = Error{ErrorCode::ConnectionClosed, "the drain deadline passed"};
    return;
  }
  finish(Error{ErrorCode::ConnectionClosed, "the drain deadline passed"});
}

void Tunnel::abandon() {
  if (m_phase == Phase::Done) {
    return;
  }
  m_phase = Phase::Done;
  release_io();
}

void Tunnel::release_io() {
  m_timer.cancel();
  if (m_tls_sd.is_open()) {
    m_tls_sd.release();
  }
  if (m_plain_sd.is_open()) {
    m_plain_sd.release();
  }
}

void Tunnel::step() {
  if (m_phase == Phase::Done || m_in_worker) {
    return;
  }
  if (m_phase == Phase::Closing) {
    closing();
    return;
  }
  if (m_outcome) {
    finish(*m_outcome);
    return;
  }
  auto r = advance();
  if (!r) {
    finish(std::move(r).error());
    return;
  }
  if (m_phase == Phase::Done || m_phase == Phase::Closing || m_in_worker) {
    return;
  }
  arm();
}

Result<void> Tunnel::advance() {
  const SidecarSetup& s = m_loop.setup();
  const auto now = SteadyClock::now();
  if (m_phase == Phase::TcpConnect) {
    if (!m_ready[TlsWrite]) {
      if (now >= m_deadline) {
        return Error{ErrorCode::HandshakeTimeout, "no TCP connection to the server in time"};
      }
      return ok();
    }
    m_ready[TlsWrite] = false;
    if (auto c = connect_result(m_outbound.get(), s.target.to_string()); !c) {
      return Error{ErrorCode::IoError, "server " + c.error().detail};
    }
    const int fd = m_outbound.release();
    const std::string name = s.servername.empty() ? s.target.host : s.servername;
    ATLS_ASSIGN_OR_RETURN(Connection conn,
                          Client::connect_fd(m_gen->config, fd, name, IoMode::NonBlocking));
    m_conn.emplace(std::move(conn));
    ATLS_TRY(m_conn->defer_attestation_work(true));
    m_phase = Phase::Handshake;
  }
  if (m_phase == Phase::Handshake) {
    if (now >= m_deadline) {
      return Error{ErrorCode::AttestationTimeout,
                   "handshake and attestation did not finish within " +
                       std::to_string(m_loop.options().handshake_timeout_ms) + " ms"};
    }
    auto h = m_conn->handshake();
    if (!h) {
      if (!is_would_block(h.error())) {
        return std::move(h).error();
      }
      if (m_conn->attestation_work_pending()) {
        hand_off();
      }
      return ok();
    }
    ATLS_TRY(on_established());
  }
  if (m_phase == Phase::BackendConnect) {
    // Our own attestation may still be due meanwhile (the client's request).
    if (auto p = m_conn->process(); !p && !is_would_block(p.error())) {
      return std::move(p).error();
    }
    if (m_conn->attestation_work_pending()) {
      hand_off();
      return ok();
    }
    if (!m_ready[PlainWrite]) {
      if (now >= m_deadline) {
        return Error{ErrorCode::BackendUnavailable,
                     "backend " + s.target.to_string() + ": no connection within " +
                         std::to_string(m_loop.options().connect_timeout_ms) + " ms"};
      }
      return ok();
    }
    m_ready[PlainWrite] = false;
    if (auto c = connect_result(m_plain.get(), s.target.to_string()); !c) {
      return Error{ErrorCode::BackendUnavailable, "backend " + c.error().detail};
    }
    ATLS_TRY(start_relay());
  }
  if (m_phase == Phase::Relay) {
    // Before the relay's step, so that what reattest() reads is relayed now.
    if (m_next_reattest && now >= *m_next_reattest) {
      ATLS_TRY(m_conn->reattest());
      m_next_reattest = now + milliseconds(m_loop.options().reattest_ms);
    }
    const bool readable = m_ready[PlainRead];
    m_ready[PlainRead] = false;
    m_ready[PlainWrite] = false;
    ATLS_TRY(m_relay->step(readable));
    if (m_conn->attestation_work_pending()) {
      hand_off();
      return ok();
    }
    if (m_relay->done()) {
      finish(ok());
      return ok();
    }
    if (m_relay->our_direction_closed() && !m_linger_until) {
      m_linger_until = now + milliseconds(m_loop.options().linger_ms);
    }
    if (m_linger_until && now >= *m_linger_until) {
      finish(ok());  // the last resort against a peer that never ends its side
      return ok();
    }
    if (m_relay->more() && !m_step_posted) {
      m_step_posted = true;
      asio::post(m_loop.io(), [self = shared_from_this()] {
        self->m_step_posted = false;
        self->m_ready[PlainRead] = true;
        self->step();
      });
    }
  }
  return ok();
}

Result<void> Tunnel::on_established() {
  m_handshaking = false;
  m_loop.handshake_over();
  m_loop.metrics().handshake_seconds(seconds_since(m_start));
  m_loop.metrics().attestation("ok");
  const SidecarSetup& s = m_loop.setup();
  if (s.mode == SidecarMode::Connect) {
    nlohmann::json j = {{"event", "attested"}, {"server", s.target.to_string()}};
    j["peer"] = m_peer;
    j["peer_attestation"] = result_json(*m_conn);
    m_loop.log(j, "peer=" + m_peer + " server " + result_summary(*m_conn), true);
  }
  // Re-attestation is for a peer this side appraises (not a plain TLS
  // peer, nor a client that was not asked to attest).
  if (m_loop.options().reattest_ms > 0 && m_conn->peer_result() != nullptr &&
      !m_conn->is_plain_tls()) {
    m_next_reattest = SteadyClock::now() + milliseconds(m_loop.options().reattest_ms);
  }
  if (s.mode == SidecarMode::ServeBackend) {
    // Only an attested client reaches the backend.
    auto fd = connect_start(m_loop.target());
    if (!fd) {
      return Error{ErrorCode::BackendUnavailable, "backend " + fd.error().detail};
    }
    m_plain = std::move(*fd);
    m_plain_sd.assign(m_plain.get());
    m_deadline = SteadyClock::now() + milliseconds(m_loop.options().connect_timeout_ms);
    m_phase = Phase::BackendConnect;
    return ok();
  }
  return start_relay();
}

Result<void> Tunnel::start_relay() {
  RelayOptions o;
  o.buffer = m_loop.options().buffer_kib * 1024;
  if (m_loop.setup().mode == SidecarMode::ServeEcho) {
    o.echo = true;
  } else if (m_loop.setup().mode == SidecarMode::Gateway) {
    ATLS_ASSIGN_OR_RETURN(const std::string token, m_loop.setup().issue(*m_conn));
    o.reply.assign(token.begin(), token.end());
  } else {
    o.plain_in = o.plain_out = m_plain.get();
  }
  m_relay.emplace(*m_conn, o);
  m_phase = Phase::Relay;
  m_ready[PlainRead] = true;  // bytes the local client sent during the handshake
  return ok();
}

void Tunnel::arm() {
  std::optional<SteadyClock::time_point> at;
  auto take = [&at](SteadyClock::time_point t) { at = at ? std::min(*at, t) : t; };
  // What the Connection itself waits for (handshake, protocol work).
  auto wait_conn = [this] {
    if (m_conn->want_read()) {
      wait(TlsRead);
    }
    if (m_conn->want_write()) {
      wait(TlsWrite);
    }
  };
  switch (m_phase) {
    case Phase::TcpConnect:
      wait(TlsWrite);
      take(m_deadline);
      break;
    case Phase::Handshake:
      wait_conn();
      take(m_deadline);
      break;
    case Phase::BackendConnect:
      wait(PlainWrite);
      wait_conn();
      take(m_deadline);
      break;
    case Phase::Relay:
      if (m_relay->wants_conn_read()) {
        wait(TlsRead);
      }
      if (m_relay->wants_conn_write()) {
        wait(TlsWrite);
      }
      if (m_relay->wants_plain_read()) {
        wait(PlainRead);
      }
      if (m_relay->wants_plain_write()) {
        wait(PlainWrite);
      }
      if (m_linger_until) {
        take(*m_linger_until);
      }
      if (m_next_reattest) {
        take(*m_next_reattest);
      }
      break;
    case Phase::Closing:
      wait(TlsWrite);
      take(m_deadline);
      break;
    case Phase::Done:
      return;
  }
  if (m_conn) {
    if (const int ms = m_conn->timeout_ms(); ms >= 0) {
      take(SteadyClock::now() + milliseconds(ms));
    }
  }
  if (at) {
    arm_timer(*at);
  }
}

void Tunnel::wait(Wait w) {
  if (m_waiting[w]) {
    return;
  }
  m_waiting[w] = true;
  auto& sd = (w == TlsRead || w == TlsWrite) ? m_tls_sd : m_plain_sd;
  const auto type = (w == TlsRead || w == PlainRead) ? asio::posix::stream_descriptor::wait_read
                                                     : asio::posix::stream_descriptor::wait_write;
  sd.async_wait(type, [self = shared_from_this(), w](const asio::error_code& ec) {
    self->m_waiting[w] = false;
    if (ec == asio::error::operation_aborted || self->m_phase == Phase::Done) {
      return;
    }
    self->m_ready[w] = true;
    self->step();
  });
}

void Tunnel::arm_timer(SteadyClock::time_point at) {
  // An earlier wake-up than needed only costs a step: keep a pending timer
  // unless the new time is sooner.
  if (m_timer_at && *m_timer_at <= at) {
    return;
  }
  m_timer_at = at;
  m_timer.expires_at(at);
  m_timer.async_wait([self = shared_from_this(), at](const asio::error_code& ec) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    if (self->m_timer_at == at) {
      self->m_timer_at.reset();
    }
    self->step();
  });
}

void Tunnel::hand_off() {
  m_in_worker = true;
  auto self = shared_from_this();
  asio::post(m_loop.pool(), [self]() mutable {
    const auto t0 = SteadyClock::now();
    auto r = self->m_conn->run_attestation_work();
    const double s = seconds_since(t0);
    // The last reference goes back to the loop with the result, so that a
    // Tunnel is never destroyed on a worker.
    asio::io_context& io = self->m_loop.io();
    asio::post(io, [self = std::move(self), r = std::move(r), s]() mutable {
      self->m_in_worker = false;
      self->m_loop.metrics().attestation_seconds(s);
      if (!r && !is_would_block(r.error())) {
        self->finish(std::move(r).error());
        return;
      }
      self->step();
    });
  });
}

void Tunnel::finish(Result<void> outcome) {
  if (m_phase == Phase::Done || m_phase == Phase::Closing) {
    return;
  }
  const SidecarSetup& s = m_loop.setup();
  if (m_handshaking) {
    m_handshaking = false;
    m_loop.handshake_over();
    m_loop.metrics().attestation(outcome ? "ok" : std::string(outcome.error().name()));
  }
  const RelayStats stats = m_relay ? m_relay->stats() : RelayStats{};
  const auto ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - m_start).count();
  nlohmann::json j = {{"event", "connection"}, {"peer", m_peer}};
  std::string line = "peer=" + m_peer;
  if (m_conn) {
    j["peer_attestation"] = result_json(*m_conn);
    line += " " + result_summary(*m_conn);
    if (!outcome) {
      if (auto a = m_conn->peer_alert()) {
        j["peer_alert"] = {{"code", a->code}, {"reason", a->reason}};
      }
    }
  }
  j["bytes_in"] = stats.from_peer;
  j["bytes_out"] = stats.to_peer;
  j["duration_ms"] = ms;
  line += " in=" + std::to_string(stats.from_peer) + " out=" + std::to_string(stats.to_peer) +
          " ms=" + std::to_string(ms);
  const std::string result = outcome ? "ok" : std::string(outcome.error().name());
  j["result"] = result;
  if (outcome) {
    line += " result=ok";
  } else {
    j["detail"] = outcome.error().to_string();
    line += " result=" + result + " (" + outcome.error().to_string() + ")";
  }
  m_loop.metrics().connection_finished(result, stats.from_peer, stats.to_peer);
  m_loop.log(j, line, outcome.has_value() && s.mode == SidecarMode::Connect);

  // The plain side ends with a FIN (its unread bytes, if any, make it a reset).
  if (m_plain.is_open()) {
    ::shutdown(m_plain.get(), SHUT_WR);
  }
  if (m_conn) {
    (void)m_conn->close();  // close_notify, or the ALERT already queued
    if (m_conn->want_write()) {
      m_phase = Phase::Closing;
      m_deadline = SteadyClock::now() + kCloseLimit;
      arm();
      return;
    }
  }
  done();
}

void Tunnel::closing() {
  (void)m_conn->process();
  if (!m_conn->want_write() || SteadyClock::now() >= m_deadline) {
    done();
    return;
  }
  arm();
}

void Tunnel::done() {
  m_phase = Phase::Done;
  release_io();
  m_relay.reset();
  m_conn.reset();
  m_plain.reset();
  m_outbound.reset();
  m_loop.finished(m_id);
}

}  // namespace atls::tools
