#pragma once

// A private swtpm (TPM 2.0 simulator) for `atls demo`, the handshake
// benchmark and the tests: started on a free loopback port pair with its own state
// directory, TPM2_Startup(CLEAR) already done, and stopped (SIGTERM, then
// SIGKILL after 5 s; reaped; directory removed) when the object goes away.
// The child has PR_SET_PDEATHSIG, so a crash of the parent leaves no swtpm
// behind. Header-only because the benchmark and tests link only the library.

#include <atls/result.h>

#include "tools/net.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace atls::tools {

class SwtpmProcess {
 public:
  // start launches swtpm and waits (at most 10 s) until it accepts
  // connections. Fails with IoError (detail says why).
  static Result<std::unique_ptr<SwtpmProcess>> start() {
    std::string why = "swtpm did not start";
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int port = free_port_pair();
      if (port < 0) {
        why = "no free loopback port pair";
        continue;
      }
      std::string tmpl = (std::filesystem::temp_directory_path() / "atls-swtpm-XXXXXX").string();
      if (::mkdtemp(tmpl.data()) == nullptr) {
        return Error{ErrorCode::IoError, "mkdtemp failed"};
      }
      auto tpm = std::make_unique<SwtpmProcess>(Key{}, port, tmpl);
      if (auto r = tpm->spawn(); !r) {
        why = r.error().detail;
        continue;  // |tpm| cleans up; retry on other ports
      }
      return tpm;
    }
    return Error{ErrorCode::IoError, why};
  }

  // available reports whether an `swtpm` executable is on PATH.
  static bool available() { return std::system("command -v swtpm >/dev/null 2>&1") == 0; }

  SwtpmProcess(const SwtpmProcess&) = delete;
  SwtpmProcess& operator=(const SwtpmProcess&) = delete;
  ~SwtpmProcess() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  int port() const { return m_port; }
  pid_t pid() const { return m_pid; }
  // tcti is the tpm2-tss TCTI configuration string for this simulator.
  std::string tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(m_port); }

  // stop terminates and reaps the process (idempotent).
  void stop() {
    if (m_pid <= 0) {
      return;
    }
    ::kill(m_pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(m_pid, &status, WNOHANG);
      if (r == m_pid || r < 0) {
        m_pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

 private:
  struct Key {};

 public:
  // Constructed only by start() (Key is private).
  SwtpmProcess(Key, int port, std::string dir) : m_port(port), m_dir(std::move(dir)) {}

 private:
  static bool can_bind(int port) {
    return listen_tcp({"127.0.0.1", static_cast<std::uint16_t>(port)}, 1).has_value();
  }

  // A port P such that P and P + 1 are both free on loopback right now.
  static int free_port_pair() {
    for (int attempt = 0; attempt < 64; ++attempt) {
      auto s = listen_tcp({"127.0.0.1", 0}, 1);
      if (!s) {
        continue;
      }
      const int port = local_port(s->get());
      s->reset();
      if (port > 0 && port < 65535 && can_bind(port + 1) && can_bind(port)) {
        return port;
      }
    }
    return -1;
  }

  Result<void> spawn() {
    const std::string server = "type=tcp,port=" + std::to_string(m_port) + ",bindaddr=127.0.0.1";
    const std::string ctrl = "type=tcp,port=" + std::to_string(m_port + 1) + ",bindaddr=127.0.0.1";
    std::vector<std::string> args = {"swtpm",
                                     "socket",
                                     "--tpm2",
                                     "--server",
                                     server,
                                     "--ctrl",
                                     ctrl,
                                     "--tpmstate",
                                     "dir=" + m_dir,
                                     "--log",
                                     "file=" + m_dir + "/swtpm.log",
                                     "--flags",
                                     "not-need-init,startup-clear"};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      return Error{ErrorCode::IoError, "fork failed"};
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(126);
      }
      const int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      ::execvp("swtpm", argv.data());
      ::_exit(127);
    }
    m_pid = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (connect_tcp({"127.0.0.1", static_cast<std::uint16_t>(m_port)}, 200)) {
        return ok();
      }
      int status = 0;
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        return Error{ErrorCode::IoError, "swtpm exited with status " + std::to_string(status)};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return Error{ErrorCode::IoError, "swtpm did not accept connections within 10 s"};
  }

  pid_t m_pid = -1;
  int m_port = 0;
  std::string m_dir;
};

}  // namespace atls::tools
