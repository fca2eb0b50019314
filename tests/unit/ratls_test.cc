// RA-TLS certificates (src/tls/ratls.h): the real Interoperable RA-TLS
// certificates from Gramine, the Intel SGX SDK and rats-tls (TCG DICE
// extension, SGX quotes), and certificates minted here (id-pe-cmw).

#include "src/tls/ratls.h"

#include "src/attestation/policy.h"
#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/ratls/dice_evidence.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/builtin_plugins.h"
#include "src/tls/config.h"
#include "tests/testlib/test_data.h"
#include "tests/testlib/tls_harness.h"

#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

namespace atls {
namespace {

using internal::RatlsAppraisal;
using internal::RatlsExtension;
using internal::RatlsVerifyOptions;
using internal::RelyingParty;

std::int64_t unix_day(int y, unsigned m, unsigned d) {
  const std::chrono::sys_days days{std::chrono::year{y} / std::chrono::month{m} /
                                   std::chrono::day{d}};
  return std::chrono::duration_cast<std::chrono::seconds>(days.time_since_epoch()).count();
}

// Fixed times (tests/data/ratls/README.md): inside every certificate's and
// PCK certificate's validity, and after the rats-tls certificate expired.
const std::int64_t kIn2025 = unix_day(2025, 1, 1);
const std::int64_t kIn2023 = unix_day(2023, 6, 1);
const std::int64_t kNow2026 = unix_day(2026, 12, 1);

struct RealCert {
  const char* file;
  std::int64_t at;
  const char* spki_sha256;
  const char* mr_enclave;
};
const RealCert kGramine{"iratls_gramine-cert.pem", kIn2025,
                        "5a5a5b2d177433048e9d62409d1acc4ec526c06e294d09e69a36cff9369e4851",
                        "0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585"};
const RealCert kSgxSdk{"iratls_intel-sgxsdk-cert.pem", kIn2025,
                       "f306ed602985371e3b485102db1fcdd4f4738329ce58b2f8d1c5d2cc79752026",
                       "09e218a4be9dadbf7cdc82c45497d6d4f676d3b75445fc37a376f0b65b47de6a"};
const RealCert kRatsTls{"iratls_rats-tls-cert.pem", kIn2023,
                        "72c0b70c2092741a4cfda0c2465487faf132998617b0aad53118aa5d6e180006",
                        "38e1b40b8c68186f359c97ecb6a89965d9d8638f2df06fbe18e84d79a266c041"};

ossl::UniquePtr<X509> load_cert(const std::string& file) {
  auto c = ossl::parse_certificate(test::read_data("ratls/" + file));
  EXPECT_TRUE(c) << file;
  return c ? std::move(*c) : nullptr;
}

// The SGX policy for the real certificates: Intel's root, the three
// enclaves (all three are debug enclaves: ATTRIBUTES.FLAGS 0x07).
std::string sgx_policy(bool allow_debug = true) {
  nlohmann::json p;
  p["schemes"][std::string(kMediaTypeSgxQuote)] = {
      {"trust", {{"sgx_root", test::data_path("tdx/intel_sgx_root_ca.pem")}}},
      {"reference",
       {{"mrenclave", {kGramine.mr_enclave, kSgxSdk.mr_enclave, kRatsTls.mr_enclave}},
        {"allow_debug", allow_debug}}}};
  return p.dump();
}

// Appraises |cert| at |at| with a policy (JSON) over the built-in plug-ins.
class Appraiser {
 public:
  Appraiser(const std::string& policy_json, std::int64_t at)
      : m_registry(builtin_registry()),
        m_clock(at),
        m_policy(parse_policy(policy_json, m_registry, "").value()),
        m_rp(m_registry, m_clock, m_policy) {}

  Result<RatlsAppraisal> appraise(X509* cert, RatlsVerifyOptions opts = {}) const {
    if (opts.at == 0) {
      opts.at = m_clock.now();
    }
    return internal::appraise_ratls_certificate(cert, m_rp, opts);
  }
  ErrorCode code(X509* cert, RatlsVerifyOptions opts = {}) const {
    auto r = appraise(cert, std::move(opts));
    if (!r) {
      return r.error().code;
    }
    return r->appraisal.verdict ? ErrorCode::Ok : r->appraisal.verdict.error().code;
  }

