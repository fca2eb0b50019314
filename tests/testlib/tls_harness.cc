#include "tests/testlib/tls_harness.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/software/software.h"
#include "src/tls/config.h"
#include "src/tls/exporter.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

namespace atls::test {
namespace {

std::int64_t wall_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

struct Issued {
  ossl::UniquePtr<EVP_PKEY> key;
  ossl::UniquePtr<X509> cert;
};

Issued issue(const std::string& cn, std::vector<std::string> dns, std::vector<std::string> ips,
             bool ca, X509* issuer, EVP_PKEY* issuer_key) {
  Issued out;
  out.key = std::move(ossl::generate_key(ossl::KeyType::EcP256).value());
  internal::CertificateSpec spec;
  spec.common_name = cn;
  spec.dns_names = std::move(dns);
  spec.ip_addresses = std::move(ips);
  spec.is_ca = ca;
  spec.not_before = wall_now() - 86400;
  spec.not_after = wall_now() + 30 * 86400;
  out.cert = std::move(internal::make_certificate(spec, out.key.get(), issuer, issuer_key).value());
  return out;
}

std::string pem(X509* c) {
  return internal::certificate_pem(c).value();
}
std::string key_pem(EVP_PKEY* k) {
  return ossl::private_key_pem(k).value();
}

TestPki make_pki() {
  TestPki p;
  Issued ca = issue("atls test CA", {}, {}, true, nullptr, nullptr);
  Issued srv = issue("localhost", {"localhost"}, {"127.0.0.1"}, false, ca.cert.get(), ca.key.get());
  Issued other = issue("other.test", {"other.test"}, {}, false, ca.cert.get(), ca.key.get());
  Issued rogue = issue("localhost", {"localhost"}, {"127.0.0.1"}, false, nullptr, nullptr);
  p.ca_pem = pem(ca.cert.get());
  p.server_chain_pem = pem(srv.cert.get()) + p.ca_pem;
  p.server_key_pem = key_pem(srv.key.get());
  p.other_chain_pem = pem(other.cert.get()) + p.ca_pem;
  p.other_key_pem = key_pem(other.key.get());
  p.untrusted_chain_pem = pem(rogue.cert.get());
  p.untrusted_key_pem = key_pem(rogue.key.get());
  return p;
}

bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

}  // namespace

const TestPki& TestPki::get() {
  static const TestPki pki = make_pki();
  return pki;
}

SoftwareAttesterBundle make_software_bundle(const Clock* clock) {
  SoftwareAttesterBundle b;
  SoftwareAttesterConfig cfg;
  cfg.clock = clock;
  auto a = make_software_attester(cfg);
  EXPECT_TRUE(a) << (a ? "" : a.error().to_string());
  b.attester = std::shared_ptr<Attester>(std::move(*a));
  b.public_key_pem = software_attester_public_key(*b.attester).value();
  const Bytes mid = read_file_bytes("/etc/machine-id").value();
  Bytes ueid{0x01};
  const Bytes h = ossl::digest(ossl::HashAlg::Sha256, mid).value();
  ueid.insert(ueid.end(), h.begin(), h.end());
  b.machine_id = "ueid:" + to_hex(ueid);
  b.executable_sha256 = to_hex(ossl::digest_file(ossl::HashAlg::Sha256, "/proc/self/exe").value());
  return b;
}

std::string software_policy(const SoftwareAttesterBundle& bundle, const PolicyOptions& o) {
  nlohmann::json scheme;
  scheme["trust"] = {{"keys", nlohmann::json::array({bundle.public_key_pem})}};
  if (!o.executable_digest.empty()) {
    scheme["reference"] = {{"measurements", {{"executable", o.executable_digest}}}};
  }
  nlohmann::json p;
  p["required_tier"] = "warning";
  p["max_evidence_age"] = o.max_evidence_age;
  p["reattest_interval"] = o.reattest_interval;
  if (!o.machine_ids.empty()) {
    p["machine_ids"] = o.machine_ids;
  }
  p["schemes"] = {{std::string(kMediaTypeEatCwt), scheme}};
  return p.dump();
}

Config::Builder server_builder(std::shared_ptr<Attester> attester) {
  const auto& pki = TestPki::get();
  auto b = Config::builder();
  b.certificate_chain_pem(pki.server_chain_pem).private_key_pem(pki.server_key_pem);
  if (attester) {
    b.attester(std::move(attester));
  }
  b.peer_attestation(AttestationMode::Off);
  return b;
}

Config::Builder client_builder() {
  auto b = Config::builder();
  b.ca_pem(TestPki::get().ca_pem);
  return b;
}

std::shared_ptr<const Config> build_or_fail(Config::Builder& builder) {
  auto c = builder.build();
  EXPECT_TRUE(c) << (c ? "" : c.error().to_string());
  return c ? *c : nullptr;
}

// ---------------------------------------------------------------------------
// ServerThread

ServerThread::ServerThread(std::shared_ptr<const Config> config, Handler handler, int connections,
                           bool concurrent) {
  auto s = Server::listen(std::move(config), "127.0.0.1", 0);
  EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
  if (!s) {
    m_done = true;
    return;
  }
  m_server = std::make_unique<Server>(std::move(*s));
  m_port = m_server->port();
  m_thread = std::thread([this, handler = std::move(handler), connections, concurrent]() {
    auto serve = [this, &handler](Connection conn) {
      if (handler) {
        handler(conn);
        return;
      }
      const Error e = echo_until_error(conn);
      if (e.category() != ErrorCategory::Closed) {
        std::lock_guard<std::mutex> lock(m_mu);
        m_session_errors.push_back(e);
      }
    };
    std::vector<std::thread> sessions;
    for (int i = 0; i < connections; ++i) {
      auto conn = m_server->accept();
      if (!conn) {
        std::lock_guard<std::mutex> lock(m_mu);
        m_errors.push_back(conn.error());
        if (conn.error().code == ErrorCode::IoError) {
          break;  // the listener was shut down
        }
        continue;
      }
      if (const AttestationResult* r = conn->peer_result()) {
        std::lock_guard<std::mutex> lock(m_mu);
        m_machine_ids.push_back(r->machine_id());
      }
      if (concurrent) {
        sessions.emplace_back(serve, std::move(*conn));
      } else {
        serve(std::move(*conn));
      }
    }
    for (auto& t : sessions) {
      t.join();
    }
    m_done = true;
  });
}

void ServerThread::join(int timeout_ms) {
  if (!m_thread.joinable()) {
    return;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!m_done && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!m_done && m_server) {
    ::shutdown(m_server->listen_fd(), SHUT_RDWR);
  }
  m_thread.join();
}

ServerThread::~ServerThread() {
  join();
}

std::vector<Error> ServerThread::errors() {
  std::lock_guard<std::mutex> lock(m_mu);
  return m_errors;
}

std::vector<Error> ServerThread::session_errors() {
  std::lock_guard<std::mutex> lock(m_mu);
  return m_session_errors;
}

std::vector<std::string> ServerThread::machine_ids() {
  std::lock_guard<std::mutex> lock(m_mu);
  return m_machine_ids;
}

void echo_handler(Connection& conn) {
  (void)echo_until_error(conn);
}

Error echo_until_error(Connection& conn) {
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    auto n = conn.read(buf);
    if (!n) {
      return n.error();
    }
    if (auto w = conn.write(ByteView(buf.data(), *n)); !w) {
      return w.error();
    }
  }
}

