// Attested connections through real middleboxes and under a real packet
// capture (docs/middleboxes.md):
//   - HAProxy in TCP mode (an L4 passthrough) is transparent;
//   - HAProxy terminating TLS on both sides cannot relay the server's
//     attestation (the exporter binding of docs/wire-profile.md §1.5), and does not
//     answer the atls_negotiation extension (§1.7);
//   - HAProxy stripping atls (terminating TLS to a plain TLS backend) is
//     caught by fallback detection (§1.2);
//   - a loopback capture of an attested connection holds no cleartext
//     Evidence, nonce or machine id, and nothing but TLS 1.3 records.
// haproxy, dumpcap and tshark are required (scripts/install-deps.sh); the
// tests fail, rather than skip, without them.

#include <atls/atls.h>

#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "tests/testlib/process.h"
#include "tests/testlib/tls_harness.h"

#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace atls {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using test::build_or_fail;
using test::client_builder;
using test::pattern;
using test::round_trip;
using test::server_builder;
using test::ServerThread;

std::string missing(const std::string& program) {
  return program +
         " is not installed: run scripts/install-deps.sh (it installs haproxy and tshark)";
}

std::string data_file(const std::string& name) {
  return std::string(ATLS_TEST_DATA_DIR) + "/middlebox/" + name;
}

bool contains(ByteView haystack, ByteView needle) {
  return !needle.empty() && std::search(haystack.begin(), haystack.end(), needle.begin(),
                                        needle.end()) != haystack.end();
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos;
       p = haystack.find(needle, p + needle.size())) {
    ++n;
  }
  return n;
}

