#include "tools/verifier_process.h"

#include "tools/child.h"

#include <atls/clock.h>

#include "src/core/encoding.h"
#include "src/ossl/keys.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <system_error>
#include <thread>

namespace atls::tools {
namespace {

// write_private writes |text| to a new file readable by the owner only.
Result<void> write_private(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error{ErrorCode::IoError, "cannot create " + path};
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Error{ErrorCode::IoError, "cannot write " + path};
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return ok();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<std::unique_ptr<VerifierProcess>> VerifierProcess::start(
    const VerifierProcessOptions& options) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "atls-verifier-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Error{ErrorCode::IoError, "mkdtemp failed"};
  }
  auto v = std::make_unique<VerifierProcess>(Key{}, tmpl);
  ATLS_TRY(v->spawn(options));
  return v;
}

VerifierProcess::~VerifierProcess() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(m_dir, ec);
}

std::string VerifierProcess::output() const {
  return read_text(m_dir + "/verifier.log");
}

double VerifierProcess::cpu_seconds() const {
  return child_cpu_seconds(m_pid);
}

void VerifierProcess::stop() {
  stop_child(m_pid);
  m_pid = -1;
}

Result<void> VerifierProcess::spawn(const VerifierProcessOptions& options) {
  ATLS_ASSIGN_OR_RETURN(ossl::UniquePtr<EVP_PKEY> key, ossl::generate_key(ossl::KeyType::EcP256));
  ATLS_ASSIGN_OR_RETURN(m_ear_public_pem, ossl::public_key_pem(key.get()));
  ATLS_ASSIGN_OR_RETURN(const std::string key_pem, ossl::private_key_pem(key.get()));
  Bytes session_key(32);
  SystemRng().fill(session_key);
  const std::string policy = m_dir + "/policy.json";
  const std::string ear_key = m_dir + "/ear-key.pem";
  const std::string session = m_dir + "/session.key";
  const std::string log = m_dir + "/verifier.log";
  ATLS_TRY(write_private(policy, options.policy_json));
  ATLS_TRY(write_private(ear_key, key_pem));
  ATLS_TRY(write_private(session, to_hex(session_key) + "\n"));

  std::vector<std::string> args = {options.executable, "verifier", "--listen",  "127.0.0.1:0",
                                   "--policy",         policy,     "--ear-key", ear_key,
                                   "--session-key",    session};
  if (options.workers > 0) {
    args.push_back("--workers");
    args.push_back(std::to_string(options.workers));
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    return Error{ErrorCode::IoError, "cannot create " + log};
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    return Error{ErrorCode::IoError, "fork failed"};
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(126);
    }
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
    }
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  m_pid = pid;
  // The service prints the address it listens on first.
  const std::regex address(R"(127\.0\.0\.1:([0-9]+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = output();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), address);
         it != std::sregex_iterator(); ++it) {
      const std::string digits = (*it)[1];
      const int port = digits.size() <= 5 ? std::stoi(digits) : 0;
      if (port > 0 && port < 65536) {  // not an echo of "--listen 127.0.0.1:0"
        m_port = static_cast<std::uint16_t>(port);
        return ok();
      }
    }
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return Error{ErrorCode::IoError,
                   "atls verifier exited (status " + std::to_string(status) + "): " + output()};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  return Error{ErrorCode::IoError, "atls verifier printed no address within 10 s: " + output()};
}

}  // namespace atls::tools
