// `atls demo`: the whole system on one machine, in one process and its
// children. It starts a private swtpm (TPM 2.0 simulator) on free loopback
// ports, runs an attested server with the tpm2 attester on a thread and a
// client on another, and walks through seven scenarios: server attestation in the background-check
// and passport models, mutual attestation, re-attestation on a live
// connection, a server whose PCRs do not match the client's policy being
// refused, and then, with an `atls verifier` service it starts as a child
// process (docs/verifier-service.md), a remote background-check and a
// remote passport. Every process, socket and directory it makes is removed
// on the way out, also on failure.

#include "tools/attesters.h"
#include "tools/commands.h"
#include "tools/common.h"
#include "tools/dev_cert.h"
#include "tools/net.h"
#include "tools/session.h"
#include "tools/swtpm_process.h"
#include "tools/verifier_process.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/x509.h"
#include "src/remote/verifier_client.h"

#include <atls/config.h>
#include <atls/connection.h>

#include <poll.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace atls::tools {
namespace {

struct DemoArgs {};

// Progress lines go to stderr, the report to stdout.
class Progress {
 public:
  explicit Progress(int total) : m_total(total) {}
  // step prints the next step; false once SIGINT/SIGTERM asked to stop
  // (callers then return, and the destructors clean up).
  bool step(const std::string& what) {
    if (m_stop.stopped()) {
      std::cerr << "atls demo: interrupted; cleaning up" << std::endl;
      return false;
    }
    ++m_step;
    std::cerr << "[" << m_step << "/" << m_total << "] " << what << std::endl;
    return true;
  }

 private:
  int m_total;
  int m_step = 0;
  StopSignal m_stop;
};

// Outcome of one scenario as the client saw it.
struct Outcome {
  bool connected = false;
  Error error;
  std::string server_error;  // what the server's accept() reported
  std::string tier;
  std::string machine_id;
  std::string media_type;
  bool hardware_rooted = false;
  std::size_t attestations = 0;
  std::string echoed;
  std::string notes;
  std::unique_ptr<Outcome> client_view;  // the server's appraisal of the client, if any
};

void record_result(const Connection& conn, Outcome& out) {
  out.attestations = conn.attestation_count();
  if (const AttestationResult* r = conn.peer_result(); r != nullptr) {
    out.tier = std::string(tier_name(r->status()));
    out.machine_id = r->machine_id();
    out.media_type = r->media_type();
    out.hardware_rooted = r->hardware_rooted();
  }
}

// ServerThread accepts exactly one connection on a loopback port and echoes
// it; it gives up after |timeout| without a client.
class ServerThread {
 public:
  ServerThread(std::shared_ptr<const Config> config, std::string* error_out, Outcome* client_view)
      : m_config(std::move(config)), m_error_out(error_out), m_client_view(client_view) {}
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;
  ~ServerThread() { join(); }

  Result<std::uint16_t> start() {
    ATLS_ASSIGN_OR_RETURN(Server server, Server::listen(m_config, "127.0.0.1", 0));
    const std::uint16_t port = server.port();
    m_thread = std::thread([this, s = std::make_shared<Server>(std::move(server))] { serve(*s); });
    return port;
  }
  void join() {
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }

 private:
  void serve(Server& server) {
    pollfd p{server.listen_fd(), POLLIN, 0};
    if (::poll(&p, 1, 30000) != 1) {
      *m_error_out = "no client within 30 s";
      return;
    }
    auto conn = server.accept();
    if (!conn) {
      *m_error_out = std::string(conn.error().name()) + ": " + conn.error().to_string();
      return;
    }
    record_result(*conn, *m_client_view);
    std::uint8_t buf[4096];
    for (int i = 0; i < 1000; ++i) {  // bounded: the client sends a handful of messages
      auto n = conn->read(buf);
      if (!n) {
        if (n.error().code != ErrorCode::ConnectionClosed) {
          *m_error_out = std::string(n.error().name()) + ": " + n.error().to_string();
        }
        break;
      }
      if (!conn->write({buf, *n})) {
        break;
      }
    }
    (void)conn->close();
  }

