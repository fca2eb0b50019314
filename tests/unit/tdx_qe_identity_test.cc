// QE Identity collateral (src/formats/tdx/qe_identity.h) and its signature
// check (verify_qe_identity_signature): the real PCS document, tampered
// copies, and documents signed at run time by a test "Intel SGX TCB Signing"
// certificate under a test root.

#include "src/formats/tdx/qe_identity.h"

#include "src/core/encoding.h"
#include "src/formats/tdx/quote.h"
#include "src/formats/tdx/verify.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/tls/config.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace atls {
namespace {

using test::read_data;

std::int64_t unix_time(int y, unsigned m, unsigned d, int h = 0) {
  const std::chrono::sys_days days{std::chrono::year{y} / std::chrono::month{m} /
                                   std::chrono::day{d}};
  return std::chrono::duration_cast<std::chrono::seconds>(days.time_since_epoch()).count() +
         h * 3600;
}

const std::int64_t kSprTime = unix_time(2023, 7, 1);

Bytes qe_file(const std::string& name) {
  return read_data("tdx/qe_identity/" + name);
}

QeIdentity sample() {
  auto id = parse_qe_identity(qe_file("qe_identity.json"));
  EXPECT_TRUE(id) << id.error().to_string();
  return id ? std::move(*id) : QeIdentity{};
}

SgxReportBody spr_qe_report() {
  auto q = parse_tdx_quote(read_data("tdx/gotdx_tdx_prod_quote_SPR_E4.dat"));
  EXPECT_TRUE(q);
  return q ? q->qe_report : SgxReportBody{};
}

std::vector<ossl::UniquePtr<X509>> intel_root() {
  auto r = ossl::parse_certificates(read_data("tdx/intel_sgx_root_ca.pem"));
  EXPECT_TRUE(r);
  return r ? std::move(*r) : std::vector<ossl::UniquePtr<X509>>{};
}

Result<void> verify_sample(const Bytes& text, std::int64_t at) {
  ATLS_ASSIGN_OR_RETURN(const QeIdentity id, parse_qe_identity(text));
  const auto roots = intel_root();
  ATLS_TRY(verify_qe_identity_signature(id, qe_file("issuer_chain.pem"), {roots[0].get()}, at));
  return check_qe_identity_time(id, at);
}

// --- the real document ------------------------------------------------------------

TEST(QeIdentity, ParsesTheIntelSample) {
  const QeIdentity id = sample();
  EXPECT_EQ(id.id, "TD_QE");
  EXPECT_EQ(id.version, 2u);
  EXPECT_EQ(id.issue_date, unix_time(2023, 6, 8) + 7 * 3600 + 24 * 60 + 59);
  EXPECT_EQ(id.next_update, unix_time(2023, 7, 8) + 7 * 3600 + 24 * 60 + 59);
  EXPECT_EQ(id.tcb_evaluation_data_number, 15u);
  EXPECT_EQ(id.misc_select, 0u);
  EXPECT_EQ(id.misc_select_mask, 0xFFFFFFFFu);
  EXPECT_EQ(to_hex(id.attributes), "11000000000000000000000000000000");
  EXPECT_EQ(to_hex(id.attributes_mask), "fbffffffffffffff0000000000000000");
  EXPECT_EQ(to_hex(id.mr_signer), kIntelQeMrSigner);
  EXPECT_EQ(id.isv_prod_id, 2);
  ASSERT_EQ(id.tcb_levels.size(), 1u);
  EXPECT_EQ(id.tcb_levels[0].isv_svn, 4);
  EXPECT_EQ(id.tcb_levels[0].tcb_status, "UpToDate");
  const std::string text = std::string(as_string_view(qe_file("qe_identity.json")));
  const std::string signed_text(as_string_view(id.signed_bytes));
  EXPECT_EQ(signed_text.front(), '{');
  EXPECT_EQ(text.find(signed_text), std::string("{\"enclaveIdentity\":").size());
  EXPECT_EQ(id.signature.size(), 64u);
  EXPECT_EQ(qe_identity_to_json(id)["isvprodid"], 2);
}

TEST(QeIdentity, SignatureAndValidityOfTheIntelSample) {
  EXPECT_TRUE(verify_sample(qe_file("qe_identity.json"), kSprTime));
  // Outside issueDate .. nextUpdate.
  EXPECT_EQ(verify_sample(qe_file("qe_identity.json"), unix_time(2023, 7, 8, 8)).error().code,
            ErrorCode::TdxQeIdentityExpired);
  EXPECT_EQ(verify_sample(qe_file("qe_identity.json"), unix_time(2023, 6, 8)).error().code,
            ErrorCode::TdxQeIdentityExpired);
  // Tampered copies.
  EXPECT_EQ(verify_sample(qe_file("bad_signature.json"), kSprTime).error().code,
            ErrorCode::TdxQeIdentityBadSignature);
  EXPECT_EQ(verify_sample(qe_file("bad_mrsigner.json"), kSprTime).error().code,
            ErrorCode::TdxQeIdentityBadSignature);
  // Only the caller's roots count: the chain's own root is not trusted.
  const QeIdentity id = sample();
  auto other = ossl::parse_certificates(read_data("tdx/test_chain/root.test.pem"));
  ASSERT_TRUE(other);
  EXPECT_EQ(
      verify_qe_identity_signature(id, qe_file("issuer_chain.pem"), {(*other)[0].get()}, kSprTime)
          .error()
          .code,
      ErrorCode::CertUntrusted);
  // The TCB Signing certificate expired on 2025-05-21.
  const auto roots = intel_root();
  EXPECT_EQ(verify_qe_identity_signature(id, qe_file("issuer_chain.pem"), {roots[0].get()},
                                         unix_time(2026, 1, 1))
                .error()
                .code,
            ErrorCode::CertExpired);
}

TEST(QeIdentity, TheSprQuoteMatches) {
  auto status = match_qe_identity(sample(), spr_qe_report());
  ASSERT_TRUE(status) << status.error().to_string();
  EXPECT_EQ(*status, "UpToDate");
  EXPECT_TRUE(check_intel_td_qe(spr_qe_report()));
}

TEST(QeIdentity, MismatchesAreRefused) {
  const SgxReportBody good = spr_qe_report();
  const auto code = [](const QeIdentity& id, const SgxReportBody& r) {
    auto s = match_qe_identity(id, r);
    return s ? ErrorCode::Ok : s.error().code;
  };
  SgxReportBody r = good;
  r.mr_signer[5] ^= 1;
  EXPECT_EQ(code(sample(), r), ErrorCode::TdxQeIdentityMismatch);
  EXPECT_EQ(check_intel_td_qe(r).error().code, ErrorCode::TdxQeIdentityMismatch);
  r = good;
  r.isv_prod_id = 1;
  EXPECT_EQ(code(sample(), r), ErrorCode::TdxQeIdentityMismatch);
  EXPECT_EQ(check_intel_td_qe(r).error().code, ErrorCode::TdxQeIdentityMismatch);
  r = good;
  r.misc_select = 1;
  EXPECT_EQ(code(sample(), r), ErrorCode::TdxQeIdentityMismatch);
  r = good;
  r.attributes[0] ^= 0x10;  // PROVISIONKEY, inside the mask
  EXPECT_EQ(code(sample(), r), ErrorCode::TdxQeIdentityMismatch);
  r = good;
  r.attributes[0] ^= 0x04;  // MODE64BIT: outside the mask (0xFB)
  EXPECT_EQ(code(sample(), r), ErrorCode::Ok);
  // DEBUG is refused even when an identity's mask leaves it out.
  r = good;
  r.attributes[0] |= 0x02;
  QeIdentity lax = sample();
  lax.attributes_mask[0] = 0;
  EXPECT_EQ(code(lax, r), ErrorCode::TdxQeDebug);
  EXPECT_EQ(check_intel_td_qe(r).error().code, ErrorCode::TdxQeDebug);
  // An identity for another enclave.
  QeIdentity sgx_qe = sample();
  sgx_qe.id = "QE";
  EXPECT_EQ(code(sgx_qe, good), ErrorCode::TdxQeIdentityMismatch);
}

TEST(QeIdentity, TcbLevels) {
  QeIdentity id = sample();
  SgxReportBody r = spr_qe_report();  // ISVSVN 4
  id.tcb_levels = {{8, "", "UpToDate"}, {6, "", "SWHardeningNeeded"}, {2, "", "OutOfDate"}};
  EXPECT_EQ(*match_qe_identity(id, r), "OutOfDate");
  r.isv_svn = 7;
  EXPECT_EQ(*match_qe_identity(id, r), "SWHardeningNeeded");
  r.isv_svn = 1;  // below every level
  EXPECT_EQ(match_qe_identity(id, r).error().code, ErrorCode::TcbTooLow);
  r.isv_svn = 3;
  id.tcb_levels = {{4, "", "UpToDate"}, {3, "", "Revoked"}};
  EXPECT_EQ(match_qe_identity(id, r).error().code, ErrorCode::TcbTooLow);
}

TEST(QeIdentity, MalformedDocuments) {
  const std::string good(as_string_view(qe_file("qe_identity.json")));
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    auto r = parse_qe_identity(to_bytes(s));
    return r ? ErrorCode::Ok : r.error().code;
  };
  EXPECT_EQ(with("\"version\":2", "\"version\":1"), ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("\"isvprodid\":2", "\"isvprodid\":\"2\""), ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("\"isvprodid\":2", "\"isvprodid\":65536"), ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("2023-07-08T07:24:59Z", "2023-07-08 07:24:59"), ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("2023-07-08T07:24:59Z", "2023-02-30T07:24:59Z"),
            ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("2023-07-08T07:24:59Z", "2023-07-08T07:24:59.123Z"), ErrorCode::Ok);
  EXPECT_EQ(with("\"mrsigner\":\"DC9E", "\"mrsigner\":\"9E"), ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("\"tcbLevels\":[", "\"tcbLevels\":[1,"), ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("\"signature\":\"b6", "\"signature\":\"b"), ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("{\"enclaveIdentity\"", "{\"x\":1,\"enclaveIdentity\""),
            ErrorCode::TdxQeIdentityMalformed);
  EXPECT_EQ(with("{\"enclaveIdentity\"", "{\"enclave\\u0049dentity\""),
            ErrorCode::TdxQeIdentityMalformed);
  for (const char* bad : {"", "[]", "{}", "{\"enclaveIdentity\":[],\"signature\":\"00\"}", "nul"}) {
    EXPECT_EQ(parse_qe_identity(to_bytes(bad)).error().code, ErrorCode::TdxQeIdentityMalformed)
        << bad;
  }
  // Whitespace and member order as sent are kept in the signed bytes.
  std::string spaced = good;
  spaced.replace(0, std::string("{\"enclaveIdentity\":").size(), "{ \"enclaveIdentity\" :\n ");
  auto id = parse_qe_identity(to_bytes(spaced));
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(id->signed_bytes, sample().signed_bytes);
}

