#pragma once

// A socket BIO whose writes never raise SIGPIPE.
//
// libssl's socket BIO writes with write(2): on a socket the peer has reset,
// that raises SIGPIPE, whose default action ends the process. Blocking the
// signal around every libssl call costs four system calls per call (a
// dozen calls per connection); send(2) with MSG_NOSIGNAL costs none.

#include "src/ossl/ossl.h"

namespace atls::ossl {

// new_nosigpipe_socket_bio returns a BIO that behaves as
// BIO_new_socket(fd, BIO_NOCLOSE) (same type, so SSL_get_fd and BIO_get_fd
// see the descriptor; retry flags set on EAGAIN and EINTR) except that it
// writes with send(MSG_NOSIGNAL), so a write to a closed peer fails with
// EPIPE and no signal. It never offers kernel TLS. The descriptor is
// borrowed. Returns nullptr when OpenSSL cannot allocate the BIO.
UniquePtr<BIO> new_nosigpipe_socket_bio(int fd);

}  // namespace atls::ossl
