#include "src/tls/exporter.h"

#include "src/ossl/crypto.h"
#include "src/ossl/x509.h"

#include "tests/testlib/ea_fixture.h"

#include <gtest/gtest.h>

#include <string>

namespace atls::tls {
namespace {

using test::concat;
using test::connect_pair;
using test::Identity;
using test::make_identity;
using test::TlsPair;

Bytes ctx_bytes(std::uint8_t fill, std::size_t n = 32) {
  return Bytes(n, fill);
}

TEST(Exporter, KeysAgreeAcrossTheConnectionAndDifferByRole) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect_pair(id, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
  auto h = connection_hash(p.client.get());
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, ossl::HashAlg::Sha256);
  auto s_own = authenticator_keys(p.server.get(), true);
  auto s_at_c = authenticator_keys(p.client.get(), true);
  auto c_own = authenticator_keys(p.client.get(), false);
  auto c_at_s = authenticator_keys(p.server.get(), false);
  ASSERT_TRUE(s_own && s_at_c && c_own && c_at_s);
  EXPECT_EQ(s_own->handshake_context, s_at_c->handshake_context);
  EXPECT_EQ(s_own->finished_key, s_at_c->finished_key);
  EXPECT_EQ(c_own->handshake_context, c_at_s->handshake_context);
  EXPECT_EQ(c_own->finished_key, c_at_s->finished_key);
  EXPECT_NE(s_own->handshake_context, c_own->handshake_context);
  EXPECT_NE(s_own->finished_key, c_own->finished_key);
  EXPECT_NE(s_own->handshake_context, s_own->finished_key);
  EXPECT_EQ(s_own->handshake_context.size(), 32u);

  // The same values straight from the exporter, with the RFC 9261 labels.
  Bytes direct(32);
  const std::string label = "EXPORTER-server authenticator finished key";
  ASSERT_EQ(::SSL_export_keying_material(p.client.get(), direct.data(), direct.size(), label.data(),
                                         label.size(), nullptr, 0, 0),
            1);
  EXPECT_EQ(direct, s_own->finished_key);
}

TEST(Exporter, Sha384Suite) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect_pair(id, TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384");
  auto h = connection_hash(p.server.get());
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, ossl::HashAlg::Sha384);
  auto k = authenticator_keys(p.server.get(), true);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->handshake_context.size(), 48u);
  EXPECT_EQ(k->finished_key.size(), 48u);
}

TEST(Exporter, Tls12IsRefused) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect_pair(id, TLS1_2_VERSION);
  ASSERT_EQ(::SSL_version(p.client.get()), TLS1_2_VERSION);
  EXPECT_EQ(authenticator_keys(p.client.get(), true).error().code,
            ErrorCode::TlsVersionUnsupported);
  EXPECT_EQ(connection_hash(p.client.get()).error().code, ErrorCode::TlsVersionUnsupported);
  EXPECT_EQ(
      attestation_exporter(p.server.get(), atls::ExporterLabel::Attestation, Bytes{1}).error().code,
      ErrorCode::TlsVersionUnsupported);
}

TEST(Exporter, AttestationExporterAndBinder) {
  const Identity id = make_identity(ossl::KeyType::EcP256, "server");
  TlsPair p = connect_pair(id);
  const Bytes ctx1 = ctx_bytes(1);
  const Bytes ctx2 = ctx_bytes(2);
  auto a = attestation_exporter(p.client.get(), atls::ExporterLabel::Attestation, ctx1);
  auto b = attestation_exporter(p.server.get(), atls::ExporterLabel::Attestation, ctx1);
  auto c = attestation_exporter(p.server.get(), atls::ExporterLabel::Attestation, ctx2);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);

  Bytes direct(32);
  ASSERT_EQ(::SSL_export_keying_material(p.client.get(), direct.data(), 32, "Attestation", 11,
                                         ctx1.data(), ctx1.size(), 1),
            1);
  EXPECT_EQ(direct, *a);

  auto spki = ossl::cert_spki_der(id.cert.get());
  ASSERT_TRUE(spki);
  auto binder = compute_binder(ossl::HashAlg::Sha256, *spki, *a);
  ASSERT_TRUE(binder);
  EXPECT_EQ(*binder, *ossl::digest(ossl::HashAlg::Sha256, concat({*spki, *a})));
  EXPECT_EQ(compute_binder(ossl::HashAlg::Sha256, {}, *a).error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace atls::tls
