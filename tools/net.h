#pragma once

// Small socket helpers shared by `atls serve`, `atls connect`, `atls demo`,
// the handshake benchmark and the tests that start swtpm. They are not part
// of the library: they live in the atls_tools_support static library, which
// the atls command, the benchmarks and the tests link. IPv4 and IPv6
// literals and host names are accepted; callers in tests and the demo bind
// only to loopback.

#include <atls/result.h>

#include "tools/wire_bytes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace atls::tools {

// Fd owns a file descriptor; closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      m_fd = std::exchange(o.m_fd, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return m_fd; }
  bool is_open() const { return m_fd >= 0; }
  // release gives up ownership.
  int release() { return std::exchange(m_fd, -1); }
  void reset() {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }

 private:
  int m_fd = -1;
};

// HostPort is "host:port"; an IPv6 literal is written "[::1]:443".
struct HostPort {
  std::string host;
  std::uint16_t port = 0;

  std::string to_string() const {
    return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                               : host + ":" + std::to_string(port);
  }
};

// parse_host_port reads "HOST:PORT", "[V6]:PORT" or ":PORT" / "PORT"
// (loopback). Fails with InvalidArgument.
Result<HostPort> parse_host_port(std::string_view s);

// socket_error is an IoError naming |what| and errno's text.
Error socket_error(const std::string& what);

// listen_tcp binds and listens on |hp| (port 0 = any free port).
Result<Fd> listen_tcp(const HostPort& hp, int backlog = 64);

// local_port returns the port a socket is bound to (0 on failure).
std::uint16_t local_port(int fd);

// peer_name renders the remote address of a connected socket.
std::string peer_name(int fd);

// connect_tcp connects to |hp| (blocking, TCP_NODELAY set), giving up after
// |timeout_ms| per address.
Result<Fd> connect_tcp(const HostPort& hp, int timeout_ms = 10000);

// SocketAddress is one resolved address of a HostPort.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string name;  // HOST:PORT as given
};

// resolve_tcp resolves |hp| to its first address. Fails with IoError.
Result<SocketAddress> resolve_tcp(const HostPort& hp);

// connect_start begins a non-blocking connect to |a| (TCP_NODELAY set). The
// socket turns writable when the attempt is over; connect_result then tells
// how it ended (ok, or IoError naming the cause, e.g. "Connection refused").
Result<Fd> connect_start(const SocketAddress& a);
Result<void> connect_result(int fd, const std::string& what);

}  // namespace atls::tools
