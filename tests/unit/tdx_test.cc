#include "src/formats/tdx/quote.h"
#include "src/formats/tdx/verify.h"

#include "src/core/encoding.h"
#include "src/ossl/x509.h"
#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace atls {
namespace {

using test::hex;

std::int64_t unix_day(int y, unsigned m, unsigned d) {
  const std::chrono::sys_days days{std::chrono::year{y} / std::chrono::month{m} /
                                   std::chrono::day{d}};
  return std::chrono::duration_cast<std::chrono::seconds>(days.time_since_epoch()).count();
}

std::string hx(const Bytes& b) {
  return to_hex(b);
}

Bytes quote_file(const std::string& name) {
  return test::read_data("tdx/" + name);
}

class Tdx : public ::testing::Test {
 protected:
  void SetUp() override {
    auto root = ossl::parse_certificate(test::read_data("tdx/intel_sgx_root_ca.pem"));
    ASSERT_TRUE(root) << root.error().to_string();
    m_root = std::move(*root);
  }

  DcapVerifyOptions options(std::int64_t at) const {
    DcapVerifyOptions o;
    o.at = at;
    o.trusted_roots = {m_root.get()};
    return o;
  }

  // verify_file parses and verifies a quote file at |at|.
  Result<void> verify_file(const std::string& name, std::int64_t at) const {
    auto q = parse_tdx_quote(quote_file(name));
    if (!q) {
      return q.error();
    }
    return verify_tdx_quote(*q, options(at));
  }

