#pragma once

// The processes of the sidecar benchmark (bench/sidecar_bench.cc): an echo
// backend in the benchmark process, and two tunnels in front of it, each a
// client-side process with a plain loopback listener and a server-side
// process that forwards to the backend: the `atls connect --listen` ->
// `atls serve --backend` pair, and a stunnel4 client -> server pair. Every
// child is started with the tests' spawner (tests/testlib/process.h): it
// dies with the benchmark (PR_SET_PDEATHSIG) and is stopped (SIGTERM, then
// SIGKILL) and reaped when its Tunnel goes away; its files live in a
// private temporary directory removed with it.

#include <atls/result.h>

#include "tests/testlib/process.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace atls::bench {

// EchoServer echoes every byte back on every connection, on one poll
// thread, with a bounded buffer per connection (a slow reader stops the
// reading of its own connection only); when a client ends its direction,
// the echo ends too once everything is written.
class EchoServer {
 public:
  EchoServer() = default;
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  ~EchoServer() { stop(); }

  // start listens on 127.0.0.1, a free port, and returns the port.
  Result<std::uint16_t> start();
  // stop ends the thread and closes every connection (idempotent).
  void stop();

 private:
  void loop();

  int m_listener = -1;
  int m_wake[2] = {-1, -1};
  std::thread m_thread;
};

// Tunnel is a running client-side and server-side process pair. The
// members are declared so that the processes stop before their directory
// goes.
struct Tunnel {
  Tunnel() = default;
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;
  ~Tunnel() = default;

  // cpu_seconds is the CPU time both processes used so far.
  double cpu_seconds() const;
  // describe_failure is text to append to an error: which process is no
  // longer running and the end of both logs.
  std::string describe_failure();

  test::TempDir dir;
  std::unique_ptr<test::ChildProcess> server;
  std::unique_ptr<test::ChildProcess> client;
  std::uint16_t port = 0;  // the client side's plain listener on 127.0.0.1
};

// start_atls_pair writes a self-signed P-256 certificate for localhost and
// starts `atls serve --attester software --cert C --key K --backend
// 127.0.0.1:ECHO --listen 127.0.0.1:0 --json --policy-out FILE` and `atls
// connect 127.0.0.1:SERVE --listen 127.0.0.1:0 --ca C --servername localhost
// --policy FILE --json`,
// each port read from the process's {"event":"listening"} line (at most
// 10 s each). Fails with IoError (with what the process printed).
Result<std::unique_ptr<Tunnel>> start_atls_pair(const std::string& atls, std::uint16_t echo_port);

// start_stunnel_pair writes a self-signed P-256 certificate for localhost
// and the two configurations (foreground, no syslog, pid files in the
// tunnel's directory, TLS 1.3 only, no session resumption, TCP_NODELAY),
// starts `stunnel4 FILE` twice on free loopback ports and waits (at most
// 10 s each) until both accept. Fails with IoError.
Result<std::unique_ptr<Tunnel>> start_stunnel_pair(const std::string& stunnel,
                                                   std::uint16_t echo_port);

// default_atls_path is the atls command: ATLS_CLI_PATH when the build
// defines it, otherwise tools/atls next to this program's bench directory.
std::string default_atls_path();

}  // namespace atls::bench
