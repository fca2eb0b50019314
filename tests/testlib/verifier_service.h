#pragma once

// A real `atls verifier` process on loopback for end-to-end tests
// (docs/verifier-service.md), and TamperProxy, an HTTP relay in front of it
// that plays the attacker or the slow network between a relying party and
// its Verifier.

#include <atls/bytes.h>

#include "tests/testlib/process.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace atls::test {

struct VerifierServiceOptions {
  // The policy (JSON text, docs/policy.md) the service appraises with.
  std::string policy_json = "{}";
  // Extra command-line arguments (e.g. {"--session-ttl", "1"}).
  std::vector<std::string> extra_args;
  // The session key (hex); "" = a fresh one.
  std::string session_key_hex;
};

// VerifierService runs `atls verifier` with a fresh EAR key; the process is
// stopped by the destructor.
class VerifierService {
 public:
  // available: this build has the atls command (sanitizer builds do not).
  static bool available();
  // start returns nullptr (with a test failure) when it does not come up
  // within 10 s.
  static std::unique_ptr<VerifierService> start(const VerifierServiceOptions& options = {});
  ~VerifierService();
  // url is http://127.0.0.1:PORT.
  const std::string& url() const { return m_url; }
  std::uint16_t port() const { return m_port; }
  // ear_public_pem is the EAR key's public half.
  const std::string& ear_public_pem() const { return m_ear_public_pem; }
  // log is what the service printed so far.
  std::string log() const;
  ChildProcess& process() { return *m_process; }

 private:
  VerifierService() = default;
  std::unique_ptr<TempDir> m_dir;
  std::unique_ptr<ChildProcess> m_process;
  std::string m_url;
  std::uint16_t m_port = 0;
  std::string m_ear_public_pem;
};

// TamperProxy relays HTTP requests to |upstream| (a URL) and lets a test
// change them on the way. Runs on 127.0.0.1 in a thread of its own.
class TamperProxy {
 public:
  struct Hooks {
    // Rewrites the Location of a newSession reply (e.g. forges the id).
    std::function<std::string(const std::string&)> location;
    // Delays the Evidence submission (to let a session expire).
    int submit_delay_ms = 0;
    // Delays every reply (a slow Verifier).
    int reply_delay_ms = 0;
    // Replaces the submitted Content-Type.
    std::string content_type;
  };
  TamperProxy(std::string upstream, Hooks hooks);
  ~TamperProxy();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  int submissions() const { return m_submissions.load(); }

 private:
  std::string m_upstream;
  Hooks m_hooks;
  std::unique_ptr<httplib::Server> m_server;
  int m_port = 0;
  std::thread m_thread;
  std::atomic<int> m_submissions{0};
};

}  // namespace atls::test
