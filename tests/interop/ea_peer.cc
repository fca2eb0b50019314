// atls_ea_peer: a test-only TLS 1.3 server that speaks the atls stream
// (docs/wire-profile.md §1.2) with the authenticator layer of src/tls/, for
// tests/interop/test_ea_interop.py, whose Python side implements RFC 9261
// independently.
//
//   atls_ea_peer [--suite TLS_AES_128_GCM_SHA256] [--push] [--cmw-label]
//
// With --push it attests in its first flight (docs/wire-profile.md §1.9):
// SSL_read_early_data until libssl has sent the server Finished, then the
// preamble, a spontaneous AUTHENTICATOR (a fresh context of its own, the
// scheme the first of the ClientHello's signature_algorithms it can make)
// and a DATA report {"binder": hex, "early_data": true when those bytes
// went out with SSL_write_early_data, i.e. before the server read the
// client's Finished} as 0.5-RTT data. With --cmw-label every binder uses
// the exporter label "EXPORTER-cmw-attestation" instead of "Attestation".
//
// It listens on 127.0.0.1 (a free port), prints {"port": N} on stdout,
// serves exactly one connection, and exits. After the handshake it sends the
// preamble and then reacts to the client's frames:
//
//   AUTH_REQUEST      parse it and answer with an AUTHENTICATOR built from a
//                     fresh P-256 attestation identity, whose leaf carries a
//                     cmw_attestation CMW holding the binder of docs/wire-profile.md §1.5;
//                     when no requested scheme fits the key, an empty
//                     authenticator. A request that does not parse is
//                     answered with an ALERT (alert_for) and the connection
//                     ends. After each answer, a DATA frame with a JSON
//                     report of what was sent.
//   DATA "request"    send a CertificateRequest (13) with a fresh context.
//   DATA "bye"        close.
//   AUTHENTICATOR     validate it against the latest CertificateRequest and
//                     answer with a DATA frame holding a JSON report:
//                     {"ok":..., "code":..., "scheme":..., "cmw":hex,
//                      "binder_ok":..., "chain":N}.
//
// The JSON CMW used by both sides is a record ["application/vnd.atls.test-binder",
// base64url(binder)].

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/ossl/ssl_ptr.h"
#include "src/ossl/x509.h"
#include "src/tls/authenticator.h"
#include "src/tls/exporter.h"
#include "src/tls/frame.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using atls::Bytes;
using atls::ByteView;
using atls::tls::Frame;
using atls::tls::FrameType;

constexpr std::string_view kCmwType = "application/vnd.atls.test-binder";

struct Identity {
  atls::ossl::UniquePtr<EVP_PKEY> key;
  atls::ossl::UniquePtr<X509> cert;
  Bytes der;
};

std::optional<Identity> make_identity(const char* cn) {
  Identity id;
  auto key = atls::ossl::generate_key(atls::ossl::KeyType::EcP256);
  if (!key) {
    return std::nullopt;
  }
  id.key = std::move(*key);
  id.cert.reset(::X509_new());
  X509* c = id.cert.get();
  if (c == nullptr || ::X509_set_version(c, 2) != 1) {
    return std::nullopt;
  }
  ::ASN1_INTEGER_set(::X509_get_serialNumber(c), 1);
  ::X509_gmtime_adj(::X509_getm_notBefore(c), -60);
  ::X509_gmtime_adj(::X509_getm_notAfter(c), 3600);
  X509_NAME* name = ::X509_get_subject_name(c);  // borrowed from c
  ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
  ::X509_set_issuer_name(c, name);
  if (::X509_set_pubkey(c, id.key.get()) != 1 ||
      ::X509_sign(c, id.key.get(), ::EVP_sha256()) <= 0) {
    return std::nullopt;
  }
  auto der = atls::ossl::cert_der(c);
  if (!der) {
    return std::nullopt;
  }
  id.der = std::move(*der);
  return id;
}

std::string json_str(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(ch));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// cmw_for is the JSON CMW record both sides use for |binder|.
Bytes cmw_for(ByteView binder) {
  return atls::to_bytes("[" + json_str(kCmwType) + "," + json_str(atls::base64url_encode(binder)) +
                        "]");
}

class Peer {
 public:
  Peer(SSL* ssl, Identity identity) : m_ssl(ssl), m_id(std::move(identity)) {}

