// The handshake benchmark's modes (bench/handshake_modes.h): plain libssl
// and atls Client/Server with the attesters of tools/attesters.h, each with
// its server on a thread, measured in alternating rounds.

#include "bench/handshake_modes.h"

#include "bench/bench_util.h"
#include "tools/attesters.h"
#include "tools/dev_cert.h"
#include "tools/net.h"
#include "tools/swtpm_process.h"

#include <atls/config.h>
#include <atls/connection.h>
#include <atls/gateway.h>

#include "src/attestation/policy.h"
#include "src/attestation/relying_party.h"
#include "src/ossl/ssl_ptr.h"
#include "src/plugins/builtin_plugins.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace atls::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using tools::Fd;

// set_timeouts bounds every blocking socket call of a benchmark connection.
void set_timeouts(int fd, int seconds) {
  timeval tv{};
  tv.tv_sec = seconds;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// wait_eof reads until the peer closes (bounded by the socket timeout), so
// the kernel byte counters cover the whole connection.
void wait_eof(int fd) {
  char buf[256];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return;
    }
  }
}

// A benchmark mode: a server side that serves connections until stopped,
// and a client side that makes one measured connection.
class Mode {
 public:
  virtual ~Mode() = default;
  virtual std::string name() const = 0;
  // setup prepares both sides; the server accepts on |listener|.
  virtual Result<void> setup() = 0;
  // bind_listener lets a mode wrap the listening socket (borrowed).
  virtual Result<void> bind_listener(int /*listener*/) { return ok(); }
  // serve_one handles one accepted connection (on the server thread).
  virtual void serve_one(Fd conn) = 0;
  // run_one makes one measured connection to 127.0.0.1:|port|.
  virtual Result<HandshakeSample> run_one(std::uint16_t port) = 0;
};

// Server runs a Mode's server side on a thread over a loopback listener.
class BenchServer {
 public:
  explicit BenchServer(Mode& mode) : m_mode(mode) {}
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;
  ~BenchServer() { stop(); }

  Result<std::uint16_t> start() {
    ATLS_ASSIGN_OR_RETURN(m_listener, tools::listen_tcp({"127.0.0.1", 0}, 128));
    ATLS_TRY(m_mode.bind_listener(m_listener.get()));
    m_thread = std::thread([this] { loop(); });
    return tools::local_port(m_listener.get());
  }

  void stop() {
    m_stop = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
    m_listener.reset();
  }

 private:
  void loop() {
    while (!m_stop) {
      pollfd p{m_listener.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) {
        continue;
      }
      Fd conn(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.is_open()) {
        continue;
      }
      const int one = 1;
      ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      set_timeouts(conn.get(), 15);
      m_mode.serve_one(std::move(conn));
    }
  }

  Mode& m_mode;
  Fd m_listener;
  std::thread m_thread;
  std::atomic<bool> m_stop{false};
};

// ---------------------------------------------------------------------------
// Plain libssl: the baseline every other row is compared with.

Result<ossl::UniquePtr<SSL_CTX>> plain_ctx(bool server, const tools::DevCert& cert) {
  ossl::UniquePtr<SSL_CTX> ctx(
      ::SSL_CTX_new(server ? ::TLS_server_method() : ::TLS_client_method()));
  if (!ctx) {
    return ossl::failure(ErrorCode::Internal, "SSL_CTX_new");
  }
  ::SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  ::SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  if (::SSL_CTX_set1_groups_list(ctx.get(), "X25519") != 1) {
    return ossl::failure(ErrorCode::Internal, "SSL_CTX_set1_groups_list");
  }
  // No resumption: no tickets, no session cache, so every connection is a
  // full handshake (as every attested connection is, docs/wire-profile.md §1.1).
  ::SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  ::SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  ossl::UniquePtr<BIO> bio(
      ::BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size())));
  ossl::UniquePtr<X509> x509(::PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x509) {
    return ossl::failure(ErrorCode::CertMalformed, "certificate");
  }
  if (server) {
    ::SSL_CTX_set_num_tickets(ctx.get(), 0);
    ATLS_ASSIGN_OR_RETURN(
        ossl::UniquePtr<EVP_PKEY> key,
        ossl::parse_private_key(
            {reinterpret_cast<const std::uint8_t*>(cert.key_pem.data()), cert.key_pem.size()}));
    if (::SSL_CTX_use_certificate(ctx.get(), x509.get()) != 1 ||
        ::SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
      return ossl::failure(ErrorCode::Internal, "server certificate");
    }
  } else {
    if (::X509_STORE_add_cert(::SSL_CTX_get_cert_store(ctx.get()), x509.get()) != 1) {
      return ossl::failure(ErrorCode::Internal, "X509_STORE_add_cert");
    }
    ::SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  return ctx;
}