 private:
  Registry m_registry;
  FixedClock m_clock;
  Policy m_policy;
  RelyingParty m_rp;
};

// --- the real Interoperable RA-TLS certificates -------------------------------

TEST(RatlsReal, EachCertificateVerifiesAtItsFixedTime) {
  for (const RealCert& rc : {kGramine, kSgxSdk, kRatsTls}) {
    SCOPED_TRACE(rc.file);
    const Appraiser a(sgx_policy(), rc.at);
    auto cert = load_cert(rc.file);
    auto r = a.appraise(cert.get());
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->appraisal.verdict) << r->appraisal.verdict.error().to_string();
    EXPECT_EQ(r->extension, RatlsExtension::TcgDice);
    EXPECT_EQ(to_hex(r->spki_sha256), rc.spki_sha256);
    const nlohmann::json& claims = r->appraisal.evidence.claims().claims;
    EXPECT_EQ(claims["mr_enclave"], rc.mr_enclave);
    EXPECT_EQ(claims["debug"], true);
    EXPECT_EQ(r->appraisal.result.media_type(), kMediaTypeSgxQuote);
    EXPECT_EQ(r->appraisal.result.machine_id().rfind("sgx-ppid:", 0), 0U);
    EXPECT_EQ(r->checks.size(), 4U);
  }
}

TEST(RatlsReal, GramineReportDataIsTheClaimsHash) {
  const Appraiser a(sgx_policy(), kIn2025);
  auto cert = load_cert(kGramine.file);
  auto r = a.appraise(cert.get());
  ASSERT_TRUE(r);
  // MANIFEST.md: report_data[0:32].
  EXPECT_EQ(to_hex(r->expected_nonce),
            "d8673446fe0f6842d4af0d182c8751d7e967039116deff5f85a43b2ca90c2831");
}

TEST(RatlsReal, RatsTlsCarriesCustomClaims) {
  const Appraiser a(sgx_policy(), kIn2023);
  auto cert = load_cert(kRatsTls.file);
  auto r = a.appraise(cert.get());
  ASSERT_TRUE(r);
  // Byte strings "value_0\0" and "value_1\0" (MANIFEST.md), rendered as hex.
  EXPECT_EQ(r->dice_claims["key_0"], "76616c75655f3000");
  EXPECT_EQ(r->dice_claims["key_1"], "76616c75655f3100");
}

TEST(RatlsReal, RatsTlsCertificateHasExpired) {
  const Appraiser a(sgx_policy(), kNow2026);
  auto cert = load_cert(kRatsTls.file);
  EXPECT_EQ(a.code(cert.get()), ErrorCode::CertExpired);
}

TEST(RatlsReal, DebugEnclavesNeedAllowDebug) {
  const Appraiser a(sgx_policy(false), kIn2025);
  auto cert = load_cert(kGramine.file);
  EXPECT_EQ(a.code(cert.get()), ErrorCode::DebugEnabled);
}

TEST(RatlsReal, AnotherRootIsNotTrusted) {
  nlohmann::json p = nlohmann::json::parse(sgx_policy());
  p["schemes"][std::string(kMediaTypeSgxQuote)]["trust"]["sgx_root"] =
      test::data_path("tdx/test_chain/root.test.pem");
  const Appraiser a(p.dump(), kIn2025);
  auto cert = load_cert(kSgxSdk.file);
  EXPECT_EQ(a.code(cert.get()), ErrorCode::CertUntrusted);
}

// put_claim sets |key| in the CBOR map |claims|, in place when present.
void put_claim(CborValue& claims, std::string_view key, CborValue value) {
  for (std::size_t i = 0; i < claims.map_size(); ++i) {
    if (claims.map_key(i).is_text() && claims.map_key(i).raw_text() == key) {
      claims.items()[2 * i + 1] = std::move(value);
      return;
    }
  }
  claims.map_put(CborValue::text(key), std::move(value));
}

// tamper_signature returns |cert| with the last byte of its signature
// flipped, re-parsed from DER (a cached encoding would hide an edit made
// through the X509 object).
ossl::UniquePtr<X509> tamper_signature(const X509* cert) {
  Bytes der = ossl::cert_der(cert).value();
  der.back() ^= 0x01;
  return ossl::parse_certificate_der(der).value();
}

// rebuild returns |cert| with a fresh P-256 key, its DICE evidence replaced
// by |edit|(quote, claims map) and re-signed with the new key; with
// |fix_pubkey_hash| the claims name the new key.
ossl::UniquePtr<X509> rebuild(const X509* original, bool fix_pubkey_hash,
                              const std::function<void(Bytes&, CborValue&)>& edit = {}) {
  ossl::UniquePtr<X509> cert(::X509_dup(original));
  auto key = ossl::generate_key(ossl::KeyType::EcP256).value();
  EXPECT_EQ(::X509_set_pubkey(cert.get(), key.get()), 1);
  const auto ext = ossl::find_extension(cert.get(), kOidTcgDiceTaggedEvidence).value().value();
  CborValue top = cbor_decode(ext.value).value();
  Bytes quote = top.items()[0].items()[0].raw_bytes();
  CborValue claims = cbor_decode(top.items()[0].items()[1].raw_bytes()).value();
  if (fix_pubkey_hash) {
    const Bytes spki = ossl::spki_der(key.get()).value();
    const Bytes h = ossl::digest(ossl::HashAlg::Sha256, spki).value();
    put_claim(claims, "pubkey-hash",
              CborValue::bytes(cbor_encode(
                  CborValue::array({CborValue::uint(1), CborValue::bytes(ByteView(h))}))));
  }
  if (edit) {
    edit(quote, claims);
  }
  const CborValue rebuilt = CborValue::tag(
      kRatlsTagSgxQuote,
      CborValue::array({CborValue::bytes(ByteView(quote)), CborValue::bytes(cbor_encode(claims))}));
  const Bytes value = cbor_encode(rebuilt);
  for (int i = 0; i < ::X509_get_ext_count(cert.get()); ++i) {
    X509_EXTENSION* e = ::X509_get_ext(cert.get(), i);  // borrowed from cert
    char oid[64] = {};
    ::OBJ_obj2txt(oid, sizeof oid, ::X509_EXTENSION_get_object(e), 1);
    if (std::string_view(oid) == kOidTcgDiceTaggedEvidence) {
      EXPECT_EQ(::ASN1_OCTET_STRING_set(::X509_EXTENSION_get_data(e), value.data(),
                                        static_cast<int>(value.size())),
                1);
    }
  }
  EXPECT_GT(::X509_sign(cert.get(), key.get(), ::EVP_sha256()), 0);
  return ossl::parse_certificate_der(ossl::cert_der(cert.get()).value()).value();
}

TEST(RatlsReal, KeySubstitutionIsRefused) {
  const Appraiser a(sgx_policy(), kIn2025);
  auto cert = load_cert(kGramine.file);
  // Same extension, another key: the certificate is well signed, but the
  // claims name the original key.
  auto swapped = rebuild(cert.get(), false);
  EXPECT_EQ(a.code(swapped.get()), ErrorCode::RatlsKeyBindingMismatch);
  // Control: naming the new key breaks the quote's report_data instead.
  auto renamed = rebuild(cert.get(), true);
  EXPECT_EQ(a.code(renamed.get()), ErrorCode::RatlsReportDataMismatch);
}

TEST(RatlsReal, ClaimsThatTheQuoteDoesNotHashAreRefused) {
  const Appraiser a(sgx_policy(), kIn2025);
  auto cert = load_cert(kRatsTls.file);
  auto edited = rebuild(cert.get(), true, [](Bytes&, CborValue& claims) {
    put_claim(claims, "key_0", CborValue::text("forged"));
  });
  const Appraiser at2023(sgx_policy(), kIn2023);
  EXPECT_EQ(at2023.code(edited.get()), ErrorCode::RatlsReportDataMismatch);
}

TEST(RatlsReal, AFlippedQuoteByteBreaksItsSignature) {
  const Appraiser a(sgx_policy(), kIn2025);
  auto cert = load_cert(kSgxSdk.file);
  // A byte of the enclave's MRENCLAVE (offset 48 + 64).
  auto flipped = rebuild(cert.get(), true, [](Bytes& quote, CborValue&) { quote[112] ^= 1; });
  EXPECT_EQ(a.code(flipped.get()), ErrorCode::SgxBadQuoteSignature);
}

TEST(RatlsReal, AnAlteredCertificateFailsItsSelfSignature) {
  const Appraiser a(sgx_policy(), kIn2025);
  auto cert = load_cert(kGramine.file);
  auto copy = tamper_signature(cert.get());
  EXPECT_EQ(a.code(copy.get()), ErrorCode::CertChainInvalid);
}

TEST(RatlsDice, MalformedExtensions) {
  const auto code = [](const CborValue& v) {
    auto r = parse_dice_ratls_evidence(cbor_encode(v));
    return r ? ErrorCode::Ok : r.error().code;
  };
  const Bytes h(32, 1);
  const auto claims = [&](std::uint64_t alg, std::size_t len) {
    CborValue m = CborValue::map();
    m.map_put(CborValue::text("pubkey-hash"),
              CborValue::bytes(cbor_encode(CborValue::array(
                  {CborValue::uint(alg), CborValue::bytes(ByteView(h).first(len))}))));
    return CborValue::bytes(cbor_encode(m));
  };
  const auto tagged = [](std::uint64_t tag, CborValue c) {
    return CborValue::tag(tag, CborValue::array({CborValue::bytes(Bytes{1, 2}), std::move(c)}));
  };
  EXPECT_EQ(code(tagged(60000, claims(1, 32))), ErrorCode::Ok);
  EXPECT_EQ(code(tagged(60001, claims(1, 32))), ErrorCode::RatlsMalformed);
  EXPECT_EQ(code(tagged(60000, claims(1, 31))), ErrorCode::RatlsMalformed);
  EXPECT_EQ(code(tagged(60000, claims(2, 32))), ErrorCode::UnsupportedAlgorithm);
  EXPECT_EQ(code(tagged(60000, CborValue::bytes(cbor_encode(CborValue::map())))),
            ErrorCode::RatlsMalformed);
  EXPECT_EQ(code(tagged(60000, CborValue::text("x"))), ErrorCode::RatlsMalformed);
  EXPECT_EQ(code(CborValue::array()), ErrorCode::RatlsMalformed);
}

// --- minted certificates (id-pe-cmw) ------------------------------------------

class RatlsMinted : public ::testing::Test {
 protected:
  static constexpr std::int64_t kAt = 1'750'000'000;

