#pragma once

// Inside the sidecar (tools/sidecar.h): the event loop that accepts and
// owns the connections, and Tunnel, one connection's state machine. Both run
// on the loop thread only; attestation work goes to the worker pool and
// comes back to the loop with its result.

#include "tools/relay.h"
#include "tools/sidecar.h"
#include "tools/sidecar_metrics.h"

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace atls::tools {

using SteadyClock = std::chrono::steady_clock;

class Tunnel;

class SidecarLoop {
 public:
  explicit SidecarLoop(SidecarSetup setup);
  ~SidecarLoop();
  SidecarLoop(const SidecarLoop&) = delete;
  SidecarLoop& operator=(const SidecarLoop&) = delete;

  // run serves until the end (count reached, or a signal and the drain).
  int run();

  asio::io_context& io() { return m_io; }
  asio::thread_pool& pool() { return *m_pool; }
  const SidecarSetup& setup() const { return m_setup; }
  const SidecarOptions& options() const { return m_setup.options; }
  const SocketAddress& target() const { return m_target; }
  SidecarMetrics& metrics() { return m_metrics; }
  // log writes one line: |j| with --json, else |text| after the prefix.
  // |routine| lines are left out with --quiet.
  void log(const nlohmann::json& j, const std::string& text, bool routine = false);

  // A tunnel reports that its handshake ended (either way), and that it is done.
  void handshake_over();
  void finished(std::uint64_t id);

 private:
  void run_loop();
  void reserve_descriptor_states();
  void wait_accept();
  void accept_some();
  bool may_accept() const;
  void wait_signal();
  void on_signal(int sig);
  void start_drain();
  void reload();
  void update_gauges();
  void maybe_end();

  SidecarSetup m_setup;
  asio::io_context m_io;
  std::unique_ptr<asio::thread_pool> m_pool;
  asio::posix::stream_descriptor m_listen_sd;
  asio::signal_set m_signals;
  asio::steady_timer m_drain_timer;
  SocketAddress m_target;
  std::shared_ptr<const SidecarGeneration> m_current;
  SidecarMetrics m_metrics;  // before the endpoint that reads it
  std::unique_ptr<MetricsEndpoint> m_metrics_endpoint;
  asio::steady_timer m_accept_timer;  // retries accept after EMFILE
  bool m_fd_exhausted = false;
  std::unordered_map<std::uint64_t, std::shared_ptr<Tunnel>> m_live;
  std::size_t m_handshaking = 0;
  std::uint64_t m_next_id = 1;
  std::uint64_t m_accepted = 0;
  std::uint64_t m_generation = 1;
  std::uint64_t m_finished_since_trim = 0;
  bool m_accept_waiting = false;
  bool m_listening = true;
  bool m_draining = false;
  bool m_reloading = false;
  bool m_recycle = false;  // the loop stopped to be restarted on a fresh thread
};

class Tunnel : public std::enable_shared_from_this<Tunnel> {
 public:
  Tunnel(SidecarLoop& loop, std::uint64_t id, Fd accepted, std::string peer,
         std::shared_ptr<const SidecarGeneration> generation);
  ~Tunnel();
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  void start();
  // close_now ends the connection at once (the drain deadline passed).
  void close_now();
  // abandon drops the connection without a word (the loop has stopped).
  void abandon();

 private:
  enum class Phase : std::uint8_t { TcpConnect, Handshake, BackendConnect, Relay, Closing, Done };
  enum Wait : std::uint8_t { TlsRead, TlsWrite, PlainRead, PlainWrite, kWaits };

  void step();
  Result<void> advance();
  Result<void> on_established();
  Result<void> start_relay();
  void arm();
  void wait(Wait w);
  void arm_timer(SteadyClock::time_point at);
  void hand_off();
  void finish(Result<void> outcome);
  void closing();
  void done();
  // release_io stops the timer and gives the descriptors back (they belong
  // to the Connection and the Fds, not to Asio).
  void release_io();

  SidecarLoop& m_loop;
  std::uint64_t m_id;
  std::string m_peer;
  std::shared_ptr<const SidecarGeneration> m_gen;
  Phase m_phase = Phase::Handshake;
  Fd m_accepted;  // serve: the client's socket until the Connection owns it
  Fd m_outbound;  // connect: the server's socket until the Connection owns it
  Fd m_plain;     // the plain side: the local client (connect) or the backend
  std::optional<Connection> m_conn;
  std::optional<Relay> m_relay;
  asio::posix::stream_descriptor m_tls_sd;
  asio::posix::stream_descriptor m_plain_sd;
  asio::steady_timer m_timer;
  std::optional<SteadyClock::time_point> m_timer_at;
  bool m_waiting[kWaits] = {};
  bool m_ready[kWaits] = {};
  bool m_in_worker = false;
  bool m_step_posted = false;
  bool m_handshaking = true;
  SteadyClock::time_point m_start;
  SteadyClock::time_point m_deadline;  // handshake + attestation; then connect; then closing
  std::optional<SteadyClock::time_point> m_linger_until;
  std::optional<SteadyClock::time_point> m_next_reattest;
  std::optional<Error> m_outcome;
};

}  // namespace atls::tools
