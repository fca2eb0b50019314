#pragma once

// The sidecar behind `atls serve` and `atls connect --listen`
// (docs/sidecar.md): one event loop (standalone Asio) holds every
// connection, so a connection costs memory, not a thread; attestation work
// that may block (Evidence from a TPM, a Verifier call, appraisal) runs on a
// small worker pool (Connection::defer_attestation_work). It owns the
// limits (open connections, connections in handshake, per-connection
// buffers, the handshake deadline), SIGTERM/SIGINT drain, SIGHUP reload,
// the JSON log lines and the metrics endpoint.

#include "tools/net.h"

#include <atls/config.h>
#include <atls/connection.h>
#include <atls/result.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace atls::tools {

// The listen backlog of the sidecar's listener: connections beyond the
// limits wait here.
constexpr int kListenBacklog = 4096;

struct SidecarOptions {
  std::size_t max_connections = 10000;
  std::size_t max_handshakes = 4096;
  int handshake_timeout_ms = 15000;
  std::size_t workers = 2;
  std::size_t buffer_kib = 256;
  int drain_timeout_ms = 30000;
  int linger_ms = 30000;
  int reattest_ms = 0;
  int connect_timeout_ms = 5000;
  std::string metrics;  // HOST:PORT, empty: none
  std::uint64_t count = 0;
  bool json = false;
  bool quiet = false;  // connect: log only failures
};

// add_sidecar_options adds the flags of SidecarOptions (not --json, --count,
// --reattest-ms, --linger-ms and --handshake-timeout-ms, which the commands
// already have) to |cmd|.
void add_sidecar_options(CLI::App* cmd, SidecarOptions* o);

// A generation of configuration: what SIGHUP rebuilds. Connections keep the
// generation they started with.
struct SidecarGeneration {
  std::shared_ptr<const Config> config;
  std::shared_ptr<Server> server;  // serve: runs the server side (accept_fd)
};
using SidecarLoader = std::function<Result<std::shared_ptr<const SidecarGeneration>>()>;

enum class SidecarMode : std::uint8_t { ServeEcho, ServeBackend, Connect, Gateway };

// Gateway mode: what an attested client receives (its token file), made
// from its Connection; the connection then closes. A failure ends the
// connection with that error.
using GatewayIssuer = std::function<Result<std::string>(const Connection&)>;

struct SidecarSetup {
  SidecarMode mode = SidecarMode::ServeEcho;
  Fd listener;             // listening socket (non-blocking is set here)
  HostPort target;         // ServeBackend: the backend; Connect: the server
  std::string servername;  // Connect: SNI and WebPKI name
  GatewayIssuer issue;     // Gateway
  std::shared_ptr<const SidecarGeneration> initial;
  SidecarLoader reload;  // SIGHUP; null: SIGHUP is logged and ignored
  SidecarOptions options;
  std::string name;          // "serve" or "connect": the text log prefix
  nlohmann::json listening;  // the fields of the "listening" line
  std::string listening_text;
};

// run_sidecar serves until --count connections have finished, or a signal
// and the drain. Returns the process exit code.
int run_sidecar(SidecarSetup setup);

// raise_fd_limit lifts the soft RLIMIT_NOFILE to the hard limit.
void raise_fd_limit();

}  // namespace atls::tools
