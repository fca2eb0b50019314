#include "tests/testlib/swtpm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace atls::test {
namespace {

// Owns a socket descriptor.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }

 private:
  int m_fd;
};

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool can_bind(int port) {
  Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in a = loopback(port);
  return s.get() >= 0 && ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

// A port P such that P and P + 1 are both free on loopback right now: the
// kernel picks P (bind to port 0), and P + 1 is checked.
int free_port_pair() {
  for (int attempt = 0; attempt < 64; ++attempt) {
    Fd s(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof(a);
    if (s.get() < 0 || ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 ||
        ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      continue;
    }
    const int port = ntohs(a.sin_port);
    if (port < 65535 && can_bind(port + 1)) {
      return port;
    }
  }
  return -1;
}

bool accepts(int port) {
  Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in a = loopback(port);
  return s.get() >= 0 && ::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

void stop(pid_t pid) {
  if (pid <= 0) {
    return;
  }
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace

bool Swtpm::available() {
  return std::system("command -v swtpm >/dev/null 2>&1") == 0;
}

std::unique_ptr<Swtpm> Swtpm::start(std::string* error) {
  std::string why = "swtpm did not start";
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = free_port_pair();
    if (port < 0) {
      why = "no free loopback port pair";
      continue;
    }
    char tmpl[] = "/tmp/atls-swtpm-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      why = "mkdtemp failed";
      break;
    }
    const std::string dir = tmpl;
    const std::string server = "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1";
    const std::string ctrl = "type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1";
    const std::string state = "dir=" + dir;
    const std::string log = "file=" + dir + "/swtpm.log";
    std::vector<std::string> args = {"swtpm",
                                     "socket",
                                     "--tpm2",
                                     "--server",
                                     server,
                                     "--ctrl",
                                     ctrl,
                                     "--tpmstate",
                                     state,
                                     "--log",
                                     log,
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
      why = "fork failed";
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      break;
    }
    if (pid == 0) {
      // Child: die with the test process; keep the test's output clean.
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
    auto tpm = std::make_unique<Swtpm>(Key{}, pid, port, dir);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (accepts(port)) {
        return tpm;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        tpm->m_pid = -1;  // already reaped
        exited = true;
        why = "swtpm exited with status " + std::to_string(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited) {
      why = "swtpm did not accept connections within 10 s";
    }
    // |tpm| stops the process and removes the directory; retry on new ports.
  }
  if (error != nullptr) {
    *error = why;
  }
  return nullptr;
}

Swtpm::~Swtpm() {
  stop(m_pid);
  std::error_code ec;
  std::filesystem::remove_all(m_dir, ec);
}

std::string Swtpm::tcti() const {
  return "swtpm:host=127.0.0.1,port=" + std::to_string(m_port);
}

}  // namespace atls::test
