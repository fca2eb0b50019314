#include "src/ossl/x509.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace atls::ossl {
namespace {

// 2022-09-24T12:00:00Z: the VCEK is valid from 2022-09-24T00:55:28Z.
constexpr std::int64_t kVcekTime = 1664020800;
// 2050-01-01T00:00:00Z: every certificate of the chain has expired.
constexpr std::int64_t k2050 = 2524608000;

struct Chain {
  UniquePtr<X509> vcek;
  std::vector<UniquePtr<X509>> ask_ark;  // [0] = ASK, [1] = ARK
};

Chain load_chain(const std::string& vcek_file = "x509/gosevguest_vcek.der") {
  Chain c;
  auto vcek = parse_certificate(test::read_data(vcek_file));
  EXPECT_TRUE(vcek) << vcek.error().to_string();
  if (vcek) {
    c.vcek = std::move(*vcek);
  }
  auto ca = parse_certificates(test::read_data("x509/ask_ark_milan.pem"));
  EXPECT_TRUE(ca);
  if (ca) {
    c.ask_ark = std::move(*ca);
  }
  return c;
}

Result<void> verify_at(Chain& c, std::int64_t at, bool with_root = true) {
  X509* ask = c.ask_ark[0].get();
  X509* ark = c.ask_ark[1].get();
  std::vector<X509*> inter{ask};
  std::vector<X509*> roots;
  if (with_root) {
    roots.push_back(ark);
  }
  ChainOptions opt;
  opt.at = at;
  return verify_chain(c.vcek.get(), inter, roots, opt);
}

TEST(X509, ParsesSevSnpChain) {
  Chain c = load_chain();
  ASSERT_TRUE(c.vcek);
  ASSERT_EQ(c.ask_ark.size(), 2u);
  auto s = summarize(c.ask_ark[0].get());
  ASSERT_TRUE(s);
  EXPECT_NE(s->subject.find("CN=SEV-Milan"), std::string::npos);
  EXPECT_NE(s->issuer.find("CN=ARK-Milan"), std::string::npos);
  // The AMD keys are rsaEncryption SPKIs; only their signatures use RSA-PSS.
  EXPECT_EQ(s->key_type, "RSA");
}

TEST(X509, VerifiesSevSnpVcekChain) {
  Chain c = load_chain();
  ASSERT_TRUE(c.vcek && c.ask_ark.size() == 2);
  auto r = verify_at(c, kVcekTime);
  EXPECT_TRUE(r) << r.error().to_string();
}

TEST(X509, ExpiredAndNotYetValid) {
  Chain c = load_chain();
  ASSERT_TRUE(c.vcek && c.ask_ark.size() == 2);
  EXPECT_EQ(verify_at(c, k2050).error().code, ErrorCode::CertExpired);
  // 2022-09-24T00:00:00Z, 55 minutes before the VCEK's notBefore.
  EXPECT_EQ(verify_at(c, 1663977600).error().code, ErrorCode::CertNotYetValid);
}

TEST(X509, TamperedVcekFailsSignature) {
  // virtee's VCEK with byte 40 (inside the TBS) flipped; the untampered one
  // is valid 2023-04-03..2030-04-03.
  constexpr std::int64_t k2024 = 1704067200;
  Chain good = load_chain("x509/virtee_vcek_milan.der");
  ASSERT_TRUE(good.vcek && good.ask_ark.size() == 2);
  EXPECT_TRUE(verify_at(good, k2024));
  Chain bad = load_chain("x509/bad_virtee_vcek_milan_byte40_flipped.der");
  ASSERT_TRUE(bad.vcek && bad.ask_ark.size() == 2);
  auto r = verify_at(bad, k2024);
  ASSERT_FALSE(r);
  // X509_V_ERR_CERT_SIGNATURE_FAILURE (7), as `openssl verify` reports.
  EXPECT_EQ(r.error().code, ErrorCode::CertChainInvalid);
  EXPECT_NE(r.error().detail.find("signature failure"), std::string::npos) << r.error().detail;
}

TEST(X509, WithoutRootIsUntrusted) {
  Chain c = load_chain();
  ASSERT_TRUE(c.vcek && c.ask_ark.size() == 2);
  EXPECT_EQ(verify_at(c, kVcekTime, false).error().code, ErrorCode::CertUntrusted);
  // The ASK alone as a root is not enough without allow_partial_chain ...
  X509* ask = c.ask_ark[0].get();
  std::vector<X509*> roots{ask};
  ChainOptions opt;
  opt.at = kVcekTime;
  EXPECT_EQ(verify_chain(c.vcek.get(), {}, roots, opt).error().code, ErrorCode::CertUntrusted);
  // ... and is with it.
  opt.allow_partial_chain = true;
  EXPECT_TRUE(verify_chain(c.vcek.get(), {}, roots, opt));
  // A wrong root: the Milan VCEK does not chain to the VCEK itself.
  X509* vcek = c.vcek.get();
  std::vector<X509*> wrong{vcek};
  opt.allow_partial_chain = false;
  EXPECT_FALSE(verify_chain(c.vcek.get(), std::vector<X509*>{ask}, wrong, opt));
}

TEST(X509, FindExtension) {
  Chain c = load_chain();
  ASSERT_TRUE(c.vcek);
  // AMD's VCEK extension 1.3.6.1.4.1.3704.1.3.1 holds the bootloader SVN
  // (an INTEGER); .1.4 holds the 64-byte HWID as raw bytes (no DER wrapper).
  auto bl = find_extension(c.vcek.get(), "1.3.6.1.4.1.3704.1.3.1");
  ASSERT_TRUE(bl);
  ASSERT_TRUE(bl->has_value());
  EXPECT_FALSE((*bl)->critical);
  ASSERT_GE((*bl)->value.size(), 3u);
  EXPECT_EQ((*bl)->value[0], 0x02);  // INTEGER
  auto hwid = find_extension(c.vcek.get(), "1.3.6.1.4.1.3704.1.4");
  ASSERT_TRUE(hwid && hwid->has_value());
  EXPECT_EQ((*hwid)->value.size(), 64u);
  auto absent = find_extension(c.vcek.get(), "1.3.6.1.5.5.7.1.35");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->has_value());
  EXPECT_EQ(find_extension(c.vcek.get(), "not an oid").error().code, ErrorCode::InvalidArgument);
  // basicConstraints on the ASK is critical.
  auto bc = find_extension(c.ask_ark[0].get(), "2.5.29.19");
  ASSERT_TRUE(bc && bc->has_value());
  EXPECT_TRUE((*bc)->critical);
}