class PlainMode final : public Mode {
 public:
  std::string name() const override { return "plain libssl"; }

  Result<void> setup() override {
    ATLS_ASSIGN_OR_RETURN(const tools::DevCert cert, tools::make_dev_cert());
    ATLS_ASSIGN_OR_RETURN(m_server, plain_ctx(true, cert));
    ATLS_ASSIGN_OR_RETURN(m_client, plain_ctx(false, cert));
    return ok();
  }

  void serve_one(Fd conn) override {
    ossl::UniquePtr<SSL> ssl(::SSL_new(m_server.get()));
    if (!ssl || ::SSL_set_fd(ssl.get(), conn.get()) != 1 || ::SSL_accept(ssl.get()) != 1) {
      ::ERR_clear_error();
      return;
    }
    char b = 0;
    if (::SSL_read(ssl.get(), &b, 1) == 1 && ::SSL_write(ssl.get(), &b, 1) == 1) {
      ::SSL_read(ssl.get(), &b, 1);  // the client's close_notify
    }
    ::SSL_shutdown(ssl.get());
    ::ERR_clear_error();
  }

  Result<HandshakeSample> run_one(std::uint16_t port) override {
    const auto t0 = SteadyClock::now();
    ATLS_ASSIGN_OR_RETURN(Fd fd, tools::connect_tcp({"127.0.0.1", port}));
    set_timeouts(fd.get(), 15);
    ossl::UniquePtr<SSL> ssl(::SSL_new(m_client.get()));
    if (!ssl || ::SSL_set_fd(ssl.get(), fd.get()) != 1 ||
        ::SSL_set1_host(ssl.get(), "localhost") != 1) {
      return ossl::failure(ErrorCode::Internal, "SSL_new");
    }
    if (::SSL_connect(ssl.get()) != 1 || ::SSL_get_verify_result(ssl.get()) != X509_V_OK) {
      return ossl::failure(ErrorCode::TlsHandshakeFailed, "SSL_connect");
    }
    char b = 'x';
    if (::SSL_write(ssl.get(), &b, 1) != 1 || ::SSL_read(ssl.get(), &b, 1) != 1 || b != 'x') {
      return ossl::failure(ErrorCode::IoError, "echo");
    }
    const auto t1 = SteadyClock::now();
    ::SSL_shutdown(ssl.get());
    ::shutdown(fd.get(), SHUT_WR);
    wait_eof(fd.get());
    HandshakeSample s;
    s.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    s.bytes = tools::wire_bytes(fd.get()).total();
    return s;
  }

 private:
  ossl::UniquePtr<SSL_CTX> m_server;
  ossl::UniquePtr<SSL_CTX> m_client;
};

// ---------------------------------------------------------------------------
// atls: the same exchange through Client/Server/Connection.

// ConfigHook adjusts a mode's two Config builders after the common set-up
// (a profile option both sides must agree on).
using ConfigHook = std::function<Result<void>(Config::Builder& server, Config::Builder& client)>;

// AtlsModeSpec is one atls mode: a line of atls_modes().
struct AtlsModeSpec {
  const char* key;
  const char* label;
  tools::AttesterSpec server;  // kind "none": the server does not attest
  tools::AttesterSpec client;  // kind "none": the client does not attest
  ExtraPkOps ops{};            // per connection beyond plain TLS (the floor)
  bool start_swtpm = false;    // server attester is tpm2 on a private swtpm
  ConfigHook hook{};           // may be empty
};

class AtlsMode final : public Mode {
 public:
  explicit AtlsMode(AtlsModeSpec spec) : m_spec(std::move(spec)) {}
  std::string name() const override { return m_spec.label; }

