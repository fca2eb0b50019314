// `atls verifier`: the RATS Verifier as an HTTP service
// (docs/verifier-service.md). Veraison's challenge-response API; EARs
// signed with --ear-key; stateless sessions under --session-key, so any
// number of instances behind a load balancer finish each other's sessions.
// SIGHUP reloads the policy and the keys (a bad set is refused and the old
// one stays); SIGINT and SIGTERM stop it. The first line on stdout is the
// bound address; logs go to stderr.

#include "tools/commands.h"
#include "tools/common.h"
#include "tools/net.h"

#include "src/plugins/builtin_plugins.h"
#include "src/remote/loopback.h"
#include "src/service/http_server.h"
#include "src/service/metrics.h"
#include "src/service/verifier_service.h"

#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pthread.h>

namespace atls::tools {
namespace {

struct VerifierArgs {
  std::string listen = "127.0.0.1:8443";
  std::string policy;
  std::string ear_key;
  std::string tls_cert;
  std::string tls_key;
  std::string session_key;
  std::int64_t session_ttl = 300;
  std::size_t workers = 2;
  std::size_t max_body = 64 * 1024;
  std::string ear_profile = "ietf";
  bool insecure_http = false;
};

std::mutex g_log_mu;

void log_line(const std::string& text) {
  const std::lock_guard<std::mutex> lock(g_log_mu);
  std::cerr << "atls verifier: " << text << std::endl;
}

std::string describe(const service::ServiceState& st) {
  return "EAR key " + st.ear_kid + ", " +
         (st.session_key_shared ? "shared session key"
                                : "ephemeral session key (another instance cannot finish these "
                                  "sessions: give --session-key to share one)");
}

void run_verifier(const VerifierArgs& a) {
  auto at = parse_host_port(a.listen);
  if (!at) {
    fail("verifier", at.error());
    return;
  }
  service::StateFiles files;
  files.policy = a.policy;
  files.ear_key = a.ear_key;
  files.session_key = a.session_key;
  files.ear_profile =
      a.ear_profile == "veraison" ? internal::EarProfile::Veraison : internal::EarProfile::Ietf;
  files.session_ttl = a.session_ttl;
  const Registry registry = builtin_registry();
  SystemRng rng;
  SystemClock clock;
  auto state = service::build_state(files, registry, rng);
  if (!state) {
    fail("verifier", state.error());
    return;
  }
  service::VerifierService svc(registry, clock, *state);
  service::Metrics metrics;
  service::HttpOptions opts;
  opts.host = at->host;
  opts.port = at->port;
  opts.tls_cert = a.tls_cert;
  opts.tls_key = a.tls_key;
  opts.dangerous_insecure_http = a.insecure_http;
  opts.workers = a.workers;
  opts.max_body = a.max_body;
  auto server = service::HttpServer::create(svc, metrics, rng, opts, log_line);
  if (!server) {
    fail("verifier", server.error());
    return;
  }

  // Signals are taken by sigwait on this thread only: block them before
  // any server thread exists, so that those inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto port = (*server)->bind();
  if (!port) {
    fail("verifier", port.error());
    return;
  }
  const std::string where = HostPort{at->host, *port}.to_string();
  std::cout << ((*server)->is_https() ? "https://" : "http://") << where << std::endl;
  if (!(*server)->is_https()) {
    log_line(remote::is_loopback_host(at->host)
                 ? "plain HTTP on loopback"
                 : "WARNING: plain HTTP on a non-loopback address (--insecure-http): sessions "
                   "and EARs can be read and altered on the network");
  }
  if (!(*state)->session_key_shared) {
    log_line(
        "WARNING: no --session-key: a random one is used, so a second instance cannot "
        "finish the sessions this one opens");
  }
  log_line("listening on " + where + " (" + ((*server)->is_https() ? "HTTPS" : "HTTP") + ", " +
           describe(**state) + ", EAR profile " + a.ear_profile + ", " + std::to_string(a.workers) +
           " workers)");

  service::HttpServer& srv = **server;
  std::thread runner([&srv] {
    if (!srv.run()) {
      log_line("the server stopped with an error");
    }
  });
  for (;;) {
    int sig = 0;
    if (::sigwait(&set, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      // The new state is built whole first; requests in flight keep the
      // state they started with.
      const auto current = svc.state();
      auto next = service::build_state(files, registry, rng, &current->session_key);
      if (!next) {
        log_line("reload refused, the old policy and keys stay: " +
                 std::string(next.error().name()) + ": " + next.error().to_string());
        continue;
      }
      svc.install(*next);
      log_line("reloaded (" + describe(**next) + ")");
      continue;
    }
    break;
  }
  srv.stop();
  runner.join();
  log_line("stopped");
}

}  // namespace

void register_verifier(CLI::App& app) {
  auto a = std::make_shared<VerifierArgs>();
  auto* cmd = app.add_subcommand(
      "verifier",
      "Run the RATS Verifier as an HTTP service (docs/verifier-service.md): Veraison's\n"
      "challenge-response API, Evidence appraised against --policy, EARs signed with\n"
      "--ear-key. Sessions are stateless: instances that share --session-key finish each\n"
      "other's sessions. HTTPS with --tls-cert/--tls-key; plain HTTP only on loopback.\n"
      "SIGHUP reloads the policy and keys (a bad set is refused, the old one stays);\n"
      "SIGINT/SIGTERM stop. The first line on stdout is the bound URL.\n"
      "Exit code: 0 after a signal, 1 on a start-up failure, 2 on a usage error.");
  cmd->add_option("--listen", a->listen, "Address to listen on, HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--policy", a->policy, "Appraisal policy: trust anchors, reference values")
      ->required();
  cmd->add_option("--ear-key", a->ear_key, "EAR signing key (P-256 private key, PEM)")->required();
  cmd->add_option("--tls-cert", a->tls_cert, "HTTPS certificate chain (PEM)");
  cmd->add_option("--tls-key", a->tls_key, "HTTPS private key (PEM)");
  cmd->add_option("--session-key", a->session_key,
                  "32 random bytes (raw or hex) shared by every instance; default: a random "
                  "key, so no other instance can finish this one's sessions");
  cmd->add_option("--session-ttl", a->session_ttl, "Seconds a session stays open (1..86400)")
      ->capture_default_str();
  cmd->add_option("--workers", a->workers, "Requests served at once (worker threads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-body", a->max_body, "Largest request body in bytes (413 above)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16 * 1024 * 1024));
  cmd->add_option("--ear-profile", a->ear_profile,
                  "EAR claim names: ietf (draft-ietf-rats-ear) or veraison "
                  "(tag:github.com,2023:veraison/ear)")
      ->capture_default_str()
      ->check(CLI::IsMember({"ietf", "veraison"}));
  cmd->add_flag("--insecure-http", a->insecure_http,
                "DANGEROUS: allow plain HTTP on a non-loopback address (sessions, nonces and "
                "EARs travel in the clear and can be altered)");
  cmd->callback([a] { run_verifier(*a); });
}

}  // namespace atls::tools