TEST(X509, Summarize) {
  Chain c = load_chain();
  ASSERT_TRUE(c.vcek);
  auto s = summarize(c.vcek.get());
  ASSERT_TRUE(s);
  EXPECT_NE(s->subject.find("CN=SEV-VCEK"), std::string::npos);
  EXPECT_NE(s->issuer.find("CN=SEV-Milan"), std::string::npos);
  EXPECT_EQ(s->serial_hex, "00");  // serial number 0 (RFC 5280 forbids it; AMD uses it)
  EXPECT_EQ(format_time(s->not_before), "2022-09-24T00:55:28Z");
  EXPECT_EQ(format_time(s->not_after), "2029-09-24T00:55:28Z");
  EXPECT_EQ(s->key_type, "EC P-384");
  EXPECT_NE(std::find(s->extension_oids.begin(), s->extension_oids.end(), "1.3.6.1.4.1.3704.1.4"),
            s->extension_oids.end());
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00Z");
}

TEST(X509, DerAndSpkiRoundTrip) {
  const Bytes der = test::read_data("x509/gosevguest_vcek.der");
  auto cert = parse_certificate(der);
  ASSERT_TRUE(cert);
  EXPECT_EQ(cert_der(cert->get()).value(), der);
  auto spki = cert_spki_der(cert->get());
  ASSERT_TRUE(spki);
  EXPECT_EQ(spki->front(), 0x30);
}

