#include "tests/testlib/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace atls::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kFirstHighFd = 100;  // descriptors prepared for the child start here

// Spawn is everything the child needs, prepared before fork() so that the
// child only makes async-signal-safe calls (the test process has threads).
struct Spawn {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  int stdin_fd = -1;                     // high, close-on-exec
  int out_fd = -1;                       // high, close-on-exec
  int err_fd = -1;                       // high, close-on-exec
  std::vector<std::pair<int, int>> fds;  // {high source, child number}
  int max_fd = 1024;
};

int dup_high(int fd) {
  return ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstHighFd);
}

void close_all(Spawn& s) {
  for (int* fd : {&s.stdin_fd, &s.out_fd, &s.err_fd}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
  for (auto& [src, dst] : s.fds) {
    if (src >= 0) {
      ::close(src);
    }
  }
  s.fds.clear();
}

Result<void> prepare(Spawn& s, const ProcessOptions& o, int stdin_src, int out_src, int err_src) {
  if (o.argv.empty() || o.argv.front().empty()) {
    return Error{ErrorCode::InvalidArgument, "empty argv"};
  }
  s.argv_storage = o.argv;
  for (auto& a : s.argv_storage) {
    s.argv.push_back(a.data());
  }
  s.argv.push_back(nullptr);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv(*e);
    const std::string key = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& [k, v] : o.env) {
      overridden = overridden || k == key;
    }
    if (!overridden) {
      s.env_storage.push_back(kv);
    }
  }
  for (const auto& [k, v] : o.env) {
    s.env_storage.push_back(k + "=" + v);
  }
  for (auto& e : s.env_storage) {
    s.envp.push_back(e.data());
  }
  s.envp.push_back(nullptr);
  s.stdin_fd = dup_high(stdin_src);
  s.out_fd = dup_high(out_src);
  s.err_fd = dup_high(err_src);
  if (s.stdin_fd < 0 || s.out_fd < 0 || s.err_fd < 0) {
    close_all(s);
    return Error{ErrorCode::IoError, "dup"};
  }
  for (const auto& [src, dst] : o.fds) {
    if (dst < 3 || dst >= kFirstHighFd) {
      close_all(s);
      return Error{ErrorCode::InvalidArgument, "child descriptor numbers are 3..99"};
    }
    const int high = dup_high(src);
    if (high < 0) {
      close_all(s);
      return Error{ErrorCode::IoError, "dup of a passed descriptor"};
    }
    s.fds.emplace_back(high, dst);
  }
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < 1u << 20) {
    s.max_fd = static_cast<int>(rl.rlim_cur);
  }
  return {};
}

// child_exec runs in the forked child: async-signal-safe calls only.
[[noreturn]] void child_exec(const Spawn& s, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {
    ::_exit(127);  // the parent died before the death signal was armed
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
    ::signal(sig, SIG_DFL);
  }
  if (::dup2(s.stdin_fd, 0) < 0 || ::dup2(s.out_fd, 1) < 0 || ::dup2(s.err_fd, 2) < 0) {
    ::_exit(127);
  }
  for (const auto& [src, dst] : s.fds) {
    if (::dup2(src, dst) < 0) {
      ::_exit(127);
    }
  }
  // Descriptors the test process left open without close-on-exec (sockets
  // of other connections) must not leak: a leaked socket would keep a
  // connection open after the test closed it.
  for (int fd = 3; fd < kFirstHighFd; ++fd) {
    bool keep = false;
    for (const auto& [src, dst] : s.fds) {
      keep = keep || dst == fd;
    }
    if (!keep) {
      ::close(fd);
    }
  }
  if (::close_range(kFirstHighFd, ~0U, 0) != 0) {
    for (int fd = kFirstHighFd; fd < s.max_fd; ++fd) {
      ::close(fd);
    }
  }
  ::execve(s.argv[0], s.argv.data(), s.envp.data());
  ::_exit(127);
}

Result<pid_t> spawn(const ProcessOptions& o, int stdin_src, int out_src, int err_src) {
  Spawn s;
  ATLS_TRY(prepare(s, o, stdin_src, out_src, err_src));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    child_exec(s, parent);
  }
  close_all(s);
  if (pid < 0) {
    return Error{ErrorCode::IoError, std::string("fork: ") + std::strerror(errno)};
  }
  return pid;
}

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string find_program(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* p = std::getenv("PATH")) {
    std::stringstream ss(p);
    std::string d;
    while (std::getline(ss, d, ':')) {
      if (!d.empty()) {
        dirs.push_back(d);
      }
    }
  }
  for (const char* d :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    dirs.emplace_back(d);
  }
  for (const auto& d : dirs) {
    const std::string candidate = d + "/" + name;
    if (is_executable(candidate)) {
      return candidate;
    }
  }
  return "";
}

// ---------------------------------------------------------------------------
// TempDir and files

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/atls-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) {
    m_path = tmpl;
  }
}