  // push sends the preamble, a pushed authenticator and its report as
  // 0.5-RTT data; call it when SSL_read_early_data has finished.
  int push() {
    Bytes context(32);
    if (::RAND_bytes(context.data(), static_cast<int>(context.size())) != 1) {
      return fail("RAND_bytes");
    }
    std::vector<std::uint16_t> offered;
    const int n = ::SSL_get_sigalgs(m_ssl, 0, nullptr, nullptr, nullptr, nullptr, nullptr);
    for (int i = 0; i < n; ++i) {
      unsigned char rsig = 0;
      unsigned char rhash = 0;
      ::SSL_get_sigalgs(m_ssl, i, nullptr, nullptr, nullptr, &rsig, &rhash);
      offered.push_back(static_cast<std::uint16_t>((rhash << 8) | rsig));
    }
    auto keys = atls::tls::authenticator_keys(m_ssl, true);
    auto spki = atls::ossl::cert_spki_der(m_id.cert.get());
    if (!keys || !spki) {
      return fail("exporter");
    }
    auto binder = atls::tls::connection_binder(m_ssl, m_label, context, *spki);
    if (!binder) {
      return fail("binder");
    }
    auto ext = atls::tls::cmw_extension(cmw_for(*binder), m_cp);
    if (!ext) {
      return fail("cmw_extension");
    }
    const std::vector<atls::tls::Extension> exts{std::move(*ext)};
    const std::vector<Bytes> chain{m_id.der};
    auto auth = atls::tls::build_authenticator(*keys, nullptr, context, chain, exts, m_id.key.get(),
                                               offered);
    if (!auth) {
      return fail(auth.error().to_string());
    }
    auto frame = atls::tls::encode_frame(FrameType::Authenticator, *auth);
    if (!frame) {
      return fail("frame");
    }
    Bytes out(atls::tls::kPreamble.begin(), atls::tls::kPreamble.end());
    out.insert(out.end(), frame->begin(), frame->end());
    std::size_t written = 0;
    const std::string report =
        std::string("{\"binder\":\"") + atls::to_hex(*binder) + "\",\"early_data\":true}";
    auto data = atls::tls::encode_frame(FrameType::Data, atls::to_bytes(report));
    if (!data) {
      return fail("frame");
    }
    out.insert(out.end(), data->begin(), data->end());
    if (::SSL_write_early_data(m_ssl, out.data(), out.size(), &written) != 1 ||
        written != out.size()) {
      return fail("SSL_write_early_data");
    }
    m_preamble_sent = true;
    return -1;
  }

  // run serves the connection; returns the process exit code.
  int run() {
    if (!m_preamble_sent &&
        !write_all(Bytes(atls::tls::kPreamble.begin(), atls::tls::kPreamble.end()))) {
      return 1;
    }
    std::vector<std::uint8_t> buf(16384);
    for (;;) {
      for (;;) {
        auto f = m_decoder.next();
        if (!f) {
          std::fprintf(stderr, "ea_peer: stream error: %s\n", f.error().to_string().c_str());
          send_alert(atls::tls::alert_for(f.error().code), f.error().to_string());
          return 0;
        }
        if (!f->has_value()) {
          break;
        }
        const int rc = handle(**f);
        if (rc >= 0) {
          return rc;
        }
      }
      const int n = ::SSL_read(m_ssl, buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) {
        std::fprintf(stderr, "ea_peer: connection closed\n");
        return 0;
      }
      m_decoder.feed(ByteView(buf.data(), static_cast<std::size_t>(n)));
    }
  }

 private:
  // handle returns -1 to continue, else an exit code.
  int handle(const Frame& f) {
    switch (f.type) {
      case FrameType::AuthRequest:
        return answer_request(f.body);
      case FrameType::Authenticator:
        return validate(f.body);
      case FrameType::Data: {
        const std::string_view cmd = atls::as_string_view(f.body);
        if (cmd == "request") {
          return send_request();
        }
        if (cmd == "bye") {
          ::SSL_shutdown(m_ssl);
          return 0;
        }
        return -1;
      }
      case FrameType::Alert: {
        auto a = atls::tls::parse_alert(f.body);
        std::fprintf(stderr, "ea_peer: peer alert %d\n", a ? static_cast<int>(a->code) : -1);
        return 0;
      }
    }
    return -1;
  }

