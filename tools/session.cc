#include "tools/session.h"

#include "src/ossl/x509.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace atls::tools {
namespace {

// Signal handlers can only reach process-wide state.
std::atomic<bool> g_stopped{false};
int g_pipe[2] = {-1, -1};
struct sigaction g_old_int {};
struct sigaction g_old_term {};
struct sigaction g_old_pipe {};

extern "C" void on_stop_signal(int /*sig*/) {
  g_stopped.store(true);
  if (g_pipe[1] >= 0) {
    const char c = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &c, 1);
  }
}

using SteadyClock = std::chrono::steady_clock;

int remaining_ms(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

bool is_would_block(const Error& e) {
  return e.category() == ErrorCategory::WouldBlock;
}

bool is_socket(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

// close_gracefully lets queued bytes reach the peer (bounded), then sends
// close_notify.
void close_gracefully(Connection& conn) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(2);
  while (conn.want_write() && SteadyClock::now() < deadline) {
    pollfd p{conn.fd(), POLLOUT, 0};
    ::poll(&p, 1, 50);
    auto r = conn.process();
    if (!r && r.error().category() != ErrorCategory::WouldBlock) {
      break;
    }
  }
  (void)conn.close();
}

}  // namespace

// ---------------------------------------------------------------------------

StopSignal::StopSignal() {
  g_stopped.store(false);
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_pipe[0] = g_pipe[1] = -1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &g_old_int);
  ::sigaction(SIGTERM, &sa, &g_old_term);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigemptyset(&ign.sa_mask);
  ::sigaction(SIGPIPE, &ign, &g_old_pipe);
}

