#include "tools/sidecar.h"

#include "tools/sidecar_loop.h"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

namespace atls::tools {
namespace {

using std::chrono::milliseconds;

// Accepts per readiness event, so one busy listener cannot starve the
// connections already open.
constexpr int kAcceptBurst = 64;
// Connections finished before an idle loop returns free memory.
constexpr std::uint64_t kTrimAfter = 256;
// Descriptor states made at start (reserve_descriptor_states).
constexpr std::size_t kReservedStates = 2048;

std::mutex g_log_mu;

}  // namespace

void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

void add_sidecar_options(CLI::App* cmd, SidecarOptions* o) {
  cmd->add_option("--max-connections", o->max_connections,
                  "Connections open at once (in handshake or established); more wait in the "
                  "listen backlog")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-handshakes", o->max_handshakes,
                  "Connections still in their handshake and first attestation at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--workers", o->workers,
                  "Threads for attestation work that may block (TPM quotes, Verifier calls, "
                  "appraisal)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--buffer-kib", o->buffer_kib,
                  "Bytes held per connection and direction before reading that side pauses "
                  "(KiB)")
      ->capture_default_str()
      ->check(CLI::Range(16, 65536));
  cmd->add_option("--drain-timeout-ms", o->drain_timeout_ms,
                  "After SIGTERM/SIGINT: how long open connections may finish before they are "
                  "closed")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  cmd->add_option("--metrics", o->metrics,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free port)");
}

// ---------------------------------------------------------------------------

SidecarLoop::SidecarLoop(SidecarSetup setup)
    : m_setup(std::move(setup)),
      m_pool(std::make_unique<asio::thread_pool>(m_setup.options.workers)),
      m_listen_sd(m_io),
      m_signals(m_io, SIGINT, SIGTERM, SIGHUP),
      m_drain_timer(m_io),
      m_current(m_setup.initial),
      m_accept_timer(m_io) {}

SidecarLoop::~SidecarLoop() {
  m_pool->join();
  if (m_listen_sd.is_open()) {
    m_listen_sd.release();
  }
}

void SidecarLoop::log(const nlohmann::json& j, const std::string& text, bool routine) {
  if (routine && m_setup.options.quiet) {
    return;
  }
  const std::lock_guard<std::mutex> lock(g_log_mu);
  if (m_setup.options.json) {
    // Details may quote peer-supplied text: never throw on bad UTF-8.
    std::cerr << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n'
              << std::flush;
  } else {
    std::cerr << "atls " << m_setup.name << ": " << text << '\n' << std::flush;
  }
}

int SidecarLoop::run() {
  ::signal(SIGPIPE, SIG_IGN);
  if (m_setup.mode != SidecarMode::ServeEcho && m_setup.mode != SidecarMode::Gateway) {
    auto t = resolve_tcp(m_setup.target);
    if (!t) {
      std::cerr << "atls " << m_setup.name << ": " << t.error().name() << ": "
                << t.error().to_string() << '\n';
      return 1;
    }
    m_target = std::move(*t);
  }
  if (!m_setup.options.metrics.empty()) {
    auto m = MetricsEndpoint::start(m_setup.options.metrics, m_metrics);
    if (!m) {
      std::cerr << "atls " << m_setup.name << ": " << m.error().name() << ": "
                << m.error().to_string() << '\n';
      return 1;
    }
    m_metrics_endpoint = std::move(*m);
  }
  ::fcntl(m_setup.listener.get(), F_SETFL, ::fcntl(m_setup.listener.get(), F_GETFL) | O_NONBLOCK);
  reserve_descriptor_states();
  m_listen_sd.assign(m_setup.listener.get());
  log(m_setup.listening, m_setup.listening_text);
  if (m_metrics_endpoint) {
    const std::string at =
        HostPort{parse_host_port(m_setup.options.metrics)->host, m_metrics_endpoint->port()}
            .to_string();
    log({{"event", "metrics"}, {"address", at}, {"port", m_metrics_endpoint->port()}},
        "metrics at http://" + at + "/metrics");
  }
  wait_signal();
  wait_accept();
  auto guard = asio::make_work_guard(m_io);
  // The loop runs on a thread of its own, replaced after each burst (see
  // finished()): a thread's cache of freed blocks goes back to the
  // allocator only when the thread ends.
  for (;;) {
    std::thread loop([this] { run_loop(); });
    loop.join();
    if (!m_recycle) {
      break;
    }
    m_recycle = false;
    ::malloc_trim(0);
    m_io.restart();
  }
  // A second signal stopped the loop with connections open: drop them.
  for (auto& [id, t] : std::unordered_map(m_live)) {
    t->abandon();
  }
  m_pool->join();
  m_io.restart();
  m_io.poll();
  m_live.clear();
  log({{"event", "stopped"}, {"connections", m_accepted}},
      "stopped after " + std::to_string(m_accepted) + " connection(s)");
  return 0;
}