  ossl::UniquePtr<X509> m_root;
};

const std::string kSpr = "gotdx_tdx_prod_quote_SPR_E4.dat";
const std::string kV5 = "gotdx_quote_v5_sample.dat";
const std::string kQvlV4 = "dcapqvl_tdx_quote_v4.dat";
const std::string kQvlV5 = "dcapqvl_tdx_quote_outdated_v5.dat";
const std::string kCos = "gotdx_cos-113-tdx-quote.dat";
const std::string kZero48(96, '0');

// --- go-tdx-guest SPR E4 (v4) ----------------------------------------------

TEST_F(Tdx, SprE4Fields) {
  auto q = parse_tdx_quote(quote_file(kSpr));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->header.version, 4);
  EXPECT_EQ(q->header.att_key_type, 2);
  EXPECT_EQ(q->header.tee_type, 0x81U);
  EXPECT_EQ(q->header.qe_svn, 0);
  EXPECT_EQ(q->header.pce_svn, 0);
  EXPECT_EQ(hx(q->header.qe_vendor_id), "939a7233f79c4ca9940a0db3957f0607");
  EXPECT_EQ(q->body_type, kTdxBodyTypeTdReport10);
  const TdReport& b = q->body;
  EXPECT_EQ(hx(b.tee_tcb_svn), "03000400000000000000000000000000");
  EXPECT_EQ(hx(b.mr_seam),
            "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d"
            "0c5a5363c656");
  EXPECT_EQ(hx(b.mr_signer_seam), kZero48);
  EXPECT_EQ(hx(b.td_attributes), "0000004000000000");
  EXPECT_EQ(hx(b.xfam), "e71a060000000000");
  EXPECT_EQ(hx(b.mr_td),
            "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5"
            "e119d7215cbb");
  EXPECT_EQ(hx(b.mr_config_id), kZero48);
  EXPECT_EQ(hx(b.mr_owner), kZero48);
  EXPECT_EQ(hx(b.mr_owner_config), kZero48);
  EXPECT_EQ(hx(b.rtmr0),
            "2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51"
            "779c6593f32a");
  EXPECT_EQ(hx(b.rtmr1),
            "2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5"
            "800db2cacb61");
  EXPECT_EQ(hx(b.rtmr2),
            "8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf"
            "5c924eb4424e");
  EXPECT_EQ(hx(b.rtmr3), kZero48);
  EXPECT_EQ(hx(b.report_data),
            "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b98"
            "7a467dacead6f0c87a6d766c66f6f29f8acb281f1113");
  EXPECT_FALSE(b.tee_tcb_svn2.has_value());
  EXPECT_FALSE(b.mr_servicetd.has_value());
  EXPECT_EQ(hx(q->qe_report.mr_signer),
            "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  EXPECT_EQ(q->qe_report.isv_prod_id, 2);
  EXPECT_EQ(q->qe_report.isv_svn, 4);
  EXPECT_EQ(q->cert_type, kDcapCertTypeQeReport);
  EXPECT_EQ(q->pck_cert_type, kDcapCertTypePckChain);
  EXPECT_EQ(q->qe_report_raw.size(), kSgxReportBodySize);
  EXPECT_EQ(q->qe_auth_data.size(), 32U);
  EXPECT_EQ(q->signed_bytes.size(), kDcapQuoteHeaderSize + kTdReport10Size);
  EXPECT_EQ(q->trailing_bytes, 39U);
}

TEST_F(Tdx, SprE4ValidAt20230701) {
  auto r = verify_file(kSpr, unix_day(2023, 7, 1));
  EXPECT_TRUE(r) << r.error().to_string();
}

TEST_F(Tdx, SprE4ExpiredAt20530701) {
  auto r = verify_file(kSpr, unix_day(2053, 7, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::CertExpired) << r.error().to_string();
}

TEST_F(Tdx, SprE4NotYetValidBeforePck) {
  auto r = verify_file(kSpr, unix_day(2022, 9, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::CertNotYetValid) << r.error().to_string();
}

TEST_F(Tdx, SprE4PckExtensions) {
  auto q = parse_tdx_quote(quote_file(kSpr));
  ASSERT_TRUE(q);
  auto chain = parse_tdx_pck_chain(*q);
  ASSERT_TRUE(chain) << chain.error().to_string();
  auto e = parse_pck_extensions(chain->pck.get());
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(hx(e->fmspc), "50806f000000");
  EXPECT_EQ(hx(e->pceid), "0000");
  EXPECT_EQ(e->pcesvn, 11);
  EXPECT_EQ(hx(e->cpusvn), "03030202020100020000000000000000");
  // The TCB components are the CPUSVN bytes.
  EXPECT_EQ(to_hex(e->tcb_comp_svn), "03030202020100020000000000000000");
  EXPECT_EQ(hx(e->ppid), "089ddfdb9c0359c82a3bc7719239574e");
  EXPECT_EQ(e->ca_type, PckCaType::Platform);
  EXPECT_STREQ(pck_ca_type_name(e->ca_type), "platform");
  EXPECT_TRUE(e->platform_instance_id.has_value());
  const nlohmann::json j = pck_extensions_to_json(*e);
  EXPECT_EQ(j["fmspc"], "50806f000000");
  EXPECT_EQ(j["ca_type"], "platform");

  // The CA certificate has no SGX extension.
  auto none = parse_pck_extensions(chain->intermediate.get());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::CertMalformed);
}

TEST_F(Tdx, SprE4Json) {
  auto q = parse_tdx_quote(quote_file(kSpr));
  ASSERT_TRUE(q);
  const nlohmann::json j = tdx_quote_to_json(*q);
  EXPECT_EQ(j["header"]["version"], 4);
  EXPECT_EQ(j["header"]["tee_type"], 0x81);
  EXPECT_EQ(j["body"]["mr_td"], hx(q->body.mr_td));
  EXPECT_EQ(j["body"]["rtmr3"], kZero48);
  EXPECT_EQ(j["qe_report"]["isv_svn"], 4);
  EXPECT_EQ(j["trailing_bytes"], 39);
  EXPECT_EQ(j["signature"].get<std::string>().size(), 128U);
  const std::string pem = j["pck_chain_pem"].get<std::string>();
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0U);
  EXPECT_FALSE(j["body"].contains("tee_tcb_svn2"));
  EXPECT_FALSE(j.dump().empty());
}

// --- v5 samples --------------------------------------------------------------

TEST_F(Tdx, V5SampleFieldsAndValid) {
  auto q = parse_tdx_quote(quote_file(kV5));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->header.version, 5);
  EXPECT_EQ(q->body_type, kTdxBodyTypeTdReport15);
  EXPECT_EQ(hx(q->body.tee_tcb_svn).substr(0, 8), "0b010400");
  ASSERT_TRUE(q->body.tee_tcb_svn2.has_value());
  EXPECT_EQ(hx(*q->body.tee_tcb_svn2).substr(0, 8), "0d010400");
  ASSERT_TRUE(q->body.mr_servicetd.has_value());
  EXPECT_EQ(q->body.mr_servicetd->size(), 48U);
  EXPECT_EQ(hx(q->body.mr_seam),
            "7bf063280e94fb051f5dd7b1fc59ce9aac42bb961df8d44b709c9b0ff87a7b4df648657ba6d1189589fe"
            "ab1d5a3c9a9d");
  EXPECT_EQ(hx(q->body.mr_td),
            "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f"
            "750c3bc8f876");
  EXPECT_EQ(hx(q->body.td_attributes), "0000001000000000");
  EXPECT_EQ(hx(q->body.report_data),
            "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4933a"
            "4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a");
  EXPECT_EQ(q->qe_report.isv_svn, 7);
  // The v5 signature covers the body descriptor too.
  EXPECT_EQ(q->signed_bytes.size(),
            kDcapQuoteHeaderSize + kTdxBodyDescriptorSize + kTdReport15Size);
  EXPECT_EQ(q->trailing_bytes, 0U);
  const nlohmann::json j = tdx_quote_to_json(*q);
  EXPECT_EQ(j["body_type"], 3);
  EXPECT_EQ(j["body"]["tee_tcb_svn2"], hx(*q->body.tee_tcb_svn2));