// ---------------------------------------------------------------------------
// BioPair

std::unique_ptr<BioPair> BioPair::make(std::shared_ptr<const Config> client_config,
                                       std::shared_ptr<const Config> server_config,
                                       const std::string& host, SSL_CTX* server_ctx) {
  auto p = std::make_unique<BioPair>();
  p->client_ssl.reset(::SSL_new(internal::config_state(*client_config).client_ctx.get()));
  p->server_ssl.reset(::SSL_new(server_ctx != nullptr
                                    ? server_ctx
                                    : internal::config_state(*server_config).server_ctx.get()));
  BIO* a = nullptr;
  BIO* b = nullptr;
  if (!p->client_ssl || !p->server_ssl || ::BIO_new_bio_pair(&a, 0, &b, 0) != 1) {
    ADD_FAILURE() << "BIO pair";
    return nullptr;
  }
  ::SSL_set_bio(p->client_ssl.get(), a, a);  // the SSLs own the BIOs
  ::SSL_set_bio(p->server_ssl.get(), b, b);
  auto c = attach_ssl(p->client_ssl.get(), std::move(client_config), Role::Client, host);
  auto s = attach_ssl(p->server_ssl.get(), std::move(server_config), Role::Server);
  EXPECT_TRUE(c && s);
  if (!c || !s) {
    return nullptr;
  }
  p->client.emplace(std::move(*c));
  p->server.emplace(std::move(*s));
  return p;
}

