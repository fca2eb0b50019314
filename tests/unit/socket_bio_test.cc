// The MSG_NOSIGNAL socket BIO (src/ossl/socket_bio.h): a write to a closed
// peer fails with EPIPE and raises no SIGPIPE; reads, retries and the
// descriptor behave as with libssl's own socket BIO.

#include "src/ossl/socket_bio.h"

#include "src/ossl/ssl_ptr.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace atls::ossl {
namespace {

struct SocketPair {
  std::array<int, 2> fd{-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd.data()), 0); }
  ~SocketPair() {
    for (int f : fd) {
      if (f >= 0) {
        ::close(f);
      }
    }
  }
  void close_peer() {
    ::close(fd[1]);
    fd[1] = -1;
  }
};

// pipe_signal_after_write writes one byte through |bio| with SIGPIPE
// blocked (so that a raised signal stays pending instead of ending the test)
// and reports whether the write raised one; the signal is consumed and the
// mask restored.
bool pipe_signal_after_write(BIO* bio, int* write_result, int* write_errno) {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigset_t old;
  EXPECT_EQ(::pthread_sigmask(SIG_BLOCK, &pipe, &old), 0);
  errno = 0;
  *write_result = ::BIO_write(bio, "x", 1);
  *write_errno = errno;
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool raised = sigismember(&pending, SIGPIPE) == 1;
  const timespec zero{0, 0};
  while (::sigtimedwait(&pipe, nullptr, &zero) > 0) {
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return raised;
}

TEST(NosigpipeSocketBio, WriteToClosedPeerFailsWithoutSigpipe) {
  SocketPair sp;
  UniquePtr<BIO> bio = new_nosigpipe_socket_bio(sp.fd[0]);
  ASSERT_TRUE(bio);
  sp.close_peer();
  int rc = 0;
  int err = 0;
  EXPECT_FALSE(pipe_signal_after_write(bio.get(), &rc, &err));
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPIPE);
  EXPECT_FALSE(::BIO_should_retry(bio.get()));
}

// The reason for the BIO: libssl's own socket BIO raises the signal.
TEST(NosigpipeSocketBio, LibsslSocketBioRaisesSigpipe) {
  SocketPair sp;
  UniquePtr<BIO> bio(::BIO_new_socket(sp.fd[0], BIO_NOCLOSE));
  ASSERT_TRUE(bio);
  sp.close_peer();
  int rc = 0;
  int err = 0;
  EXPECT_TRUE(pipe_signal_after_write(bio.get(), &rc, &err));
  EXPECT_EQ(rc, -1);
}

TEST(NosigpipeSocketBio, ReadsWritesAndRetries) {
  SocketPair sp;
  ASSERT_EQ(::fcntl(sp.fd[0], F_SETFL, O_NONBLOCK), 0);
  UniquePtr<BIO> bio = new_nosigpipe_socket_bio(sp.fd[0]);
  ASSERT_TRUE(bio);
  char buf[8] = {};
  // Nothing to read on a non-blocking socket: a retry, as libssl expects.
  EXPECT_LE(::BIO_read(bio.get(), buf, sizeof buf), 0);
  EXPECT_TRUE(::BIO_should_retry(bio.get()));
  EXPECT_TRUE(::BIO_should_read(bio.get()));

  EXPECT_EQ(::BIO_write(bio.get(), "abc", 3), 3);
  EXPECT_FALSE(::BIO_should_retry(bio.get()));
  ASSERT_EQ(::read(sp.fd[1], buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf, 3), "abc");

  ASSERT_EQ(::write(sp.fd[1], "hello", 5), 5);
  EXPECT_EQ(::BIO_read(bio.get(), buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");

  // A full socket buffer: the write asks to be retried.
  std::array<char, 4096> chunk{};
  int last = 0;
  for (int i = 0; i < 100000 && (last = ::BIO_write(bio.get(), chunk.data(), chunk.size())) > 0;
       ++i) {
  }
  EXPECT_LE(last, 0);
  EXPECT_TRUE(::BIO_should_retry(bio.get()));
  EXPECT_TRUE(::BIO_should_write(bio.get()));
}

TEST(NosigpipeSocketBio, DescriptorIsVisibleAndBorrowed) {
  SocketPair sp;
  {
    UniquePtr<BIO> bio = new_nosigpipe_socket_bio(sp.fd[0]);
    ASSERT_TRUE(bio);
    int fd = -1;
    EXPECT_EQ(::BIO_get_fd(bio.get(), &fd), sp.fd[0]);
    EXPECT_EQ(fd, sp.fd[0]);
    EXPECT_EQ(BIO_get_ktls_send(bio.get()), 0);

    // libssl finds the descriptor through the BIO (SSL_get_fd).
    UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_client_method()));
    ASSERT_TRUE(ctx);
    UniquePtr<SSL> ssl(::SSL_new(ctx.get()));
    ASSERT_TRUE(ssl);
    BIO* b = bio.release();
    ::SSL_set_bio(ssl.get(), b, b);  // ssl owns b
    EXPECT_EQ(::SSL_get_fd(ssl.get()), sp.fd[0]);
  }
  // Freeing the BIO left the descriptor open.
  EXPECT_NE(::fcntl(sp.fd[0], F_GETFD), -1);
}

}  // namespace
}  // namespace atls::ossl
