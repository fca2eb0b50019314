#pragma once

// SigpipeGuard keeps a write to a closed socket from killing the process:
// SIGPIPE is blocked in this thread while the guard lives, and a SIGPIPE it
// raised is consumed before the mask is restored. That costs four system
// calls; an SSL whose BIO writes with MSG_NOSIGNAL
// (ossl::new_nosigpipe_socket_bio) needs no guard: SigpipeGuard(false)
// does nothing.

#include <pthread.h>
#include <signal.h>

#include <ctime>

namespace atls::internal {

class SigpipeGuard {
 public:
  SigpipeGuard() : SigpipeGuard(true) {}
  explicit SigpipeGuard(bool active) {
    if (!active) {
      return;
    }
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
    m_ok = ::pthread_sigmask(SIG_BLOCK, &m_set, &m_old) == 0;
  }
  ~SigpipeGuard() {
    if (!m_ok) {
      return;
    }
    if (!m_was_pending) {
      const timespec zero{0, 0};
      while (::sigtimedwait(&m_set, nullptr, &zero) > 0) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t m_set{};
  sigset_t m_old{};
  bool m_was_pending = false;
  bool m_ok = false;
};

}  // namespace atls::internal