  auto ok = verify_tdx_quote(*q, options(unix_day(2026, 2, 3)));
  EXPECT_TRUE(ok) << ok.error().to_string();
  // PCK validity starts 2026-01-27.
  auto early = verify_tdx_quote(*q, options(unix_day(2026, 1, 1)));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::CertNotYetValid);
}

// dcap-qvl v4: checked at 2025-07-01, inside both its collateral window
// (2025-06-19 .. 2025-07-19) and its PCK validity (2025-02-06 .. 2032-02-06).
TEST_F(Tdx, QvlV4FieldsAndValid) {
  auto q = parse_tdx_quote(quote_file(kQvlV4));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->header.version, 4);
  EXPECT_EQ(hx(q->body.tee_tcb_svn).substr(0, 8), "06010300");
  EXPECT_EQ(hx(q->body.mr_seam),
            "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7c"
            "ad34207b00c1");
  EXPECT_EQ(hx(q->body.mr_td),
            "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b"
            "2538873118b7");
  EXPECT_EQ(hx(q->body.report_data),
            "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163c"
            "f52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
  EXPECT_EQ(q->qe_report.isv_svn, 6);
  EXPECT_EQ(q->trailing_bytes, 70U);
  auto r = verify_tdx_quote(*q, options(unix_day(2025, 7, 1)));
  EXPECT_TRUE(r) << r.error().to_string();

  auto chain = parse_tdx_pck_chain(*q);
  ASSERT_TRUE(chain);
  auto e = parse_pck_extensions(chain->pck.get());
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(hx(e->fmspc), "b0c06f000000");
}

// dcap-qvl outdated v5: checked at 2026-03-01, inside its collateral window
// (2026-02-18 .. 2026-03-20) and its PCK validity (2026-01-23 .. 2033-01-23).
TEST_F(Tdx, QvlOutdatedV5FieldsAndValid) {
  auto q = parse_tdx_quote(quote_file(kQvlV5));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->header.version, 5);
  EXPECT_EQ(hx(q->body.tee_tcb_svn).substr(0, 8), "07010300");
  EXPECT_EQ(hx(q->body.mr_td),
            "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0e"
            "d0e5ae9a3dbd");
  EXPECT_EQ(
      hx(q->body.report_data),
      "d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728" + std::string(64, '0'));
  auto r = verify_tdx_quote(*q, options(unix_day(2026, 3, 1)));
  EXPECT_TRUE(r) << r.error().to_string();

  auto chain = parse_tdx_pck_chain(*q);
  ASSERT_TRUE(chain);
  auto e = parse_pck_extensions(chain->pck.get());
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(hx(e->fmspc), "90c06f000000");
}