  Result<void> setup() override {
    if (m_spec.start_swtpm) {
      ATLS_ASSIGN_OR_RETURN(m_swtpm, tools::SwtpmProcess::start());
      m_spec.server.tcti = m_swtpm->tcti();
    }
    ATLS_ASSIGN_OR_RETURN(const tools::DevCert cert, tools::make_dev_cert());
    ATLS_ASSIGN_OR_RETURN(const tools::BuiltAttester server_att,
                          tools::build_attester(m_spec.server));
    ATLS_ASSIGN_OR_RETURN(const tools::BuiltAttester client_att,
                          tools::build_attester(m_spec.client));

    auto sb = Config::builder();
    sb.certificate_chain_pem(cert.cert_pem).private_key_pem(cert.key_pem);
    if (server_att.attester) {
      sb.attester(server_att.attester, server_att.model);
    }
    if (client_att.attester) {
      sb.peer_attestation(AttestationMode::Required)
          .policy_json(tools::relying_party_policy(client_att).dump())
          .peer_certificate_policy(PeerCertificatePolicy::AttestationOnly);
    } else {
      sb.peer_attestation(AttestationMode::Off);
    }

    auto cb = Config::builder();
    cb.ca_pem(cert.cert_pem);
    if (client_att.attester) {
      cb.attester(client_att.attester, client_att.model).attestation_only_identity("bench client");
    }
    if (server_att.attester) {
      cb.peer_attestation(AttestationMode::Required)
          .policy_json(tools::relying_party_policy(server_att).dump());
    } else {
      cb.peer_attestation(AttestationMode::Off);
    }
    if (m_spec.hook) {
      ATLS_TRY(m_spec.hook(sb, cb));
    }
    ATLS_ASSIGN_OR_RETURN(m_server_config, sb.build());
    ATLS_ASSIGN_OR_RETURN(m_client_config, cb.build());
    return ok();
  }

  // bind_listener gives the atls Server its own reference to the listener.
  Result<void> bind_listener(int listener) override {
    Fd dup(::fcntl(listener, F_DUPFD_CLOEXEC, 0));
    if (!dup.is_open()) {
      return tools::socket_error("dup");
    }
    ATLS_ASSIGN_OR_RETURN(Server server, Server::from_listen_fd(m_server_config, dup.release()));
    m_server = std::make_unique<Server>(std::move(server));
    return ok();
  }

  void serve_one(Fd conn) override {
    auto c = m_server->accept_fd(conn.release());
    if (!c) {
      const std::lock_guard<std::mutex> lock(m_mu);
      if (m_first_server_error.empty()) {
        m_first_server_error = std::string(c.error().name()) + ": " + c.error().to_string();
      }
      return;
    }
    std::uint8_t b = 0;
    auto r = c->read({&b, 1});
    if (r && c->write({&b, 1})) {
      (void)c->read({&b, 1});  // until the client closes
    }
    (void)c->close();
  }