  int answer_request(ByteView body) {
    auto req = atls::tls::parse_auth_request(body);
    if (!req) {
      send_alert(atls::tls::alert_for(req.error().code), std::string(req.error().name()));
      return 0;
    }
    auto keys = atls::tls::authenticator_keys(m_ssl, true);  // we send: server labels
    auto hash = atls::tls::connection_hash(m_ssl);
    auto exported = atls::tls::attestation_exporter(m_ssl, m_label, req->context);
    auto spki = atls::ossl::cert_spki_der(m_id.cert.get());
    if (!keys || !hash || !exported || !spki) {
      return fail("exporter");
    }
    auto binder = atls::tls::compute_binder(*hash, *spki, *exported);
    if (!binder) {
      return fail("binder");
    }
    auto ext = atls::tls::cmw_extension(cmw_for(*binder), m_cp);
    if (!ext) {
      return fail("cmw");
    }
    std::vector<atls::tls::Extension> exts;
    if (req->has_extension(m_cp.cmw_attestation)) {
      exts.push_back(*ext);
    }
    const std::vector<Bytes> chain{m_id.der};
    auto auth =
        atls::tls::build_authenticator(*keys, &*req, req->context, chain, exts, m_id.key.get());
    bool empty = false;
    if (!auth && auth.error().code == atls::ErrorCode::EaSignatureSchemeUnsupported) {
      auth = atls::tls::build_empty_authenticator(*keys, *req);
      empty = true;
    }
    if (!auth) {
      return fail("build: " + auth.error().to_string());
    }
    if (!send(FrameType::Authenticator, *auth)) {
      return 1;
    }
    const std::string report = std::string("{\"sent\":") +
                               (empty ? "\"empty\"" : "\"authenticator\"") +
                               ",\"context\":" + json_str(atls::to_hex(req->context)) +
                               ",\"binder\":" + json_str(atls::to_hex(*binder)) + "}";
    return send(FrameType::Data, atls::to_bytes(report)) ? -1 : 1;
  }

  int send_request() {
    atls::tls::AuthRequestOptions o;
    o.msg_type = atls::tls::kCertificateRequest;
    o.context.resize(32);
    if (::RAND_bytes(o.context.data(), static_cast<int>(o.context.size())) != 1) {
      return fail("RAND_bytes");
    }
    o.schemes = {atls::tls::AttestationScheme::evidence_media_type(kCmwType)};
    auto req = atls::tls::encode_auth_request(o, m_cp);
    if (!req) {
      return fail("request");
    }
    m_request = std::move(*req);
    return send(FrameType::AuthRequest, m_request->raw) ? -1 : 1;
  }

  int validate(ByteView body) {
    std::string report;
    if (!m_request) {
      report = "{\"ok\":false,\"code\":\"NoRequest\"}";
    } else {
      auto keys = atls::tls::authenticator_keys(m_ssl, false);  // the client sent it
      if (!keys) {
        return fail("keys");
      }
      auto parsed = atls::tls::parse_authenticator(body);
      auto v = parsed ? atls::tls::validate_authenticator(*keys, *m_request, *parsed, m_cp)
                      : atls::Result<atls::tls::ValidatedAuthenticator>(parsed.error());
      if (!v) {
        report = "{\"ok\":false,\"code\":" + json_str(v.error().name()) +
                 ",\"detail\":" + json_str(v.error().detail) + "}";
      } else {
        bool binder_ok = false;
        auto hash = atls::tls::connection_hash(m_ssl);
        auto exported =
            atls::tls::attestation_exporter(m_ssl, atls::ExporterLabel::Attestation, v->context);
        if (hash && exported && v->cmw) {
          auto binder = atls::tls::compute_binder(*hash, v->leaf_spki, *exported);
          if (binder) {
            const std::string expect =
                "[" + json_str(kCmwType) + "," + json_str(atls::base64url_encode(*binder)) + "]";
            binder_ok = atls::as_string_view(*v->cmw) == expect;
          }
        }
        report = std::string("{\"ok\":true,\"code\":\"Ok\",\"scheme\":") +
                 std::to_string(v->scheme) + ",\"chain\":" + std::to_string(v->chain_der.size()) +
                 ",\"cmw\":" + json_str(v->cmw ? atls::to_hex(*v->cmw) : "") +
                 ",\"binder_ok\":" + (binder_ok ? "true" : "false") +
                 ",\"context\":" + json_str(atls::to_hex(v->context)) + "}";
      }
    }
    return send(FrameType::Data, atls::to_bytes(report)) ? -1 : 1;
  }

