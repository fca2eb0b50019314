#pragma once

// Test harness for attested TLS: a throw-away PKI, software attesters with
// matching policies, a server on 127.0.0.1 running in a thread, in-process
// connections over a BIO pair, and a RawPeer that speaks the atls stream by
// hand (the malicious peers and the relaying man in the middle of the
// attack tests). Everything stops and joins in its destructor.

#include <atls/attester.h>
#include <atls/clock.h>
#include <atls/config.h>
#include <atls/connection.h>

#include "src/ossl/ssl_ptr.h"
#include "src/tls/authenticator.h"
#include "src/tls/frame.h"
#include "src/tls/openssl_attach.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace atls::test {

// TestPki is a CA and a server certificate for "localhost" and 127.0.0.1.
struct TestPki {
  std::string ca_pem;
  std::string server_chain_pem;  // leaf, then CA
  std::string server_key_pem;
  std::string other_chain_pem;  // a second leaf under the same CA ("other.test")
  std::string other_key_pem;
  std::string untrusted_chain_pem;  // self-signed "localhost", not under the CA
  std::string untrusted_key_pem;
  static const TestPki& get();  // made once per process
};

// MutableClock is a Clock the test moves by hand; thread-safe.
class MutableClock final : public Clock {
 public:
  explicit MutableClock(std::int64_t t) : m_t(t) {}
  std::int64_t now() const override { return m_t.load(); }
  void set(std::int64_t t) { m_t.store(t); }
  void advance(std::int64_t dt) { m_t.fetch_add(dt); }

 private:
  std::atomic<std::int64_t> m_t;
};

// FixedRng returns the same bytes every time (to make contexts collide).
class FixedRng final : public Rng {
 public:
  explicit FixedRng(std::uint8_t v) : m_v(v) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      b = m_v;
    }
  }

 private:
  std::uint8_t m_v;
};

// SoftwareAttesterBundle is a software attester and what a policy needs
// to trust it.
struct SoftwareAttesterBundle {
  std::shared_ptr<Attester> attester;
  std::string public_key_pem;
  std::string machine_id;         // "ueid:<hex>"
  std::string executable_sha256;  // hex digest of /proc/self/exe
};
// make_software_bundle builds one (|clock| borrowed, may be null).
SoftwareAttesterBundle make_software_bundle(const Clock* clock = nullptr);

// PolicyOptions shape software_policy().
struct PolicyOptions {
  std::vector<std::string> machine_ids;  // pinned machine ids
  std::string executable_digest;         // reference value; "" = none
  std::int64_t max_evidence_age = 300;
  std::int64_t reattest_interval = 3600;
};
// software_policy returns policy JSON trusting |bundle| at tier "warning"
// (the best software evidence reaches).
std::string software_policy(const SoftwareAttesterBundle& bundle,
                            const PolicyOptions& options = {});

// Builders with the usual test settings.
// server_builder: TestPki server chain, attester |attester| (may be null).
Config::Builder server_builder(std::shared_ptr<Attester> attester);
// client_builder: trusts the TestPki CA.
Config::Builder client_builder();

std::shared_ptr<const Config> build_or_fail(Config::Builder& builder);
inline std::shared_ptr<const Config> build_or_fail(Config::Builder&& builder) {
  return build_or_fail(builder);
}

// ServerThread runs a blocking Server on 127.0.0.1 in a thread: it accepts
// up to |connections| connections and calls |handler| on each one that
// completes its handshake (null: echo_handler). Accept errors are recorded in errors().
class ServerThread {
 public:
  using Handler = std::function<void(Connection&)>;
  // With |concurrent|, each connection is handled on a thread of its own
  // (joined before the server thread ends); otherwise one after the other.
  ServerThread(std::shared_ptr<const Config> config, Handler handler, int connections = 1,
               bool concurrent = false);
  ~ServerThread();
  std::uint16_t port() const { return m_port; }
  // join waits for the thread (at most |timeout_ms|, then the listening
  // socket is shut down so that accept returns).
  void join(int timeout_ms = 10000);
  std::vector<Error> errors();
  // session_errors holds what ended connections that the default echo
  // handler served, other than the peer closing (e.g. PeerAlert).
  std::vector<Error> session_errors();
  // results holds the peer results the server saw (for client attestation).
  std::vector<std::string> machine_ids();

 private:
  std::unique_ptr<Server> m_server;
  std::uint16_t m_port = 0;
  std::thread m_thread;
  std::mutex m_mu;
  std::vector<Error> m_errors;
  std::vector<Error> m_session_errors;
  std::vector<std::string> m_machine_ids;
  std::atomic<bool> m_done{false};
};

// echo_handler echoes application bytes until the peer closes.
void echo_handler(Connection& conn);
// echo_until_error echoes like echo_handler and returns the error that
// ended the connection (ConnectionClosed when the peer closed).
Error echo_until_error(Connection& conn);

// BioPair makes a client and a server Connection over an in-memory BIO
// pair (non-blocking, no socket) and pumps them.
struct BioPair {
  ossl::UniquePtr<SSL> client_ssl;
  ossl::UniquePtr<SSL> server_ssl;
  std::optional<Connection> client;
  std::optional<Connection> server;
  // make creates both ends (the SSLs stay owned here; the Connections
  // borrow them).
  // |server_ctx| (borrowed), when given, replaces the server config's own
  // SSL_CTX (it must be prepared with prepare_ssl_ctx).
  static std::unique_ptr<BioPair> make(std::shared_ptr<const Config> client_config,
                                       std::shared_ptr<const Config> server_config,
                                       const std::string& host = "localhost",
                                       SSL_CTX* server_ctx = nullptr);
  // handshake pumps both sides until both handshakes finish or one fails
  // (at most |rounds| rounds); returns each side's final result.
  std::pair<Result<void>, Result<void>> handshake(int rounds = 2000);
  // client_to_server writes |msg| on the client and pumps until the server
  // reads bytes; returns what that read gave.
  Result<Bytes> client_to_server(ByteView msg, int rounds = 100);
  BioPair() = default;
  ~BioPair();
  BioPair(const BioPair&) = delete;
  BioPair& operator=(const BioPair&) = delete;
};

