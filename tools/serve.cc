// `atls serve`: an attested TLS 1.3 server. Without --backend it echoes what
// each client sends; with --backend HOST:PORT it forwards every attested
// connection to that backend over plain TCP (a sidecar in front of an
// unmodified service). One thread per connection, bounded by
// --max-connections; one log line per connection on stderr; SIGINT and
// SIGTERM stop it cleanly.

#include "tools/attesters.h"
#include "tools/commands.h"
#include "tools/common.h"
#include "tools/net.h"
#include "tools/session.h"
#include "tools/verifier_options.h"

#include <atls/config.h>
#include <atls/connection.h>

#include <fcntl.h>
#include <poll.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace atls::tools {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:4433";
  std::string cert;
  std::string key;
  std::string attester;
  std::string tcti = "device:/dev/tpmrm0";
  std::vector<std::string> measure;
  std::string attester_key;
  bool passport = false;
  std::string ear_key;
  VerifierOptions verifier;
  bool require_client = false;
  bool optional_client = false;
  std::string policy;
  std::string backend;
  bool json = false;
  std::size_t max_connections = 64;
  std::uint64_t count = 0;
  std::string policy_out;
  int handshake_timeout_ms = 15000;
  int reattest_ms = 0;
};

std::mutex g_log_mu;

void log_line(bool json, const nlohmann::json& j, const std::string& text) {
  const std::lock_guard<std::mutex> lock(g_log_mu);
  if (json) {
    std::cerr << j.dump() << std::endl;
  } else {
    std::cerr << "atls serve: " << text << std::endl;
  }
}

Result<Bytes> read_optional(const std::string& path) {
  if (path.empty()) {
    return Bytes{};
  }
  return read_input(path);
}

struct ServeState {
  const ServeArgs* args = nullptr;
  std::optional<HostPort> backend;
  StopSignal* stop = nullptr;
  ShutdownList live;
};