// --- documents signed at run time ----------------------------------------------------

struct TestSigner {
  ossl::UniquePtr<EVP_PKEY> root_key = *ossl::generate_key(ossl::KeyType::EcP256);
  ossl::UniquePtr<EVP_PKEY> key = *ossl::generate_key(ossl::KeyType::EcP256);
  ossl::UniquePtr<X509> root;
  std::string chain_pem;

  explicit TestSigner(const std::string& signer_cn = "Intel SGX TCB Signing") {
    internal::CertificateSpec ca{"Test SGX Root CA",   {}, {}, true, unix_time(2020, 1, 1),
                                 unix_time(2040, 1, 1)};
    root = *internal::make_certificate(ca, root_key.get(), nullptr, nullptr);
    internal::CertificateSpec leaf{
        signer_cn, {}, {}, false, unix_time(2020, 1, 1), unix_time(2040, 1, 1)};
    auto cert = *internal::make_certificate(leaf, key.get(), root.get(), root_key.get());
    chain_pem = *internal::certificate_pem(cert.get()) + *internal::certificate_pem(root.get());
  }

  // Signs |identity| (the enclaveIdentity JSON text) as PCS does.
  Bytes document(const std::string& identity) const {
    auto der = ossl::sign(key.get(), ossl::SignatureAlg::EcdsaSha256, to_bytes(identity));
    auto raw = ossl::ecdsa_der_to_raw(*der, 32);
    return to_bytes("{\"enclaveIdentity\":" + identity + ",\"signature\":\"" + to_hex(*raw) +
                    "\"}");
  }

  Result<void> verify(const Bytes& doc) const {
    ATLS_ASSIGN_OR_RETURN(const QeIdentity id, parse_qe_identity(doc));
    return verify_qe_identity_signature(id, to_bytes(chain_pem), {root.get()}, kSprTime);
  }
};

TEST(QeIdentity, RunTimeSignedDocuments) {
  const TestSigner signer;
  const std::string identity(as_string_view(sample().signed_bytes));
  EXPECT_TRUE(signer.verify(signer.document(identity)));
  // One byte of the signed text changed after signing.
  Bytes doc = signer.document(identity);
  const std::string text(as_string_view(doc));
  doc[text.find("\"isvprodid\":2") + 12] = '3';
  EXPECT_EQ(signer.verify(doc).error().code, ErrorCode::TdxQeIdentityBadSignature);
  // A certificate chained to the root but not the TCB Signing one.
  const TestSigner other("Intel SGX PCK Platform CA");
  EXPECT_EQ(other.verify(other.document(identity)).error().code, ErrorCode::TdxQeIdentityMalformed);
}

}  // namespace
}  // namespace atls