  void SetUp() override { m_bundle = test::make_software_bundle(&m_clock); }

  internal::RatlsMintOptions mint_options(Bytes nonce = {}) const {
    internal::RatlsMintOptions o;
    o.not_before = kAt - 60;
    o.not_after = kAt + 3600;
    o.connection_nonce = std::move(nonce);
    return o;
  }

  internal::RatlsCertificate mint(Bytes nonce = {}) {
    auto c = internal::mint_ratls_certificate(*m_bundle.attester, mint_options(std::move(nonce)));
    EXPECT_TRUE(c) << c.error().to_string();
    return std::move(*c);
  }

  Appraiser appraiser(std::int64_t at = kAt) const {
    return Appraiser(test::software_policy(m_bundle), at);
  }

  FixedClock m_clock{kAt};
  test::SoftwareAttesterBundle m_bundle;
};

TEST_F(RatlsMinted, RoundTrip) {
  const auto c = mint();
  auto r = appraiser().appraise(c.cert.get());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->appraisal.verdict);
  EXPECT_EQ(r->extension, RatlsExtension::Cmw);
  const Bytes spki = ossl::cert_spki_der(c.cert.get()).value();
  EXPECT_EQ(r->expected_nonce, ossl::digest(ossl::HashAlg::Sha256, spki).value());
  EXPECT_EQ(c.nonce, r->expected_nonce);
  EXPECT_EQ(r->appraisal.result.media_type(), kMediaTypeEatCwt);
  EXPECT_EQ(r->appraisal.result.machine_id(), m_bundle.machine_id);
  // The key the certificate names is the minted key.
  EXPECT_TRUE(ossl::public_keys_equal(::X509_get0_pubkey(c.cert.get()), c.key.get()));
  // verify_ratls_certificate: the result itself.
  const Registry reg = builtin_registry();
  const Policy policy = parse_policy(test::software_policy(m_bundle), reg, "").value();
  const RelyingParty rp(reg, m_clock, policy);
  RatlsVerifyOptions o;
  o.at = kAt;
  auto result = internal::verify_ratls_certificate(c.cert.get(), rp, o);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->machine_id(), m_bundle.machine_id);
  // Without the software key in the policy the Evidence is untrusted.
  const Policy empty;
  const RelyingParty untrusting(reg, m_clock, empty);
  EXPECT_FALSE(internal::verify_ratls_certificate(c.cert.get(), untrusting, o));
}

