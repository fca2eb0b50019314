// wire_bytes (tools/wire_bytes.h) from the Linux tcp_info, whose byte
// counters glibc's <netinet/tcp.h> lacks.

#include "tools/wire_bytes.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace atls::tools {

WireBytes wire_bytes(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  WireBytes w;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) {
    w.sent = info.tcpi_bytes_sent;
    w.received = info.tcpi_bytes_received;
  }
  return w;
}

}  // namespace atls::tools