std::pair<Result<void>, Result<void>> BioPair::handshake(int rounds) {
  Result<void> rc = Error{ErrorCode::WouldBlock, ""};
  Result<void> rs = Error{ErrorCode::WouldBlock, ""};
  auto pending = [](const Result<void>& r) {
    return !r && r.error().code == ErrorCode::WouldBlock;
  };
  for (int i = 0; i < rounds && (pending(rc) || pending(rs)); ++i) {
    if (pending(rc)) {
      rc = client->handshake();
    } else {
      (void)client->process();
    }
    if (pending(rs)) {
      rs = server->handshake();
    } else {
      (void)server->process();
    }
  }
  return {std::move(rc), std::move(rs)};
}

Result<Bytes> BioPair::client_to_server(ByteView msg, int rounds) {
  ATLS_TRY(client->write(msg));
  Bytes got(msg.size() + 64);
  Result<std::size_t> n = Error{ErrorCode::WouldBlock, ""};
  for (int i = 0; i < rounds && !n && n.error().code == ErrorCode::WouldBlock; ++i) {
    (void)client->process();
    n = server->read(got);
  }
  if (!n) {
    return n.error();
  }
  got.resize(*n);
  return got;
}

BioPair::~BioPair() {
  client.reset();
  server.reset();
}

// ---------------------------------------------------------------------------
// RawPeer

std::unique_ptr<RawPeer> RawPeer::accept_on(int listen_fd, std::shared_ptr<const Config> config) {
  if (!wait_fd(listen_fd, POLLIN, 10000)) {
    ADD_FAILURE() << "RawPeer: no connection";
    return nullptr;
  }
  const int fd = ::accept(listen_fd, nullptr, nullptr);
  if (fd < 0) {
    ADD_FAILURE() << "accept";
    return nullptr;
  }
  auto p = std::make_unique<RawPeer>();
  p->m_fd = fd;
  p->m_server = true;
  p->m_config = std::move(config);
  p->m_ssl.reset(::SSL_new(internal::config_state(*p->m_config).server_ctx.get()));
  ::SSL_set_fd(p->m_ssl.get(), fd);
  ::SSL_set_accept_state(p->m_ssl.get());
  if (!p->finish_handshake()) {
    return nullptr;
  }
  return p;
}

std::unique_ptr<RawPeer> RawPeer::connect_to(std::uint16_t port,
                                             std::shared_ptr<const Config> config) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    ADD_FAILURE() << "connect";
    return nullptr;
  }
  auto p = std::make_unique<RawPeer>();
  p->m_fd = fd;
  p->m_server = false;
  p->m_config = std::move(config);
  p->m_ssl.reset(::SSL_new(internal::config_state(*p->m_config).client_ctx.get()));
  ::SSL_set_fd(p->m_ssl.get(), fd);
  ::SSL_set_connect_state(p->m_ssl.get());
  if (!p->finish_handshake()) {
    return nullptr;
  }
  return p;
}