  std::shared_ptr<const Config> m_config;
  std::string* m_error_out;
  Outcome* m_client_view;  // what the server learnt about the client
  std::thread m_thread;
};

// round_trip sends |msg| and reads until as many bytes came back.
Result<std::string> round_trip(Connection& conn, const std::string& msg) {
  ATLS_TRY(conn.write({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()}));
  std::string got;
  std::uint8_t buf[4096];
  while (got.size() < msg.size()) {
    ATLS_ASSIGN_OR_RETURN(const std::size_t n, conn.read(buf));
    got.append(reinterpret_cast<const char*>(buf), n);
  }
  return got;
}

// run_scenario runs one server/client pair. |client_body| runs on the
// client's connection after the handshake.
Outcome run_scenario(const std::shared_ptr<const Config>& server_config,
                     const std::shared_ptr<const Config>& client_config,
                     const std::function<Result<void>(Connection&, Outcome&)>& client_body) {
  Outcome out;
  std::string server_error;
  auto client_view = std::make_unique<Outcome>();
  {
    ServerThread server(server_config, &server_error, client_view.get());
    auto port = server.start();
    if (!port) {
      out.error = port.error();
      return out;
    }
    auto conn = Client::connect(client_config, "localhost", *port);
    if (!conn) {
      out.error = conn.error();
    } else {
      out.connected = true;
      record_result(*conn, out);
      auto body = client_body(*conn, out);
      record_result(*conn, out);
      if (!body) {
        out.connected = false;
        out.error = body.error();
      }
      (void)conn->close();
    }
  }  // joins the server thread
  out.server_error = server_error;
  if (!client_view->tier.empty()) {
    out.client_view = std::move(client_view);
  }
  return out;
}

std::string hex_zero_pcr() {
  return std::string(64, '0');
}

// The client's reference values for the swtpm: a freshly started TPM has
// PCRs 0-7 of the SHA-256 bank all zero.
nlohmann::json tpm_reference(bool tampered) {
  nlohmann::json pcrs = nlohmann::json::object();
  for (int i = 0; i < 8; ++i) {
    pcrs[std::to_string(i)] = hex_zero_pcr();
  }
  if (tampered) {
    // The policy expects a measured boot this TPM never saw.
    pcrs["0"] =
        to_hex(ossl::digest(ossl::HashAlg::Sha256, to_bytes(std::string_view("expected firmware")))
                   .value_or(Bytes(32, 0x11)));
  }
  return {{"pcrs", {{"sha256", pcrs}}}};
}

void print_block(int n, const std::string& title, const std::string& checked, const Outcome& o,
                 bool expect_refusal) {
  std::cout << "\n" << n << ". " << title << "\n";
  std::cout << "   checked:     " << checked << "\n";
  if (o.connected) {
    std::cout << "   verdict:     ACCEPTED\n";
    std::cout << "   tier:        " << o.tier
              << (o.hardware_rooted ? " (TPM-rooted; the TPM here is the swtpm simulator)" : "")
              << "\n";
    std::cout << "   machine id:  " << (o.machine_id.empty() ? "(none)" : o.machine_id) << "\n";
    std::cout << "   evidence:    " << o.media_type << "\n";
    std::cout << "   attestations on the connection: " << o.attestations << "\n";
    if (o.client_view) {
      std::cout << "   the server's appraisal of the client:\n";
      std::cout << "     tier:        " << o.client_view->tier
                << (o.client_view->hardware_rooted ? " (hardware-rooted)"
                                                   : " (software-rooted: at most warning)")
                << "\n";
      std::cout << "     machine id:  " << o.client_view->machine_id << "\n";
      std::cout << "     evidence:    " << o.client_view->media_type << "\n";
    }
  } else {
    std::cout << "   verdict:     REFUSED: " << o.error.name() << "\n";
    std::cout << "   reason:      " << o.error.to_string() << "\n";
    if (!o.server_error.empty()) {
      std::cout << "   server saw:  " << o.server_error << "\n";
    }
  }
  if (!o.notes.empty()) {
    std::cout << o.notes;
  }
  const bool as_expected = expect_refusal ? !o.connected : o.connected;
  std::cout << "   as expected: " << (as_expected ? "yes" : "NO") << "\n" << std::flush;
}

Result<std::shared_ptr<const Config>> server_config(const DevCert& cert, const BuiltAttester& att,
                                                    const BuiltAttester* client_att,
                                                    const nlohmann::json* client_ref) {
  auto b = Config::builder();
  b.certificate_chain_pem(cert.cert_pem)
      .private_key_pem(cert.key_pem)
      .attester(att.attester, att.model);
  if (client_att != nullptr) {
    b.peer_attestation(AttestationMode::Required)
        .policy_json(relying_party_policy(*client_att, "warning", *client_ref).dump())
        .peer_certificate_policy(PeerCertificatePolicy::AttestationOnly);
  } else {
    b.peer_attestation(AttestationMode::Off);
  }
  return b.build();
}

Result<std::shared_ptr<const Config>> client_config(const DevCert& cert,
                                                    const nlohmann::json& policy,
                                                    const BuiltAttester* own) {
  auto b = Config::builder();
  b.ca_pem(cert.cert_pem).peer_attestation(AttestationMode::Required).policy_json(policy.dump());
  if (own != nullptr) {
    b.attester(own->attester, own->model).attestation_only_identity("atls demo client");
  }
  return b.build();
}

// remote_scenarios starts an `atls verifier` service (a child process of
// this one, docs/verifier-service.md) that appraises the server's TPM
// quotes against the reference values the client used in scenario 1, runs
// scenarios 6 and 7 through it and stops it. Returns how many scenarios did
// not behave as expected, or -1 when the demo must stop.
int remote_scenarios(Progress& progress, const DevCert& cert, const BuiltAttester& server_bg,
                     const std::function<Result<void>(Connection&, Outcome&)>& body) {
  if (!progress.step("starting an atls verifier service (a child process) on a free loopback "
                     "port")) {
    return -1;
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    fail("demo", Error{ErrorCode::IoError, "cannot find this executable: " + ec.message()});
    return -1;
  }
  VerifierProcessOptions vo;
  vo.executable = self.string();
  vo.policy_json = relying_party_policy(server_bg, "warning", tpm_reference(false)).dump();
  auto svc = VerifierProcess::start(vo);
  if (!svc) {
    fail("demo", svc.error());
    return -1;
  }
  const std::string url = (*svc)->url();
  std::cerr << "      atls verifier pid " << (*svc)->pid() << ", " << url
            << " (trusts the TPM AK, expects PCR 0-7 = reference)" << std::endl;
  int failures = 0;

  // 6. Remote background-check: the client has no trust anchors of its own,
  // only the Verifier's URL and the tier it requires.
  if (!progress.step("scenario 6: server attestation, remote background-check (the Verifier "
                     "service appraises the TPM quote)")) {
    return -1;
  }
  {
    auto sc = server_config(cert, server_bg, nullptr, nullptr);
    auto cb = Config::builder();
    cb.ca_pem(cert.cert_pem)
        .peer_attestation(AttestationMode::Required)
        .policy_json(R"({"required_tier": "warning"})")
        .verifier(url);
    auto cc = cb.build();
    if (!sc || !cc) {
      fail("demo", !sc ? sc.error() : cc.error());
      return -1;
    }
    Outcome o = run_scenario(*sc, *cc, body);
    o.notes =
        "   Verifier:    " + url +
        " saw the Evidence and its session, nothing of the connection\n"
        "                (the quote's nonce is the TLS binder: only the client can check it)\n";
    print_block(6, "Server attestation, remote background-check",
                "client: Verifier session nonce = request context; the service checks the quote "
                "(AK, PCRs) and signs an EAR; client checks the EAR's key and binder",
                o, false);
    failures += o.connected ? 0 : 1;
  }

  // 7. Remote passport: the server gets an EAR for its key from the service;
  // the client pins the service's EAR key and never contacts it.
  if (!progress.step("scenario 7: server attestation, remote passport (EAR from the Verifier "
                     "service)")) {
    return -1;
  }
  {
    remote::ClientOptions co;
    co.url = url;
    auto vc = remote::VerifierClient::create(co);
    if (!vc) {
      fail("demo", vc.error());
      return -1;
    }
    PassportAttesterConfig pc;
    pc.evidence_attester = server_bg.attester;
    pc.verifier = *vc;
    auto pp = make_passport_attester(std::move(pc));
    if (!pp) {
      fail("demo", pp.error());
      return -1;
    }
    BuiltAttester server_pp;
    server_pp.attester = std::move(*pp);
    server_pp.model = AttestationModel::Passport;
    const std::string ear(kMediaTypeEar);
    const nlohmann::json policy = {
        {"required_tier", "warning"},
        {"schemes", {{ear, {{"trust", trust_section_for(ear, (*svc)->ear_public_pem())}}}}}};
    auto sc = server_config(cert, server_pp, nullptr, nullptr);
    auto cc = client_config(cert, policy, nullptr);
    if (!sc || !cc) {
      fail("demo", !sc ? sc.error() : cc.error());
      return -1;
    }
    Outcome o = run_scenario(*sc, *cc, body);
    o.notes =
        "   Verifier:    issued the EAR to the server for its TLS key; the client never "
        "contacted it\n";
    print_block(7, "Server attestation, remote passport",
                "EAR signed by the Verifier service's key (pinned in the client's policy), naming "
                "the authenticator's key, fresh",
                o, false);
    failures += o.connected ? 0 : 1;
  }

  if (!progress.step("stopping the Verifier service and removing its directory")) {
    return -1;
  }
  svc->reset();
  return failures;
}

int run_demo(const DemoArgs& /*a*/) {
  constexpr int kSteps = 13;
  Progress progress(kSteps);
  std::cout << "atls demo: attested TLS 1.3 on this machine (server: TPM 2.0 simulator; "
               "client: software attester)\n"
            << std::flush;

  if (!progress.step("starting a private swtpm on a free loopback port")) {
    return 1;
  }

  if (!SwtpmProcess::available()) {
    fail("demo", Error{ErrorCode::FileNotFound,
                       "swtpm is not installed (scripts/install-deps.sh installs it)"});
    return 1;
  }
  auto tpm = SwtpmProcess::start();
  if (!tpm) {
    fail("demo", tpm.error());
    return 1;
  }
  std::cerr << "      swtpm pid " << (*tpm)->pid() << ", " << (*tpm)->tcti() << std::endl;

  if (!progress.step(
          "creating the TPM attestation key, the server certificate and the client attester")) {
    return 1;
  }

  auto cert = make_dev_cert("localhost");
  if (!cert) {
    fail("demo", cert.error());
    return 1;
  }
  AttesterSpec tpm_spec;
  tpm_spec.kind = "tpm2";
  tpm_spec.tcti = (*tpm)->tcti();
  auto server_bg = build_attester(tpm_spec);
  if (!server_bg) {
    fail("demo", server_bg.error());
    return 1;
  }
  auto server_pp = make_passport(server_bg->attester, server_bg->evidence_key_pem, {});
  if (!server_pp) {
    fail("demo", server_pp.error());
    return 1;
  }
  AttesterSpec sw_spec;
  sw_spec.kind = "software";  // measures the running executable
  auto client_sw = build_attester(sw_spec);
  if (!client_sw) {
    fail("demo", client_sw.error());
    return 1;
  }
  auto self_digest = ossl::digest_file(ossl::HashAlg::Sha256, "/proc/self/exe");
  if (!self_digest) {
    fail("demo", self_digest.error());
    return 1;
  }
  const nlohmann::json client_ref = {{"measurements", {{"executable", to_hex(*self_digest)}}}};

  int failures = 0;
  auto check = [&](const Outcome& o, bool expect_refusal) {
    if (expect_refusal ? o.connected : !o.connected) {
      ++failures;
    }
  };
  const std::string ok_body_msg = "hello over an attested channel";
  auto echo_body = [&](Connection& c, Outcome& o) -> Result<void> {
    ATLS_ASSIGN_OR_RETURN(o.echoed, round_trip(c, ok_body_msg));
    return ok();
  };
  auto scenario_error = [&](const Result<std::shared_ptr<const Config>>& r) {
    if (!r) {
      fail("demo", r.error());
      return true;
    }
    return false;
  };

  // 1. Background-check.
  if (!progress.step("scenario 1: server attestation, background-check (TPM quote)")) {
    return 1;
  }
  {
    auto sc = server_config(*cert, *server_bg, nullptr, nullptr);
    auto cc = client_config(
        *cert, relying_party_policy(*server_bg, "warning", tpm_reference(false)), nullptr);
    if (scenario_error(sc) || scenario_error(cc)) {
      return 1;
    }
    const Outcome o = run_scenario(*sc, *cc, echo_body);
    print_block(
        1, "Server attestation, background-check model",
        "TPM 2.0 quote signed by the pinned AK; nonce = TLS exporter binder; PCR 0-7 = reference",
        o, false);
    check(o, false);
  }

  // 2. Passport.
  if (!progress.step(
          "scenario 2: server attestation, passport (EAR from the in-process Verifier)")) {
    return 1;
  }
  {
    auto sc = server_config(*cert, *server_pp, nullptr, nullptr);
    auto cc = client_config(*cert, relying_party_policy(*server_pp), nullptr);
    if (scenario_error(sc) || scenario_error(cc)) {
      return 1;
    }
    const Outcome o = run_scenario(*sc, *cc, echo_body);
    print_block(2, "Server attestation, passport model",
                "EAR signed by the trusted Verifier key, naming the authenticator's key, fresh", o,
                false);
    check(o, false);
  }

  // 3. Mutual.
  if (!progress.step("scenario 3: mutual attestation (server TPM, client software)")) {
    return 1;
  }
  {
    auto sc = server_config(*cert, *server_bg, &*client_sw, &client_ref);
    auto cc = client_config(
        *cert, relying_party_policy(*server_bg, "warning", tpm_reference(false)), &*client_sw);
    if (scenario_error(sc) || scenario_error(cc)) {
      return 1;
    }
    const Outcome o = run_scenario(*sc, *cc, echo_body);
    print_block(3, "Mutual attestation",
                "client checks the server's TPM quote; server checks the client's software EAT "
                "(pinned key, executable digest)",
                o, false);
    check(o, false);
  }

  // 4. Re-attestation on a live connection.
  if (!progress.step("scenario 4: re-attestation on a live connection")) {
    return 1;
  }
  {
    auto sc = server_config(*cert, *server_bg, nullptr, nullptr);
    auto cc = client_config(
        *cert, relying_party_policy(*server_bg, "warning", tpm_reference(false)), nullptr);
    if (scenario_error(sc) || scenario_error(cc)) {
      return 1;
    }
    const Outcome o = run_scenario(*sc, *cc, [&](Connection& c, Outcome& out) -> Result<void> {
      ATLS_ASSIGN_OR_RETURN(const std::string before, round_trip(c, "before"));
      const std::int64_t first_at = c.peer_result() != nullptr ? c.peer_result()->verified_at() : 0;
      ATLS_TRY(c.reattest());
      // DATA keeps flowing while the fresh quote is produced and appraised.
      std::string during;
      for (int i = 0; i < 50 && c.attestation_count() < 2; ++i) {
        ATLS_ASSIGN_OR_RETURN(during, round_trip(c, "during " + std::to_string(i)));
      }
      if (c.attestation_count() < 2) {
        return Error{ErrorCode::AttestationTimeout, "no second attestation on the connection"};
      }
      ATLS_ASSIGN_OR_RETURN(const std::string after, round_trip(c, "after"));
      const std::int64_t second_at =
          c.peer_result() != nullptr ? c.peer_result()->verified_at() : 0;
      out.notes = "   data on the connection: \"" + before + "\" before, " +
                  (during.empty() ? std::string() : "\"" + during + "\" during, ") + "\"" + after +
                  "\" after the new appraisal\n" +
                  "   appraisals at: " + ossl::format_time(first_at) + " and " +
                  ossl::format_time(second_at) + "\n";
      return ok();
    });
    print_block(4, "Re-attestation on a live connection",
                "a fresh request (new context) on the open connection; new quote appraised while "
                "data flows",
                o, false);
    check(o, false);
  }

  // 5. Tampered server.
  if (!progress.step("scenario 5: a server whose PCRs do not match the policy")) {
    return 1;
  }
  {
    auto sc = server_config(*cert, *server_bg, nullptr, nullptr);
    auto cc = client_config(*cert, relying_party_policy(*server_bg, "warning", tpm_reference(true)),
                            nullptr);
    if (scenario_error(sc) || scenario_error(cc)) {
      return 1;
    }
    const Outcome o = run_scenario(*sc, *cc, echo_body);
    print_block(
        5, "Tampered server is refused",
        "the client's policy expects a PCR 0 this TPM does not have; no application byte is sent",
        o, true);
    check(o, true);
  }

  // 6 and 7. Through a remote Verifier service.
  const int remote_failures = remote_scenarios(progress, *cert, *server_bg, echo_body);
  if (remote_failures < 0) {
    return 1;
  }
  failures += remote_failures;

  if (!progress.step("stopping swtpm and removing its state directory")) {
    return 1;
  }

  tpm->reset();
  if (!progress.step(failures == 0 ? "done" : "done, with unexpected results")) {
    return 1;
  }
  std::cout << "\n"
            << (failures == 0 ? "All 7 scenarios behaved as expected."
                              : "Some scenarios did NOT behave as expected.")
            << "\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace

void register_demo(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Show attested TLS at work on this machine: a private swtpm, an attested server and a\n"
      "client in one process; server attestation (background-check and passport), mutual\n"
      "attestation, re-attestation, a refused tampered server, and remote background-check\n"
      "and passport through an atls verifier service it starts. Needs swtpm.\n"
      "Exit code: 0 when every scenario behaved as expected, 1 otherwise.");
  cmd->callback([a] { set_exit_code(run_demo(*a)); });
}

}  // namespace atls::tools
