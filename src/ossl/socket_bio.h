#pragma once

// A socket BIO whose writes never raise SIGPIPE, and which can hold small
// writes back so that one step's records leave in one send(2).
//
// libssl's socket BIO writes with write(2): on a socket the peer has reset,
// that raises SIGPIPE, whose default action ends the process. Blocking the
// signal around every libssl call costs four system calls per call (a
// dozen calls per connection); send(2) with MSG_NOSIGNAL costs none.
//
// Holding: libssl writes each flight, and each SSL_write, as soon as it is
// made. A server that pushes its authenticator after its Finished
// (docs/wire-profile.md §1.9) would send its flight and the push in two
// segments, and a client its Finished and its preamble: each extra segment
// costs a send, a wake-up of the peer and a read on the other side. While
// held, writes are copied into the BIO (up to one record's worth); the
// release sends them in one send(2). Nothing is reordered: a write that is
// not held sends what is held first.

#include "src/ossl/ossl.h"

#include <atls/result.h>

#include <cstddef>

namespace atls::ossl {

// new_nosigpipe_socket_bio returns a BIO that behaves as
// BIO_new_socket(fd, BIO_NOCLOSE) (same type, so SSL_get_fd and BIO_get_fd
// see the descriptor; retry flags set on EAGAIN and EINTR) except that it
// writes with send(MSG_NOSIGNAL), so a write to a closed peer fails with
// EPIPE and no signal. It never offers kernel TLS. The descriptor is
// borrowed. Returns nullptr when OpenSSL cannot allocate the BIO.
UniquePtr<BIO> new_nosigpipe_socket_bio(int fd);

// hold_writes makes the writes of |bio| (from new_nosigpipe_socket_bio) wait
// in the BIO until release_writes, as long as they add up to at most
// kHoldLimit bytes; a write beyond that sends what is held together with it
// (one sendmsg) and goes on as an unheld write. BIO_flush does not send
// while held.
inline constexpr std::size_t kHoldLimit = 16 * 1024 + 512;
void hold_writes(BIO* bio);

// release_writes ends the hold and sends what was held in one send(2).
// Returns the number of bytes the socket did not take (they stay in the BIO
// and go out first with the next write, BIO_flush or release_writes; wait
// for the socket to be writable), or an error: IoError when the send
// failed for another reason than a full socket buffer (the bytes are
// dropped: the connection is broken).
Result<std::size_t> release_writes(BIO* bio);

// held_bytes is what |bio| holds (BIO_ctrl_wpending reports it too).
std::size_t held_bytes(BIO* bio);

}  // namespace atls::ossl
