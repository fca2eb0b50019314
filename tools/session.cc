#include "tools/session.h"

#include "src/ossl/x509.h"
#include "tools/relay.h"

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
  RelayOptions ro;
  ro.plain_in = o.plain_in;
  ro.plain_out = o.plain_out;
  ro.echo = o.echo;
  Relay relay(conn, ro);
  std::optional<SteadyClock::time_point> linger_until;
  auto next_reattest = SteadyClock::now() + o.reattest_every;
  // Re-attestation is for a peer this side appraises.
  const bool reattest =
      o.reattest_every.count() > 0 && conn.peer_result() != nullptr && !conn.is_plain_tls();
  bool plain_readable = false;
  auto result = [&]() -> Result<void> {
    for (;;) {
      if (o.stop != nullptr && o.stop->stopped()) {
        return ok();
      }
      ATLS_TRY(relay.step(plain_readable));
      if (relay.done()) {
        return ok();
      }
      if (relay.our_direction_closed() && !linger_until) {
        linger_until = SteadyClock::now() + o.linger;
      }
      // A last resort against a peer that never ends its direction.
      if (linger_until && SteadyClock::now() >= *linger_until) {
        return ok();
      }
      if (reattest && SteadyClock::now() >= next_reattest) {
        ATLS_TRY(conn.reattest());
        next_reattest = SteadyClock::now() + o.reattest_every;
      }
      // Wait for something to do: no timed polling, only the timers.
      pollfd fds[4] = {};
      nfds_t n = 0;
      fds[n++] = {conn.fd(),
                  static_cast<short>((relay.wants_conn_read() ? POLLIN : 0) |
                                     (relay.wants_conn_write() ? POLLOUT : 0)),
                  0};
      const nfds_t in_idx = n;
      if (relay.wants_plain_read()) {
        fds[n++] = {o.plain_in, POLLIN, 0};
      }
      const nfds_t out_idx = n;
      if (relay.wants_plain_write()) {
        fds[n++] = {o.plain_out, POLLOUT, 0};
      }
      if (o.stop != nullptr) {
        fds[n++] = {o.stop->fd(), POLLIN, 0};
      }
      int wait = conn.timeout_ms();
      auto take = [&wait](SteadyClock::time_point at) {
        const int ms = remaining_ms(at) + 1;
        wait = wait < 0 ? ms : std::min(wait, ms);
      };
      if (linger_until) {
        take(*linger_until);
      }
      if (reattest) {
        take(next_reattest);
      }
      ::poll(fds, n, relay.more() ? 0 : wait);
      plain_readable = in_idx < n && in_idx != out_idx &&
                       (fds[in_idx].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    }
  }();
  stats.from_peer = relay.stats().from_peer;
  stats.to_peer = relay.stats().to_peer;
  if (result) {
    close_gracefully(conn);
  }
  return result;
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
  if (conn.via_gateway_token() && conn.peer_result() == nullptr) {
    return "attestation=none (gateway token: the server holds the gateway key)";
  }
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
  if (conn.via_gateway_token()) {
    return s + " via=gateway-token";
  }
  s += std::string(conn.peer_pushed() ? " pushed" : "") +
       " label=" + std::string(exporter_label_name(conn.exporter_label()));
  return s;
}

nlohmann::json result_json(const Connection& conn) {
  nlohmann::json j = nlohmann::json::object();
  j["plain_tls"] = conn.is_plain_tls();
  j["gateway_token"] = conn.via_gateway_token();
  j["attested"] = conn.is_attested();
  j["attestation_count"] = conn.attestation_count();
  if (!conn.is_plain_tls() && !conn.via_gateway_token()) {
    j["exporter_label"] = std::string(exporter_label_name(conn.exporter_label()));
    j["pushed"] = conn.peer_pushed();
  }
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