// handle serves one connection on its worker thread. |conn| comes from
// Server::accept_fd on the accepting thread (non-blocking: the handshake
// and the attestation run here).
void handle(ServeState& st, Result<Connection>& conn, const std::string& peer) {
  const ServeArgs& a = *st.args;
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json j = {{"event", "connection"}, {"peer", peer}};
  std::string line = "peer=" + peer;
  PumpStats stats;
  Result<void> outcome = ok();
  {
    const std::uint64_t live_id = conn ? st.live.add(conn->fd()) : 0;
    if (!conn) {
      outcome = conn.error();
    } else {
      outcome = drive_handshake(*conn, std::chrono::milliseconds(a.handshake_timeout_ms), st.stop);
      if (outcome) {
        j["peer_attestation"] = result_json(*conn);
        line += " client-" + result_summary(*conn);
        PumpOptions po;
        po.stop = st.stop;
        po.reattest_every = std::chrono::milliseconds(a.reattest_ms);
        Fd backend;
        if (st.backend) {
          auto b = connect_tcp(*st.backend);
          if (!b) {
            outcome = b.error();
          } else {
            backend = std::move(*b);
            ::fcntl(backend.get(), F_SETFL, ::fcntl(backend.get(), F_GETFL) | O_NONBLOCK);
            po.plain_in = po.plain_out = backend.get();
          }
        } else {
          po.echo = true;
        }
        if (outcome) {
          outcome = pump(*conn, po, stats);
        }
        j["peer_attestation"] = result_json(*conn);
      } else if (auto alert = conn->peer_alert()) {
        j["peer_alert"] = {{"code", alert->code}, {"reason", alert->reason}};
      }
    }
    st.live.remove(live_id);
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  j["bytes_in"] = stats.from_peer;
  j["bytes_out"] = stats.to_peer;
  j["duration_ms"] = ms.count();
  line += " in=" + std::to_string(stats.from_peer) + " out=" + std::to_string(stats.to_peer) +
          " ms=" + std::to_string(ms.count());
  if (outcome) {
    j["result"] = "ok";
    line += " result=ok";
  } else {
    j["result"] = std::string(outcome.error().name());
    j["detail"] = outcome.error().to_string();
    line +=
        " result=" + std::string(outcome.error().name()) + " (" + outcome.error().to_string() + ")";
  }
  log_line(a.json, j, line);
}

Result<std::shared_ptr<const Config>> build_config(const ServeArgs& a, BuiltAttester& built) {
  AttesterSpec spec;
  spec.kind = a.attester;
  spec.tcti = a.tcti;
  spec.measured_files = a.measure;
  spec.passport = a.passport;
  ATLS_ASSIGN_OR_RETURN(spec.software_key_pem, read_optional(a.attester_key));
  ATLS_ASSIGN_OR_RETURN(spec.ear_key_pem, read_optional(a.ear_key));
  ATLS_ASSIGN_OR_RETURN(spec.verifier, a.verifier.client());
  if (spec.verifier && !spec.ear_key_pem.empty()) {
    return Error{ErrorCode::InvalidArgument,
                 "--ear-key signs in-process passports; with --verifier the Verifier signs"};
  }
  if (a.passport && a.attester == "none") {
    return Error{ErrorCode::InvalidArgument, "--passport needs --attester software or tpm2"};
  }
  ATLS_ASSIGN_OR_RETURN(built, build_attester(spec));

  auto b = Config::builder();
  if (a.cert.empty() != a.key.empty()) {
    return Error{ErrorCode::InvalidArgument, "--cert and --key go together"};
  }
  if (a.cert.empty()) {
    if (!built.attester) {
      return Error{ErrorCode::InvalidArgument, "--cert/--key are required with --attester none"};
    }
    b.attestation_only_identity("atls serve");
  } else {
    b.certificate_chain_file(a.cert).private_key_file(a.key);
  }
  if (built.attester) {
    b.attester(built.attester, built.model);
  }
  if (a.require_client && a.optional_client) {
    return Error{
        ErrorCode::InvalidArgument,
        "--require-client-attestation and --optional-client-attestation exclude each other"};
  }
  if (a.require_client || a.optional_client) {
    if (a.policy.empty() && !a.verifier.given()) {
      return Error{ErrorCode::InvalidArgument,
                   "client attestation needs --policy FILE (or --verifier URL)"};
    }
    if (!a.policy.empty()) {
      b.policy_file(a.policy);
    }
    if (a.verifier.given()) {
      b.verifier(a.verifier.url, a.verifier.ca)
          .verifier_timeout(std::chrono::milliseconds(a.verifier.timeout_ms));
    }
    if (a.require_client) {
      // Clients have no WebPKI certificates: a client's identity is the key
      // its Evidence binds.
      b.peer_attestation(AttestationMode::Required)
          .peer_certificate_policy(PeerCertificatePolicy::AttestationOnly);
    } else {
      // The same identity rule for the clients that do attest; the library
      // spells it this way when attestation is optional (a plain TLS client
      // presents no certificate at all).
      b.peer_attestation(AttestationMode::Optional).dangerous().skip_peer_certificate_check();
    }
  } else {
    if (!a.policy.empty()) {
      return Error{ErrorCode::InvalidArgument,
                   "--policy appraises client evidence: add --require-client-attestation or "
                   "--optional-client-attestation"};
    }
    b.peer_attestation(AttestationMode::Off);
  }
  return b.build();
}

void run_serve(const ServeArgs& a) {
  ServeState st;
  st.args = &a;
  auto listen_at = parse_host_port(a.listen);
  if (!listen_at) {
    fail("serve", listen_at.error());
    return;
  }
  if (!a.backend.empty()) {
    auto b = parse_host_port(a.backend);
    if (!b) {
      fail("serve", b.error());
      return;
    }
    st.backend = *b;
  }
  BuiltAttester built;
  auto config = build_config(a, built);
  if (!config) {
    fail("serve", config.error());
    return;
  }
  if (!a.policy_out.empty()) {
    // A relying-party policy that trusts exactly this server's attester
    // key (or passport Verifier key): for clients in tests and demos.
    const std::string text = relying_party_policy(built).dump(2) + "\n";
    if (auto w = write_output(a.policy_out,
                              {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
        !w) {
      fail("serve", w.error());
      return;
    }
  }
  auto server = Server::listen(*config, listen_at->host, listen_at->port);
  if (!server) {
    fail("serve", server.error());
    return;
  }
  StopSignal stop;
  st.stop = &stop;
  const std::string where = HostPort{listen_at->host, server->port()}.to_string();
  log_line(a.json,
           {{"event", "listening"},
            {"address", where},
            {"port", server->port()},
            {"attester", a.attester},
            {"model", built.model == AttestationModel::Passport ? "passport" : "background-check"},
            {"backend", a.backend}},
           "listening on " + where + " (attester " + a.attester + (a.passport ? ", passport" : "") +
               (a.backend.empty() ? ", echo" : ", backend " + a.backend) + ")");
  std::uint64_t accepted = 0;
  {
    ThreadSet workers(a.max_connections);
    while (!stop.stopped() && (a.count == 0 || accepted < a.count)) {
      pollfd p[2] = {{server->listen_fd(), POLLIN, 0}, {stop.fd(), POLLIN, 0}};
      if (::poll(p, 2, 500) <= 0 || (p[0].revents & POLLIN) == 0) {
        workers.reap();
        continue;
      }
      Fd fd(::accept4(server->listen_fd(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd.is_open()) {
        continue;
      }
      ++accepted;
      const int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const std::string peer = peer_name(fd.get());
      if (workers.running() >= a.max_connections) {
        log_line(a.json, {{"event", "refused"}, {"peer", peer}, {"reason", "busy"}},
                 "peer=" + peer + " refused: " + std::to_string(a.max_connections) +
                     " connections already open");
        continue;  // |fd| closes
      }
      auto conn = std::make_shared<Result<Connection>>(
          server->accept_fd(fd.release(), IoMode::NonBlocking));
      if (!workers.try_spawn([&st, conn, peer] { handle(st, *conn, peer); })) {
        log_line(a.json, {{"event", "refused"}, {"peer", peer}, {"reason", "busy"}},
                 "peer=" + peer + " refused");
      }
    }
    // --count reached: let the open connections finish. After a stop
    // request they see the flag and close (close_notify) on their own;
    // whatever is still open after a grace period is shut down.
    while (workers.running() > 0 && !stop.stopped()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    wait_then_shutdown(workers, st.live);
  }
  log_line(a.json, {{"event", "stopped"}, {"connections", accepted}},
           "stopped after " + std::to_string(accepted) + " connection(s)");
}

}  // namespace

void register_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run an attested TLS 1.3 server: echo, or forward to --backend over plain TCP.\n"
      "The server attests to each client after the handshake (post-handshake, RFC 9261\n"
      "exported authenticators); with --require-client-attestation it also appraises the\n"
      "client's evidence against --policy. One log line per connection on stderr.\n"
      "Exit code: 0 after SIGINT/SIGTERM or --count connections, 1 on a start-up failure,\n"
      "2 on a usage error.");
  cmd->add_option("--listen", a->listen, "Address to listen on, HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--cert", a->cert,
                  "Certificate chain (PEM, leaf first); omit for an attestation-only identity");
  cmd->add_option("--key", a->key, "Private key of the certificate (PEM)");
  cmd->add_option("--attester", a->attester, "How this server attests: software, tpm2 or none")
      ->required()
      ->check(CLI::IsMember({"software", "tpm2", "none"}));
  cmd->add_option("--tcti", a->tcti, "tpm2: TCTI, e.g. swtpm:host=127.0.0.1,port=2321")
      ->capture_default_str();
  cmd->add_option("--measure", a->measure,
                  "software: a file to measure (repeatable; default: this executable)");
  cmd->add_option("--attester-key", a->attester_key,
                  "software: evidence signing key (PEM; default: a fresh key)");
  cmd->add_flag("--passport", a->passport,
                "Passport model: appraise our own evidence in-process and send the signed EAR");
  cmd->add_option("--ear-key", a->ear_key, "Passport: EAR signing key (PEM; default: a fresh key)");
  add_verifier_options(cmd, &a->verifier,
                       "it appraises the clients' Evidence, and with --passport it issues this "
                       "server's EARs");
  cmd->add_flag("--require-client-attestation", a->require_client,
                "Refuse clients that do not attest (AttestationRequired)");
  cmd->add_flag("--optional-client-attestation", a->optional_client,
                "Appraise clients that attest; let plain TLS clients through");
  cmd->add_option("--policy", a->policy,
                  "Appraisal policy for the client's evidence (docs/policy.md)");
  cmd->add_option("--backend", a->backend,
                  "Forward each attested connection to HOST:PORT (plain TCP)");
  cmd->add_flag("--json", a->json, "Log JSON lines instead of text");
  cmd->add_option("--max-connections", a->max_connections, "Connections served at once")
      ->capture_default_str();
  cmd->add_option("--count", a->count, "Stop after this many connections (0: run until a signal)");
  cmd->add_option("--policy-out", a->policy_out,
                  "Write a client policy that trusts this server's attestation key");
  cmd->add_option("--handshake-timeout-ms", a->handshake_timeout_ms,
                  "Limit for handshake plus attestation")
      ->capture_default_str();
  cmd->add_option("--reattest-ms", a->reattest_ms,
                  "Ask an attesting client for fresh evidence this often (0: only by policy)");
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace atls::tools
