#pragma once

// The kernel's byte counters of a TCP socket (tools/net.h includes this).
// Apart from net.h because it needs the Linux <linux/tcp.h>, which cannot be
// mixed with glibc's <netinet/tcp.h>.

#include <cstdint>

namespace atls::tools {

// WireBytes are the TCP payload bytes a socket sent and received so far
// (kernel counters, so they include everything a library wrote to it).
struct WireBytes {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t total() const { return sent + received; }
};

// wire_bytes reads the kernel's counters for |fd| (zero when unavailable).
WireBytes wire_bytes(int fd);

}  // namespace atls::tools