// COS-113 quote, zero-padded to 8000 bytes (the quote ends at 4935). Checked
// at 2025-01-01, inside its PCK validity (2024-07-02 .. 2031-07-02).
TEST_F(Tdx, CosQuoteZeroPaddedValid) {
  auto q = parse_tdx_quote(quote_file(kCos));
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->trailing_bytes, 8000U - 4935U);
  EXPECT_EQ(hx(q->body.report_data), std::string(128, '0'));
  auto r = verify_tdx_quote(*q, options(unix_day(2025, 1, 1)));
  EXPECT_TRUE(r) << r.error().to_string();
}

// --- go-tdx-guest negative vectors ----------------------------------------

struct BadCase {
  const char* file;
  ErrorCode code;
};

TEST_F(Tdx, GoTdxNegativeVectors) {
  const BadCase cases[] = {
      // Header says v3.
      {"bad_gotdx_v4_version_byte_0x0.dat", ErrorCode::TdxUnsupportedVersion},
      // Signature-data length shortened: the certification data overruns it.
      {"bad_gotdx_v4_signed_data_size_0x278.dat", ErrorCode::TdxMalformed},
      // Broken PEM in the second certificate: fewer than three certificates.
      {"bad_gotdx_v4_cert_chain_byte_0x1343.dat", ErrorCode::TdxBadPckChain},
      // The quote's root differs from the trusted Intel root.
      {"bad_gotdx_v4_root_cert_byte_0x1329.dat", ErrorCode::CertUntrusted},
      // Corrupted CA / PCK certificates: their signatures fail.
      {"bad_gotdx_v4_intermediate_cert_byte_0xf5f.dat", ErrorCode::CertChainInvalid},
      {"bad_gotdx_v4_pck_cert_byte_0xb77.dat", ErrorCode::CertChainInvalid},
      // Signed bytes changed.
      {"bad_gotdx_v4_header_byte_0x1e.dat", ErrorCode::TdxBadQuoteSignature},
      {"bad_gotdx_v4_td_quote_body_0x3c.dat", ErrorCode::TdxBadQuoteSignature},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.file);
    auto r = verify_file(c.file, unix_day(2023, 7, 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, c.code)
        << error_name(r.error().code) << ": " << r.error().to_string();
  }
}

// --- structural failures -----------------------------------------------------

// Offsets in the SPR E4 v4 quote.
constexpr std::size_t kSigLenOff = 48 + 584;             // u32 signature data length
constexpr std::size_t kSigDataOff = kSigLenOff + 4;      // signature ‖ key ‖ cert data
constexpr std::size_t kCertTypeOff = kSigDataOff + 128;  // outer cert data type (u16)
constexpr std::size_t kCertSizeOff = kCertTypeOff + 2;   // outer cert data size (u32)
constexpr std::size_t kQeReportOff = kCertSizeOff + 4;
constexpr std::size_t kAuthSizeOff = kQeReportOff + 384 + 64;
constexpr std::size_t kNestedTypeOff = kAuthSizeOff + 2 + 32;
constexpr std::size_t kNestedSizeOff = kNestedTypeOff + 2;
constexpr std::size_t kPemOff = kNestedSizeOff + 4;
constexpr std::size_t kSprQuoteEnd = 4935;