TempDir::~TempDir() {
  if (!m_path.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
}

bool write_text_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------
// ChildProcess

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const ProcessOptions& options) {
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    return Error{ErrorCode::IoError, "open /dev/null"};
  }
  int out = devnull;
  if (!options.output_file.empty()) {
    out = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                 0600);
    if (out < 0) {
      ::close(devnull);
      return Error{ErrorCode::IoError, "open " + options.output_file};
    }
  }
  int in_pipe[2] = {-1, -1};
  if (options.stdin_pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    ::close(devnull);
    if (out != devnull) {
      ::close(out);
    }
    return Error{ErrorCode::IoError, "pipe"};
  }
  auto pid = spawn(options, options.stdin_pipe ? in_pipe[0] : devnull, out, out);
  ::close(devnull);
  if (out != devnull) {
    ::close(out);
  }
  if (in_pipe[0] >= 0) {
    ::close(in_pipe[0]);
  }
  if (!pid) {
    if (in_pipe[1] >= 0) {
      ::close(in_pipe[1]);
    }
    return pid.error();
  }
  auto c = std::make_unique<ChildProcess>(Token{});
  c->m_pid = *pid;
  c->m_stdin = in_pipe[1];
  c->m_output_file = options.output_file;
  return c;
}

ChildProcess::~ChildProcess() {
  (void)stop(SIGTERM);
  if (m_stdin >= 0) {
    ::close(m_stdin);
  }
}

bool ChildProcess::is_running() {
  if (m_status) {
    return false;
  }
  int st = 0;
  const pid_t r = ::waitpid(m_pid, &st, WNOHANG);
  if (r == m_pid) {
    m_status = st;
    return false;
  }
  return r == 0;
}

std::optional<int> ChildProcess::wait_exit(milliseconds timeout) {
  const auto until = steady_clock::now() + timeout;
  while (is_running()) {
    if (steady_clock::now() >= until) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return m_status;
}

int ChildProcess::stop(int sig, milliseconds grace) {
  if (m_pid <= 0) {
    return -1;
  }
  if (is_running()) {
    ::kill(m_pid, sig);
    if (!wait_exit(grace)) {
      ::kill(m_pid, SIGKILL);
      int st = 0;
      while (::waitpid(m_pid, &st, 0) < 0 && errno == EINTR) {
      }
      m_status = st;
    }
  }
  return m_status.value_or(-1);
}

bool ChildProcess::write_stdin(ByteView bytes) {
  if (m_stdin < 0) {
    return false;
  }
  // A child that has exited makes the write raise SIGPIPE: block it in
  // this thread, and discard a pending one, so that the write just fails.
  sigset_t pipe_set;
  sigset_t old_set;
  ::sigemptyset(&pipe_set);
  ::sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  std::size_t done = 0;
  bool ok = true;
  while (ok && done < bytes.size()) {
    const ssize_t n = ::write(m_stdin, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    done += ok ? static_cast<std::size_t>(n) : 0;
  }
  const timespec zero{0, 0};
  while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return ok;
}

std::string ChildProcess::output() const {
  return m_output_file.empty() ? std::string() : read_text_file(m_output_file);
}

// ---------------------------------------------------------------------------
// run_program

RunResult run_program(const std::vector<std::string>& argv, milliseconds timeout) {
  RunResult out;
  int po[2] = {-1, -1};
  int pe[2] = {-1, -1};
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const bool ok = devnull >= 0 && ::pipe2(po, O_CLOEXEC) == 0 && ::pipe2(pe, O_CLOEXEC) == 0;
  pid_t pid = -1;
  if (ok) {
    ProcessOptions o;
    o.argv = argv;
    auto r = spawn(o, devnull, po[1], pe[1]);
    if (r) {
      pid = *r;
    } else {
      out.error_output = r.error().to_string();
    }
  } else {
    out.error_output = "pipe";
  }
  for (int fd : {devnull, po[1], pe[1]}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  const auto until = steady_clock::now() + timeout;
  pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  std::string* sinks[2] = {&out.output, &out.error_output};
  while (pid > 0 && (pf[0].fd >= 0 || pf[1].fd >= 0)) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - steady_clock::now()).count();
    if (left <= 0) {
      out.timed_out = true;
      break;
    }
    const int r = ::poll(pf, 2, static_cast<int>(left));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0) {
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (pf[k].fd < 0 || pf[k].revents == 0) {
        continue;
      }
      char buf[8192];
      const ssize_t n = ::read(pf[k].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        pf[k].fd = -1;  // EOF: closed below
        continue;
      }
      sinks[k]->append(buf, static_cast<std::size_t>(n));
    }
  }
  for (int fd : {po[0], pe[0]}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  if (pid <= 0) {
    return out;
  }
  int st = 0;
  pid_t r = 0;
  // EOF usually means the program exits; a program that closed its output
  // and lingers is killed at the deadline like one that timed out.
  while (!out.timed_out && (r = ::waitpid(pid, &st, WNOHANG)) == 0) {
    if (steady_clock::now() >= until) {
      out.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (r != pid) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  out.exit_code = !out.timed_out && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace atls::test
