#include "tests/testlib/ea_fixture.h"

#include "src/core/byte_reader.h"
#include "src/ossl/keys.h"
#include "src/ossl/ossl.h"
#include "src/ossl/x509.h"

#include <gtest/gtest.h>

#include <openssl/rsa.h>

namespace atls::test {

ossl::UniquePtr<EVP_PKEY> make_key(ossl::KeyType type) {
  if (type == ossl::KeyType::Rsa) {
    return ossl::UniquePtr<EVP_PKEY>(::EVP_RSA_gen(2048));
  }
  auto k = ossl::generate_key(type);
  EXPECT_TRUE(k) << k.error().to_string();
  return k ? std::move(*k) : nullptr;
}

Identity make_identity(ossl::KeyType type, const char* cn, const Identity* issuer) {
  Identity id;
  id.key = make_key(type);
  id.cert.reset(::X509_new());
  X509* c = id.cert.get();
  EXPECT_EQ(::X509_set_version(c, 2), 1);
  ::ASN1_INTEGER_set(::X509_get_serialNumber(c), 7);
  ::X509_gmtime_adj(::X509_getm_notBefore(c), -60);
  ::X509_gmtime_adj(::X509_getm_notAfter(c), 86400);
  EXPECT_EQ(::X509_set_pubkey(c, id.key.get()), 1);
  X509_NAME* name = ::X509_get_subject_name(c);  // borrowed from c
  ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
  const Identity& signer = issuer != nullptr ? *issuer : id;
  ::X509_set_issuer_name(c, ::X509_get_subject_name(signer.cert.get()));
  const EVP_MD* md =
      ossl::key_type(signer.key.get()) == ossl::KeyType::Ed25519 ? nullptr : ::EVP_sha256();
  EXPECT_GT(::X509_sign(c, signer.key.get(), md), 0);
  auto der = ossl::cert_der(c);
  EXPECT_TRUE(der);
  id.der = der ? *der : Bytes{};
  return id;
}

TlsPair connect_pair(const Identity& server_id, int version, const char* suites) {
  TlsPair p;
  p.client_ctx.reset(::SSL_CTX_new(::TLS_method()));
  p.server_ctx.reset(::SSL_CTX_new(::TLS_method()));
  for (SSL_CTX* ctx : {p.client_ctx.get(), p.server_ctx.get()}) {
    ::SSL_CTX_set_min_proto_version(ctx, version);
    ::SSL_CTX_set_max_proto_version(ctx, version);
    if (suites != nullptr) {
      ::SSL_CTX_set_ciphersuites(ctx, suites);
    }
  }
  ::SSL_CTX_set_num_tickets(p.server_ctx.get(), 0);
  EXPECT_EQ(::SSL_CTX_use_certificate(p.server_ctx.get(), server_id.cert.get()), 1);
  EXPECT_EQ(::SSL_CTX_use_PrivateKey(p.server_ctx.get(), server_id.key.get()), 1);
  p.client.reset(::SSL_new(p.client_ctx.get()));
  p.server.reset(::SSL_new(p.server_ctx.get()));
  BIO* raw_c = nullptr;
  BIO* raw_s = nullptr;
  EXPECT_EQ(::BIO_new_bio_pair(&raw_c, 0, &raw_s, 0), 1);
  ossl::UniquePtr<BIO> bc(raw_c);
  ossl::UniquePtr<BIO> bs(raw_s);
  ::SSL_set_bio(p.client.get(), bc.get(), bc.get());  // takes ownership
  bc.release();
  ::SSL_set_bio(p.server.get(), bs.get(), bs.get());
  bs.release();
  ::SSL_set_connect_state(p.client.get());
  ::SSL_set_accept_state(p.server.get());
  for (int i = 0; i < 50; ++i) {
    const int rc = ::SSL_do_handshake(p.client.get());
    const int rs = ::SSL_do_handshake(p.server.get());
    if (rc == 1 && rs == 1) {
      return p;
    }
  }
  ADD_FAILURE() << "handshake did not complete: " << ossl::drain_errors();
  return p;
}

Bytes hs_msg(std::uint8_t type, ByteView body) {
  ByteWriter w;
  w.u8(type);
  w.u24(static_cast<std::uint32_t>(body.size()));
  w.bytes(body);
  return w.take();
}

void append(Bytes& b, ByteView v) {
  ByteWriter w;
  w.bytes(b);
  w.bytes(v);
  b = w.take();
}

void put16(Bytes& b, std::size_t v) {
  ByteWriter w;
  w.u16(static_cast<std::uint16_t>(v));
  append(b, w.data());
}

void put24(Bytes& b, std::size_t v) {
  ByteWriter w;
  w.u24(static_cast<std::uint32_t>(v));
  append(b, w.data());
}

Bytes concat(std::initializer_list<ByteView> parts) {
  ByteWriter w;
  for (ByteView p : parts) {
    w.bytes(p);
  }
  return w.take();
}

}  // namespace atls::test