bool RawPeer::finish_handshake() {
  m_hs.config = &internal::config_state(*m_config);
  m_hs.role = m_server ? Role::Server : Role::Client;
  (void)internal::set_handshake_state(m_ssl.get(), &m_hs);
  timeval tv{10, 0};
  ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::SSL_do_handshake(m_ssl.get()) != 1) {
    ADD_FAILURE() << "RawPeer handshake: " << ossl::drain_errors();
    return false;
  }
  return true;
}

RawPeer::~RawPeer() {
  if (m_ssl) {
    (void)internal::set_handshake_state(m_ssl.get(), nullptr);
  }
  close();
}

void RawPeer::close() {
  if (m_fd >= 0) {
    ::SSL_shutdown(m_ssl.get());
    ::close(m_fd);
    m_fd = -1;
  }
  ERR_clear_error();
}

bool RawPeer::send_raw(ByteView bytes) {
  if (m_fd < 0) {
    return false;
  }
  return bytes.empty() ||
         ::SSL_write(m_ssl.get(), bytes.data(), static_cast<int>(bytes.size())) > 0;
}

bool RawPeer::send_frame(tls::FrameType type, ByteView body) {
  auto f = tls::encode_frame(type, body);
  return f && send_raw(*f);
}

bool RawPeer::read_preamble(int timeout_ms) {
  Bytes got;
  while (got.size() < 5) {
    if (::SSL_pending(m_ssl.get()) == 0 && !wait_fd(m_fd, POLLIN, timeout_ms)) {
      return false;
    }
    std::uint8_t b = 0;
    if (::SSL_read(m_ssl.get(), &b, 1) != 1) {
      return false;
    }
    got.push_back(b);
  }
  return std::equal(got.begin(), got.end(), tls::kPreamble.begin());
}

std::optional<tls::Frame> RawPeer::read_frame(int timeout_ms) {
  for (;;) {
    auto f = m_decoder.next();
    if (!f) {
      return std::nullopt;
    }
    if (f->has_value()) {
      return std::move(**f);
    }
    if (::SSL_pending(m_ssl.get()) == 0 && !wait_fd(m_fd, POLLIN, timeout_ms)) {
      return std::nullopt;
    }
    std::uint8_t buf[16384];
    const int n = ::SSL_read(m_ssl.get(), buf, sizeof buf);
    if (n <= 0) {
      ERR_clear_error();
      return std::nullopt;
    }
    m_decoder.feed(ByteView(buf, static_cast<std::size_t>(n)));
  }
}