  Result<HandshakeSample> run_one(std::uint16_t port) override {
    const auto t0 = SteadyClock::now();
    ATLS_ASSIGN_OR_RETURN(Fd fd, tools::connect_tcp({"127.0.0.1", port}));
    set_timeouts(fd.get(), 15);
    // A second reference keeps the socket readable for the byte count
    // after the Connection has closed its own.
    Fd counter(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    auto c = Client::connect_fd(m_client_config, fd.release(), "localhost");
    if (!c) {
      Error e = c.error();
      const std::lock_guard<std::mutex> lock(m_mu);
      if (!m_first_server_error.empty()) {
        e.detail += " (server: " + m_first_server_error + ")";
      }
      return e;
    }
    std::uint8_t b = 'x';
    ATLS_TRY(c->write({&b, 1}));
    ATLS_ASSIGN_OR_RETURN(const std::size_t n, c->read({&b, 1}));
    if (n != 1 || b != 'x') {
      return Error{ErrorCode::IoError, "echo"};
    }
    const auto t1 = SteadyClock::now();
    (void)c->close();
    ::shutdown(counter.get(), SHUT_WR);
    wait_eof(counter.get());
    HandshakeSample s;
    s.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    s.bytes = tools::wire_bytes(counter.get()).total();
    return s;
  }

 private:
  AtlsModeSpec m_spec;
  std::unique_ptr<tools::SwtpmProcess> m_swtpm;
  std::shared_ptr<const Config> m_server_config;
  std::shared_ptr<const Config> m_client_config;
  std::unique_ptr<Server> m_server;
  std::mutex m_mu;
  std::string m_first_server_error;  // guarded by m_mu
};

tools::AttesterSpec attester(const std::string& kind, bool passport = false) {
  tools::AttesterSpec s;
  s.kind = kind;
  s.passport = passport;
  return s;
}

// atls_modes is the table of atls modes, in the order they run and print.
// A new mode is one entry: a key, a label, the two attesters, the public-key
// operations it adds to plain TLS per connection (bench/handshake_bench.cc
// lists them), and, for a profile option, a ConfigHook that sets it on both
// builders. Every benchmark that runs modes (handshake, round trips) picks
// it up. The default rows attest in the first flight (docs/wire-profile.md
// §1.9, on by default); the "-request" rows turn that off on both sides.
// request_mode: attestation only on request (no push, no first-flight
// request), as before wire profile 1.1.
Result<void> request_mode(Config::Builder& server, Config::Builder& client) {
  server.first_flight_attestation(false);
  client.first_flight_attestation(false);
  return ok();
}

// The intra-handshake modes (docs/intra-handshake.md) on both sides.
Result<void> early_attestation_mode(Config::Builder& server, Config::Builder& client) {
  server.intra_handshake(IntraHandshake::EarlyAttestation);
  client.intra_handshake(IntraHandshake::EarlyAttestation);
  return ok();
}

Result<void> ratls_certificate_mode(Config::Builder& server, Config::Builder& client) {
  server.intra_handshake(IntraHandshake::RatlsCertificate);
  client.intra_handshake(IntraHandshake::RatlsCertificate);
  return ok();
}

// gateway_token_mode: pre-handshake attestation (docs/gateway.md). A
// software client is appraised once, as a gateway does (not measured), and
// every measured connection is a token connection: a TLS 1.3 external PSK
// with (EC)DHE, no certificate, no attestation on the connection.
Result<void> gateway_token_mode(Config::Builder& server, Config::Builder& client) {
  ATLS_ASSIGN_OR_RETURN(const tools::BuiltAttester att,
                        tools::build_attester(attester("software")));
  const std::string policy_json = tools::relying_party_policy(att).dump();
  const Registry registry = builtin_registry();
  ATLS_ASSIGN_OR_RETURN(const Policy policy, parse_policy(policy_json, registry, "."));
  const SystemClock clock;
  Bytes nonce(32);
  SystemRng().fill(nonce);
  AttestationRequest request;
  request.nonce = nonce;
  ATLS_ASSIGN_OR_RETURN(const Evidence evidence, att.attester->attest(request));
  ATLS_ASSIGN_OR_RETURN(const AttestationResult appraised,
                        internal::RelyingParty(registry, clock, policy)
                            .accept(evidence, internal::Expectation::background_check(nonce)));
  Bytes key(32);
  SystemRng().fill(key);
  ATLS_ASSIGN_OR_RETURN(GatewayToken token, issue_gateway_token(appraised, key));
  server.accept_gateway_tokens(key)
      .policy_json(policy_json)
      .peer_attestation(AttestationMode::Required);
  client.gateway_token(std::move(token));
  return ok();
}

const std::vector<AtlsModeSpec>& atls_modes() {
  const tools::AttesterSpec none = attester("none");
  static const std::vector<AtlsModeSpec> modes = {
      {.key = "off", .label = "atls, attestation off", .server = none, .client = none},
      {.key = "software",
       .label = "atls server software/background",
       .server = attester("software"),
       .client = none,
       .ops = {.signs = 2, .verifies = 2}},
      {.key = "software-request",
       .label = "atls server software/background, request",
       .server = attester("software"),
       .client = none,
       .ops = {.signs = 2, .verifies = 2},
       .hook = request_mode},
      {.key = "passport",
       .label = "atls server software/passport",
       .server = attester("software", true),
       .client = none,
       .ops = {.signs = 1, .verifies = 2, .cacheable_verifies = 1}},
      {.key = "mutual",
       .label = "atls mutual software",
       .server = attester("software"),
       .client = attester("software"),
       .ops = {.signs = 4, .verifies = 4}},
      {.key = "mutual-request",
       .label = "atls mutual software, request",
       .server = attester("software"),
       .client = attester("software"),
       .ops = {.signs = 4, .verifies = 4},
       .hook = request_mode},
      {.key = "early-attestation",
       .label = "intra-handshake early-attestation",
       .server = attester("software"),
       .client = none,
       .ops = {.signs = 1, .verifies = 1},
       .hook = early_attestation_mode},
      {.key = "ratls-certificate",
       .label = "intra-handshake RA-TLS certificate",
       .server = attester("software"),
       .client = none,
       .ops = {.signs = 2, .verifies = 2},
       .hook = ratls_certificate_mode},
      {.key = "gateway-token",
       .label = "pre-handshake gateway token (PSK)",
       .server = none,
       .client = none,
       .ops = {.known = false},
       .hook = gateway_token_mode},
      {.key = "tpm2",
       .label = "atls server tpm2 (swtpm)",
       .server = attester("tpm2"),
       .client = none,
       .ops = {.known = false},
       .start_swtpm = true},
  };
  return modes;
}

// ---------------------------------------------------------------------------

// Bench is one mode with its server, set up and warmed up, measured in
// rounds. Rounds of all modes alternate, so that a change in machine load
// during the run affects every row alike (the ratios compare like with like).
struct Bench {
  std::unique_ptr<Mode> mode;
  std::unique_ptr<BenchServer> server;
  std::uint16_t port = 0;
  HandshakeRow row;
  bool stopped = false;
};

Result<void> prepare(Bench& b, int warmup, const HandshakeRunOptions::Via& via) {
  b.row.mode = b.mode->name();
  ATLS_TRY(b.mode->setup());
  b.server = std::make_unique<BenchServer>(*b.mode);
  ATLS_ASSIGN_OR_RETURN(const std::uint16_t server_port, b.server->start());
  for (int i = 0; i < warmup; ++i) {
    ATLS_TRY(b.mode->run_one(server_port));
  }
  if (via) {
    ATLS_ASSIGN_OR_RETURN(b.port, via(server_port));
  } else {
    b.port = server_port;
  }
  return ok();
}

void run_round(Bench& b, int count, double budget_s) {
  const auto start = SteadyClock::now();
  const double cpu_start = process_cpu_seconds();
  for (int i = 0; i < count && !b.stopped; ++i) {
    auto s = b.mode->run_one(b.port);
    if (!s) {
      b.row.error = std::string(s.error().name()) + ": " + s.error().to_string();
      b.stopped = true;
      break;
    }
    b.row.samples.push_back(*s);
  }
  b.row.seconds += std::chrono::duration<double>(SteadyClock::now() - start).count();
  b.row.cpu_seconds += process_cpu_seconds() - cpu_start;
  if (b.row.seconds > budget_s) {
    b.stopped = true;  // bounded in time: report what was measured
  }
}

struct ModeEntry {
  std::string key;
  ExtraPkOps ops;
  std::function<std::unique_ptr<Mode>()> make;
};

std::vector<ModeEntry> all_modes() {
  std::vector<ModeEntry> modes;
  modes.push_back({"plain", ExtraPkOps{}, [] { return std::make_unique<PlainMode>(); }});
  for (const AtlsModeSpec& m : atls_modes()) {
    modes.push_back({m.key, m.ops, [m] { return std::make_unique<AtlsMode>(m); }});
  }
  return modes;
}

}  // namespace