TEST_F(RatlsMinted, PerConnectionNonce) {
  const Bytes client_random(32, 0x42);
  const auto c = mint(client_random);
  const Appraiser a = appraiser();
  RatlsVerifyOptions with;
  with.connection_nonce = client_random;
  EXPECT_EQ(a.code(c.cert.get(), with), ErrorCode::Ok);
  // Replayed on another connection (another random), or taken for a
  // long-lived certificate: not bound.
  RatlsVerifyOptions other;
  other.connection_nonce = Bytes(32, 0x43);
  EXPECT_EQ(a.code(c.cert.get(), other), ErrorCode::RatlsKeyBindingMismatch);
  EXPECT_EQ(a.code(c.cert.get()), ErrorCode::RatlsKeyBindingMismatch);
  const Bytes spki = ossl::cert_spki_der(c.cert.get()).value();
  Bytes in = spki;
  in.insert(in.end(), client_random.begin(), client_random.end());
  EXPECT_EQ(c.nonce, ossl::digest(ossl::HashAlg::Sha256, in).value());
}

TEST_F(RatlsMinted, KeySubstitutionIsRefused) {
  const auto c = mint();
  ossl::UniquePtr<X509> swapped(::X509_dup(c.cert.get()));
  auto key = ossl::generate_key(ossl::KeyType::EcP256).value();
  ASSERT_EQ(::X509_set_pubkey(swapped.get(), key.get()), 1);
  ASSERT_GT(::X509_sign(swapped.get(), key.get(), ::EVP_sha256()), 0);
  EXPECT_EQ(appraiser().code(swapped.get()), ErrorCode::RatlsKeyBindingMismatch);
}

