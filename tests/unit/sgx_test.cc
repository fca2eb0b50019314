#include "src/formats/sgx/quote.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/ossl/x509.h"
#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace atls {
namespace {

std::int64_t unix_day(int y, unsigned m, unsigned d) {
  const std::chrono::sys_days days{std::chrono::year{y} / std::chrono::month{m} /
                                   std::chrono::day{d}};
  return std::chrono::duration_cast<std::chrono::seconds>(days.time_since_epoch()).count();
}

// Offsets in a version 3 quote (src/formats/sgx/quote.h).
constexpr std::size_t kBody = 48;
constexpr std::size_t kSigData = 436;
constexpr std::size_t kQeReport = kSigData + 128;
constexpr std::size_t kAuthSize = kQeReport + 384 + 64;

// The three quotes embedded in the RA-TLS certificates (extracted by
// tests/data/ratls/crosscheck.py) and dcap-qvl's sample.
struct Known {
  const char* file;
  const char* mr_enclave;
  const char* mr_signer;
  const char* attributes;
};
const Known kKnown[] = {
    {"iratls_gramine_quote.dat", "0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585",
     "adc53501f21ced9b998e37a7a18e061c63e00315045fa57a49c18ef0a30d02ca",
     "0700000000000000e700000000000000"},
    {"iratls_intel-sgxsdk_quote.dat",
     "09e218a4be9dadbf7cdc82c45497d6d4f676d3b75445fc37a376f0b65b47de6a",
     "e0c86c51e05ad8592673db348155bddf4bcad6131a5205ce4265c0d795803ba2",
     "07000000000000000300000000000000"},
    {"iratls_rats-tls_quote.dat",
     "38e1b40b8c68186f359c97ecb6a89965d9d8638f2df06fbe18e84d79a266c041",
     "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e",
     "0700000000000000e700000000000000"},
    {"dcapqvl_sgx_quote_v3.dat", "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
     "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6",
     "0500000000000000e700000000000000"},
};

class Sgx : public ::testing::Test {
 protected:
  void SetUp() override {
    auto root = ossl::parse_certificate(test::read_data("tdx/intel_sgx_root_ca.pem"));
    ASSERT_TRUE(root) << root.error().to_string();
    m_root = std::move(*root);
  }

  Result<void> verify(const Bytes& quote, std::int64_t at, X509* root = nullptr) const {
    auto q = parse_sgx_quote(quote);
    if (!q) {
      return q.error();
    }
    DcapVerifyOptions o;
    o.at = at;
    o.trusted_roots = {root != nullptr ? root : m_root.get()};
    return verify_sgx_quote(*q, o);
  }

  ErrorCode code(const Bytes& quote, std::int64_t at = unix_day(2025, 1, 1)) const {
    auto r = verify(quote, at);
    return r ? ErrorCode::Ok : r.error().code;
  }

