#include "src/tls/connection.h"

#include <atls/connection.h>

#include "src/tls/engine.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

namespace atls {

namespace internal {

Result<int> tcp_connect(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    return Error{ErrorCode::IoError, host + ": " + ::gai_strerror(rc)};
  }
  std::string last = host + ": no address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      break;
    }
    last = host + ":" + service + ": " + std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    return Error{ErrorCode::IoError, last};
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

Result<int> tcp_listen(const std::string& address, std::uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return Error{ErrorCode::InvalidArgument, "not an IP address: " + address};
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{ErrorCode::IoError, std::string("socket: ") + std::strerror(errno)};
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 64) != 0) {
    const std::string what = address + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return Error{ErrorCode::IoError, what};
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return 0;
  }
  if (ss.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  if (ss.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  return 0;
}

}  // namespace internal

namespace {

// guard runs |f| and turns an escaping exception (std::bad_alloc from the
// standard library) into ErrorCode::Internal: none leaves the library.
template <class F>
auto guard(F&& f) noexcept -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, e.what()};
  } catch (...) {
    return Error{ErrorCode::Internal, "unknown exception"};
  }
}

Result<Connection> start(std::shared_ptr<const Config> config, int fd, Role role,
                         const std::string& host, IoMode mode) {
  internal::EngineOptions opts;
  opts.role = role;
  opts.host = host;
  opts.fd = fd;
  opts.owns_fd = true;
  opts.mode = mode;
  // On failure the engine has already closed the fd it owns.
  auto engine = internal::Engine::create(std::move(config), std::move(opts));
  if (!engine) {
    return std::move(engine).error();
  }
  Connection conn = internal::ConnectionAccess::adopt(std::move(*engine));
  if (mode == IoMode::Blocking) {
    ATLS_TRY(conn.handshake());
  }
  return conn;
}

}  // namespace

// ---------------------------------------------------------------------------
// Connection

Connection::Connection(std::unique_ptr<internal::Engine> engine) : m_engine(std::move(engine)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Connection internal::ConnectionAccess::adopt(std::unique_ptr<Engine> engine) {
  return Connection(std::move(engine));
}

Result<void> Connection::handshake() {
  return guard([&]() { return m_engine->handshake(); });
}
Result<std::size_t> Connection::read(std::span<std::uint8_t> out) {
  return guard([&]() { return m_engine->read(out); });
}
Result<std::size_t> Connection::write(ByteView data) {
  return guard([&]() { return m_engine->write(data); });
}
Result<void> Connection::close() {
  return guard([&]() { return m_engine->close(); });
}
Result<void> Connection::shutdown_write() {
  return guard([&]() { return m_engine->shutdown_write(); });
}
Result<void> Connection::reattest() {
  return guard([&]() { return m_engine->reattest(); });
}
Result<void> Connection::process() {
  return guard([&]() { return m_engine->process(); });
}
Result<void> Connection::defer_attestation_work(bool on) {
  return m_engine->defer_attestation_work(on);
}
bool Connection::attestation_work_pending() const {
  return m_engine->attestation_work_pending();
}
Result<void> Connection::run_attestation_work() {
  return guard([&]() { return m_engine->run_attestation_work(); });
}
bool Connection::is_attested() const {
  return m_engine->is_attested();
}
bool Connection::is_plain_tls() const {
  return m_engine->is_plain_tls();
}
const AttestationResult* Connection::peer_result() const {
  return m_engine->peer_result();
}
std::size_t Connection::attestation_count() const {
  return m_engine->attestation_count();
}
std::optional<PeerAlertInfo> Connection::peer_alert() const {
  return m_engine->peer_alert();
}

ExporterLabel Connection::exporter_label() const {
  return m_engine->exporter_label();
}

bool Connection::via_gateway_token() const {
  return m_engine->via_gateway_token();
}

bool Connection::peer_pushed() const {
  return m_engine->peer_pushed();
}
int Connection::fd() const {
  return m_engine->fd();
}
bool Connection::want_read() const {
  return m_engine->want_read();
}
bool Connection::want_write() const {
  return m_engine->want_write();
}
int Connection::timeout_ms() const {
  return m_engine->timeout_ms();
}

// ---------------------------------------------------------------------------
// Client

Result<Connection> Client::connect(std::shared_ptr<const Config> config, const std::string& host,
                                   std::uint16_t port, IoMode mode) {
  return guard([&]() -> Result<Connection> {
    if (!config) {
      return Error{ErrorCode::InvalidArgument, "null config"};
    }
    ATLS_ASSIGN_OR_RETURN(const int fd, internal::tcp_connect(host, port));
    return start(std::move(config), fd, Role::Client, host, mode);
  });
}

Result<Connection> Client::connect_fd(std::shared_ptr<const Config> config, int fd,
                                      const std::string& host, IoMode mode) {
  return guard([&]() -> Result<Connection> {
    if (!config || fd < 0) {
      if (fd >= 0) {
        ::close(fd);
      }
      return Error{ErrorCode::InvalidArgument, "null config or bad fd"};
    }
    return start(std::move(config), fd, Role::Client, host, mode);
  });
}

// ---------------------------------------------------------------------------
// Server

Server::Server(std::shared_ptr<const Config> config, int fd, std::uint16_t port)
    : m_config(std::move(config)), m_fd(fd), m_port(port) {}

Server::Server(Server&& o) noexcept
    : m_config(std::move(o.m_config)), m_fd(std::exchange(o.m_fd, -1)), m_port(o.m_port) {}

Server& Server::operator=(Server&& o) noexcept {
  if (this != &o) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_config = std::move(o.m_config);
    m_fd = std::exchange(o.m_fd, -1);
    m_port = o.m_port;
  }
  return *this;
}

Server::~Server() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

Result<Server> Server::listen(std::shared_ptr<const Config> config, const std::string& address,
                              std::uint16_t port) {
  return guard([&]() -> Result<Server> {
    if (!config) {
      return Error{ErrorCode::InvalidArgument, "null config"};
    }
    if (!internal::config_state(*config).server_ctx) {
      return Error{ErrorCode::InvalidArgument,
                   "a server needs a certificate chain and key, or attestation_only_identity()"};
    }
    ATLS_ASSIGN_OR_RETURN(const int fd, internal::tcp_listen(address, port));
    return Server(std::move(config), fd, internal::local_port(fd));
  });
}

Result<Server> Server::from_listen_fd(std::shared_ptr<const Config> config, int fd) {
  if (!config || fd < 0) {
    if (fd >= 0) {
      ::close(fd);
    }
    return Error{ErrorCode::InvalidArgument, "null config or bad fd"};
  }
  return Server(std::move(config), fd, internal::local_port(fd));
}

Result<Connection> Server::accept(IoMode mode) {
  return guard([&]() -> Result<Connection> {
    int fd = -1;
    do {
      fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      return Error{ErrorCode::IoError, std::string("accept: ") + std::strerror(errno)};
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return start(m_config, fd, Role::Server, {}, mode);
  });
}

Result<Connection> Server::accept_fd(int fd, IoMode mode) {
  return guard([&]() -> Result<Connection> {
    if (fd < 0) {
      return Error{ErrorCode::InvalidArgument, "bad fd"};
    }
    return start(m_config, fd, Role::Server, {}, mode);
  });
}

}  // namespace atls
