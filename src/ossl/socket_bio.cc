#include "src/ossl/socket_bio.h"

#include <sys/socket.h>

#include <cerrno>
#include <climits>

namespace atls::ossl {
namespace {

// The write side: send(MSG_NOSIGNAL), with the retry semantics of libssl's
// own socket BIO (BIO_sock_should_retry: EAGAIN, EINTR, EINPROGRESS, ...).
int nosigpipe_write(BIO* b, const char* in, int len) {
  if (in == nullptr || len <= 0) {
    return 0;
  }
  const int fd = static_cast<int>(::BIO_get_fd(b, nullptr));
  errno = 0;
  const ssize_t n = ::send(fd, in, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  const int ret = n > INT_MAX ? INT_MAX : static_cast<int>(n);
  ::BIO_clear_retry_flags(b);
  if (ret <= 0 && ::BIO_sock_should_retry(ret) != 0) {
    ::BIO_set_retry_write(b);
  }
  return ret;
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
  switch (cmd) {
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

// The method: BIO_s_socket()'s read, puts, ctrl, create and destroy, with
// our write. Built once, never freed (BIOs may outlive any owner we have).
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
  if (!bio) {
    return nullptr;
  }
  ::BIO_set_fd(bio.get(), fd, BIO_NOCLOSE);
  return bio;
}

}  // namespace atls::ossl