TEST_F(RatlsMinted, ValidityAndSignature) {
  const auto c = mint();
  EXPECT_EQ(appraiser(kAt + 7200).code(c.cert.get()), ErrorCode::CertExpired);
  EXPECT_EQ(appraiser(kAt - 3600).code(c.cert.get()), ErrorCode::CertNotYetValid);
  auto copy = tamper_signature(c.cert.get());
  EXPECT_EQ(appraiser().code(copy.get()), ErrorCode::CertChainInvalid);
}

TEST_F(RatlsMinted, ACertificateWithoutEvidence) {
  auto key = ossl::generate_key(ossl::KeyType::EcP256).value();
  internal::CertificateSpec spec;
  spec.common_name = "plain";
  spec.not_before = kAt - 60;
  spec.not_after = kAt + 60;
  auto cert = internal::make_certificate(spec, key.get(), nullptr, nullptr).value();
  EXPECT_EQ(appraiser().code(cert.get()), ErrorCode::RatlsNoEvidence);
}

// An independent reading of the minted extension: Python `cryptography` and
// `cbor2` (tests/data/ratls/crosscheck.py) recompute SHA-256(SPKI || nonce)
// and check the self-signature.
TEST_F(RatlsMinted, PythonCrossCheck) {
  if (std::system("/usr/bin/python3 -c 'import cbor2, cryptography' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3 with cbor2 and cryptography is not installed";
  }
  const Bytes nonce(32, 0x17);
  const auto c = mint(nonce);
  const std::string path = ::testing::TempDir() + "ratls_minted.der";
  {
    const Bytes der = ossl::cert_der(c.cert.get()).value();
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
  }
  const std::string cmd = "/usr/bin/python3 " + test::data_path("ratls/crosscheck.py") + " --cmw " +
                          path + " --nonce " + to_hex(nonce);
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    out += buf;
  }
  EXPECT_EQ(::pclose(p), 0) << out;
  EXPECT_NE(out.find("expected_nonce " + to_hex(c.nonce)), std::string::npos) << out;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace atls
