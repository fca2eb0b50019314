#pragma once

// DelayRelay is a TCP relay on loopback that delays each direction by a fixed
// time: a stand-in for a network with a known round trip where the kernel's
// netem is not available (atls_rtt_bench). Every accepted connection gets a
// connection of its own to the target; each chunk read on one side is written
// to the other |one_way| after it was read (a delay line per direction, the
// chunks in order with their due times, driven by a timer), and an EOF
// becomes a shutdown(SHUT_WR) after the same delay. TCP_NODELAY on every
// socket. TCP's own handshake is not delayed: the kernel completes it with
// the relay at once, so a connect() returns immediately.
//
// One thread runs an Asio event loop (standalone Asio, as the sidecar does,
// tools/sidecar_loop.h) for all connections; the destructor stops it and
// closes everything.

#include <atls/result.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace atls::bench {

class DelayRelay {
 public:
  // start listens on 127.0.0.1 (a free port) and relays to 127.0.0.1:|target|.
  // Fails with IoError when it cannot listen.
  static Result<std::unique_ptr<DelayRelay>> start(std::uint16_t target,
                                                   std::chrono::microseconds one_way);
  ~DelayRelay();
  DelayRelay(const DelayRelay&) = delete;
  DelayRelay& operator=(const DelayRelay&) = delete;

  std::uint16_t port() const;

  struct Impl;

 private:
  explicit DelayRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m;
};

}  // namespace atls::bench
