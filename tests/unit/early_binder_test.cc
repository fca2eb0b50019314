// The early-attestation binder (draft-fossati-seat-early-attestation §5.1.1)
// and its transcript, recorded with OpenSSL's message callback exactly as
// the early-attestation callbacks record it. The handshakes here run over
// memory BIOs whose bytes the test keeps; with ATLS_EARLY_BINDER_OUT set
// (tests/interop/test_early_binder.py sets it) each case writes those bytes,
// the server certificate and the binder both endpoints computed, and the
// Python test recomputes the binder from the wire with the `cryptography`
// module, an implementation independent of ours.

#include "src/tls/early/binder.h"

#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/ossl/ssl_ptr.h"
#include "src/ossl/x509.h"
#include "tests/testlib/tls_harness.h"

#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace atls::tls::early {
namespace {

// msg_cb feeds one endpoint's transcript: only whole handshake messages
// (content type 22); record headers (SSL3_RT_HEADER) and TLS 1.3 inner
// content types (SSL3_RT_INNER_CONTENT_TYPE) are other content types.
void msg_cb(int /*write_p*/, int /*version*/, int content_type, const void* buf, size_t len,
            SSL* /*ssl*/, void* arg) {
  if (content_type != SSL3_RT_HANDSHAKE) {
    return;
  }
  static_cast<HandshakeTranscript*>(arg)->add(ByteView(static_cast<const std::uint8_t*>(buf), len));
}

struct Endpoint {
  ossl::UniquePtr<SSL_CTX> ctx;
  ossl::UniquePtr<SSL> ssl;
  BIO* in = nullptr;   // owned by ssl
  BIO* out = nullptr;  // owned by ssl
  HandshakeTranscript transcript;
};

struct HandshakeCase {
  std::string name;
  std::string client_groups = "X25519:P-256";
  std::string server_groups = "X25519:P-256";
  std::string ciphersuites = "TLS_AES_128_GCM_SHA256";
};

struct Outcome {
  Bytes c2s, s2c;  // every byte each side wrote
  Bytes client_binder, server_binder;
  bool hello_retry = false;
  ossl::HashAlg alg = ossl::HashAlg::Sha256;
};

void make_endpoint(Endpoint& e, bool server, const HandshakeCase& c) {
  e.ctx.reset(::SSL_CTX_new(::TLS_method()));
  ASSERT_TRUE(e.ctx);
  ASSERT_EQ(::SSL_CTX_set_min_proto_version(e.ctx.get(), TLS1_3_VERSION), 1);
  ASSERT_EQ(::SSL_CTX_set_ciphersuites(e.ctx.get(), c.ciphersuites.c_str()), 1);
  ASSERT_EQ(
      ::SSL_CTX_set1_groups_list(e.ctx.get(), (server ? c.server_groups : c.client_groups).c_str()),
      1);
  if (server) {
    const test::TestPki& pki = test::TestPki::get();
    auto chain = ossl::parse_certificates(to_bytes(pki.server_chain_pem));
    auto key = ossl::parse_private_key(to_bytes(pki.server_key_pem));
    ASSERT_TRUE(chain && key);
    ASSERT_EQ(::SSL_CTX_use_certificate(e.ctx.get(), chain->front().get()), 1);
    ASSERT_EQ(::SSL_CTX_use_PrivateKey(e.ctx.get(), key->get()), 1);
  }
  e.ssl.reset(::SSL_new(e.ctx.get()));
  ASSERT_TRUE(e.ssl);
  e.in = ::BIO_new(::BIO_s_mem());
  e.out = ::BIO_new(::BIO_s_mem());
  ASSERT_TRUE(e.in != nullptr && e.out != nullptr);
  ::SSL_set_bio(e.ssl.get(), e.in, e.out);
  ::SSL_set_msg_callback(e.ssl.get(), msg_cb);
  ::SSL_set_msg_callback_arg(e.ssl.get(), &e.transcript);
  if (server) {
    ::SSL_set_accept_state(e.ssl.get());
  } else {
    ::SSL_set_connect_state(e.ssl.get());
  }
}

// move copies what |from| wrote into |to|'s input, and appends it to |log|.
void move(Endpoint& from, Endpoint& to, Bytes& log) {
  std::uint8_t buf[4096];
  int n = 0;
  while ((n = ::BIO_read(from.out, buf, sizeof buf)) > 0) {
    log.insert(log.end(), buf, buf + n);
    ASSERT_EQ(::BIO_write(to.in, buf, n), n);
  }
}

Outcome run_handshake(const HandshakeCase& c) {
  Endpoint client, server;
  Outcome out;
  make_endpoint(client, false, c);
  make_endpoint(server, true, c);
  bool client_done = false, server_done = false;
  for (int i = 0; i < 50 && !(client_done && server_done); ++i) {
    if (!client_done) {
      client_done = ::SSL_do_handshake(client.ssl.get()) == 1;
    }
    move(client, server, out.c2s);
    if (!server_done) {
      server_done = ::SSL_do_handshake(server.ssl.get()) == 1;
    }
    move(server, client, out.s2c);
  }
  EXPECT_TRUE(client_done && server_done);
  EXPECT_TRUE(client.transcript.complete());
  EXPECT_TRUE(server.transcript.complete());
  out.hello_retry = client.transcript.had_hello_retry();
  EXPECT_EQ(out.hello_retry, server.transcript.had_hello_retry());

  const SSL_CIPHER* cipher = ::SSL_get_current_cipher(client.ssl.get());
  auto alg = ossl::hash_alg_from_md(::SSL_CIPHER_get_handshake_digest(cipher));
  EXPECT_TRUE(alg);
  out.alg = *alg;
  auto spki = ossl::cert_spki_der(::SSL_get0_peer_certificate(client.ssl.get()));
  EXPECT_TRUE(spki);
  auto ch = client.transcript.hash(out.alg);
  auto sh = server.transcript.hash(out.alg);
  EXPECT_TRUE(ch && sh);
  auto cb = attestation_binder(out.alg, *ch, *spki);
  auto sb = attestation_binder(out.alg, *sh, *spki);
  EXPECT_TRUE(cb && sb);
  out.client_binder = *cb;
  out.server_binder = *sb;

  if (const char* dir = std::getenv("ATLS_EARLY_BINDER_OUT")) {
    const std::string base = std::string(dir) + "/" + c.name;
    std::ofstream(base + ".c2s", std::ios::binary)
        .write(reinterpret_cast<const char*>(out.c2s.data()),
               static_cast<std::streamsize>(out.c2s.size()));
    std::ofstream(base + ".s2c", std::ios::binary)
        .write(reinterpret_cast<const char*>(out.s2c.data()),
               static_cast<std::streamsize>(out.s2c.size()));
    std::ofstream(base + ".cert.pem") << test::TestPki::get().server_chain_pem;
    std::ofstream(base + ".binder") << to_hex(out.client_binder) << "\n";
  }
  return out;
}

TEST(EarlyBinder, BothEndpointsAgree) {
  const Outcome o = run_handshake({"plain"});
  EXPECT_FALSE(o.hello_retry);
  EXPECT_EQ(o.client_binder.size(), 32u);
  EXPECT_EQ(o.client_binder, o.server_binder);
}

TEST(EarlyBinder, HelloRetryRequestReplacesClientHello1) {
  // The client's key share is for X25519 only; the server accepts P-256
  // only, so it must ask again (RFC 8446 §4.1.4).
  HandshakeCase c{"hrr"};
  c.server_groups = "P-256";
  const Outcome o = run_handshake(c);
  EXPECT_TRUE(o.hello_retry);
  EXPECT_EQ(o.client_binder, o.server_binder);
}

TEST(EarlyBinder, Sha384Suite) {
  HandshakeCase c{"sha384"};
  c.ciphersuites = "TLS_AES_256_GCM_SHA384";
  const Outcome o = run_handshake(c);
  EXPECT_EQ(o.alg, ossl::HashAlg::Sha384);
  EXPECT_EQ(o.client_binder.size(), 48u);
  EXPECT_EQ(o.client_binder, o.server_binder);
}

TEST(EarlyBinder, ConnectionsAndKeysGiveDifferentBinders) {
  const Outcome a = run_handshake({"a"});
  const Outcome b = run_handshake({"b"});
  EXPECT_NE(a.client_binder, b.client_binder);  // fresh randoms and key shares
  HandshakeTranscript t;
  // A handcrafted transcript: ClientHello, ServerHello.
  const Bytes ch = {kClientHello, 0, 0, 1, 0xAA};
  Bytes sh = {kServerHello, 0, 0, 34, 0x03, 0x03};
  sh.resize(4 + 34, 0x11);
  t.add(ch);
  t.add(Bytes{0x08, 0, 0, 0});  // not recorded (EncryptedExtensions)
  t.add(sh);
  t.add(ch);  // after the ServerHello: ignored
  ASSERT_TRUE(t.complete());
  EXPECT_EQ(t.messages().size(), 2u);
  auto h = t.hash(ossl::HashAlg::Sha256);
  ASSERT_TRUE(h);
  auto k1 = attestation_binder(ossl::HashAlg::Sha256, *h, to_bytes("key one"));
  auto k2 = attestation_binder(ossl::HashAlg::Sha256, *h, to_bytes("key two"));
  ASSERT_TRUE(k1 && k2);
  EXPECT_NE(*k1, *k2);
}

TEST(EarlyBinder, IncompleteTranscriptHasNoHash) {
  HandshakeTranscript t;
  t.add(Bytes{kClientHello, 0, 0, 0});
  EXPECT_FALSE(t.complete());
  EXPECT_EQ(t.hash(ossl::HashAlg::Sha256).error().code, ErrorCode::Internal);
}

}  // namespace
}  // namespace atls::tls::early
