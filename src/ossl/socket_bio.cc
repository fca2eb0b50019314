#include "src/ossl/socket_bio.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace atls::ossl {
namespace {

// What a BIO holds back (hold_writes): the bytes, and whether new writes
// join them.
struct HoldState {
  bool held = false;
  std::vector<unsigned char> bytes;
};

// The ex_data slot of our BIOs that holds their HoldState (not the BIO's
// data pointer: BIO_s_socket() keeps a structure of its own there from
// OpenSSL 3.2 on). BIO_free frees the state.
int hold_index() {
  static const int kIndex = ::BIO_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {  // NOLINT(runtime/int)
        delete static_cast<HoldState*>(ptr);
      });
  return kIndex;
}

HoldState* hold_state(BIO* b) {
  const int index = hold_index();
  return index < 0 ? nullptr : static_cast<HoldState*>(::BIO_get_ex_data(b, index));
}

int fd_of(BIO* b) {
  return static_cast<int>(::BIO_get_fd(b, nullptr));
}

// Retry semantics of libssl's own socket BIO (BIO_sock_should_retry:
// EAGAIN, EINTR, EINPROGRESS, ...) for a send that returned |n|.
void note_send_retry(BIO* b, ssize_t n) {
  if (n <= 0 && ::BIO_sock_should_retry(n < 0 ? -1 : 0) != 0) {
    ::BIO_set_retry_write(b);
  }
}

// send_held sends what |st| holds in one send(2) and drops what the socket
// took. Returns false on a failure that is not a full socket (errno set):
// the connection is broken and the held bytes are dropped.
bool send_held(BIO* b, HoldState& st) {
  if (st.bytes.empty()) {
    return true;
  }
  errno = 0;
  const ssize_t n = ::send(fd_of(b), st.bytes.data(), st.bytes.size(), MSG_NOSIGNAL);
  if (n < 0) {
    if (::BIO_sock_should_retry(-1) != 0) {
      return true;
    }
    st.bytes.clear();
    return false;
  }
  st.bytes.erase(st.bytes.begin(), st.bytes.begin() + n);
  return true;
}

