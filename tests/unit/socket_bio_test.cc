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
#include <functional>
#include <string>

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

// raises_sigpipe runs |op| with SIGPIPE blocked (so that a raised signal
// stays pending instead of ending the test) and reports whether it raised
// one; the signal is consumed and the mask restored.
bool raises_sigpipe(const std::function<void()>& op) {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigset_t old;
  EXPECT_EQ(::pthread_sigmask(SIG_BLOCK, &pipe, &old), 0);
  op();
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

// pipe_signal_after_write writes one byte through |bio| and reports whether
// the write raised SIGPIPE (raises_sigpipe).
bool pipe_signal_after_write(BIO* bio, int* write_result, int* write_errno) {
  return raises_sigpipe([&] {
    errno = 0;
    *write_result = ::BIO_write(bio, "x", 1);
    *write_errno = errno;
  });
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

// ---------------------------------------------------------------------------
// Holding writes (hold_writes / release_writes): one send for one step.

// readable returns what the peer can read now, without waiting.
std::string readable(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) {
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// A BIO over a non-blocking socket pair, holding its writes.
class HeldSocketBio : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::fcntl(sp.fd[0], F_SETFL, O_NONBLOCK), 0);
    bio = new_nosigpipe_socket_bio(sp.fd[0]);
    ASSERT_TRUE(bio);
    hold_writes(bio.get());
  }
  SocketPair sp;
  UniquePtr<BIO> bio;
};

TEST_F(HeldSocketBio, HeldWritesWaitForTheReleaseAndLeaveTogether) {
  EXPECT_EQ(::BIO_write(bio.get(), "abc", 3), 3);
  EXPECT_EQ(::BIO_write(bio.get(), "def", 3), 3);
  EXPECT_EQ(BIO_flush(bio.get()), 1);  // held: the flush does not send
  EXPECT_EQ(readable(sp.fd[1]), "");
  EXPECT_EQ(BIO_ctrl_wpending(bio.get()), 6u);
  EXPECT_EQ(held_bytes(bio.get()), 6u);

  auto left = release_writes(bio.get());
  ASSERT_TRUE(left) << left.error().to_string();
  EXPECT_EQ(*left, 0u);
  // One send: a single recv of a stream socket sees both writes.
  char buf[16];
  EXPECT_EQ(::recv(sp.fd[1], buf, sizeof buf, MSG_DONTWAIT), 6);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
  // Released: the next write goes out at once.
  EXPECT_EQ(::BIO_write(bio.get(), "g", 1), 1);
  EXPECT_EQ(readable(sp.fd[1]), "g");
}

TEST_F(HeldSocketBio, AWriteBeyondTheHoldLimitSendsWhatIsHeldFirst) {
  EXPECT_EQ(::BIO_write(bio.get(), "head", 4), 4);
  const std::string big(kHoldLimit, 'b');
  EXPECT_EQ(::BIO_write(bio.get(), big.data(), static_cast<int>(big.size())),
            static_cast<int>(big.size()));
  EXPECT_EQ(held_bytes(bio.get()), 0u);
  EXPECT_EQ(readable(sp.fd[1]), "head" + big);
  auto left = release_writes(bio.get());
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, 0u);
}

TEST_F(HeldSocketBio, HeldBytesTheSocketCannotTakeStayAndGoFirst) {
  // Fill the socket.
  std::array<char, 4096> fill{};
  std::size_t filled = 0;
  for (ssize_t n = 0; (n = ::send(sp.fd[0], fill.data(), fill.size(), MSG_DONTWAIT)) > 0;) {
    filled += static_cast<std::size_t>(n);
  }
  EXPECT_EQ(::BIO_write(bio.get(), "xyz", 3), 3);
  auto left = release_writes(bio.get());
  ASSERT_TRUE(left) << left.error().to_string();
  EXPECT_EQ(*left, 3u);  // a full socket: kept, not lost
  EXPECT_EQ(BIO_ctrl_wpending(bio.get()), 3u);
  EXPECT_EQ(BIO_flush(bio.get()), 0);
  EXPECT_TRUE(::BIO_should_retry(bio.get()));
  EXPECT_TRUE(::BIO_should_write(bio.get()));
  EXPECT_LE(::BIO_write(bio.get(), "123", 3), 0);  // still full: retried later
  EXPECT_TRUE(::BIO_should_retry(bio.get()));

  // The peer drains the socket: the held bytes go out before the next write.
  const std::string drained = readable(sp.fd[1]);
  EXPECT_EQ(drained.size(), filled);
  EXPECT_EQ(::BIO_write(bio.get(), "123", 3), 3);
  EXPECT_EQ(held_bytes(bio.get()), 0u);
  EXPECT_EQ(readable(sp.fd[1]), "xyz123");
}

TEST_F(HeldSocketBio, ReleasingToAClosedPeerFailsWithoutSigpipe) {
  EXPECT_EQ(::BIO_write(bio.get(), "x", 1), 1);
  sp.close_peer();
  Result<std::size_t> left = std::size_t{0};
  EXPECT_FALSE(raises_sigpipe([&] { left = release_writes(bio.get()); }));
  ASSERT_FALSE(left);
  EXPECT_EQ(left.error().code, ErrorCode::IoError);
  EXPECT_NE(left.error().detail.find("Broken pipe"), std::string::npos) << left.error().detail;
  EXPECT_EQ(held_bytes(bio.get()), 0u);
}

}  // namespace
}  // namespace atls::ossl