StopSignal::~StopSignal() {
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  ::sigaction(SIGPIPE, &g_old_pipe, nullptr);
  for (int& fd : g_pipe) {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
}

bool StopSignal::stopped() const {
  return g_stopped.load();
}
void StopSignal::request() {
  on_stop_signal(0);
}
int StopSignal::fd() const {
  return g_pipe[0];
}

// ---------------------------------------------------------------------------

bool ThreadSet::try_spawn(std::function<void()> task) {
  reap();
  const std::lock_guard<std::mutex> lock(m_mu);
  if (m_tasks.size() >= m_limit) {
    return false;
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  m_tasks.push_back(Task{std::thread([task = std::move(task), done] {
                           task();
                           done->store(true);
                         }),
                         done});
  return true;
}

void ThreadSet::reap() {
  const std::lock_guard<std::mutex> lock(m_mu);
  for (auto it = m_tasks.begin(); it != m_tasks.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = m_tasks.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t ThreadSet::running() {
  reap();
  const std::lock_guard<std::mutex> lock(m_mu);
  return m_tasks.size();
}

void ThreadSet::join_all() {
  std::list<Task> tasks;
  {
    const std::lock_guard<std::mutex> lock(m_mu);
    tasks.swap(m_tasks);
  }
  for (auto& t : tasks) {
    t.thread.join();
  }
}

std::uint64_t ShutdownList::add(int fd) {
  const std::lock_guard<std::mutex> lock(m_mu);
  const std::uint64_t id = m_next++;
  m_fds.emplace_back(id, fd);
  return id;
}

void ShutdownList::remove(std::uint64_t id) {
  const std::lock_guard<std::mutex> lock(m_mu);
  m_fds.remove_if([id](const auto& p) { return p.first == id; });
}

void ShutdownList::shutdown_all() {
  const std::lock_guard<std::mutex> lock(m_mu);
  for (const auto& [id, fd] : m_fds) {
    ::shutdown(fd, SHUT_RDWR);
  }
}

void wait_then_shutdown(ThreadSet& workers, ShutdownList& live, std::chrono::milliseconds grace) {
  const auto deadline = SteadyClock::now() + grace;
  while (workers.running() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  live.shutdown_all();
}

// ---------------------------------------------------------------------------

Result<void> drive_handshake(Connection& conn, std::chrono::milliseconds deadline_ms,
                             const StopSignal* stop) {
  const auto deadline = SteadyClock::now() + deadline_ms;
  for (;;) {
    auto r = conn.handshake();
    if (r || !is_would_block(r.error())) {
      return r;
    }
    if (stop != nullptr && stop->stopped()) {
      return Error{ErrorCode::ConnectionClosed, "stopped"};
    }
    const int left = remaining_ms(deadline);
    if (left == 0) {
      return Error{ErrorCode::AttestationTimeout,
                   "handshake and attestation did not finish in time"};
    }
    int wait = std::min(left, 200);
    if (conn.timeout_ms() >= 0) {
      wait = std::min(wait, conn.timeout_ms());
    }
    pollfd p[2] = {
        {conn.fd(),
         static_cast<short>((conn.want_read() ? POLLIN : 0) | (conn.want_write() ? POLLOUT : 0)),
         0},
        {stop != nullptr ? stop->fd() : -1, POLLIN, 0}};
    if (p[0].events == 0) {
      p[0].events = POLLIN;
    }
    ::poll(p, 2, wait);
  }
}

Result<void> pump(Connection& conn, const PumpOptions& o, PumpStats& stats) {
  constexpr std::size_t kCap = 256 * 1024;
  const bool plain_is_socket = o.plain_out >= 0 && is_socket(o.plain_out);
  std::vector<std::uint8_t> to_peer;
  std::vector<std::uint8_t> to_plain;
  std::vector<std::uint8_t> buf(16384);
  bool peer_eof = false;
  bool plain_eof = o.plain_in < 0 && !o.echo;
  bool plain_in_ready = false;
  bool plain_shut = false;  // we shut the plain socket's write side
  bool peer_shut = false;   // we sent close_notify
  bool plain_out_ready = false;
  std::optional<SteadyClock::time_point> linger_until;
  auto next_reattest = SteadyClock::now() + o.reattest_every;

  for (;;) {
    if (o.stop != nullptr && o.stop->stopped()) {
      close_gracefully(conn);
      return ok();
    }
    // Peer → plain side (or back to the peer when echoing).
    for (int i = 0; i < 64 && !peer_eof && to_plain.size() < kCap && to_peer.size() < kCap; ++i) {
      auto r = conn.read(buf);
      if (!r) {
        if (is_would_block(r.error())) {
          break;
        }
        if (r.error().code == ErrorCode::ConnectionClosed) {
          peer_eof = true;
          break;
        }
        return std::move(r).error();
      }
      stats.from_peer += *r;
      auto& dst = o.echo ? to_peer : to_plain;
      dst.insert(dst.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
    }
    // Plain side → peer, written in this same pass (waiting for the next
    // poll would hold the bytes until its timeout).
    if (plain_in_ready && !plain_eof && o.plain_in >= 0 && to_peer.size() < kCap) {
      const ssize_t n = ::read(o.plain_in, buf.data(), buf.size());
      if (n > 0) {
        to_peer.insert(to_peer.end(), buf.begin(), buf.begin() + n);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        plain_eof = true;
      }
    }
    if (!to_peer.empty() && !peer_shut) {
      auto w = conn.write(to_peer);
      if (w) {
        stats.to_peer += *w;
        to_peer.erase(to_peer.begin(), to_peer.begin() + static_cast<std::ptrdiff_t>(*w));
      } else if (!is_would_block(w.error())) {
        return std::move(w).error();
      }
    }
    if (!to_plain.empty() && plain_out_ready && o.plain_out >= 0) {
      const ssize_t n = ::write(o.plain_out, to_plain.data(), to_plain.size());
      if (n > 0) {
        to_plain.erase(to_plain.begin(), to_plain.begin() + n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return Error{ErrorCode::IoError, std::string("write: ") + std::strerror(errno)};
      }
    } else if (o.plain_out < 0) {
      to_plain.clear();
    }
    plain_in_ready = plain_out_ready = false;

    // Ends travel like TCP half-closes (RFC 8446 §6.1: close_notify ends one
    // direction). Echo: done when the peer ended and its bytes are back.
    if (o.echo && peer_eof && to_peer.empty()) {
      close_gracefully(conn);
      return ok();
    }
    if (!o.echo) {
      // The peer ended its direction and everything it sent is delivered:
      // end the plain side's too (standard output: the session is over).
      if (peer_eof && to_plain.empty() && !plain_shut) {
        if (!plain_is_socket) {
          return ok();
        }
        ::shutdown(o.plain_out, SHUT_WR);
        plain_shut = true;
      }
      // The plain side ended and everything it sent is out: close_notify,
      // and keep reading the peer's answer.
      if (plain_eof && to_peer.empty() && !peer_shut) {
        ATLS_TRY(conn.shutdown_write());
        peer_shut = true;
        linger_until = SteadyClock::now() + o.linger;
      }
      if (peer_eof && to_plain.empty() && plain_eof && to_peer.empty()) {
        close_gracefully(conn);
        return ok();
      }
      // A last resort against a peer that never ends its direction.
      if (linger_until && SteadyClock::now() >= *linger_until) {
        close_gracefully(conn);
        return ok();
      }
    }
    if (o.reattest_every.count() > 0 && SteadyClock::now() >= next_reattest) {
      ATLS_TRY(conn.reattest());
      next_reattest = SteadyClock::now() + o.reattest_every;
    }

    // Wait for something to do.
    std::vector<pollfd> fds;
    short conn_events = 0;
    // Read interest only with room to put the bytes (backpressure), or
    // when the engine itself needs input (protocol frames, a handshake).
    if ((!peer_eof && to_plain.size() < kCap && to_peer.size() < kCap) || conn.want_read()) {
      conn_events |= POLLIN;
    }
    if (conn.want_write()) {
      conn_events |= POLLOUT;
    }
    fds.push_back({conn.fd(), conn_events, 0});
    int in_idx = -1;
    int out_idx = -1;
    if (o.plain_in >= 0 && !plain_eof && to_peer.size() < kCap) {
      in_idx = static_cast<int>(fds.size());
      fds.push_back({o.plain_in, POLLIN, 0});
    }
    if (o.plain_out >= 0 && !to_plain.empty()) {
      out_idx = static_cast<int>(fds.size());
      fds.push_back({o.plain_out, POLLOUT, 0});
    }
    if (o.stop != nullptr) {
      fds.push_back({o.stop->fd(), POLLIN, 0});
    }
    int wait = 200;
    if (conn.timeout_ms() >= 0) {
      wait = std::min(wait, conn.timeout_ms());
    }
    const int n = ::poll(fds.data(), fds.size(), wait);
    if (in_idx >= 0 &&
        (fds[static_cast<std::size_t>(in_idx)].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      plain_in_ready = true;
    }
    if (out_idx >= 0 &&
        (fds[static_cast<std::size_t>(out_idx)].revents & (POLLOUT | POLLHUP | POLLERR)) != 0) {
      plain_out_ready = true;
    }
    if (n == 0 || (fds[0].revents & (POLLOUT)) != 0) {
      // Timers (attestation timeout, re-attestation) and pending protocol
      // work run here when no application data moves.
      auto p = conn.process();
      if (!p && !is_would_block(p.error())) {
        if (p.error().code == ErrorCode::ConnectionClosed) {
          peer_eof = true;
        } else {
          return std::move(p).error();
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------

std::string describe_result(const AttestationResult& r) {
  std::string out;
  out += "  verdict:     accepted (" + std::string(tier_name(r.status())) + ")\n";
  out += "  evidence:    " + r.media_type() + "\n";
  out +=
      "  machine id:  " + (r.machine_id().empty() ? std::string("(none)") : r.machine_id()) + "\n";
  out += "  root:        " +
         std::string(r.hardware_rooted() ? "hardware" : "software (not hardware-backed)") + "\n";
  out += "  valid until: " + ossl::format_time(r.valid_until()) + "\n";
  for (const auto& s : r.submods()) {
    out += "  submodule " + s.name + ": " + std::string(tier_name(s.status));
    if (!s.policy_id.empty()) {
      out += " (policy " + s.policy_id + ")";
    }
    out += "\n";
    for (const auto& f : s.findings) {
      out += "    note: " + std::string(error_name(f.code)) + ": " + f.detail + "\n";
    }
  }
  return out;
}

std::string result_summary(const Connection& conn) {
  if (conn.is_plain_tls()) {
    return "attestation=none (plain TLS peer)";
  }
  const AttestationResult* r = conn.peer_result();
  if (r == nullptr) {
    return "attestation=not-requested";
  }
  std::string s = "attestation=" + std::string(tier_name(r->status())) +
                  " evidence=" + r->media_type() +
                  " machine=" + (r->machine_id().empty() ? std::string("-") : r->machine_id());
  if (conn.attestation_count() > 1) {
    s += " attestations=" + std::to_string(conn.attestation_count());
  }
  return s;
}

nlohmann::json result_json(const Connection& conn) {
  nlohmann::json j = nlohmann::json::object();
  j["plain_tls"] = conn.is_plain_tls();
  j["attested"] = conn.is_attested();
  j["attestation_count"] = conn.attestation_count();
  const AttestationResult* r = conn.peer_result();
  if (r != nullptr) {
    j["status"] = std::string(tier_name(r->status()));
    j["media_type"] = r->media_type();
    j["machine_id"] = r->machine_id();
    j["hardware_rooted"] = r->hardware_rooted();
    j["verified_at"] = r->verified_at();
    j["valid_until"] = r->valid_until();
    nlohmann::json submods = nlohmann::json::array();
    for (const auto& s : r->submods()) {
      nlohmann::json findings = nlohmann::json::array();
      for (const auto& f : s.findings) {
        findings.push_back({{"code", std::string(error_name(f.code))}, {"detail", f.detail}});
      }
      submods.push_back({{"name", s.name},
                         {"status", std::string(tier_name(s.status))},
                         {"policy_id", s.policy_id},
                         {"findings", findings}});
    }
    j["submods"] = submods;
  }
  return j;
}

nlohmann::json error_json(const Error& e, const Connection* conn) {
  nlohmann::json j = {{"error", std::string(e.name())},
                      {"category", std::string(category_name(e.category()))},
                      {"detail", e.to_string()}};
  if (conn != nullptr) {
    if (auto a = conn->peer_alert()) {
      j["peer_alert"] = {{"code", a->code}, {"reason", a->reason}};
    }
  }
  return j;
}

}  // namespace atls::tools
