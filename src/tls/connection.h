#pragma once

// The library's way into a Connection, and sockets for Client and Server:
// TCP connect and listen (blocking calls that return an fd the caller owns).

#include <atls/connection.h>
#include <atls/result.h>

#include <cstdint>
#include <memory>
#include <string>

namespace atls::internal {

class Engine;

// ConnectionAccess is a friend of Connection: <atls/connection.h> shows no
// engine.
struct ConnectionAccess {
  // adopt wraps an engine (which the Connection then owns).
  static Connection adopt(std::unique_ptr<Engine> engine);
};

// tcp_connect resolves |host| and connects to |port|; returns the socket.
// Fails with IoError (the detail names the address and errno).
Result<int> tcp_connect(const std::string& host, std::uint16_t port);

// tcp_listen binds |address| (an IP literal) and |port| (0: any) and
// listens; returns the socket. Fails with InvalidArgument or IoError.
Result<int> tcp_listen(const std::string& address, std::uint16_t port);

// local_port returns the bound port of a socket (0 on failure).
std::uint16_t local_port(int fd);

}  // namespace atls::internal