void SidecarLoop::reserve_descriptor_states() {
  // Asio keeps the state of every descriptor it has seen in a pool and never
  // frees it. Made during a load peak, those small objects land between the
  // peak's buffers and keep their pages resident after the peak is gone;
  // made here, at start, they sit together. Two per connection.
  const std::size_t n = std::min<std::size_t>(2 * m_setup.options.max_connections, kReservedStates);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    return;
  }
  std::vector<std::unique_ptr<asio::posix::stream_descriptor>> held;
  held.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = ::fcntl(p[0], F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      break;
    }
    auto sd = std::make_unique<asio::posix::stream_descriptor>(m_io);
    asio::error_code ec;
    sd->assign(fd, ec);
    held.push_back(std::move(sd));
  }
  for (auto& sd : held) {
    sd->close();
  }
  ::close(p[0]);
  ::close(p[1]);
}

void SidecarLoop::run_loop() {
  // A handler that throws (an allocation failure, a descriptor the reactor
  // cannot register) costs that event, not the process.
  for (;;) {
    try {
      m_io.run();
      return;
    } catch (const std::exception& e) {
      log({{"event", "error"}, {"detail", e.what()}}, std::string("event loop: ") + e.what());
    }
  }
}

bool SidecarLoop::may_accept() const {
  const SidecarOptions& o = m_setup.options;
  return m_listening && !m_draining && m_live.size() < o.max_connections &&
         m_handshaking < o.max_handshakes && (o.count == 0 || m_accepted < o.count);
}

void SidecarLoop::wait_accept() {
  if (m_accept_waiting || !may_accept()) {
    return;
  }
  m_accept_waiting = true;
  m_listen_sd.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this](const asio::error_code& ec) {
                           m_accept_waiting = false;
                           if (ec) {
                             return;
                           }
                           accept_some();
                           wait_accept();
                         });
}

void SidecarLoop::accept_some() {
  for (int i = 0; i < kAcceptBurst && may_accept(); ++i) {
    Fd fd(::accept4(m_setup.listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.is_open()) {
      if (errno == EMFILE || errno == ENFILE) {
        // The connection stays in the backlog, so the listener stays
        // readable: wait a little instead of spinning, and say it once.
        if (!m_fd_exhausted) {
          log({{"event", "refused"}, {"reason", "out of file descriptors"}},
              "accept: out of file descriptors; retrying every 100 ms");
        }
        m_fd_exhausted = true;
        m_accept_waiting = true;
        m_accept_timer.expires_after(milliseconds(100));
        m_accept_timer.async_wait([this](const asio::error_code& ec) {
          m_accept_waiting = false;
          if (!ec) {
            accept_some();
            wait_accept();
          }
        });
      }
      return;
    }
    m_fd_exhausted = false;
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string peer = peer_name(fd.get());
    const std::uint64_t id = m_next_id++;
    ++m_accepted;
    ++m_handshaking;
    auto t = std::make_shared<Tunnel>(*this, id, std::move(fd), std::move(peer), m_current);
    m_live.emplace(id, t);
    update_gauges();
    t->start();
  }
}

void SidecarLoop::handshake_over() {
  --m_handshaking;
  update_gauges();
  wait_accept();
}

void SidecarLoop::finished(std::uint64_t id) {
  // Destroy the tunnel after its handler returns.
  asio::post(m_io, [this, id] {
    m_live.erase(id);
    ++m_finished_since_trim;
    if (m_live.empty() && m_finished_since_trim >= kTrimAfter) {
      // A burst is over: give the memory it used back to the system, so
      // that a sidecar's footprint follows its load instead of its peak.
      // The workers and the loop move to fresh threads (run() restarts the
      // loop, then trims): each thread caches freed blocks of its own
      // (glibc's tcache), which keep their pages resident until it ends.
      m_finished_since_trim = 0;
      if (!m_reloading) {
        m_pool->join();
        m_pool = std::make_unique<asio::thread_pool>(m_setup.options.workers);
        m_recycle = true;
        m_io.stop();
      }
    }
    update_gauges();
    wait_accept();
    maybe_end();
  });
}

void SidecarLoop::update_gauges() {
  m_metrics.set_open(m_live.size(), m_handshaking);
}

void SidecarLoop::maybe_end() {
  const bool count_reached = m_setup.options.count != 0 && m_accepted >= m_setup.options.count;
  if ((m_draining || count_reached) && m_live.empty() && !m_reloading) {
    m_recycle = false;
    m_io.stop();
  }
}

void SidecarLoop::wait_signal() {
  m_signals.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) {
      return;
    }
    on_signal(sig);
    wait_signal();
  });
}

