#include "bench/sidecar_tunnels.h"

#include "tools/child.h"
#include "tools/dev_cert.h"
#include "tools/net.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

namespace atls::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Echo backend

constexpr std::size_t kEchoBuffer = 256 * 1024;

struct EchoConn {
  tools::Fd fd;
  std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(kEchoBuffer);
  std::size_t off = 0;  // first unsent byte
  std::size_t len = 0;  // unsent bytes
  bool eof = false;     // the client ended its direction
  bool done = false;    // closed or failed: remove
};

// pump_read reads what fits; pump_write writes what is buffered.
void pump_read(EchoConn& c) {
  if (c.off + c.len == c.buf.size() && c.off > 0) {
    std::memmove(c.buf.data(), c.buf.data() + c.off, c.len);
    c.off = 0;
  }
  const std::size_t room = c.buf.size() - c.off - c.len;
  if (room == 0) {
    return;
  }
  const ssize_t n = ::recv(c.fd.get(), c.buf.data() + c.off + c.len, room, 0);
  if (n > 0) {
    c.len += static_cast<std::size_t>(n);
  } else if (n == 0) {
    c.eof = true;
  } else if (errno != EAGAIN && errno != EINTR) {
    c.done = true;
  }
}

void pump_write(EchoConn& c) {
  const ssize_t n = ::send(c.fd.get(), c.buf.data() + c.off, c.len, MSG_NOSIGNAL);
  if (n > 0) {
    c.off += static_cast<std::size_t>(n);
    c.len -= static_cast<std::size_t>(n);
    if (c.len == 0) {
      c.off = 0;
    }
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    c.done = true;
  }
}

// ---------------------------------------------------------------------------
// Processes

std::string tail(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  while (lines > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      return text;
    }
    --lines;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

Result<std::unique_ptr<test::ChildProcess>> start_child(std::vector<std::string> argv,
                                                        const std::string& log) {
  test::ProcessOptions o;
  o.argv = std::move(argv);
  o.output_file = log;
  return test::ChildProcess::start(o);
}

// wait_listening reads the port from the child's first
// {"event":"listening",...,"port":N} line.
Result<std::uint16_t> wait_listening(test::ChildProcess& child, const std::string& what) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (steady_clock::now() < deadline) {
    std::istringstream lines(child.output());
    std::string line;
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == "listening" && j.contains("port") &&
          j["port"].is_number_unsigned() && j["port"].get<unsigned>() > 0 &&
          j["port"].get<unsigned>() < 65536) {
        return static_cast<std::uint16_t>(j["port"].get<unsigned>());
      }
    }
    if (!child.is_running()) {
      return Error{ErrorCode::IoError, what + " exited: " + tail(child.output(), 5)};
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return Error{ErrorCode::IoError,
               what + " printed no listening line in 10 s: " + tail(child.output(), 5)};
}

