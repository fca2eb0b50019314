#include "tools/swtpm_process.h"

#include "tools/child.h"

#include "tools/net.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <thread>
#include <vector>

namespace atls::tools {
namespace {

bool can_bind(int port) {
  return listen_tcp({"127.0.0.1", static_cast<std::uint16_t>(port)}, 1).has_value();
}

// free_port_pair returns a port P such that P and P + 1 are both free on
// loopback right now, or -1.
int free_port_pair() {
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

}  // namespace

Result<std::unique_ptr<SwtpmProcess>> SwtpmProcess::start() {
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

bool SwtpmProcess::available() {
  return std::system("command -v swtpm >/dev/null 2>&1") == 0;
}

SwtpmProcess::~SwtpmProcess() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(m_dir, ec);
}

void SwtpmProcess::stop() {
  stop_child(m_pid);
  m_pid = -1;
}

void SwtpmProcess::kill() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  m_pid = -1;
}

Result<void> SwtpmProcess::restart() {
  stop();
  return spawn();
}

Result<void> SwtpmProcess::spawn() {
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

}  // namespace atls::tools