// RawPeer is a hand-driven atls endpoint over a blocking socket: TLS with
// the atls SSL_CTX setup and negotiation callbacks, then raw frames.
class RawPeer {
 public:
  // accept_on / connect_to run the TLS handshake as server / client with
  // |config| (its identity, negotiation settings and codepoints).
  static std::unique_ptr<RawPeer> accept_on(int listen_fd, std::shared_ptr<const Config> config);
  static std::unique_ptr<RawPeer> connect_to(std::uint16_t port,
                                             std::shared_ptr<const Config> config);
  RawPeer() = default;  // use accept_on / connect_to
  ~RawPeer();
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  SSL* ssl() const { return m_ssl.get(); }
  int fd() const { return m_fd; }
  bool is_server() const { return m_server; }
  internal::HandshakeState& hs() { return m_hs; }

  bool send_raw(ByteView bytes);
  bool send_frame(tls::FrameType type, ByteView body);
  bool send_preamble() { return send_raw(tls::kPreamble); }
  // read_preamble reads 5 bytes and checks them.
  bool read_preamble(int timeout_ms = 5000);
  // read_frame returns the next frame, nullopt on EOF/timeout/error.
  std::optional<tls::Frame> read_frame(int timeout_ms = 5000);
  // read_until_closed drains until EOF; returns the bytes read.
  Bytes read_all(int timeout_ms = 2000);
  void close();

  // own_keys / peer_keys: authenticator keys of our / the peer's role.
  tls::EaKeys own_keys();
  tls::EaKeys peer_keys();
  // binder for |spki| and |context| on this connection.
  Bytes binder(ByteView spki, ByteView context);
  // request builds an authenticator request of the right type for our role.
  tls::AuthRequest request(ByteView context, const Config& config);
  // answer builds an honest authenticator for |req| with |leaf_key| /
  // |chain_der| and |cmw| (nullopt: no cmw_attestation), plus |extra|
  // extensions on the leaf (the request must carry them).
  Bytes answer(const tls::AuthRequest& req, const std::vector<Bytes>& chain_der, EVP_PKEY* leaf_key,
               std::optional<Bytes> cmw, const Config& config,
               std::vector<tls::Extension> extra = {});
  // push builds a spontaneous (pushed) authenticator for |context|, its
  // scheme taken from the ClientHello's signature_algorithms; |cmw| and
  // |extra| as for answer().
  Bytes push(ByteView context, const std::vector<Bytes>& chain_der, EVP_PKEY* leaf_key,
             std::optional<Bytes> cmw, const Config& config,
             std::vector<tls::Extension> extra = {});

 private:
  bool finish_handshake();
  int m_fd = -1;
  bool m_server = false;
  std::shared_ptr<const Config> m_config;
  ossl::UniquePtr<SSL> m_ssl;
  internal::HandshakeState m_hs;
  tls::FrameDecoder m_decoder{tls::FrameLimits{1 << 24, 1 << 24}, false};
};

// Identity is a key with a self-signed certificate (DER), for forged
// authenticators.
struct Identity {
  ossl::UniquePtr<EVP_PKEY> key;
  ossl::UniquePtr<X509> cert;
  Bytes cert_der;
  Bytes spki;
};
Identity make_identity(const std::string& cn = "raw peer");

// attest_cmw asks |attester| for Evidence with |nonce| and |spki|; returns
// the CMW.
Bytes attest_cmw(Attester& attester, ByteView nonce, ByteView spki);

// PlainTlsServer is a stock OpenSSL server (no atls) on 127.0.0.1 for one
// connection: it echoes what it reads until EOF, and records it.
class PlainTlsServer {
 public:
  // max_version: e.g. TLS1_2_VERSION for a TLS 1.2-only peer. With
  // |tickets| it issues session tickets (to obtain a resumable session).
  explicit PlainTlsServer(int max_version, bool tickets = false);
  ~PlainTlsServer();
  std::uint16_t port() const { return m_port; }
  void join();
  bool handshake_ok();
  Bytes received();

 private:
  int m_fd = -1;
  std::uint16_t m_port = 0;
  ossl::UniquePtr<SSL_CTX> m_ctx;
  std::thread m_thread;
  std::mutex m_mu;
  bool m_handshake_ok = false;
  Bytes m_received;
};

// plain_tls_client connects with a stock OpenSSL TLS 1.3 client (no atls),
// sends |payload|, reads until |expect| bytes or EOF/timeout, returns them.
// With |session| set, it offers that session (resumption) and stores a new
// one there.
Bytes plain_tls_client(std::uint16_t port, ByteView payload, std::size_t expect,
                       bool* handshake_ok = nullptr,
                       ossl::UniquePtr<SSL_SESSION>* session = nullptr);

// listen_local binds 127.0.0.1:0; returns fd and port.
std::pair<int, std::uint16_t> listen_local();

// pattern returns |n| bytes of a fixed, non-repeating-looking pattern.
Bytes pattern(std::size_t n);

// round_trip writes |data| to an echoing peer and reads the same number of
// bytes back (test failures on I/O errors).
Bytes round_trip(Connection& conn, ByteView data);

}  // namespace atls::test