// A parsed certificate keeps its DER encoding (encoded_der), so that
// comparing and keying it (der_equals, cert_der, ChainCache) does not
// encode it again; one made elsewhere has none and is encoded.
TEST(X509, ParsedCertificatesKeepTheirEncoding) {
  const Bytes der = test::read_data("x509/gosevguest_vcek.der");
  auto cert = parse_certificate_der(der);
  ASSERT_TRUE(cert);
  EXPECT_EQ(Bytes(encoded_der(cert->get()).begin(), encoded_der(cert->get()).end()), der);
  EXPECT_EQ(cert_der(cert->get()).value(), der);

  // PEM: the same, the certificate's DER encoding.
  auto pem = parse_certificates(test::read_data("x509/ask_ark_milan.pem"));
  ASSERT_TRUE(pem);
  for (const auto& c : *pem) {
    unsigned char* buf = nullptr;
    const int len = ::i2d_X509(c.get(), &buf);
    ASSERT_GT(len, 0);
    const Bytes encoded(buf, buf + len);
    ::OPENSSL_free(buf);
    EXPECT_EQ(Bytes(encoded_der(c.get()).begin(), encoded_der(c.get()).end()), encoded);
    EXPECT_TRUE(der_equals(c.get(), encoded));
  }

  // Decoded by OpenSSL directly: nothing kept, the encoding is used.
  const unsigned char* p = der.data();
  UniquePtr<X509> plain(::d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(plain);
  EXPECT_TRUE(encoded_der(plain.get()).empty());
  EXPECT_TRUE(encoded_der(nullptr).empty());
  EXPECT_EQ(cert_der(plain.get()).value(), der);
  EXPECT_TRUE(der_equals(plain.get(), der));
  Bytes other = der;
  other.back() ^= 1;
  EXPECT_FALSE(der_equals(plain.get(), other));
  EXPECT_FALSE(der_equals(cert->get(), other));
  // The kept bytes live with the certificate: another reference sees them.
  UniquePtr<X509> ref = up_ref(cert->get());
  cert->reset();
  EXPECT_EQ(Bytes(encoded_der(ref.get()).begin(), encoded_der(ref.get()).end()), der);
}

TEST(X509, RejectsMalformedInput) {
  const Bytes der = test::read_data("x509/gosevguest_vcek.der");
  EXPECT_EQ(parse_certificates(Bytes{}).error().code, ErrorCode::CertMalformed);
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(parse_certificates(trailing).error().code, ErrorCode::CertMalformed);
  Bytes truncated(der.begin(), der.end() - 1);
  EXPECT_EQ(parse_certificates(truncated).error().code, ErrorCode::CertMalformed);
  EXPECT_EQ(parse_certificates(to_bytes("-----BEGIN NOTHING-----\n")).error().code,
            ErrorCode::CertMalformed);
  // Two certificates where one is expected.
  EXPECT_EQ(parse_certificate(test::read_data("x509/ask_ark_milan.pem")).error().code,
            ErrorCode::CertMalformed);
  // A damaged second certificate block is an error, not a shorter chain.
  std::string pem = test::read_text("x509/ask_ark_milan.pem");
  const std::size_t second = pem.find("-----BEGIN CERTIFICATE-----", 10);
  ASSERT_NE(second, std::string::npos);
  std::string damaged = pem;
  damaged[second + 40] = damaged[second + 40] == 'A' ? 'B' : 'A';
  EXPECT_EQ(parse_certificates(to_bytes(damaged)).error().code, ErrorCode::CertMalformed);
  std::string cut = pem.substr(0, second + 100);
  EXPECT_EQ(parse_certificates(to_bytes(cut)).error().code, ErrorCode::CertMalformed);
  // Other PEM blocks are skipped.
  std::string with_key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" + pem;
  auto both = parse_certificates(to_bytes(with_key));
  ASSERT_TRUE(both) << both.error().to_string();
  EXPECT_EQ(both->size(), 2u);
}

TEST(X509, ParseCertificateDerIsStrict) {
  const Bytes der = test::read_data("x509/gosevguest_vcek.der");
  auto c = parse_certificate_der(der);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(der_equals(c->get(), der));
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(parse_certificate_der(trailing).error().code, ErrorCode::CertMalformed);
  EXPECT_FALSE(der_equals(c->get(), trailing));
  EXPECT_EQ(parse_certificate_der(test::read_data("x509/ask_ark_milan.pem")).error().code,
            ErrorCode::CertMalformed);
  EXPECT_EQ(parse_certificate_der(ByteView(der).first(der.size() - 1)).error().code,
            ErrorCode::CertMalformed);
}

TEST(X509, CertificateCacheKeysOnExactBytesAndNeverCachesFailures) {
  const Bytes a = test::read_data("x509/gosevguest_vcek.der");
  const Bytes b = test::read_data("x509/virtee_vcek_milan.der");
  const CertificateCache cache(2);
  auto first = cache.parse(a);
  ASSERT_TRUE(first) << first.error().to_string();
  auto again = cache.parse(a);
  ASSERT_TRUE(again);
  EXPECT_EQ(first->get(), again->get());  // one decoding, shared
  EXPECT_EQ(cache.size(), 1u);
  auto other = cache.parse(b);
  ASSERT_TRUE(other);
  EXPECT_NE(other->get(), first->get());
  EXPECT_TRUE(der_equals(other->get(), b));
  // A failed parse fails every time and takes no slot.
  Bytes broken = a;
  broken.resize(a.size() / 2);
  EXPECT_EQ(cache.parse(broken).error().code, ErrorCode::CertMalformed);
  EXPECT_EQ(cache.parse(broken).error().code, ErrorCode::CertMalformed);
  EXPECT_EQ(cache.find(broken), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  // Bounded: a third certificate evicts one, and lookups stay exact.
  const Bytes c = test::read_data("x509/bad_virtee_vcek_milan_byte40_flipped.der");
  auto third = cache.parse(c);
  if (third) {
    EXPECT_LE(cache.size(), 2u);
    EXPECT_TRUE(der_equals(third->get(), c));
  }
  auto a_again = cache.parse(a);
  ASSERT_TRUE(a_again);
  EXPECT_TRUE(der_equals(a_again->get(), a));
}

}  // namespace
}  // namespace atls::ossl
