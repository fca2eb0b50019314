#pragma once

// An `atls verifier` service (docs/verifier-service.md) as a child process
// on loopback, for `atls demo` and the Verifier service benchmark: a fresh
// EAR signing key (P-256) and session key, the given policy, all in a
// private directory; the service's bound address read from the first thing
// it prints. Stopped (SIGTERM, then SIGKILL after 5 s; reaped; directory
// removed) when the object goes away. The child has PR_SET_PDEATHSIG, so a
// crash of the parent leaves no service behind; start it from a thread that
// lives as long as the object (the signal follows the forking thread). Not
// part of the library: built into atls_tools_support.

#include <atls/result.h>

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atls::tools {

struct VerifierProcessOptions {
  // The atls command (e.g. /proc/self/exe from within atls).
  std::string executable;
  // The appraisal policy (docs/policy.md), JSON text.
  std::string policy_json = "{}";
  // --workers N; 0 leaves the service's default.
  int workers = 0;
  // More arguments (e.g. {"--ear-profile", "veraison"}).
  std::vector<std::string> extra_args;
};

class VerifierProcess {
  struct Key {};

 public:
  // start launches the service and waits (at most 10 s) until it printed
  // the address it listens on. Fails with IoError (detail says why, with
  // what the service printed) or the key generation's codes.
  static Result<std::unique_ptr<VerifierProcess>> start(const VerifierProcessOptions& options);

  // Constructed only by start() (Key is private).
  VerifierProcess(Key, std::string dir) : m_dir(std::move(dir)) {}
  VerifierProcess(const VerifierProcess&) = delete;
  VerifierProcess& operator=(const VerifierProcess&) = delete;
  ~VerifierProcess();

  pid_t pid() const { return m_pid; }
  std::uint16_t port() const { return m_port; }
  // url is http://127.0.0.1:PORT.
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  // ear_public_pem is the public half of the service's EAR signing key.
  const std::string& ear_public_pem() const { return m_ear_public_pem; }
  // output is what the service printed so far (stdout and stderr).
  std::string output() const;
  // cpu_seconds is the CPU time the service used so far (user + system,
  // from /proc; clock-tick resolution), or -1 when unknown.
  double cpu_seconds() const;

  // stop terminates and reaps the process (idempotent).
  void stop();

 private:
  Result<void> spawn(const VerifierProcessOptions& options);

  std::string m_dir;
  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
  std::string m_ear_public_pem;
};

}  // namespace atls::tools