// The write side: send(MSG_NOSIGNAL). Held bytes go first, in the same
// sendmsg as this write.
int nosigpipe_write(BIO* b, const char* in, int len) {
  if (in == nullptr || len <= 0) {
    return 0;
  }
  ::BIO_clear_retry_flags(b);
  HoldState* st = hold_state(b);
  const auto size = static_cast<std::size_t>(len);
  if (st != nullptr && st->held && st->bytes.size() + size <= kHoldLimit) {
    try {
      st->bytes.insert(st->bytes.end(), in, in + size);
      return len;
    } catch (const std::bad_alloc&) {
      // No exception may cross libssl: send it now instead.
    }
  }
  errno = 0;
  if (st == nullptr || st->bytes.empty()) {
    const ssize_t n = ::send(fd_of(b), in, size, MSG_NOSIGNAL);
    note_send_retry(b, n);
    return n > INT_MAX ? INT_MAX : static_cast<int>(n);
  }
  iovec iov[2] = {{st->bytes.data(), st->bytes.size()}, {const_cast<char*>(in), size}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  ssize_t n = ::sendmsg(fd_of(b), &msg, MSG_NOSIGNAL);
  if (n < 0) {
    note_send_retry(b, n);
    if (!::BIO_should_retry(b)) {
      st->bytes.clear();  // broken: nothing held can go out any more
    }
    return -1;
  }
  const auto held = static_cast<ssize_t>(st->bytes.size());
  st->bytes.erase(st->bytes.begin(), st->bytes.begin() + std::min(n, held));
  n -= held;
  if (n <= 0) {
    // The socket took only (part of) what was held: this write is retried.
    ::BIO_set_retry_write(b);
    return -1;
  }
  return n > INT_MAX ? INT_MAX : static_cast<int>(n);
}

// int (*)(BIO*, int, long, void*) of BIO_s_socket(), looked up once.
using CtrlFn = long (*)(BIO*, int, long, void*);  // NOLINT(runtime/int)

CtrlFn socket_ctrl() {
  static const CtrlFn kCtrl = ::BIO_meth_get_ctrl(::BIO_s_socket());
  return kCtrl;
}

// The kernel TLS controls that libssl keeps in its internal bio.h (72, 74,
// 75 in OpenSSL 3.0); the two queries (73, 76) are public.
constexpr int kCtrlSetKtls = 72;
constexpr int kCtrlSetKtlsTxSendCtrlMsg = 74;
constexpr int kCtrlClearKtlsTxCtrlMsg = 75;

long nosigpipe_ctrl(BIO* b, int cmd, long num, void* ptr) {  // NOLINT(runtime/int)
  HoldState* st = hold_state(b);
  switch (cmd) {
    case BIO_CTRL_WPENDING:
      return st == nullptr ? 0 : static_cast<long>(st->bytes.size());  // NOLINT(runtime/int)
    case BIO_CTRL_FLUSH:
      // Held: the release sends. Otherwise what is held goes now.
      if (st == nullptr || st->held || st->bytes.empty()) {
        return 1;
      }
      ::BIO_clear_retry_flags(b);
      if (!send_held(b, *st)) {
        return 0;
      }
      if (!st->bytes.empty()) {
        ::BIO_set_retry_write(b);
        return 0;
      }
      return 1;
    // Kernel TLS would write records with sendmsg() of its own, outside
    // this method: never offer it.
    case kCtrlSetKtls:
    case BIO_CTRL_GET_KTLS_SEND:
    case kCtrlSetKtlsTxSendCtrlMsg:
    case kCtrlClearKtlsTxCtrlMsg:
    case BIO_CTRL_GET_KTLS_RECV:
      return 0;
    default:
      return socket_ctrl()(b, cmd, num, ptr);
  }
}

// The method: BIO_s_socket()'s read, puts, create and destroy, with our
// write and ctrl. Built once, never freed (BIOs may outlive any owner
// we have).
const BIO_METHOD* nosigpipe_method() {
  static BIO_METHOD* const kMethod = [] {
    const BIO_METHOD* base = ::BIO_s_socket();
    BIO_METHOD* m = ::BIO_meth_new(BIO_TYPE_SOCKET, "socket (MSG_NOSIGNAL)");
    if (m == nullptr) {
      return m;
    }
    if (::BIO_meth_set_write(m, nosigpipe_write) != 1 ||
        ::BIO_meth_set_read(m, ::BIO_meth_get_read(base)) != 1 ||
        ::BIO_meth_set_puts(m, ::BIO_meth_get_puts(base)) != 1 ||
        ::BIO_meth_set_ctrl(m, nosigpipe_ctrl) != 1 ||
        ::BIO_meth_set_create(m, ::BIO_meth_get_create(base)) != 1 ||
        ::BIO_meth_set_destroy(m, ::BIO_meth_get_destroy(base)) != 1) {
      ::BIO_meth_free(m);
      return static_cast<BIO_METHOD*>(nullptr);
    }
    return m;
  }();
  return kMethod;
}

}  // namespace

UniquePtr<BIO> new_nosigpipe_socket_bio(int fd) {
  const BIO_METHOD* method = nosigpipe_method();
  if (method == nullptr || socket_ctrl() == nullptr) {
    return nullptr;
  }
  UniquePtr<BIO> bio(::BIO_new(method));
  const int index = hold_index();
  if (!bio || index < 0) {
    return nullptr;
  }
  auto* st = new (std::nothrow) HoldState;
  if (st == nullptr) {
    return nullptr;
  }
  if (::BIO_set_ex_data(bio.get(), index, st) != 1) {
    delete st;
    return nullptr;
  }
  ::BIO_set_fd(bio.get(), fd, BIO_NOCLOSE);
  return bio;
}

void hold_writes(BIO* bio) {
  if (HoldState* st = hold_state(bio)) {
    st->held = true;
  }
}

Result<std::size_t> release_writes(BIO* bio) {
  HoldState* st = hold_state(bio);
  if (st == nullptr) {
    return std::size_t{0};
  }
  st->held = false;
  if (!send_held(bio, *st)) {
    return Error{ErrorCode::IoError, std::string("send: ") + std::strerror(errno)};
  }
  return st->bytes.size();
}

std::size_t held_bytes(BIO* bio) {
  const HoldState* st = hold_state(bio);
  return st == nullptr ? 0 : st->bytes.size();
}

}  // namespace atls::ossl
