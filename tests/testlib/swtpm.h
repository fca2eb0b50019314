#pragma once

// A private TPM 2.0 simulator (swtpm) for tests: started on a free loopback
// port pair with its own state directory, and stopped (process reaped,
// directory removed) when the owning object is destroyed. The child also
// gets PR_SET_PDEATHSIG, so a crashing test process leaves no swtpm behind.

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>

namespace atls::test {

class Swtpm {
 public:
  // start launches `swtpm socket --tpm2` (TPM already started with
  // TPM2_Startup(CLEAR)) and waits until its server port accepts
  // connections. Returns nullptr and sets |error| on failure.
  static std::unique_ptr<Swtpm> start(std::string* error);

  // available reports whether an `swtpm` executable is on PATH.
  static bool available();

  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;
  // The destructor stops the process (SIGTERM, then SIGKILL after 5 s),
  // reaps it and removes the state directory.
  ~Swtpm();

  // port is the TPM command port; port() + 1 is the control port.
  int port() const { return m_port; }
  pid_t pid() const { return m_pid; }
  const std::string& state_dir() const { return m_dir; }
  // tcti is the tpm2-tss TCTI string: "swtpm:host=127.0.0.1,port=<port>"
  // (also usable as TPM2TOOLS_TCTI).
  std::string tcti() const;

 private:
  struct Key {};

 public:
  // Constructed only by start() (Key is private).
  Swtpm(Key, pid_t pid, int port, std::string dir)
      : m_pid(pid), m_port(port), m_dir(std::move(dir)) {}

 private:
  pid_t m_pid;
  int m_port;
  std::string m_dir;
};

}  // namespace atls::test