HandshakeStats handshake_stats(const HandshakeRow& row) {
  HandshakeStats st;
  if (row.samples.empty()) {
    return st;
  }
  std::vector<double> ms;
  std::uint64_t bytes = 0;
  for (const HandshakeSample& s : row.samples) {
    ms.push_back(s.ms);
    bytes += s.bytes;
  }
  st.n = row.samples.size();
  const double n = static_cast<double>(st.n);
  st.rate = row.seconds > 0 ? n / row.seconds : 0;
  st.median_ms = percentile(ms, 0.5);
  st.p99_ms = percentile(ms, 0.99);
  st.bytes_per_connection = bytes / st.n;
  st.cpu_ms = 1000.0 * row.cpu_seconds / n;
  return st;
}

std::vector<std::string> handshake_mode_keys() {
  std::vector<std::string> keys;
  for (const auto& m : all_modes()) {
    keys.emplace_back(m.key);
  }
  return keys;
}

int exit_status(const std::vector<HandshakeRow>& rows) {
  const bool failed =
      std::any_of(rows.begin(), rows.end(), [](const HandshakeRow& r) { return !r.error.empty(); });
  return failed ? 1 : 0;
}

bool parse_run_option(const std::string& option, const std::function<std::string()>& next,
                      HandshakeRunOptions& opt) {
  if (option == "--n") {
    opt.n = std::max(1, std::atoi(next().c_str()));
  } else if (option == "--warmup") {
    opt.warmup = std::max(0, std::atoi(next().c_str()));
  } else if (option == "--rounds") {
    opt.rounds = std::max(1, std::atoi(next().c_str()));
  } else if (option == "--max-seconds") {
    opt.max_seconds = std::max(1.0, std::atof(next().c_str()));
  } else if (option == "--modes") {
    opt.modes = split(next());
  } else {
    return false;
  }
  return true;
}

