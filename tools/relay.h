#pragma once

// Relay moves bytes between an attested Connection and a plain descriptor
// (a backend or a local client socket; stdin and stdout), or echoes the
// peer's bytes back. It is the one home of the tunnel's rules, driven both by
// the poll loop of `atls connect` (stdin/stdout) and by the sidecar's event
// loop:
// - no timed waits: bytes move in the same step in which they arrive;
// - backpressure: each direction holds at most |buffer| bytes, and a side
//   whose buffer is full is not read until the other side has taken bytes;
//   the Connection is written to only when its own queue has drained, so it
//   holds no more than one step's bytes either;
// - half-close (RFC 8446 §6.1, docs/protocol-choices.md "Half-close"): the
//   peer's close_notify becomes a TCP FIN on the plain side once everything
//   it sent is delivered, and the plain side's EOF becomes close_notify.
// step() never blocks; the driver waits for what the wants_*() say.

#include <atls/connection.h>
#include <atls/result.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace atls::tools {

// is_would_block: the non-blocking "call again when the socket is ready".
inline bool is_would_block(const Error& e) {
  return e.category() == ErrorCategory::WouldBlock;
}

// ByteQueue is a FIFO of bytes with a read position (no copy per read).
class ByteQueue {
 public:
  std::size_t size() const { return m_data.size() - m_pos; }
  bool empty() const { return size() == 0; }
  const std::uint8_t* data() const { return m_data.data() + m_pos; }
  // tail makes room for |n| more bytes at the end and returns it; commit(k)
  // keeps the first |k| of them.
  std::uint8_t* tail(std::size_t n);
  void commit(std::size_t reserved, std::size_t k);
  void consume(std::size_t n);

 private:
  std::vector<std::uint8_t> m_data;
  std::size_t m_pos = 0;
};

struct RelayOptions {
  // Plain side: read from |plain_in|, write to |plain_out| (the same socket
  // for a tunnel; stdin/stdout for `atls connect`). Both non-blocking. -1:
  // none (with |echo|, the peer's bytes go back to it).
  int plain_in = -1;
  int plain_out = -1;
  bool echo = false;
  // Bytes sent to the peer first (`atls gateway`: the token). With no plain
  // side they are all this side sends before close_notify, and the peer's
  // bytes are discarded.
  std::vector<std::uint8_t> reply;
  // Per-direction buffer cap (backpressure).
  std::size_t buffer = 256 * 1024;
};

struct RelayStats {
  std::uint64_t from_peer = 0;
  std::uint64_t to_peer = 0;
};

class Relay {
 public:
  Relay(Connection& conn, RelayOptions options);

  // step moves every byte it can without blocking. |plain_readable|: the
  // plain input may have bytes or an EOF (the driver saw it readable).
  // Fails with the Connection's error, or IoError for the plain side.
  Result<void> step(bool plain_readable);

  // done: both directions ended and every byte is delivered (or, for
  // standard output, the peer's direction ended).
  bool done() const { return m_done; }
  // more: the last step stopped while bytes were still moving (a fairness
  // limit); step again without waiting, since the Connection may hold bytes
  // that no socket event will announce.
  bool more() const { return m_more; }
  // What the driver waits for before the next step.
  bool wants_conn_read() const;
  bool wants_conn_write() const;
  bool wants_plain_read() const;
  bool wants_plain_write() const;
  // our_direction_closed: close_notify went out (the linger limit starts).
  bool our_direction_closed() const { return m_peer_shut; }
  const RelayStats& stats() const { return m_stats; }

 private:
  Result<void> from_peer();
  // from_plain clears |readable| once the descriptor has nothing more.
  Result<void> from_plain(bool& readable);
  Result<void> to_plain();
  Result<void> to_peer();
  Result<void> ends();

  Connection& m_conn;
  RelayOptions m_o;
  bool m_plain_is_socket = false;
  bool m_plain_in_nonblocking = false;
  ByteQueue m_to_peer;
  ByteQueue m_to_plain;
  bool m_peer_eof = false;
  bool m_plain_eof = false;
  bool m_plain_shut = false;     // we sent FIN on the plain side
  bool m_peer_shut = false;      // we sent close_notify
  bool m_plain_blocked = false;  // the last plain write hit EAGAIN
  bool m_done = false;
  bool m_more = false;
  bool m_read_called = false;  // this round called Connection::read
  std::uint64_t m_moved = 0;   // bytes moved (and ends seen), for progress
  RelayStats m_stats;
};

}  // namespace atls::tools
