// `atls connect HOST:PORT --policy FILE`: an attested TLS 1.3 client. It
// appraises the server's attestation, prints the appraisal on stderr (text,
// or JSON with --json), then copies stdin to the server and the server's
// bytes to stdout. With --listen ADDR it is a local tunnel instead: every
// plain TCP connection to ADDR gets its own attested connection to the
// server. Exit code 0 on success, 1 with the error's name when the
// connection or the attestation fails, 2 on a usage error.

#include "tools/attesters.h"
#include "tools/commands.h"
#include "tools/common.h"
#include "tools/net.h"
#include "tools/protocol_options.h"
#include "tools/session.h"
#include "tools/sidecar.h"
#include "tools/verifier_options.h"

#include "src/core/encoding.h"

#include <atls/config.h>
#include <atls/connection.h>
#include <atls/gateway.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace atls::tools {
namespace {

struct ConnectArgs {
  std::string target;
  std::string policy;
  std::string listen;
  std::string ca;
  std::vector<std::string> pin_spki;
  bool attestation_only = false;
  bool optional = false;
  bool json = false;
  std::string servername;
  std::string attester = "none";
  std::string tcti = "device:/dev/tpmrm0";
  std::vector<std::string> measure;
  std::string attester_key;
  bool passport = false;
  std::string ear_key;
  VerifierOptions verifier;
  ProtocolOptions protocol;
  bool no_negotiation = false;
  int handshake_timeout_ms = 15000;
  int linger_ms = 30000;
  int reattest_ms = 0;
  SidecarOptions sidecar;  // tunnel mode
  bool quiet = false;
  std::string token;  // a gateway token file (docs/gateway.md)
};

std::mutex g_out_mu;

void report(const ConnectArgs& a, const nlohmann::json& j, const std::string& text) {
  if (a.quiet && !j.contains("error")) {
    return;
  }
  const std::lock_guard<std::mutex> lock(g_out_mu);
  if (a.json) {
    std::cerr << j.dump() << std::endl;
  } else {
    std::cerr << text << std::flush;
  }
}

Result<std::shared_ptr<const Config>> build_config(const ConnectArgs& a) {
  auto b = Config::builder();
  b.receive_buffer_limit(a.sidecar.buffer_kib * 1024);
  const int identity_options =
      (a.ca.empty() ? 0 : 1) + (a.pin_spki.empty() ? 0 : 1) + (a.attestation_only ? 1 : 0);
  if (identity_options > 1) {
    return Error{ErrorCode::InvalidArgument,
                 "choose one of --ca, --pin-spki and --attestation-only-identity"};
  }
  if (!a.ca.empty()) {
    b.ca_file(a.ca);
  }
  for (const auto& hex : a.pin_spki) {
    ATLS_ASSIGN_OR_RETURN(Bytes d, from_hex(hex));
    if (d.size() != 32) {
      return Error{ErrorCode::InvalidArgument, "--pin-spki takes a SHA-256 (64 hex digits)"};
    }
    b.pin_spki_sha256(std::move(d));
  }
  if (a.attestation_only) {
    if (a.optional) {
      return Error{ErrorCode::InvalidArgument,
                   "--attestation-only-identity needs required attestation (drop --optional)"};
    }
    b.peer_certificate_policy(PeerCertificatePolicy::AttestationOnly);
  }
  if (!a.token.empty()) {
    //= docs/gateway.md: the token replaces the server's attestation and
    //= certificate; the server proves the gateway key with the PSK.
    if (!a.policy.empty() || a.verifier.given() || identity_options > 0 || a.attester != "none") {
      return Error{ErrorCode::InvalidArgument,
                   "--token connects with a gateway token: no --policy, --verifier, --ca, "
                   "--pin-spki, --attestation-only-identity or --attester"};
    }
    ATLS_ASSIGN_OR_RETURN(GatewayToken t, GatewayToken::load(a.token));
    b.gateway_token(std::move(t));
    a.protocol.apply(b);
    return b.build();
  }
  if (a.policy.empty() && !a.verifier.given()) {
    return Error{ErrorCode::InvalidArgument,
                 "--policy FILE is required (with --verifier URL it is optional: the Verifier "
                 "appraises, and the result must then be affirming)"};
  }
  if (!a.policy.empty()) {
    b.policy_file(a.policy);
  }
  b.peer_attestation(a.optional ? AttestationMode::Optional : AttestationMode::Required);
  if (a.no_negotiation) {
    b.negotiation(false);
  }
  a.protocol.apply(b);
  if (a.verifier.given()) {
    b.verifier(a.verifier.url, a.verifier.ca)
        .verifier_timeout(std::chrono::milliseconds(a.verifier.timeout_ms));
  }
  AttesterSpec spec;
  spec.kind = a.attester;
  spec.tcti = a.tcti;
  spec.measured_files = a.measure;
  spec.passport = a.passport;
  if (!a.attester_key.empty()) {
    ATLS_ASSIGN_OR_RETURN(spec.software_key_pem, read_input(a.attester_key));
  }
  if (!a.ear_key.empty()) {
    ATLS_ASSIGN_OR_RETURN(spec.ear_key_pem, read_input(a.ear_key));
  }
  ATLS_ASSIGN_OR_RETURN(spec.verifier, a.verifier.client());
  if (spec.verifier && !spec.ear_key_pem.empty()) {
    return Error{ErrorCode::InvalidArgument,
                 "--ear-key signs in-process passports; with --verifier the Verifier signs"};
  }
  ATLS_ASSIGN_OR_RETURN(const BuiltAttester built, build_attester(spec));
  if (built.attester) {
    b.attester(built.attester, built.model).attestation_only_identity("atls connect");
  }
  return b.build();
}

// session makes one attested connection and pumps it to |plain_in| /
// |plain_out|. Returns the error that ended it (also reported).
Result<void> session(const ConnectArgs& a, const std::shared_ptr<const Config>& config,
                     const HostPort& target, int plain_in, int plain_out, const StopSignal* stop) {
  const std::string name = a.servername.empty() ? target.host : a.servername;
  auto fail_report = [&](const Error& e, const Connection* conn) {
    nlohmann::json j = error_json(e, conn);
    j["event"] = "error";
    j["server"] = target.to_string();
    std::string text =
        "atls connect: " + target.to_string() + ": " + std::string(e.name()) + ": " + e.to_string();
    if (conn != nullptr) {
      if (auto alert = conn->peer_alert()) {
        text += " (peer alert " + std::to_string(alert->code) + ": " + alert->reason + ")";
      }
    }
    report(a, j, text + "\n");
    return e;
  };
  auto fd = connect_tcp(target);
  if (!fd) {
    return fail_report(fd.error(), nullptr);
  }
  auto conn = Client::connect_fd(config, fd->release(), name, IoMode::NonBlocking);
  if (!conn) {
    return fail_report(conn.error(), nullptr);
  }
  if (auto h = drive_handshake(*conn, std::chrono::milliseconds(a.handshake_timeout_ms), stop);
      !h) {
    return fail_report(h.error(), &*conn);
  }
  {
    nlohmann::json j = {{"event", "attested"}, {"server", target.to_string()}};
    j["peer_attestation"] = result_json(*conn);
    std::string text = "atls connect: " + target.to_string() + ": ";
    if (conn->via_gateway_token()) {
      text += "connected with the gateway token (the server holds the gateway key)\n";
    } else if (conn->is_plain_tls()) {
      text += "plain TLS (the server does not attest; --optional allowed it)\n";
    } else if (const AttestationResult* r = conn->peer_result(); r != nullptr) {
      text += "server attested\n" + describe_result(*r);
    } else {
      text += "connected (no attestation result)\n";
    }
    report(a, j, text);
  }
  PumpOptions po;
  po.plain_in = plain_in;
  po.plain_out = plain_out;
  po.linger = std::chrono::milliseconds(a.linger_ms);
  po.stop = stop;
  po.reattest_every = std::chrono::milliseconds(a.reattest_ms);
  PumpStats stats;
  if (auto p = pump(*conn, po, stats); !p) {
    return fail_report(p.error(), &*conn);
  }
  if (conn->attestation_count() > 1) {
    report(a, {{"event", "closed"}, {"attestations", conn->attestation_count()}},
           "atls connect: " + std::to_string(conn->attestation_count()) +
               " attestations on this connection\n");
  }
  return ok();
}

void run_tunnel(const ConnectArgs& a, const std::shared_ptr<const Config>& config,
                const HostPort& target) {
  auto at = parse_host_port(a.listen);
  if (!at) {
    fail("connect", at.error());
    return;
  }
  auto listener = listen_tcp(*at, kListenBacklog);
  if (!listener) {
    fail("connect", listener.error());
    return;
  }
  SidecarSetup setup;
  setup.mode = SidecarMode::Connect;
  setup.target = target;
  setup.servername = a.servername;
  auto g = std::make_shared<SidecarGeneration>();
  g->config = config;
  setup.initial = std::move(g);
  setup.reload = [&a]() -> Result<std::shared_ptr<const SidecarGeneration>> {
    ATLS_ASSIGN_OR_RETURN(auto c, build_config(a));
    auto next = std::make_shared<SidecarGeneration>();
    next->config = std::move(c);
    return std::shared_ptr<const SidecarGeneration>(std::move(next));
  };
  setup.options = a.sidecar;
  setup.options.json = a.json;
  setup.options.quiet = a.quiet;
  setup.options.handshake_timeout_ms = a.handshake_timeout_ms;
  setup.options.linger_ms = a.linger_ms;
  setup.options.reattest_ms = a.reattest_ms;
  setup.name = "connect";
  const std::uint16_t port = local_port(listener->get());
  const std::string where = HostPort{at->host, port}.to_string();
  setup.listener = std::move(*listener);
  setup.listening = {
      {"event", "listening"}, {"address", where}, {"port", port}, {"server", target.to_string()}};
  setup.listening_text = "tunnel " + where + " -> " + target.to_string();
  set_exit_code(run_sidecar(std::move(setup)));
}

void run_connect(const ConnectArgs& a) {
  auto target = parse_host_port(a.target);
  if (!target) {
    fail("connect", target.error());
    return;
  }
  auto config = build_config(a);
  if (!config) {
    fail("connect", config.error());
    return;
  }
  if (!a.listen.empty()) {
    run_tunnel(a, *config, *target);
    return;
  }
  StopSignal stop;
  auto r = session(a, *config, *target, STDIN_FILENO, STDOUT_FILENO, &stop);
  if (!r) {
    // session() has reported the error with its name; a usage error keeps 2.
    set_exit_code(r.error().category() == ErrorCategory::Usage ? 2 : 1);
  }
}

}  // namespace