void SidecarLoop::on_signal(int sig) {
  if (sig == SIGHUP) {
    reload();
    return;
  }
  if (m_draining) {
    // A second request: no more waiting, not even for a worker stuck in a
    // TPM or Verifier call. The kernel closes the sockets.
    log({{"event", "stopped"}, {"connections", m_accepted}, {"abandoned", m_live.size()}},
        "stopped at once, " + std::to_string(m_live.size()) + " connection(s) abandoned");
    std::_Exit(0);
  }
  start_drain();
}

void SidecarLoop::start_drain() {
  m_draining = true;
  // New connections are refused from now on; the ones open may finish.
  if (m_listening) {
    m_listening = false;
    ::shutdown(m_setup.listener.get(), SHUT_RDWR);
    m_listen_sd.release();
    m_setup.listener.reset();
  }
  const int ms = m_setup.options.drain_timeout_ms;
  log({{"event", "draining"}, {"open", m_live.size()}, {"deadline_ms", ms}},
      "draining: " + std::to_string(m_live.size()) + " connection(s) open, up to " +
          std::to_string(ms) + " ms");
  m_drain_timer.expires_after(milliseconds(ms));
  m_drain_timer.async_wait([this](const asio::error_code& ec) {
    if (ec) {
      return;
    }
    for (auto& [id, t] : std::unordered_map(m_live)) {
      t->close_now();
    }
  });
  maybe_end();
}

void SidecarLoop::reload() {
  if (!m_setup.reload) {
    log({{"event", "reload_failed"}, {"error", "InvalidArgument"}, {"detail", "not supported"}},
        "SIGHUP: nothing to reload");
    return;
  }
  if (m_reloading) {
    return;  // one at a time; the running one reads the files anew anyway
  }
  m_reloading = true;
  // Building a configuration reads files and may open a TPM: on the pool.
  asio::post(*m_pool, [this] {
    auto g = m_setup.reload();
    asio::post(m_io, [this, g = std::move(g)]() mutable {
      m_reloading = false;
      if (!g) {
        m_metrics.reload(false);
        log({{"event", "reload_failed"},
             {"error", std::string(g.error().name())},
             {"detail", g.error().to_string()}},
            "reload failed, the previous configuration stays: " + std::string(g.error().name()) +
                ": " + g.error().to_string());
      } else {
        m_current = std::move(*g);
        ++m_generation;
        m_metrics.reload(true);
        log({{"event", "reloaded"}, {"generation", m_generation}},
            "reloaded (generation " + std::to_string(m_generation) + ")");
      }
      maybe_end();
    });
  });
}

int run_sidecar(SidecarSetup setup) {
  raise_fd_limit();
  SidecarLoop loop(std::move(setup));
  return loop.run();
}

}  // namespace atls::tools
