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
#include "tools/protocol_options.h"
#include "tools/session.h"
#include "tools/sidecar.h"
#include "tools/verifier_options.h"

#include <atls/config.h>
#include <atls/connection.h>
#include <atls/gateway.h>

#include <fcntl.h>

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
  ProtocolOptions protocol;
  bool require_client = false;
  bool optional_client = false;
  std::string policy;
  std::string backend;
  std::string policy_out;
  SidecarOptions sidecar;
  // Gateway tokens (docs/gateway.md): serve --accept-gateway-tokens, and
  // what `atls gateway` issues.
  std::string accept_tokens;
  std::string token_audience;
  std::string token_key;
  int token_lifetime_s = 300;
  bool single_use = false;
  bool gateway = false;
  // Single-use tokens already admitted: one cache for every generation of
  // the configuration (SIGHUP rebuilds it).
  std::shared_ptr<GatewayReplayCache> token_replay = std::make_shared<GatewayReplayCache>();
};

Result<Bytes> read_optional(const std::string& path) {
  if (path.empty()) {
    return Bytes{};
  }
  return read_input(path);
}

// make_attester builds the attester once: a reload keeps it (and its key).
Result<BuiltAttester> make_attester(const ServeArgs& a) {
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
  return build_attester(spec);
}

// build_config reads the certificate, key and policy: at start and on SIGHUP.
Result<std::shared_ptr<const Config>> build_config(const ServeArgs& a, const BuiltAttester& built) {
  auto b = Config::builder();
  b.receive_buffer_limit(a.sidecar.buffer_kib * 1024);
  a.protocol.apply(b);
  if (a.cert.empty() != a.key.empty()) {
    return Error{ErrorCode::InvalidArgument, "--cert and --key go together"};
  }
  if (!a.accept_tokens.empty() && !a.require_client && !a.optional_client) {
    //= docs/gateway.md: token clients only. The server's identity is the
    //= gateway key (proven by the PSK): no certificate, no attestation.
    if (!a.cert.empty() || built.attester) {
      return Error{ErrorCode::InvalidArgument,
                   "--accept-gateway-tokens alone admits token clients only, whose server "
                   "identity is the gateway key: drop --cert and use --attester none, or add "
                   "--require-client-attestation to admit attesting clients too"};
    }
    if (a.policy.empty()) {
      return Error{ErrorCode::InvalidArgument,
                   "--accept-gateway-tokens needs --policy FILE (its machine pins and required "
                   "tier apply to the tokens' appraisals)"};
    }
    ATLS_ASSIGN_OR_RETURN(Bytes key, load_gateway_key(a.accept_tokens));
    b.accept_gateway_tokens(std::move(key), a.token_audience, a.token_replay)
        .policy_file(a.policy)
        .peer_attestation(AttestationMode::Required);
    return b.build();
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
  if (!a.accept_tokens.empty()) {
    ATLS_ASSIGN_OR_RETURN(Bytes key, load_gateway_key(a.accept_tokens));
    b.accept_gateway_tokens(std::move(key), a.token_audience, a.token_replay);
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
  auto listen_at = parse_host_port(a.listen);
  if (!listen_at) {
    fail("serve", listen_at.error());
    return;
  }
  SidecarSetup setup;
  setup.mode = a.backend.empty() ? SidecarMode::ServeEcho : SidecarMode::ServeBackend;
  if (a.gateway) {
    auto key = load_gateway_key(a.token_key);
    if (!key) {
      fail("gateway", key.error());
      return;
    }
    GatewayTokenOptions o;
    o.lifetime = std::chrono::seconds(a.token_lifetime_s);
    o.single_use = a.single_use;
    o.audience = a.token_audience;
    setup.mode = SidecarMode::Gateway;
    setup.issue = [key = std::move(*key), o](const Connection& conn) -> Result<std::string> {
      const AttestationResult* r = conn.peer_result();
      if (r == nullptr) {
        return Error{ErrorCode::AttestationRequired, "the client did not attest"};
      }
      ATLS_ASSIGN_OR_RETURN(const GatewayToken t, issue_gateway_token(*r, key, o));
      return t.to_json();
    };
  }
  if (!a.backend.empty()) {
    auto b = parse_host_port(a.backend);
    if (!b) {
      fail("serve", b.error());
      return;
    }
    setup.target = *b;
  }
  auto built = make_attester(a);
  if (!built) {
    fail("serve", built.error());
    return;
  }
  if (!a.policy_out.empty()) {
    // A relying-party policy that trusts exactly this server's attester
    // key (or passport Verifier key): for clients in tests and demos.
    const std::string text = relying_party_policy(*built).dump(2) + "\n";
    if (auto w = write_output(a.policy_out,
                              {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
        !w) {
      fail("serve", w.error());
      return;
    }
  }
  auto listener = listen_tcp(*listen_at, kListenBacklog);
  if (!listener) {
    fail("serve", listener.error());
    return;
  }
  const int listen_fd = listener->get();
  auto shared_built = std::make_shared<const BuiltAttester>(std::move(*built));
  auto load = [&a, shared_built, listen_fd]() -> Result<std::shared_ptr<const SidecarGeneration>> {
    ATLS_ASSIGN_OR_RETURN(auto config, build_config(a, *shared_built));
    const int fd = ::fcntl(listen_fd, F_DUPFD_CLOEXEC, 0);
    ATLS_ASSIGN_OR_RETURN(Server server, Server::from_listen_fd(config, fd));
    auto g = std::make_shared<SidecarGeneration>();
    g->config = std::move(config);
    g->server = std::make_shared<Server>(std::move(server));
    return std::shared_ptr<const SidecarGeneration>(std::move(g));
  };
  auto initial = load();
  if (!initial) {
    fail("serve", initial.error());
    return;
  }
  const std::uint16_t port = local_port(listen_fd);
  const std::string where = HostPort{listen_at->host, port}.to_string();
  setup.listener = std::move(*listener);
  setup.initial = std::move(*initial);
  setup.reload = load;
  setup.options = a.sidecar;
  setup.name = a.gateway ? "gateway" : "serve";
  setup.listening = {
      {"event", "listening"},
      {"address", where},
      {"port", port},
      {"attester", a.attester},
      {"model",
       shared_built->model == AttestationModel::Passport ? "passport" : "background-check"},
      {"backend", a.backend}};
  const std::string role = a.gateway           ? ", issuing gateway tokens"
                           : a.backend.empty() ? ", echo"
                                               : ", backend " + a.backend;
  setup.listening_text = "listening on " + where + " (attester " + a.attester +
                         (a.passport ? ", passport" : "") + role + ")";
  set_exit_code(run_sidecar(std::move(setup)));
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
  cmd->add_option("--accept-gateway-tokens", a->accept_tokens,
                  "Pre-handshake mode (docs/gateway.md): also admit clients with a token of the "
                  "gateway that shares this key file (64 hex digits); their appraisal is the "
                  "token's, checked against --policy's pins and tier. Alone (with --attester "
                  "none, no --cert) it admits token clients only; with "
                  "--require-client-attestation, attesting clients too");
  cmd->add_option("--token-audience", a->token_audience,
                  "With --accept-gateway-tokens: tokens must name this server");
  cmd->add_option("--backend", a->backend,
                  "Forward each attested connection to HOST:PORT (plain TCP)");
  cmd->add_flag("--json", a->sidecar.json, "Log JSON lines instead of text");
  add_protocol_options(cmd, &a->protocol);
  cmd->add_option("--count", a->sidecar.count,
                  "Stop after this many connections have finished (0: run until a signal)");
  cmd->add_option("--policy-out", a->policy_out,
                  "Write a client policy that trusts this server's attestation key");
  cmd->add_option("--handshake-timeout-ms", a->sidecar.handshake_timeout_ms,
                  "Limit for handshake plus attestation")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  cmd->add_option("--reattest-ms", a->sidecar.reattest_ms,
                  "Ask an attesting client for fresh evidence this often (0: only by policy)")
      ->check(CLI::Range(0, 86400000));
  cmd->add_option("--backend-timeout-ms", a->sidecar.connect_timeout_ms,
                  "Limit for the TCP connection to the backend")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  cmd->add_option("--linger-ms", a->sidecar.linger_ms,
                  "Last resort: after the backend ended and close_notify went out, the longest "
                  "wait for the client to end its side")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  add_sidecar_options(cmd, &a->sidecar);
  cmd->callback([a] { run_serve(*a); });
}

void register_gateway(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  a->gateway = true;
  a->require_client = true;
  a->attester = "none";
  a->listen = "127.0.0.1:4430";
  auto* cmd = app.add_subcommand(
      "gateway",
      "Pre-handshake attestation (docs/gateway.md): appraise each client once (post-handshake\n"
      "client attestation against --policy, or through --verifier) and send it a short-lived\n"
      "token file: a TLS 1.3 external PSK whose identity carries, sealed under --token-key, the\n"
      "PSK and a summary of the appraisal (tier, trust vectors, machine id; not the claims).\n"
      "Internal servers that share the key (`atls serve --accept-gateway-tokens KEYFILE`)\n"
      "admit the client with `atls connect --token FILE`, without seeing its Evidence.\n"
      "A client gets its token with: atls connect GATEWAY --attester ... --policy GATEWAY-POLICY\n"
      "... > token.json (a secret: keep it private). A new key: atls gateway --new-key FILE.\n"
      "Exit code: 0 after SIGINT/SIGTERM or --count connections, 1 on a start-up failure,\n"
      "2 on a usage error.");
  auto new_key = std::make_shared<std::string>();
  cmd->add_option("--new-key", *new_key,
                  "Write a fresh gateway key (64 hex digits, mode 0600) to this file and exit");
  cmd->add_option("--listen", a->listen, "Address to listen on, HOST:PORT")->capture_default_str();
  cmd->add_option("--cert", a->cert, "The gateway's certificate chain (PEM, leaf first)");
  cmd->add_option("--key", a->key, "Private key of the certificate (PEM)");
  cmd->add_option("--attester", a->attester, "How the gateway attests: software, tpm2 or none")
      ->check(CLI::IsMember({"software", "tpm2", "none"}))
      ->capture_default_str();
  cmd->add_option("--policy", a->policy, "Appraisal policy for the clients' evidence");
  add_verifier_options(cmd, &a->verifier, "it appraises the clients' Evidence");
  cmd->add_option("--policy-out", a->policy_out,
                  "Write a client policy that trusts this gateway's attestation key");
  cmd->add_option("--token-key", a->token_key,
                  "Key file shared with the internal servers (64 hex digits)");
  cmd->add_option("--token-lifetime", a->token_lifetime_s,
                  "Seconds a token can be presented (never beyond the appraisal's validity)")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  cmd->add_flag("--single-use", a->single_use, "Each token opens one connection only");
  cmd->add_option("--audience", a->token_audience,
                  "Name the internal server the tokens are for (its --token-audience)");
  cmd->add_flag("--json", a->sidecar.json, "Log JSON lines instead of text");
  add_protocol_options(cmd, &a->protocol);
  cmd->add_option("--count", a->sidecar.count,
                  "Stop after this many connections have finished (0: run until a signal)");
  cmd->add_option("--handshake-timeout-ms", a->sidecar.handshake_timeout_ms,
                  "Limit for handshake plus attestation")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400000));
  add_sidecar_options(cmd, &a->sidecar);
  cmd->callback([a, new_key] {
    if (!new_key->empty()) {
      const std::string hex = new_gateway_key();
      auto w = write_secret_file(*new_key, hex);
      if (!w) {
        fail("gateway", w.error());
      }
      return;
    }
    if (a->token_key.empty()) {
      fail("gateway", Error{ErrorCode::InvalidArgument, "--token-key FILE is required"});
      return;
    }
    run_serve(*a);
  });
}

}  // namespace atls::tools
