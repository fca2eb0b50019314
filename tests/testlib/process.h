#pragma once

// Child processes and temporary directories for tests that drive real
// programs (haproxy, dumpcap, tshark, openssl s_server). Every child is
// stopped and reaped by its owner's destructor, and is killed by the
// kernel if the test process dies first (PR_SET_PDEATHSIG), so a crashed
// test leaves no daemon behind. Waits are bounded in time.

#include <atls/bytes.h>
#include <atls/result.h>

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace atls::test {

// find_program returns the full path of |name| found in $PATH or in the
// sbin directories (haproxy lives in /usr/sbin), or "" when it is absent.
std::string find_program(const std::string& name);

// TempDir is a fresh directory under $TMPDIR (default /tmp), removed with
// everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // path is "" when the directory could not be made.
  const std::string& path() const { return m_path; }
  // file returns path() + "/" + name.
  std::string file(const std::string& name) const { return m_path + "/" + name; }

 private:
  std::string m_path;
};

// write_text_file writes |text| to |path| (mode 0600); false on failure.
bool write_text_file(const std::string& path, const std::string& text);
// read_text_file returns the file's contents ("" when unreadable).
std::string read_text_file(const std::string& path);

// ProcessOptions describe a child: its argv (argv[0] is the program's full
// path), variables added to the inherited environment, descriptors to pass
// ({descriptor in this process, number in the child}, child numbers 3..99),
// where stdout and stderr go ("" = /dev/null) and whether stdin is a pipe
// that the test writes with ChildProcess::write_stdin (otherwise /dev/null).
struct ProcessOptions {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::pair<int, int>> fds;
  std::string output_file;
  bool stdin_pipe = false;
};

// ChildProcess is a running child. Start it from the thread that will also
// destroy it (the death signal is tied to the starting thread). The
// destructor stops it (SIGTERM, then SIGKILL after a grace period) and reaps it.
class ChildProcess {
  struct Token {};

 public:
  // Use start(); the token keeps the constructor private to this class.
  explicit ChildProcess(Token) {}
  // start forks and executes |options|. Fails with InvalidArgument (empty
  // argv, bad descriptor numbers) or IoError (pipe, fork).
  static Result<std::unique_ptr<ChildProcess>> start(const ProcessOptions& options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return m_pid; }
  // is_running reaps the child if it has exited and reports whether it
  // still runs.
  bool is_running();
  // wait_exit waits up to |timeout| for the child to exit and returns its
  // wait status (see <sys/wait.h>), or nullopt if it still runs.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // stop sends |sig|, waits up to |grace|, then sends SIGKILL, and reaps
  // the child. Returns the wait status. Calling it again returns the same.
  int stop(int sig, std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // write_stdin writes to the child's stdin pipe (ProcessOptions::stdin_pipe).
  bool write_stdin(ByteView bytes);
  // output is what the child wrote to ProcessOptions::output_file so far.
  std::string output() const;

 private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
  int m_stdin = -1;
  std::string m_output_file;
};

// RunResult is the outcome of run_program.
struct RunResult {
  bool timed_out = false;
  int exit_code = -1;        // -1 when the program did not exit normally
  std::string output;        // stdout
  std::string error_output;  // stderr
};

// run_program runs argv to completion (killed after |timeout|) with
// stdin from /dev/null and returns its exit code and output. Start failures
// are reported as exit_code -1 with the reason in error_output.
RunResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace atls::test