// wait_until polls |done| every 10 ms for at most |timeout|.
template <class F>
bool wait_until(F done, milliseconds timeout) {
  const auto until = steady_clock::now() + timeout;
  while (!done()) {
    if (steady_clock::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// RecordingAttester passes requests to the software attester and keeps a
// copy of what it returned, so that a test knows the exact bytes that must
// never appear in the clear.
class RecordingAttester final : public Attester {
 public:
  struct Record {
    Bytes nonce;
    Evidence evidence;
  };
  explicit RecordingAttester(std::shared_ptr<Attester> inner) : m_inner(std::move(inner)) {}
  std::string_view name() const override { return m_inner->name(); }
  std::string_view media_type() const override { return m_inner->media_type(); }
  Result<Evidence> attest(const AttestationRequest& request) override {
    auto r = m_inner->attest(request);
    if (r) {
      std::lock_guard<std::mutex> lock(m_mu);
      m_records.push_back(Record{request.nonce, *r});
    }
    return r;
  }
  std::vector<Record> records() {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_records;
  }

 private:
  std::shared_ptr<Attester> m_inner;
  std::mutex m_mu;
  std::vector<Record> m_records;
};

// ServerAttested: an atls server attesting with the (recorded) software
// attester and a client that requires it.
struct ServerAttested {
  test::SoftwareAttesterBundle bundle = test::make_software_bundle();
  std::shared_ptr<RecordingAttester> recorder =
      std::make_shared<RecordingAttester>(bundle.attester);
  std::shared_ptr<const Config> server = build_or_fail(server_builder(recorder));

  // client requires server attestation; |tune| adjusts the builder.
  std::shared_ptr<const Config> client(
      const std::function<void(Config::Builder&)>& tune = nullptr) const {
    auto cb = client_builder();
    cb.peer_attestation(AttestationMode::Required).policy_json(test::software_policy(bundle));
    if (tune) {
      tune(cb);
    }
    return build_or_fail(cb);
  }
};

// Haproxy runs haproxy in the foreground with a configuration from
// tests/data/middlebox/. Its listening socket is made here and inherited
// as descriptor 3, so there is no port race and no readiness wait: a
// client that connects early waits in the backlog.
class Haproxy {
 public:
  static std::unique_ptr<Haproxy> start(const std::string& program, const std::string& config,
                                        std::uint16_t backend_port, const std::string& crt,
                                        const test::TempDir& dir) {
    auto hp = std::make_unique<Haproxy>();
    auto [fd, port] = test::listen_local();
    if (fd < 0) {
      return nullptr;
    }
    hp->m_port = port;
    test::ProcessOptions o;
    o.env = {{"ATLS_FRONT_FD", "3"},
             {"ATLS_BACKEND_PORT", std::to_string(backend_port)},
             {"ATLS_CRT", crt}};
    o.fds = {{fd, 3}};
    // Check the configuration first, for a readable failure.
    o.argv = {program, "-c", "-q", "-f", config};
    o.output_file = dir.file("haproxy-check.log");
    auto check = test::ChildProcess::start(o);
    const auto status = check ? (*check)->wait_exit(milliseconds(10000)) : std::nullopt;
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      ADD_FAILURE() << "haproxy -c " << config << ": " << test::read_text_file(o.output_file);
      ::close(fd);
      return nullptr;
    }
    o.argv = {program, "-db", "-f", config};
    o.output_file = dir.file("haproxy.log");
    auto proc = test::ChildProcess::start(o);
    ::close(fd);  // haproxy holds the only copy: if it dies, clients are refused
    if (!proc) {
      ADD_FAILURE() << "haproxy: " << proc.error().to_string();
      return nullptr;
    }
    hp->m_proc = std::move(*proc);
    return hp;
  }

  std::uint16_t port() const { return m_port; }
  std::string log() const { return "\nhaproxy log:\n" + m_proc->output(); }
  // sessions counts the log lines with |needle| (" backend/server " for
  // finished sessions; haproxy logs when a session ends), waiting up to
  // |timeout| for at least |want|.
  std::size_t sessions(const std::string& needle, std::size_t want, milliseconds timeout) const {
    std::size_t n = 0;
    (void)wait_until([&] { return (n = count_of(m_proc->output(), needle)) >= want; }, timeout);
    return n;
  }
  // stop ends haproxy (and with it every relayed connection).
  void stop() { (void)m_proc->stop(SIGTERM); }

 private:
  std::unique_ptr<test::ChildProcess> m_proc;
  std::uint16_t m_port = 0;
};

// haproxy_crt writes the PEM that haproxy presents to clients: the test
// server's own certificate chain and key. A proxy doing TLS offload
// typically holds the service's certificate; even so it cannot relay the
// service's attestation.
std::string haproxy_crt(const test::TempDir& dir) {
  const auto& pki = test::TestPki::get();
  const std::string path = dir.file("haproxy.pem");
  EXPECT_TRUE(test::write_text_file(path, pki.server_chain_pem + pki.server_key_pem));
  return path;
}

// SServer is `openssl s_server -tls1_3` (a stock TLS server without atls)
// for one connection. What the test writes to its stdin is sent to the
// client once it connects; what the client sends shows up in output().
class SServer {
 public:
  static std::unique_ptr<SServer> start(const std::string& openssl, const test::TempDir& dir) {
    const auto& pki = test::TestPki::get();
    const std::string cert = dir.file("s_server-cert.pem");
    const std::string key = dir.file("s_server-key.pem");
    if (!test::write_text_file(cert, pki.server_chain_pem) ||
        !test::write_text_file(key, pki.server_key_pem)) {
      ADD_FAILURE() << "writing the s_server key";
      return nullptr;
    }
    test::ProcessOptions o;
    o.argv = {openssl, "s_server", "-tls1_3", "-accept", "127.0.0.1:0", "-naccept", "1",
              "-cert", cert,       "-key",    key};
    o.output_file = dir.file("s_server.log");
    o.stdin_pipe = true;  // held open: s_server shuts down at EOF on stdin
    auto proc = test::ChildProcess::start(o);
    if (!proc) {
      ADD_FAILURE() << "s_server: " << proc.error().to_string();
      return nullptr;
    }
    auto s = std::make_unique<SServer>();
    s->m_proc = std::move(*proc);
    // s_server prints "ACCEPT 127.0.0.1:<port>" once it listens.
    const std::string marker = "ACCEPT 127.0.0.1:";
    std::string out;
    if (!wait_until(
            [&] {
              return (out = s->m_proc->output()).find(marker) != std::string::npos &&
                     out.find('\n', out.find(marker)) != std::string::npos;
            },
            milliseconds(10000))) {
      ADD_FAILURE() << "s_server did not start: " << out;
      return nullptr;
    }
    s->m_port =
        static_cast<std::uint16_t>(std::atoi(out.c_str() + out.find(marker) + marker.size()));
    return s;
  }

  std::uint16_t port() const { return m_port; }
  bool send(const std::string& text) { return m_proc->write_stdin(to_bytes(text)); }
  std::string output() const { return m_proc->output(); }

 private:
  std::unique_ptr<test::ChildProcess> m_proc;
  std::uint16_t m_port = 0;
};

// RecordingTlsServer is a stock OpenSSL TLS 1.3 server (no atls) that
// records every byte it receives on the connections it accepts until
// stop(). Unlike the harness's PlainTlsServer it stops at once when no
// connection ever comes (a proxy may give up before dialling its backend).
class RecordingTlsServer {
 public:
  RecordingTlsServer() {
    const auto& pki = test::TestPki::get();
    m_ctx.reset(::SSL_CTX_new(::TLS_server_method()));
    auto chain = ossl::parse_certificates(to_bytes(pki.server_chain_pem));
    auto key = ossl::parse_private_key(to_bytes(pki.server_key_pem));
    if (!m_ctx || !chain || chain->empty() || !key ||
        ::SSL_CTX_use_certificate(m_ctx.get(), chain->front().get()) != 1 ||
        ::SSL_CTX_use_PrivateKey(m_ctx.get(), key->get()) != 1 ||
        ::SSL_CTX_set_min_proto_version(m_ctx.get(), TLS1_3_VERSION) != 1) {
      ADD_FAILURE() << "RecordingTlsServer: TLS setup";
      return;
    }
    auto [fd, port] = test::listen_local();
    m_fd = fd;
    m_port = port;
    m_thread = std::thread([this] { run(); });
  }
  ~RecordingTlsServer() {
    stop();
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  RecordingTlsServer(const RecordingTlsServer&) = delete;
  RecordingTlsServer& operator=(const RecordingTlsServer&) = delete;

  std::uint16_t port() const { return m_port; }
  // stop ends the server (within about 100 ms, or when the connection in
  // progress sees EOF, at most 5 s) and joins its thread.
  void stop() {
    m_stop = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }
  Bytes received() {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_received;
  }

 private:
  void run() {
    const auto until = steady_clock::now() + std::chrono::seconds(30);
    while (!m_stop && m_fd >= 0 && steady_clock::now() < until) {
      pollfd p{m_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      const int c = ::accept(m_fd, nullptr, nullptr);
      if (c < 0) {
        continue;
      }
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ossl::UniquePtr<SSL> ssl(::SSL_new(m_ctx.get()));
      if (ssl && ::SSL_set_fd(ssl.get(), c) == 1 && ::SSL_accept(ssl.get()) == 1) {
        std::uint8_t buf[16384];
        for (int n; (n = ::SSL_read(ssl.get(), buf, sizeof buf)) > 0;) {
          std::lock_guard<std::mutex> lock(m_mu);
          m_received.insert(m_received.end(), buf, buf + n);
        }
      }
      ::ERR_clear_error();
      ssl.reset();
      ::close(c);
    }
  }

  ossl::UniquePtr<SSL_CTX> m_ctx;
  int m_fd = -1;
  std::uint16_t m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::mutex m_mu;
  Bytes m_received;
};

// ---------------------------------------------------------------------------
// 1. An L4 middlebox is transparent.

TEST(TlsMiddlebox, HaproxyTcpPassthroughIsTransparent) {
  const std::string haproxy = test::find_program("haproxy");
  ASSERT_FALSE(haproxy.empty()) << missing("haproxy");
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler, 2);
  auto hp = Haproxy::start(haproxy, data_file("haproxy-passthrough.cfg"), srv.port(), "", dir);
  ASSERT_TRUE(hp);
  // With negotiation (the extensions pass an L4 box untouched) and without
  // (the preamble and frames do).
  for (const bool negotiation : {true, false}) {
    SCOPED_TRACE(negotiation ? "negotiation on" : "negotiation off");
    auto conn = Client::connect(f.client([&](Config::Builder& b) { b.negotiation(negotiation); }),
                                "localhost", hp->port());
    ASSERT_TRUE(conn) << conn.error().to_string() << hp->log();
    EXPECT_TRUE(conn->is_attested());
    EXPECT_FALSE(conn->is_plain_tls());
    EXPECT_EQ(conn->attestation_count(), 1u);
    ASSERT_NE(conn->peer_result(), nullptr);
    EXPECT_EQ(conn->peer_result()->machine_id(), f.bundle.machine_id);
    const Bytes msg = pattern(200 * 1000);  // several TLS records and TCP segments
    EXPECT_EQ(round_trip(*conn, msg), msg);
    ASSERT_TRUE(conn->close());
    std::uint8_t buf[16];
    auto after = conn->read(buf);
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code, ErrorCode::ConnectionClosed);
  }
  srv.join();
  EXPECT_TRUE(srv.errors().empty()) << srv.errors().front().to_string();
  EXPECT_EQ(f.recorder->records().size(), 2u);
  // Both connections really went through haproxy: one log line each.
  EXPECT_EQ(hp->sessions(" atls_out/atls ", 2, milliseconds(5000)), 2u) << hp->log();
}

// ---------------------------------------------------------------------------
// 2. A TLS-terminating proxy breaks the binding by design.

// The client's TLS connection ends at haproxy; haproxy has its own TLS
// connection to the atls server and relays the bytes. With negotiation off
// the client's preamble and request reach the genuine server, which
// attests, and haproxy relays the genuine authenticator back. It is bound
// to the exporter of the haproxy-to-server connection, not the client's:
// Finished fails (docs/wire-profile.md §1.5, RFC 9261 §5.1).
TEST(TlsMiddlebox, TlsTerminatingHaproxyRelayFailsFinished) {
  const std::string haproxy = test::find_program("haproxy");
  ASSERT_FALSE(haproxy.empty()) << missing("haproxy");
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler, 1);
  auto hp = Haproxy::start(haproxy, data_file("haproxy-terminate.cfg"), srv.port(),
                           haproxy_crt(dir), dir);
  ASSERT_TRUE(hp);
  auto r = Client::connect(f.client([](Config::Builder& b) { b.negotiation(false); }), "localhost",
                           hp->port());
  ASSERT_FALSE(r) << "the relayed authenticator was accepted" << hp->log();
  EXPECT_EQ(r.error().code, ErrorCode::EaBadFinished) << r.error().to_string() << hp->log();
  // What was refused is a genuine authenticator: the real server attested
  // once, for the request haproxy relayed.
  ASSERT_TRUE(wait_until([&] { return !f.recorder->records().empty(); }, milliseconds(5000)));
  EXPECT_EQ(f.recorder->records().size(), 1u);
  EXPECT_EQ(hp->sessions(" tls_out/up ", 1, milliseconds(5000)), 1u) << hp->log();
  hp->stop();
  srv.join();
}

// haproxy's TLS stack ignores the unknown atls_negotiation extension, so
// its EncryptedExtensions carry no answer. A client that requires
// attestation stops right after the handshake with AttestationRequired and
// sends no byte: the plain backend behind haproxy receives nothing.
TEST(TlsMiddlebox, TlsTerminatingHaproxyDoesNotAnswerNegotiation) {
  const std::string haproxy = test::find_program("haproxy");
  ASSERT_FALSE(haproxy.empty()) << missing("haproxy");
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ServerAttested f;
  RecordingTlsServer backend;  // records what reaches it through haproxy
  auto hp = Haproxy::start(haproxy, data_file("haproxy-terminate.cfg"), backend.port(),
                           haproxy_crt(dir), dir);
  ASSERT_TRUE(hp);
  const auto start = steady_clock::now();
  auto r = Client::connect(f.client(), "localhost", hp->port());  // negotiation on (the default)
  const auto took = steady_clock::now() - start;
  ASSERT_FALSE(r) << "attested through a terminating proxy" << hp->log();
  EXPECT_EQ(r.error().code, ErrorCode::AttestationRequired) << r.error().to_string() << hp->log();
  EXPECT_LT(took, std::chrono::seconds(3)) << "decided by the handshake, not by a timer";
  // haproxy saw the client's connection (it logs a session, or a
  // connection closed right after the handshake, on its frontend).
  EXPECT_GE(hp->sessions(" tls_in", 1, milliseconds(5000)), 1u) << hp->log();
  hp->stop();  // closes haproxy's backend connection, if it opened one
  backend.stop();
  EXPECT_TRUE(backend.received().empty()) << "the client sent bytes through the proxy";
  EXPECT_TRUE(f.recorder->records().empty());
}

// ---------------------------------------------------------------------------
// 3. A stripping middlebox: haproxy terminates TLS and forwards to a plain
// TLS server. The client has negotiation off (as behind a middlebox that
// forbids unknown extensions), so fallback detection is the only guard.

TEST(TlsMiddlebox, StrippingProxyToASilentPlainServerTimesOut) {
  const std::string haproxy = test::find_program("haproxy");
  ASSERT_FALSE(haproxy.empty()) << missing("haproxy");
  const std::string openssl = test::find_program("openssl");
  ASSERT_FALSE(openssl.empty()) << missing("openssl");
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto backend = SServer::start(openssl, dir);
  ASSERT_TRUE(backend);
  auto hp = Haproxy::start(haproxy, data_file("haproxy-terminate.cfg"), backend->port(),
                           haproxy_crt(dir), dir);
  ASSERT_TRUE(hp);
  ServerAttested f;
  auto client = f.client(
      [](Config::Builder& b) { b.negotiation(false).attestation_timeout(milliseconds(500)); });
  const auto start = steady_clock::now();
  auto r = Client::connect(client, "localhost", hp->port());
  const auto took = steady_clock::now() - start;
  ASSERT_FALSE(r) << "a plain TLS server passed as attested" << hp->log();
  EXPECT_EQ(r.error().code, ErrorCode::AttestationTimeout) << r.error().to_string() << hp->log();
  EXPECT_GE(took, milliseconds(400));
  EXPECT_LT(took, std::chrono::seconds(5));
  // The client's atls stream did cross the proxy to the plain server (it
  // printed the preamble it received), which never answered it.
  EXPECT_TRUE(wait_until([&] { return backend->output().find("ATLS\x01") != std::string::npos; },
                         milliseconds(3000)))
      << backend->output();
}

TEST(TlsMiddlebox, StrippingProxyToAServerSpeaksFirstPlainServerIsRejected) {
  const std::string haproxy = test::find_program("haproxy");
  ASSERT_FALSE(haproxy.empty()) << missing("haproxy");
  const std::string openssl = test::find_program("openssl");
  ASSERT_FALSE(openssl.empty()) << missing("openssl");
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto backend = SServer::start(openssl, dir);
  ASSERT_TRUE(backend);
  // s_server sends this to the client as soon as it is connected.
  ASSERT_TRUE(backend->send("220 plain-tls.example ESMTP ready\r\n"));
  auto hp = Haproxy::start(haproxy, data_file("haproxy-terminate.cfg"), backend->port(),
                           haproxy_crt(dir), dir);
  ASSERT_TRUE(hp);
  ServerAttested f;
  auto client = f.client(
      [](Config::Builder& b) { b.negotiation(false).attestation_timeout(milliseconds(5000)); });
  const auto start = steady_clock::now();
  auto r = Client::connect(client, "localhost", hp->port());
  const auto took = steady_clock::now() - start;
  ASSERT_FALSE(r) << "a plain TLS server passed as attested" << hp->log();
  // The first 5 bytes are not the preamble: rejected before the timer.
  EXPECT_EQ(r.error().code, ErrorCode::AttestationRequired) << r.error().to_string() << hp->log();
  EXPECT_LT(took, milliseconds(4000));
}

// ---------------------------------------------------------------------------
// 4. Privacy: a capture of an attested connection.

// TcpStreams are the two reassembled byte streams of one TCP connection
// in a pcap file.
struct TcpStreams {
  Bytes to_server;
  Bytes to_client;
  std::size_t packets = 0;
};

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// StreamBuilder puts TCP payloads in sequence order (loopback does not
// lose packets, but a segment may be captured twice or out of order).
struct StreamBuilder {
  bool started = false;
  std::uint32_t next = 0;
  std::map<std::uint32_t, Bytes> pending;
  Bytes data;

  void syn(std::uint32_t seq) {
    started = true;
    next = seq + 1;
  }
  void segment(std::uint32_t seq, ByteView payload) {
    if (payload.empty()) {
      return;
    }
    pending[seq] = Bytes(payload.begin(), payload.end());
    for (bool progress = true; progress;) {
      progress = false;
      for (auto it = pending.begin(); it != pending.end(); ++it) {
        const auto offset = static_cast<std::int32_t>(next - it->first);  // bytes already in |data|
        if (offset < 0) {
          continue;
        }
        if (static_cast<std::size_t>(offset) < it->second.size()) {
          data.insert(data.end(), it->second.begin() + offset, it->second.end());
          next += static_cast<std::uint32_t>(it->second.size() - static_cast<std::size_t>(offset));
        }
        pending.erase(it);
        progress = true;
        break;
      }
    }
  }
};

// parse_pcap reads a classic pcap file (Ethernet link type, as dumpcap
// writes for Linux loopback) and returns the streams of the TCP connection
// to |server_port|. Fails with a reason in |why|.
std::optional<TcpStreams> parse_pcap(ByteView file, std::uint16_t server_port, std::string* why) {
  if (file.size() < 24) {
    *why = "no pcap header";
    return std::nullopt;
  }
  const std::uint32_t magic = be32(file.data());
  const bool swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  if (!swapped && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
    *why = "not a pcap file";
    return std::nullopt;
  }
  auto u32 = [&](const std::uint8_t* p) {
    return swapped ? (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) |
                         (std::uint32_t{p[1]} << 8) | p[0]
                   : be32(p);
  };
  if (u32(file.data() + 20) != 1) {
    *why = "link type is not Ethernet";
    return std::nullopt;
  }
  StreamBuilder up;
  StreamBuilder down;
  TcpStreams out;
  std::uint16_t client_port = 0;
  std::size_t off = 24;
  while (off + 16 <= file.size()) {
    const std::uint32_t incl = u32(file.data() + off + 8);
    const std::uint32_t orig = u32(file.data() + off + 12);
    off += 16;
    if (incl != orig || off + incl > file.size()) {
      *why = "truncated packet in the capture";
      return std::nullopt;
    }
    const ByteView pkt = file.subspan(off, incl);
    off += incl;
    if (pkt.size() < 14 + 20 || be16(pkt.data() + 12) != 0x0800) {
      continue;  // not IPv4
    }
    const ByteView ip = pkt.subspan(14);
    const std::size_t ihl = (ip[0] & 0x0Fu) * 4u;
    const std::size_t ip_len = be16(ip.data() + 2);
    if (ip[9] != 6 || ihl < 20 || ip_len > ip.size() || ip_len < ihl + 20) {
      continue;  // not TCP
    }
    const ByteView tcp = ip.subspan(ihl, ip_len - ihl);
    const std::size_t doff = (tcp[12] >> 4) * 4u;
    if (doff < 20 || doff > tcp.size()) {
      *why = "bad TCP header";
      return std::nullopt;
    }
    const std::uint16_t sport = be16(tcp.data());
    const std::uint16_t dport = be16(tcp.data() + 2);
    const std::uint32_t seq = be32(tcp.data() + 4);
    const bool syn = (tcp[13] & 0x02) != 0;
    // The connection is the first one opened to |server_port|; another
    // connection whose ephemeral port happens to be that number is ignored.
    if (client_port == 0 && syn && dport == server_port) {
      client_port = sport;
    }
    StreamBuilder* s = sport == client_port && dport == server_port   ? &up
                       : sport == server_port && dport == client_port ? &down
                                                                      : nullptr;
    if (s == nullptr || client_port == 0) {
      continue;
    }
    ++out.packets;
    if (syn) {
      s->syn(seq);
      continue;
    }
    if (!s->started) {
      *why = "the capture missed the SYN";
      return std::nullopt;
    }
    s->segment(seq, tcp.subspan(doff));
  }
  if (!up.pending.empty() || !down.pending.empty()) {
    *why = "gap in a TCP stream";
    return std::nullopt;
  }
  out.to_server = std::move(up.data);
  out.to_client = std::move(down.data);
  return out;
}

// TlsRecords summarises a stream cut into TLS records.
struct TlsRecords {
  std::vector<std::uint8_t> types;            // content type of each record
  std::vector<std::uint8_t> handshake_types;  // first message type of each handshake record
  std::size_t application_data_bytes = 0;
  bool whole = false;  // the stream ends exactly at a record boundary
};

TlsRecords split_records(ByteView s) {
  TlsRecords out;
  std::size_t off = 0;
  while (off + 5 <= s.size()) {
    const std::size_t len = be16(s.data() + off + 3);
    if (off + 5 + len > s.size()) {
      break;
    }
    out.types.push_back(s[off]);
    if (s[off] == 22 && len > 0) {
      out.handshake_types.push_back(s[off + 5]);
    }
    if (s[off] == 23) {
      out.application_data_bytes += len;
    }
    off += 5 + len;
  }
  out.whole = off == s.size();
  return out;
}

// expect_hello_then_application_data checks one direction of a TLS 1.3
// connection: one cleartext handshake record holding |hello| (ClientHello
// 1, ServerHello 2), at most one middlebox-compatibility ChangeCipherSpec
// (RFC 8446 §D.4), and then application_data records only.
void expect_hello_then_application_data(const TlsRecords& r, std::uint8_t hello,
                                        const char* direction) {
  SCOPED_TRACE(direction);
  EXPECT_TRUE(r.whole) << "bytes outside TLS records";
  ASSERT_GE(r.types.size(), 2u);
  EXPECT_EQ(r.types[0], 22);
  EXPECT_EQ(r.handshake_types, std::vector<std::uint8_t>{hello});
  std::size_t i = 1;
  if (r.types[i] == 20) {
    ++i;
  }
  for (; i < r.types.size(); ++i) {
    EXPECT_EQ(r.types[i], 23) << "record " << i << " is not application_data";
  }
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) {
    if (!l.empty()) {
      out.push_back(l);
    }
  }
  return out;
}