void put_u16(Bytes& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v);
  b[off + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put_u32(Bytes& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    b[off + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

ErrorCode parse_code(const Bytes& b) {
  auto q = parse_tdx_quote(b);
  return q ? ErrorCode::Ok : q.error().code;
}

TEST_F(Tdx, OffsetsMatchTheVector) {
  const Bytes q = quote_file(kSpr);
  ASSERT_EQ(q.size(), kSprQuoteEnd + 39);
  EXPECT_EQ(q[kCertTypeOff], 6);
  EXPECT_EQ(q[kNestedTypeOff], 5);
  EXPECT_EQ(std::string(q.begin() + kPemOff, q.begin() + kPemOff + 5), "-----");
}

TEST_F(Tdx, EveryTruncationIsMalformed) {
  const Bytes full = quote_file(kSpr);
  ASSERT_EQ(parse_code(Bytes(full.begin(), full.begin() + kSprQuoteEnd)), ErrorCode::Ok);
  for (std::size_t n = 0; n < kSprQuoteEnd; ++n) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const ErrorCode code = parse_code(cut);
    if (code != ErrorCode::TdxMalformed) {
      ADD_FAILURE() << "prefix " << n << ": " << error_name(code);
      break;
    }
  }
  // The same for v5 (body descriptor and TD report 1.5).
  const Bytes v5 = quote_file(kV5);
  for (const std::size_t n :
       {std::size_t{48}, std::size_t{50}, std::size_t{53}, std::size_t{54}, std::size_t{54 + 584},
        std::size_t{54 + 647}, std::size_t{54 + 648}, std::size_t{54 + 651}, v5.size() - 1}) {
    EXPECT_EQ(parse_code(Bytes(v5.begin(), v5.begin() + static_cast<std::ptrdiff_t>(n))),
              ErrorCode::TdxMalformed)
        << n;
  }
}

TEST_F(Tdx, OversizeAndWrongLengths) {
  const Bytes base = quote_file(kSpr);
  struct Mutation {
    const char* name;
    std::size_t off;
    std::uint32_t value;
    int width;  // 2 or 4
    ErrorCode code;
  };
  const Mutation ms[] = {
      {"sig data len max", kSigLenOff, 0xffffffffU, 4, ErrorCode::TdxMalformed},
      {"sig data len +1 past end", kSigLenOff, 4299 + 40, 4, ErrorCode::TdxMalformed},
      {"sig data len -1", kSigLenOff, 4298, 4, ErrorCode::TdxMalformed},
      {"sig data len +1 (eats trailing)", kSigLenOff, 4300, 4, ErrorCode::TdxMalformed},
      {"cert data size max", kCertSizeOff, 0xffffffffU, 4, ErrorCode::TdxMalformed},
      {"cert data size -1", kCertSizeOff, 4164, 4, ErrorCode::TdxMalformed},
      {"auth data size max", kAuthSizeOff, 0xffff, 2, ErrorCode::TdxMalformed},
      {"auth data size +1", kAuthSizeOff, 33, 2, ErrorCode::TdxMalformed},
      {"pem size max", kNestedSizeOff, 0xffffffffU, 4, ErrorCode::TdxMalformed},
      {"pem size -1", kNestedSizeOff, 3676, 4, ErrorCode::TdxMalformed},
      {"cert type 5", kCertTypeOff, 5, 2, ErrorCode::TdxMalformed},
      {"nested type 6", kNestedTypeOff, 6, 2, ErrorCode::TdxMalformed},
      {"version 3", 0, 3, 2, ErrorCode::TdxUnsupportedVersion},
      {"version 6", 0, 6, 2, ErrorCode::TdxUnsupportedVersion},
      {"att key type 3", 2, 3, 2, ErrorCode::UnsupportedAlgorithm},
      {"tee type SGX", 4, 0, 4, ErrorCode::TdxMalformed},
  };
  for (const Mutation& m : ms) {
    SCOPED_TRACE(m.name);
    Bytes b = base;
    if (m.width == 2) {
      put_u16(b, m.off, static_cast<std::uint16_t>(m.value));
    } else {
      put_u32(b, m.off, m.value);
    }
    EXPECT_EQ(parse_code(b), m.code) << error_name(parse_code(b));
  }
}

TEST_F(Tdx, V5BodyDescriptorChecked) {
  const Bytes base = quote_file(kV5);
  Bytes b = base;
  put_u16(b, 48, 1);  // SGX enclave report body
  EXPECT_EQ(parse_code(b), ErrorCode::TdxMalformed);
  b = base;
  put_u16(b, 48, 4);
  EXPECT_EQ(parse_code(b), ErrorCode::TdxMalformed);
  b = base;
  put_u32(b, 50, 584);  // size does not match type 3
  EXPECT_EQ(parse_code(b), ErrorCode::TdxMalformed);
  b = base;
  put_u32(b, 50, 0xffffffffU);
  EXPECT_EQ(parse_code(b), ErrorCode::TdxMalformed);
  // A v4 quote relabelled v5 misreads the body descriptor.
  Bytes v4 = quote_file(kSpr);
  put_u16(v4, 0, 5);
  EXPECT_EQ(parse_code(v4), ErrorCode::TdxMalformed);
}

// --- verification failures on edited parses ---------------------------------

TEST_F(Tdx, WrongRootIsUntrusted) {
  auto q = parse_tdx_quote(quote_file(kSpr));
  ASSERT_TRUE(q);
  auto chain = parse_tdx_pck_chain(*q);
  ASSERT_TRUE(chain);
  // Trust only the Platform CA (a real Intel certificate, but not the root).
  DcapVerifyOptions o;
  o.at = unix_day(2023, 7, 1);
  o.trusted_roots = {chain->intermediate.get()};
  auto r = verify_tdx_quote(*q, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::CertUntrusted);

  o.trusted_roots = {};
  r = verify_tdx_quote(*q, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

TEST_F(Tdx, TamperedParsedFields) {
  auto parsed = parse_tdx_quote(quote_file(kSpr));
  ASSERT_TRUE(parsed);
  const std::int64_t at = unix_day(2023, 7, 1);
  {
    TdxQuote q = *parsed;
    q.qe_report_raw[100] ^= 1;
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxBadQeReportSignature);
  }
  {
    TdxQuote q = *parsed;
    q.qe_report_signature[10] ^= 1;
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxBadQeReportSignature);
  }
  {
    TdxQuote q = *parsed;
    q.qe_auth_data[0] ^= 1;
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxQeReportDataMismatch);
  }
  {
    TdxQuote q = *parsed;
    q.qe_report.report_data[63] = 1;  // the zero half
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxQeReportDataMismatch);
  }
  {
    // Another attestation key is not bound by the QE report.
    TdxQuote q = *parsed;
    q.attestation_key[63] ^= 1;
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxQeReportDataMismatch);
  }
  {
    TdxQuote q = *parsed;
    q.signature[40] ^= 1;
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxBadQuoteSignature);
  }
  {
    TdxQuote q = *parsed;
    q.signature.assign(64, 0);  // r = s = 0
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxBadQuoteSignature);
  }
  {
    TdxQuote q = *parsed;
    q.pck_chain_pem.clear();
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxBadPckChain);
  }
  {
    // Only the leaf and CA: two certificates.
    TdxQuote q = *parsed;
    const std::string pem(q.pck_chain_pem.begin(), q.pck_chain_pem.end());
    const std::size_t last = pem.rfind("-----BEGIN CERTIFICATE-----");
    q.pck_chain_pem.resize(last);
    auto r = verify_tdx_quote(q, options(at));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::TdxBadPckChain);
  }
}

// The parsed quote is independent of the input buffer's lifetime.
TEST_F(Tdx, ParsedQuoteOwnsItsBytes) {
  Result<TdxQuote> q = Error{ErrorCode::Internal, ""};
  {
    const Bytes data = quote_file(kSpr);
    q = parse_tdx_quote(data);
  }
  ASSERT_TRUE(q);
  auto r = verify_tdx_quote(*q, options(unix_day(2023, 7, 1)));
  EXPECT_TRUE(r) << r.error().to_string();
}

}  // namespace
}  // namespace atls
