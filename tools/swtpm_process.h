#pragma once

// A private swtpm (TPM 2.0 simulator) for `atls demo`, the handshake
// benchmark and the tests: started on a free loopback port pair with its
// own state directory, TPM2_Startup(CLEAR) already done, and stopped
// (SIGTERM, then SIGKILL after 5 s; reaped; directory removed) when the
// object goes away. The child has PR_SET_PDEATHSIG, so a crash of the parent
// leaves no swtpm behind. Not part of the library: built into
// atls_tools_support, which the atls command, the benchmarks and the tests
// link.

#include <atls/result.h>

#include <sys/types.h>

#include <memory>
#include <string>

namespace atls::tools {

class SwtpmProcess {
  struct Key {};

 public:
  // start launches swtpm and waits (at most 10 s) until it accepts
  // connections. Fails with IoError (detail says why).
  static Result<std::unique_ptr<SwtpmProcess>> start();

  // available reports whether an `swtpm` executable is on PATH.
  static bool available();

  // Constructed only by start() (Key is private).
  SwtpmProcess(Key, int port, std::string dir) : m_port(port), m_dir(std::move(dir)) {}
  SwtpmProcess(const SwtpmProcess&) = delete;
  SwtpmProcess& operator=(const SwtpmProcess&) = delete;
  ~SwtpmProcess();

  int port() const { return m_port; }
  pid_t pid() const { return m_pid; }
  // tcti is the tpm2-tss TCTI configuration string for this simulator.
  std::string tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(m_port); }

  // stop terminates and reaps the process (idempotent).
  void stop();

  // kill ends the process at once with SIGKILL, as a crash would, and reaps
  // it; the state directory stays for restart() (idempotent).
  void kill();

  // restart starts swtpm again on the same ports with the same state
  // directory (persistent objects such as the AK survive) after stop() or
  // kill(). Fails with IoError, like start().
  Result<void> restart();

 private:
  Result<void> spawn();

  pid_t m_pid = -1;
  int m_port = 0;
  std::string m_dir;
};

}  // namespace atls::tools