TEST(TlsMiddlebox, CaptureShowsOnlyTls13AndNoCleartextEvidence) {
  const std::string dumpcap = test::find_program("dumpcap");
  ASSERT_FALSE(dumpcap.empty()) << missing("dumpcap (package tshark)");
  const std::string tshark = test::find_program("tshark");
  ASSERT_FALSE(tshark.empty()) << missing("tshark");
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ServerAttested f;
  ServerThread srv(f.server, test::echo_handler, 1);
  const std::string port = std::to_string(srv.port());
  const std::string pcap = dir.file("atls.pcap");

  // Capture before the connection starts. dumpcap writes the file header
  // after it has opened lo and installed the filter, so a header on disk
  // means it is capturing; a short settle time covers the rest.
  test::ProcessOptions o;
  o.argv = {dumpcap, "-q", "-P", "-i", "lo", "-f", "tcp port " + port, "-w", pcap};
  o.output_file = dir.file("dumpcap.log");
  auto cap = test::ChildProcess::start(o);
  ASSERT_TRUE(cap) << cap.error().to_string();
  ASSERT_TRUE(
      wait_until([&] { return test::read_text_file(pcap).size() >= 24 || !(*cap)->is_running(); },
                 milliseconds(10000)));
  ASSERT_TRUE((*cap)->is_running()) << "dumpcap: " << (*cap)->output();
  std::this_thread::sleep_for(milliseconds(200));

  const Bytes msg = to_bytes("application bytes: encrypted, like the evidence");
  {
    auto conn = Client::connect(f.client(), "localhost", srv.port());
    ASSERT_TRUE(conn) << conn.error().to_string();
    EXPECT_TRUE(conn->is_attested());
    EXPECT_EQ(round_trip(*conn, msg), msg);
    ASSERT_TRUE(conn->close());
  }
  srv.join();
  EXPECT_TRUE(srv.errors().empty());
  std::this_thread::sleep_for(milliseconds(300));  // let the last packets (FIN) reach dumpcap
  const int status = (*cap)->stop(SIGINT, milliseconds(5000));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "dumpcap: " << (*cap)->output();

  // What the attester returned on this connection.
  const auto records = f.recorder->records();
  ASSERT_EQ(records.size(), 1u);
  const Evidence& ev = records[0].evidence;
  const Bytes& nonce = records[0].nonce;  // the binder, the EAT eat_nonce
  const Bytes ueid = from_hex(f.bundle.machine_id.substr(std::string("ueid:").size())).value();
  ASSERT_GE(nonce.size(), 32u);  // Hash.length of the cipher suite
  ASSERT_FALSE(ev.cmw.empty());
  ASSERT_FALSE(ev.records.empty());
  // The search strings are right: the cleartext Evidence does hold them.
  EXPECT_TRUE(contains(ev.cmw, nonce));
  EXPECT_TRUE(contains(ev.cmw, ueid));

  const std::string raw = test::read_text_file(pcap);
  const ByteView file(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
  // The search works on this file: the SNI is in the clear in ClientHello.
  EXPECT_TRUE(contains(file, to_bytes("localhost")));
  EXPECT_FALSE(contains(file, ev.cmw)) << "the CMW is in the clear";
  for (const auto& rec : ev.records) {
    EXPECT_FALSE(contains(file, rec.value))
        << "the " << rec.media_type << " record is in the clear";
  }
  EXPECT_FALSE(contains(file, nonce)) << "the EAT nonce (binder) is in the clear";
  EXPECT_FALSE(contains(file, ueid)) << "the ueid is in the clear";
  EXPECT_FALSE(contains(file, msg)) << "application data is in the clear";

  // Every byte of both directions is a TLS record; after the hellos, only
  // application_data. The server's direction carried the authenticator.
  std::string why;
  auto streams = parse_pcap(file, srv.port(), &why);
  ASSERT_TRUE(streams) << why;
  EXPECT_GE(streams->packets, 8u);  // handshake, authenticator, DATA, close
  const TlsRecords up = split_records(streams->to_server);
  const TlsRecords down = split_records(streams->to_client);
  expect_hello_then_application_data(up, 1, "client to server");
  expect_hello_then_application_data(down, 2, "server to client");
  EXPECT_GT(down.application_data_bytes, ev.cmw.size());

  // tshark's reading of the same capture: TLS 1.3 was negotiated, and the
  // only cleartext handshake messages are ClientHello and ServerHello.
  const auto version = test::run_program(
      {tshark, "-r", pcap, "-d", "tcp.port==" + port + ",tls", "-Y", "tls.handshake.type == 2",
       "-T", "fields", "-e", "tls.handshake.extensions.supported_version"},
      milliseconds(30000));
  ASSERT_EQ(version.exit_code, 0) << version.error_output;
  EXPECT_EQ(lines(version.output), std::vector<std::string>{"0x0304"}) << version.output;
  const auto fields =
      test::run_program({tshark, "-r", pcap, "-d", "tcp.port==" + port + ",tls", "-Y", "tls", "-T",
                         "fields", "-E", "separator=;", "-e", "tls.record.content_type", "-e",
                         "tls.record.opaque_type", "-e", "tls.handshake.type"},
                        milliseconds(30000));
  ASSERT_EQ(fields.exit_code, 0) << fields.error_output;
  // tshark names the type of a TLS 1.3 protected record opaque_type.
  std::multiset<std::string> content_types;  // cleartext and opaque types
  std::multiset<std::string> handshake_types;
  for (const auto& l : lines(fields.output)) {
    // Columns: content types; opaque types; handshake types, each a
    // comma-separated list with one entry per record of the packet.
    std::stringstream ss(l);
    std::string column[3];
    for (auto& c : column) {
      std::getline(ss, c, ';');
    }
    for (int k = 0; k < 3; ++k) {
      std::stringstream list(column[k]);
      for (std::string v; std::getline(list, v, ',');) {
        (k < 2 ? content_types : handshake_types).insert(v);
      }
    }
  }
  EXPECT_EQ(handshake_types, (std::multiset<std::string>{"1", "2"})) << fields.output;
  EXPECT_EQ(content_types.count("22"), 2u) << fields.output;
  EXPECT_EQ(content_types.count("21"), 0u) << "a cleartext alert";
  for (const auto& ct : content_types) {
    EXPECT_TRUE(ct == "20" || ct == "22" || ct == "23") << "content type " << ct;
  }
  EXPECT_GT(content_types.count("23"), 3u) << fields.output;
}

}  // namespace
}  // namespace atls