  int fail(const std::string& what) {
    std::fprintf(stderr, "ea_peer: %s\n", what.c_str());
    send_alert(atls::tls::AlertCode::InternalError, what);
    return 1;
  }

  void send_alert(atls::tls::AlertCode code, const std::string& reason) {
    (void)write_all(atls::tls::alert_frame(code, reason));
    ::SSL_shutdown(m_ssl);
  }

  bool send(FrameType t, ByteView body) {
    auto f = atls::tls::encode_frame(t, body);
    return f && write_all(*f);
  }

  bool write_all(ByteView data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const int n = ::SSL_write(m_ssl, data.data() + off, static_cast<int>(data.size() - off));
      if (n <= 0) {
        std::fprintf(stderr, "ea_peer: write failed\n");
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  SSL* m_ssl;  // borrowed from main
  Identity m_id;
  atls::tls::ExtensionCodepoints m_cp;
  atls::tls::FrameDecoder m_decoder;
  std::optional<atls::tls::AuthRequest> m_request;
  bool m_preamble_sent = false;

 public:
  atls::ExporterLabel m_label = atls::ExporterLabel::Attestation;
};

// Fd closes a socket descriptor.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string suite = "TLS_AES_128_GCM_SHA256";
  bool push = false;
  bool cmw_label = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--suite" && i + 1 < argc) {
      suite = argv[++i];
    } else if (std::string_view(argv[i]) == "--push") {
      push = true;
    } else if (std::string_view(argv[i]) == "--cmw-label") {
      cmw_label = true;
    }
  }
  auto tls_id = make_identity("atls-ea-peer");
  auto attest_id = make_identity("atls-ea-peer attestation key");
  if (!tls_id || !attest_id) {
    std::fprintf(stderr, "ea_peer: key generation failed\n");
    return 1;
  }
  atls::ossl::UniquePtr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_server_method()));
  if (!ctx || ::SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      ::SSL_CTX_set_ciphersuites(ctx.get(), suite.c_str()) != 1 ||
      ::SSL_CTX_use_certificate(ctx.get(), tls_id->cert.get()) != 1 ||
      ::SSL_CTX_use_PrivateKey(ctx.get(), tls_id->key.get()) != 1) {
    std::fprintf(stderr, "ea_peer: SSL_CTX setup failed\n");
    return 1;
  }
  ::SSL_CTX_set_num_tickets(ctx.get(), 0);  // docs/wire-profile.md §1.1

  Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listener.fd < 0 ||
      ::bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.fd, 1) != 0 ||
      ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("ea_peer: listen");
    return 1;
  }
  std::printf("{\"port\": %d}\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  Fd conn(::accept(listener.fd, nullptr, nullptr));
  if (conn.fd < 0) {
    std::perror("ea_peer: accept");
    return 1;
  }
  atls::ossl::UniquePtr<SSL> ssl(::SSL_new(ctx.get()));
  if (!ssl || ::SSL_set_fd(ssl.get(), conn.fd) != 1) {
    std::fprintf(stderr, "ea_peer: SSL setup failed\n");
    return 1;
  }
  ::SSL_set_accept_state(ssl.get());
  Peer peer(ssl.get(), std::move(*attest_id));
  if (cmw_label) {
    peer.m_label = atls::ExporterLabel::CmwAttestation;
  }
  if (push) {
    std::uint8_t byte = 0;
    std::size_t n = 0;
    const int rc = ::SSL_read_early_data(ssl.get(), &byte, 1, &n);
    if (rc != SSL_READ_EARLY_DATA_FINISH) {
      std::fprintf(stderr, "ea_peer: SSL_read_early_data: %d %s\n", rc,
                   atls::ossl::drain_errors().c_str());
      return 1;
    }
    if (const int p = peer.push(); p >= 0) {
      return p;
    }
  }
  if (::SSL_do_handshake(ssl.get()) != 1) {
    std::fprintf(stderr, "ea_peer: handshake failed: %s\n", atls::ossl::drain_errors().c_str());
    return 1;
  }
  return peer.run();
}