void register_connect(CLI::App& app) {
  auto a = std::make_shared<ConnectArgs>();
  auto* cmd = app.add_subcommand(
      "connect",
      "Connect to an attested TLS 1.3 server, appraise its attestation against --policy and\n"
      "print the appraisal on stderr; then copy stdin to the server and the server's bytes\n"
      "to stdout (or, with --listen, tunnel local plain TCP connections to the server).\n"
      "Exit code: 0 success, 1 connection or attestation failure (the error name is\n"
      "printed, e.g. AttestationRequired, MeasurementMismatch), 2 usage error.");
  cmd->add_option("server", a->target, "Server address HOST:PORT")->required();
  cmd->add_option("--policy", a->policy,
                  "Appraisal policy for the server's evidence (docs/policy.md); required unless "
                  "--verifier is given");
  cmd->add_option("--token", a->token,
                  "Pre-handshake mode: connect with this gateway token file (from `atls connect` "
                  "to an `atls gateway`; docs/gateway.md) instead of appraising the server");
  cmd->add_option("--listen", a->listen,
                  "Tunnel: accept plain TCP on HOST:PORT instead of using stdin/stdout");
  cmd->add_option("--ca", a->ca,
                  "CA certificates (PEM) for the server's certificate (default: system roots)");
  cmd->add_option(
      "--pin-spki", a->pin_spki,
      "Accept only this SHA-256 of the server's DER SubjectPublicKeyInfo (hex; repeatable)");
  cmd->add_flag("--attestation-only-identity", a->attestation_only,
                "Accept any certificate: the server's identity is the key its evidence binds");
  cmd->add_flag(
      "--optional", a->optional,
      "Continue as plain TLS when the server has no atls (a failed appraisal still fails)");
  cmd->add_flag("--json", a->json, "Print the appraisal and errors as JSON lines on stderr");
  cmd->add_option("--servername", a->servername, "SNI and certificate name (default: the host)");
  cmd->add_option("--attester", a->attester,
                  "Attest this client too (mutual): software, tpm2 or none")
      ->check(CLI::IsMember({"software", "tpm2", "none"}))
      ->capture_default_str();
  cmd->add_option("--tcti", a->tcti, "tpm2: TCTI")->capture_default_str();
  cmd->add_option("--measure", a->measure, "software: a file to measure (repeatable)");
  cmd->add_option("--attester-key", a->attester_key,
                  "software: evidence signing key (PEM; default: a fresh key)");
  cmd->add_flag("--passport", a->passport, "Client attestation in the passport model");
  cmd->add_option("--ear-key", a->ear_key, "Passport: EAR signing key (PEM)");
  add_verifier_options(cmd, &a->verifier,
                       "it appraises the server's Evidence, and with --passport it issues this "
                       "client's EARs");
  cmd->add_flag("--no-negotiation", a->no_negotiation,
                "Do not send the atls_negotiation extension (for middleboxes that strip it)");
  add_protocol_options(cmd, &a->protocol);
  cmd->add_option("--handshake-timeout-ms", a->handshake_timeout_ms,
                  "Limit for handshake plus attestation")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  cmd->add_option("--linger-ms", a->linger_ms,
                  "Last resort: after stdin (or the local client) ends and close_notify went out, "
                  "the longest wait for the server to end its side")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  cmd->add_option("--reattest-ms", a->reattest_ms,
                  "Ask the server for fresh attestation this often (0: by policy)")
      ->check(CLI::Range(0, 86400000));
  cmd->add_option("--count", a->sidecar.count,
                  "Tunnel: stop after this many connections have finished (0: until a signal)");
  auto* tunnel = cmd->add_option_group("Tunnel (--listen)");
  add_sidecar_options(tunnel, &a->sidecar);
  cmd->add_flag("--quiet", a->quiet, "Print only errors");
  cmd->callback([a] { run_connect(*a); });
}

}  // namespace atls::tools