void print_usage(const char* program, const char* extra) {
  std::printf(
      "usage: %s [--n N] %s[--warmup W] [--rounds R] [--max-seconds S] [--modes a,b,...]\n"
      "modes:",
      program, extra);
  for (const auto& key : handshake_mode_keys()) {
    std::printf(" %s", key.c_str());
  }
  std::printf("\n");
}

std::vector<std::string> default_handshake_mode_keys() {
  std::vector<std::string> keys;
  for (const AtlsModeSpec& m : atls_modes()) {
    if (m.start_swtpm && !tools::SwtpmProcess::available()) {
      std::fprintf(stderr, "swtpm is not installed: skipping the %s row\n", m.key);
      continue;
    }
    keys.emplace_back(m.key);
  }
  keys.insert(keys.begin(), "plain");
  return keys;
}

Result<std::vector<HandshakeRow>> run_handshake_modes(const HandshakeRunOptions& options) {
  std::vector<std::string> keys = options.modes;
  // The baseline always runs first: every ratio is against it.
  keys.erase(std::remove(keys.begin(), keys.end(), "plain"), keys.end());
  keys.insert(keys.begin(), "plain");
  const auto modes = all_modes();
  std::vector<Bench> benches;
  for (const auto& key : keys) {
    const auto it =
        std::find_if(modes.begin(), modes.end(), [&](const ModeEntry& m) { return key == m.key; });
    if (it == modes.end()) {
      return Error{ErrorCode::InvalidArgument, "unknown handshake mode " + key};
    }
  }
  for (const auto& key : keys) {
    const auto it =
        std::find_if(modes.begin(), modes.end(), [&](const ModeEntry& m) { return key == m.key; });
    Bench b;
    b.mode = it->make();
    b.row.key = key;
    b.row.extra_ops = it->ops;
    if (options.progress) {
      std::fprintf(stderr, "setting up %s...\n", b.mode->name().c_str());
    }
    if (auto r = prepare(b, options.warmup, options.via); !r) {
      b.row.error = std::string(r.error().name()) + ": " + r.error().to_string();
      b.stopped = true;
    }
    benches.push_back(std::move(b));
  }
  const int n = std::max(1, options.n);
  const int rounds = std::min(std::max(1, options.rounds), n);
  for (int round = 0; round < rounds; ++round) {
    const int count = n / rounds + (round < n % rounds ? 1 : 0);
    if (options.progress) {
      std::fprintf(stderr, "round %d/%d (%d connections per mode)\n", round + 1, rounds, count);
    }
    for (Bench& b : benches) {
      run_round(b, count, options.max_seconds);
    }
    if (options.each_round) {
      options.each_round();
    }
  }
  std::vector<HandshakeRow> rows;
  for (Bench& b : benches) {
    b.server.reset();  // joins the server thread
    rows.push_back(std::move(b.row));
    b.mode.reset();  // stops swtpm, if the mode started one
  }
  return rows;
}

}  // namespace atls::bench