// wait_accepting waits until 127.0.0.1:|port| accepts a TCP connection.
Result<void> wait_accepting(test::ChildProcess& child, std::uint16_t port,
                            const std::string& what) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (steady_clock::now() < deadline) {
    if (!child.is_running()) {
      return Error{ErrorCode::IoError, what + " exited: " + tail(child.output(), 5)};
    }
    if (tools::connect_tcp({"127.0.0.1", port}, 200)) {
      return ok();
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return Error{ErrorCode::IoError,
               what + " did not accept within 10 s: " + tail(child.output(), 5)};
}

// free_port returns a loopback port that was free a moment ago (stunnel
// cannot report a port it chose itself).
Result<std::uint16_t> free_port() {
  ATLS_ASSIGN_OR_RETURN(tools::Fd s, tools::listen_tcp({"127.0.0.1", 0}, 1));
  const std::uint16_t port = tools::local_port(s.get());
  if (port == 0) {
    return Error{ErrorCode::IoError, "no free loopback port"};
  }
  return port;
}

std::string stunnel_config(const test::TempDir& dir, const std::string& name, bool client,
                           std::uint16_t accept, std::uint16_t connect) {
  std::string c = "foreground = yes\nsyslog = no\npid = " + dir.file(name + ".pid") + "\n";
  c += "[" + name + "]\n";
  c += "accept = 127.0.0.1:" + std::to_string(accept) + "\n";
  c += "connect = 127.0.0.1:" + std::to_string(connect) + "\n";
  if (client) {
    c += "client = yes\nCAfile = " + dir.file("cert.pem") +
         "\nverifyChain = yes\ncheckHost = localhost\n";
  } else {
    c += "cert = " + dir.file("cert.pem") + "\nkey = " + dir.file("key.pem") + "\n";
  }
  c += "sslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.3\nsessionResume = no\n";
  c += "socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n";
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------

Result<std::uint16_t> EchoServer::start() {
  ATLS_ASSIGN_OR_RETURN(tools::Fd listener, tools::listen_tcp({"127.0.0.1", 0}, 1024));
  if (::pipe2(m_wake, O_CLOEXEC) != 0) {
    return tools::socket_error("pipe");
  }
  const int flags = ::fcntl(listener.get(), F_GETFL);
  ::fcntl(listener.get(), F_SETFL, flags | O_NONBLOCK);
  const std::uint16_t port = tools::local_port(listener.get());
  m_listener = listener.release();
  m_thread = std::thread([this] { loop(); });
  return port;
}

void EchoServer::stop() {
  if (m_thread.joinable()) {
    const char b = 0;
    (void)::write(m_wake[1], &b, 1);
    m_thread.join();
  }
  for (int* fd : {&m_listener, &m_wake[0], &m_wake[1]}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
}

void EchoServer::loop() {
  std::vector<std::unique_ptr<EchoConn>> conns;
  std::vector<pollfd> fds;
  for (;;) {
    fds.assign({{m_listener, POLLIN, 0}, {m_wake[0], POLLIN, 0}});
    for (const auto& c : conns) {
      short events = 0;
      if (!c->eof && c->len < c->buf.size()) {
        events |= POLLIN;  // a full buffer stops reading (backpressure)
      }
      if (c->len > 0) {
        events |= POLLOUT;
      }
      fds.push_back({c->fd.get(), events, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (fds[1].revents != 0) {
      return;  // stop(); the connections close with |conns|
    }
    for (std::size_t i = 0; i < conns.size(); ++i) {
      EchoConn& c = *conns[i];
      const short re = fds[i + 2].revents;
      if ((re & (POLLIN | POLLHUP | POLLERR)) != 0 && !c.eof) {
        pump_read(c);
      }
      if ((re & POLLOUT) != 0 || c.len > 0) {
        pump_write(c);
      }
      if (c.eof && c.len == 0 && !c.done) {
        ::shutdown(c.fd.get(), SHUT_WR);  // the echo ends as the request did
        c.done = true;
      }
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(),
                               [](const std::unique_ptr<EchoConn>& c) { return c->done; }),
                conns.end());
    if ((fds[0].revents & POLLIN) != 0) {
      for (;;) {
        const int fd = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
          break;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<EchoConn>();
        c->fd = tools::Fd(fd);
        conns.push_back(std::move(c));
      }
    }
  }
}

double Tunnel::cpu_seconds() const {
  double total = 0;
  for (const auto* p : {server.get(), client.get()}) {
    if (p != nullptr) {
      total += std::max(0.0, tools::child_cpu_seconds(p->pid()));
    }
  }
  return total;
}

std::string Tunnel::describe_failure() {
  std::string out;
  for (auto* p : {server.get(), client.get()}) {
    if (p == nullptr) {
      continue;
    }
    const char* which = p == server.get() ? "server side" : "client side";
    out += std::string("; ") + which + (p->is_running() ? "" : " (exited)") + ": " +
           tail(p->output(), 3);
  }
  return out;
}

Result<std::unique_ptr<Tunnel>> start_atls_pair(const std::string& atls, std::uint16_t echo_port) {
  auto t = std::make_unique<Tunnel>();
  if (t->dir.path().empty()) {
    return Error{ErrorCode::IoError, "no temporary directory"};
  }
  // The server's certificate is a self-signed one for localhost that the
  // client verifies (as the stunnel pair and the handshake benchmark do).
  ATLS_ASSIGN_OR_RETURN(const tools::DevCert cert, tools::make_dev_cert("localhost"));
  if (!test::write_text_file(t->dir.file("cert.pem"), cert.cert_pem) ||
      !test::write_text_file(t->dir.file("key.pem"), cert.key_pem)) {
    return Error{ErrorCode::IoError, "cannot write the certificate in " + t->dir.path()};
  }
  const std::string policy = t->dir.file("policy.json");
  ATLS_ASSIGN_OR_RETURN(
      t->server, start_child({atls, "serve", "--attester", "software", "--cert",
                              t->dir.file("cert.pem"), "--key", t->dir.file("key.pem"), "--backend",
                              "127.0.0.1:" + std::to_string(echo_port), "--listen", "127.0.0.1:0",
                              "--json", "--policy-out", policy},
                             t->dir.file("serve.log")));
  ATLS_ASSIGN_OR_RETURN(const std::uint16_t serve_port, wait_listening(*t->server, "atls serve"));
  ATLS_ASSIGN_OR_RETURN(t->client,
                        start_child({atls, "connect", "127.0.0.1:" + std::to_string(serve_port),
                                     "--listen", "127.0.0.1:0", "--ca", t->dir.file("cert.pem"),
                                     "--servername", "localhost", "--policy", policy, "--json"},
                                    t->dir.file("connect.log")));
  ATLS_ASSIGN_OR_RETURN(t->port, wait_listening(*t->client, "atls connect"));
  return t;
}

Result<std::unique_ptr<Tunnel>> start_stunnel_pair(const std::string& stunnel,
                                                   std::uint16_t echo_port) {
  if (::access(stunnel.c_str(), X_OK) != 0) {
    return Error{ErrorCode::IoError,
                 stunnel + " not found (Debian package stunnel4; scripts/install-deps.sh)"};
  }
  auto t = std::make_unique<Tunnel>();
  if (t->dir.path().empty()) {
    return Error{ErrorCode::IoError, "no temporary directory"};
  }
  ATLS_ASSIGN_OR_RETURN(const tools::DevCert cert, tools::make_dev_cert("localhost"));
  ATLS_ASSIGN_OR_RETURN(const std::uint16_t server_port, free_port());
  ATLS_ASSIGN_OR_RETURN(const std::uint16_t client_port, free_port());
  if (!test::write_text_file(t->dir.file("cert.pem"), cert.cert_pem) ||
      !test::write_text_file(t->dir.file("key.pem"), cert.key_pem) ||
      !test::write_text_file(t->dir.file("server.conf"),
                             stunnel_config(t->dir, "server", false, server_port, echo_port)) ||
      !test::write_text_file(t->dir.file("client.conf"),
                             stunnel_config(t->dir, "client", true, client_port, server_port))) {
    return Error{ErrorCode::IoError, "cannot write the stunnel files in " + t->dir.path()};
  }
  ATLS_ASSIGN_OR_RETURN(
      t->server, start_child({stunnel, t->dir.file("server.conf")}, t->dir.file("server.log")));
  ATLS_TRY(wait_accepting(*t->server, server_port, "stunnel server"));
  ATLS_ASSIGN_OR_RETURN(
      t->client, start_child({stunnel, t->dir.file("client.conf")}, t->dir.file("client.log")));
  ATLS_TRY(wait_accepting(*t->client, client_port, "stunnel client"));
  t->port = client_port;
  return t;
}

std::string default_atls_path() {
#ifdef ATLS_CLI_PATH
  return ATLS_CLI_PATH;
#else
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("atls") : (self.parent_path().parent_path() / "tools" / "atls").string();
#endif
}

}  // namespace atls::bench