Bytes RawPeer::read_all(int timeout_ms) {
  Bytes out;
  while (m_fd >= 0) {
    if (::SSL_pending(m_ssl.get()) == 0 && !wait_fd(m_fd, POLLIN, timeout_ms)) {
      return out;
    }
    std::uint8_t buf[16384];
    const int n = ::SSL_read(m_ssl.get(), buf, sizeof buf);
    if (n <= 0) {
      ERR_clear_error();
      return out;
    }
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

tls::EaKeys RawPeer::own_keys() {
  return tls::authenticator_keys(m_ssl.get(), m_server).value();
}
tls::EaKeys RawPeer::peer_keys() {
  return tls::authenticator_keys(m_ssl.get(), !m_server).value();
}

Bytes RawPeer::binder(ByteView spki, ByteView context) {
  const auto hash = tls::connection_hash(m_ssl.get()).value();
  const ExporterLabel label = internal::negotiated_label(m_hs, internal::config_state(*m_config));
  const Bytes exported = tls::attestation_exporter(m_ssl.get(), label, context).value();
  return tls::compute_binder(hash, spki, exported).value();
}

tls::AuthRequest RawPeer::request(ByteView context, const Config& config) {
  tls::AuthRequestOptions o;
  o.msg_type = m_server ? tls::kCertificateRequest : tls::kClientCertificateRequest;
  o.context.assign(context.begin(), context.end());
  o.schemes = internal::config_state(config).accepted_schemes();
  return tls::encode_auth_request(o, internal::config_state(config).ext_codepoints()).value();
}

namespace {

// leaf_extensions: the cmw_attestation of |cmw| (if any), then |extra|.
std::vector<tls::Extension> leaf_extensions(const std::optional<Bytes>& cmw, const Config& config,
                                            std::vector<tls::Extension> extra) {
  std::vector<tls::Extension> exts;
  if (cmw) {
    exts.push_back(
        tls::cmw_extension(*cmw, internal::config_state(config).ext_codepoints()).value());
  }
  for (auto& e : extra) {
    exts.push_back(std::move(e));
  }
  return exts;
}

Bytes expect_built(Result<Bytes> a) {
  EXPECT_TRUE(a) << (a ? "" : a.error().to_string());
  return a ? std::move(*a) : Bytes{};
}

}  // namespace

Bytes RawPeer::answer(const tls::AuthRequest& req, const std::vector<Bytes>& chain_der,
                      EVP_PKEY* leaf_key, std::optional<Bytes> cmw, const Config& config,
                      std::vector<tls::Extension> extra) {
  return expect_built(tls::build_authenticator(own_keys(), &req, req.context, chain_der,
                                               leaf_extensions(cmw, config, std::move(extra)),
                                               leaf_key));
}

Bytes RawPeer::push(ByteView context, const std::vector<Bytes>& chain_der, EVP_PKEY* leaf_key,
                    std::optional<Bytes> cmw, const Config& config,
                    std::vector<tls::Extension> extra) {
  return expect_built(tls::build_authenticator(own_keys(), nullptr, context, chain_der,
                                               leaf_extensions(cmw, config, std::move(extra)),
                                               leaf_key, m_hs.client_sigalgs));
}

Identity make_identity(const std::string& cn) {
  Identity id;
  id.key = std::move(ossl::generate_key(ossl::KeyType::EcP256).value());
  internal::CertificateSpec spec;
  spec.common_name = cn;
  spec.not_before = wall_now() - 3600;
  spec.not_after = wall_now() + 86400;
  id.cert = std::move(internal::make_certificate(spec, id.key.get(), nullptr, nullptr).value());
  id.cert_der = ossl::cert_der(id.cert.get()).value();
  id.spki = ossl::cert_spki_der(id.cert.get()).value();
  return id;
}

Bytes attest_cmw(Attester& attester, ByteView nonce, ByteView spki) {
  AttestationRequest r;
  r.nonce.assign(nonce.begin(), nonce.end());
  r.key_spki.assign(spki.begin(), spki.end());
  auto e = attester.attest(r);
  EXPECT_TRUE(e) << (e ? "" : e.error().to_string());
  return e ? e->cmw : Bytes{};
}

PlainTlsServer::PlainTlsServer(int max_version, bool tickets) {
  auto [fd, port] = listen_local();
  m_fd = fd;
  m_port = port;
  m_ctx.reset(::SSL_CTX_new(::TLS_server_method()));
  const auto& pki = TestPki::get();
  auto chain = ossl::parse_certificates(to_bytes(pki.server_chain_pem)).value();
  auto key = ossl::parse_private_key(to_bytes(pki.server_key_pem)).value();
  ::SSL_CTX_use_certificate(m_ctx.get(), chain.front().get());
  ::SSL_CTX_use_PrivateKey(m_ctx.get(), key.get());
  ::SSL_CTX_set_max_proto_version(m_ctx.get(), max_version);
  if (!tickets) {
    ::SSL_CTX_set_options(m_ctx.get(), SSL_OP_NO_TICKET);
    ::SSL_CTX_set_num_tickets(m_ctx.get(), 0);
  }
  m_thread = std::thread([this]() {
    if (!wait_fd(m_fd, POLLIN, 10000)) {
      return;
    }
    const int c = ::accept(m_fd, nullptr, nullptr);
    if (c < 0) {
      return;
    }
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ossl::UniquePtr<SSL> ssl(::SSL_new(m_ctx.get()));
    ::SSL_set_fd(ssl.get(), c);
    const bool ok = ::SSL_accept(ssl.get()) == 1;
    {
      std::lock_guard<std::mutex> lock(m_mu);
      m_handshake_ok = ok;
    }
    if (ok) {
      std::uint8_t buf[16384];
      for (;;) {
        const int n = ::SSL_read(ssl.get(), buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        {
          std::lock_guard<std::mutex> lock(m_mu);
          m_received.insert(m_received.end(), buf, buf + n);
        }
        if (::SSL_write(ssl.get(), buf, n) <= 0) {
          break;
        }
      }
      ::SSL_shutdown(ssl.get());
    }
    ERR_clear_error();
    ::close(c);
  });
}

void PlainTlsServer::join() {
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

PlainTlsServer::~PlainTlsServer() {
  if (m_fd >= 0) {
    ::shutdown(m_fd, SHUT_RDWR);
  }
  join();
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

bool PlainTlsServer::handshake_ok() {
  std::lock_guard<std::mutex> lock(m_mu);
  return m_handshake_ok;
}

Bytes PlainTlsServer::received() {
  std::lock_guard<std::mutex> lock(m_mu);
  return m_received;
}

Bytes plain_tls_client(std::uint16_t port, ByteView payload, std::size_t expect, bool* handshake_ok,
                       ossl::UniquePtr<SSL_SESSION>* session) {
  Bytes out;
  ossl::UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_client_method()));
  ::SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  ::SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  auto cas = ossl::parse_certificates(to_bytes(TestPki::get().ca_pem));
  if (cas) {
    for (auto& ca : *cas) {
      ::X509_STORE_add_cert(::SSL_CTX_get_cert_store(ctx.get()), ca.get());
    }
  }
  ::SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return out;
  }
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ossl::UniquePtr<SSL> ssl(::SSL_new(ctx.get()));
  ::SSL_set_fd(ssl.get(), fd);
  if (session != nullptr && *session) {
    ::SSL_set_session(ssl.get(), session->get());
  }
  const bool ok = ::SSL_connect(ssl.get()) == 1;
  if (handshake_ok != nullptr) {
    *handshake_ok = ok;
  }
  if (ok) {
    if (!payload.empty()) {
      ::SSL_write(ssl.get(), payload.data(), static_cast<int>(payload.size()));
    }
    std::uint8_t buf[16384];
    while (out.size() < expect) {
      const int n = ::SSL_read(ssl.get(), buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      out.insert(out.end(), buf, buf + n);
    }
    if (session != nullptr) {
      // A copy: SSL_free may mark the shared session object not resumable.
      session->reset(::SSL_SESSION_dup(::SSL_get0_session(ssl.get())));
    }
    ::SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
  ::close(fd);
  return out;
}

std::pair<int, std::uint16_t> listen_local() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 8) != 0) {
    ADD_FAILURE() << "listen";
    return {-1, 0};
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return {fd, ntohs(a.sin_port)};
}

Bytes pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = static_cast<std::uint8_t>((i * 131 + 7) & 0xFF);
  }
  return b;
}

// round_trip writes |data| and reads the same number of bytes back.
Bytes round_trip(Connection& conn, ByteView data) {
  auto w = conn.write(data);
  EXPECT_TRUE(w) << (w ? "" : w.error().to_string());
  Bytes got;
  std::uint8_t buf[65536];
  while (got.size() < data.size()) {
    auto n = conn.read(buf);
    if (!n) {
      ADD_FAILURE() << n.error().to_string();
      break;
    }
    got.insert(got.end(), buf, buf + *n);
  }
  return got;
}

}  // namespace atls::test
