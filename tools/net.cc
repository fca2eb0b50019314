#include "tools/net.h"

namespace atls::tools {

Result<HostPort> parse_host_port(std::string_view s) {
  HostPort hp;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Error{ErrorCode::InvalidArgument, std::string(s) + ": expected [ADDR]:PORT"};
    }
    hp.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      hp.host = "127.0.0.1";
      port = s;
    } else {
      hp.host = std::string(s.substr(0, colon));
      port = s.substr(colon + 1);
    }
    if (hp.host.empty()) {
      hp.host = "127.0.0.1";
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Error{ErrorCode::InvalidArgument, std::string(s) + ": expected HOST:PORT"};
  }
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

Error socket_error(const std::string& what) {
  return Error{ErrorCode::IoError, what + ": " + std::strerror(errno)};
}

Result<Fd> listen_tcp(const HostPort& hp, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(hp.port);
  if (const int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Error{ErrorCode::IoError, hp.to_string() + ": " + ::gai_strerror(rc)};
  }
  Error last{ErrorCode::IoError, hp.to_string() + ": no address"};
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Fd s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!s.is_open()) {
      last = socket_error("socket");
      continue;
    }
    const int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      last = socket_error("bind " + hp.to_string());
      continue;
    }
    if (::listen(s.get(), backlog) != 0) {
      last = socket_error("listen " + hp.to_string());
      continue;
    }
    ::freeaddrinfo(res);
    return s;
  }
  ::freeaddrinfo(res);
  return last;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return 0;
  }
  if (ss.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

std::string peer_name(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return "?";
  }
  char host[INET6_ADDRSTRLEN] = {};
  HostPort hp;
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    hp.port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    hp.port = ntohs(a->sin_port);
  }
  hp.host = host;
  return hp.to_string();
}

namespace {

// lookup_tcp resolves |hp| for a TCP connection; free the list with
// freeaddrinfo.
Result<addrinfo*> lookup_tcp(const HostPort& hp) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(hp.port);
  if (const int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Error{ErrorCode::IoError, hp.to_string() + ": " + ::gai_strerror(rc)};
  }
  return res;
}

}  // namespace

Result<Fd> connect_tcp(const HostPort& hp, int timeout_ms) {
  ATLS_ASSIGN_OR_RETURN(addrinfo* const res, lookup_tcp(hp));
  Error last{ErrorCode::IoError, hp.to_string() + ": no address"};
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Fd s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!s.is_open()) {
      last = socket_error("socket");
      continue;
    }
    int rc = ::connect(s.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{s.get(), POLLOUT, 0};
      rc = ::poll(&p, 1, timeout_ms);
      if (rc == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        errno = err;
        rc = err == 0 ? 0 : -1;
      } else {
        errno = rc == 0 ? ETIMEDOUT : errno;
        rc = -1;
      }
    }
    if (rc != 0) {
      last = socket_error("connect " + hp.to_string());
      continue;
    }
    const int flags = ::fcntl(s.get(), F_GETFL);
    ::fcntl(s.get(), F_SETFL, flags & ~O_NONBLOCK);
    const int one = 1;
    ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(res);
    return s;
  }
  ::freeaddrinfo(res);
  return last;
}

Result<SocketAddress> resolve_tcp(const HostPort& hp) {
  ATLS_ASSIGN_OR_RETURN(addrinfo* const res, lookup_tcp(hp));
  SocketAddress a;
  a.name = hp.to_string();
  std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.length = res->ai_addrlen;
  ::freeaddrinfo(res);
  return a;
}

Result<Fd> connect_start(const SocketAddress& a) {
  Fd s(::socket(a.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.is_open()) {
    return socket_error("socket");
  }
  const int one = 1;
  ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0 &&
      errno != EINPROGRESS) {
    return socket_error("connect " + a.name);
  }
  return s;
}

Result<void> connect_result(int fd, const std::string& what) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    return socket_error("connect " + what);
  }
  if (err != 0) {
    errno = err;
    return socket_error("connect " + what);
  }
  return ok();
}

}  // namespace atls::tools
