#pragma once

// A real `atls verifier` process on loopback for end-to-end tests
// (docs/verifier-service.md), and TamperProxy, an HTTP relay in front of it
// that plays the attacker or the slow network between a relying party and
// its Verifier.

#include <atls/bytes.h>

#include "tools/verifier_process.h"

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
};

// verifier_service_available: this build has the atls command (sanitizer
// builds do not).
bool verifier_service_available();

// start_verifier_service runs the built `atls verifier` (tools/verifier_process.h:
// fresh EAR and session keys, loopback, stopped with the returned object);
// nullptr with a test failure when it does not come up.
std::unique_ptr<tools::VerifierProcess> start_verifier_service(
    const VerifierServiceOptions& options = {});

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