  ossl::UniquePtr<X509> m_root;
};

TEST_F(Sgx, KnownAnswers) {
  for (const Known& k : kKnown) {
    SCOPED_TRACE(k.file);
    const Bytes data = test::read_data(std::string("sgx/") + k.file);
    auto q = parse_sgx_quote(data);
    ASSERT_TRUE(q) << q.error().to_string();
    EXPECT_EQ(q->header.version, 3);
    EXPECT_EQ(q->header.att_key_type, 2);
    EXPECT_EQ(q->header.tee_type, 0U);
    EXPECT_EQ(to_hex(q->body.mr_enclave), k.mr_enclave);
    EXPECT_EQ(to_hex(q->body.mr_signer), k.mr_signer);
    EXPECT_EQ(to_hex(q->body.attributes), k.attributes);
    EXPECT_EQ(q->body.isv_prod_id, 0);
    EXPECT_EQ(q->body.isv_svn, 0);
    EXPECT_EQ(q->signed_bytes.size(), 432U);
    EXPECT_EQ(q->pck_cert_type, kDcapCertTypePckChain);
    // Intel's SGX Quoting Enclave signed every one of them.
    EXPECT_EQ(to_hex(q->qe_report.mr_signer),
              "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff");
    EXPECT_EQ(q->qe_report.isv_prod_id, 1);
    EXPECT_EQ(q->trailing_bytes, 0U);
    auto ok = verify(data, unix_day(2025, 1, 1));
    EXPECT_TRUE(ok) << ok.error().to_string();
    const nlohmann::json j = sgx_quote_to_json(*q);
    EXPECT_EQ(j["body"]["mr_enclave"], k.mr_enclave);
    EXPECT_TRUE(j.contains("pck_chain_pem"));
    EXPECT_TRUE(json_dump(j).size() > 1000);
  }
}

TEST_F(Sgx, DcapQvlSampleFields) {
  auto q = parse_sgx_quote(test::read_data("sgx/dcapqvl_sgx_quote_v3.dat"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->header.qe_svn, 10);
  EXPECT_EQ(q->header.pce_svn, 15);
  EXPECT_EQ(to_hex(q->body.cpu_svn), "0b0b1a18ffff04000000000000000000");
  Bytes want = to_bytes(std::string_view("Hello, world!"));
  want.resize(64, 0);
  EXPECT_EQ(q->body.report_data, want);
  EXPECT_EQ(q->qe_report.isv_svn, 10);
}

TEST_F(Sgx, EachSignatureAndBindingIsChecked) {
  const Bytes good = test::read_data("sgx/iratls_gramine_quote.dat");
  ASSERT_EQ(code(good), ErrorCode::Ok);
  auto flip = [&](std::size_t at) {
    Bytes b = good;
    b[at] ^= 0x01;
    return b;
  };
  // A byte of the enclave's report_data: the attestation key's signature.
  EXPECT_EQ(code(flip(kBody + 320)), ErrorCode::SgxBadQuoteSignature);
  // A byte of the header's user data, also signed.
  EXPECT_EQ(code(flip(40)), ErrorCode::SgxBadQuoteSignature);
  // The quote signature itself.
  EXPECT_EQ(code(flip(kSigData + 5)), ErrorCode::SgxBadQuoteSignature);
  // The QE report: the PCK key's signature.
  EXPECT_EQ(code(flip(kQeReport + 64)), ErrorCode::SgxBadQeReportSignature);
  // The attestation key: no longer the key the QE report binds.
  EXPECT_EQ(code(flip(kSigData + 64 + 10)), ErrorCode::SgxQeReportDataMismatch);
  // QE auth data (its first byte, after the u16 size).
  EXPECT_EQ(code(flip(kAuthSize + 2)), ErrorCode::SgxQeReportDataMismatch);
}

TEST_F(Sgx, ChainToTheTrustedRootAtTheGivenTime) {
  const Bytes good = test::read_data("sgx/iratls_gramine_quote.dat");
  // The PCK certificate is valid 2022-11-26 to 2029-11-26.
  EXPECT_EQ(code(good, unix_day(2030, 1, 1)), ErrorCode::CertExpired);
  EXPECT_EQ(code(good, unix_day(2022, 1, 1)), ErrorCode::CertNotYetValid);
  // Another root: the quote's chain does not reach it.
  auto other = ossl::parse_certificates(test::read_data("tdx/test_chain/root.test.pem"));
  ASSERT_TRUE(other && !other->empty());
  auto r = verify(good, unix_day(2025, 1, 1), (*other)[0].get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::CertUntrusted);
}

TEST_F(Sgx, MalformedQuotes) {
  const Bytes good = test::read_data("sgx/iratls_intel-sgxsdk_quote.dat");
  auto parse_code = [](const Bytes& b) {
    auto q = parse_sgx_quote(b);
    return q ? ErrorCode::Ok : q.error().code;
  };
  Bytes b = good;
  b[0] = 4;
  EXPECT_EQ(parse_code(b), ErrorCode::SgxUnsupportedVersion);
  b = good;
  b[2] = 3;
  EXPECT_EQ(parse_code(b), ErrorCode::UnsupportedAlgorithm);
  b = good;
  b[4] = 0x81;
  EXPECT_EQ(parse_code(b), ErrorCode::SgxMalformed);
  // A TDX quote is not an SGX quote.
  EXPECT_EQ(parse_code(test::read_data("tdx/dcapqvl_tdx_quote_v4.dat")),
            ErrorCode::SgxUnsupportedVersion);
  // Every truncation fails cleanly.
  for (std::size_t n = 0; n < good.size(); n += 97) {
    EXPECT_EQ(parse_code(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))),
              ErrorCode::SgxMalformed)
        << n;
  }
  // Signature data one byte longer than its fields: refused.
  b = good;
  b.push_back(0);
  const std::uint32_t len = static_cast<std::uint32_t>(b[432] | (b[433] << 8) | (b[434] << 16)) + 1;
  for (std::size_t i = 0; i < 4; ++i) {
    b[432 + i] = static_cast<std::uint8_t>(len >> (8 * i));
  }
  EXPECT_EQ(parse_code(b), ErrorCode::SgxMalformed);
  // Padding after the signature data is outside every signature: counted.
  b = good;
  b.resize(b.size() + 10, 0);
  auto q = parse_sgx_quote(b);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->trailing_bytes, 10U);
  // Certification data type 6 (a TDX-style wrapper) is not supported in v3.
  b = good;
  const std::size_t auth = static_cast<std::size_t>(good[kAuthSize] | (good[kAuthSize + 1] << 8));
  b[kAuthSize + 2 + auth] = 6;
  EXPECT_EQ(parse_code(b), ErrorCode::SgxMalformed);
}

}  // namespace
}  // namespace atls
