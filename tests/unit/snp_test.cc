#include "src/formats/snp/report.h"
#include "src/formats/snp/verify.h"

#include "src/core/encoding.h"
#include "src/ossl/x509.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <string>

namespace atls {
namespace {

using test::hex;
using test::read_data;

// Verification times inside every certificate's validity window.
constexpr std::int64_t k20220924 = 1664020800;  // 2022-09-24T12:00:00Z (GSG VCEK from 00:55Z)
constexpr std::int64_t k20240101 = 1704067200;  // 2024-01-01T00:00:00Z
constexpr std::int64_t k20250601 = 1748736000;  // 2025-06-01T00:00:00Z
constexpr std::int64_t k20210101 = 1609459200;  // 2021-01-01T00:00:00Z
constexpr std::int64_t k20500101 = 2524608000;  // 2050-01-01T00:00:00Z

Bytes gsg_report() {
  return read_data("snp/gosevguest_attestation.bin");
}

Bytes virtee_report() {
  std::string text = test::read_text("snp/virtee_report_milan.hex");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return hex(text);
}

ossl::UniquePtr<X509> cert(const std::string& rel) {
  auto c = ossl::parse_certificate(read_data(rel));
  EXPECT_TRUE(c) << rel << ": " << c.error().to_string();
  return c ? std::move(*c) : nullptr;
}

SnpChain chain(const std::string& rel) {
  auto c = parse_snp_chain(read_data(rel));
  EXPECT_TRUE(c) << rel << ": " << c.error().to_string();
  return c ? std::move(*c) : SnpChain{};
}

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& a) {
  return to_hex(ByteView(a.data(), a.size()));
}

void put_le32(Bytes& b, std::size_t off, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) {
    b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

ErrorCode parse_error(const Bytes& b) {
  auto r = parse_snp_report(b);
  return r ? ErrorCode::Ok : r.error().code;
}

// --- gosevguest_attestation.bin: every expected value from MANIFEST.md -----

TEST(SnpReport, GoSevGuestFields) {
  auto r = parse_snp_report(gsg_report());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->version, 2U);
  EXPECT_EQ(r->guest_svn, 0U);
  EXPECT_EQ(r->policy.raw, 0x000B0000U);
  EXPECT_TRUE(r->policy.debug_allowed());
  EXPECT_TRUE(r->policy.smt_allowed());
  EXPECT_FALSE(r->policy.migrate_ma_allowed());
  EXPECT_FALSE(r->policy.single_socket());
  EXPECT_EQ(r->policy.abi_major, 0);
  EXPECT_EQ(r->policy.abi_minor, 0);
  EXPECT_EQ(r->vmpl, 0U);
  EXPECT_EQ(r->signature_algo, 1U);

  Bytes report_data = hex("0102030405");
  report_data.resize(64, 0);
  EXPECT_EQ(hex_of(r->report_data), to_hex(report_data));
  EXPECT_TRUE(verify_snp_report_data(*r, report_data));
  Bytes bad_data(64, 0);
  bad_data[63] = 1;  // the source's bad value: a trailing ...01
  EXPECT_EQ(verify_snp_report_data(*r, bad_data).error().code, ErrorCode::SnpReportDataMismatch);

  EXPECT_EQ(hex_of(r->measurement),
            "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0c"
            "f2e4872b01");
  EXPECT_EQ(hex_of(r->host_data), std::string(64, '0'));
  EXPECT_EQ(hex_of(r->family_id), std::string(32, '0'));
  EXPECT_EQ(hex_of(r->image_id), std::string(32, '0'));
  EXPECT_EQ(hex_of(r->id_key_digest), std::string(96, '0'));
  EXPECT_EQ(hex_of(r->author_key_digest), std::string(96, '0'));
  EXPECT_FALSE(r->author_key_en);
  EXPECT_FALSE(r->mask_chip_key);
  EXPECT_EQ(r->signing_key, SnpSigningKey::Vcek);
  EXPECT_EQ(hex_of(r->report_id),
            "8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a");
  EXPECT_EQ(hex_of(r->report_id_ma), std::string(64, 'f'));
  EXPECT_EQ(hex_of(r->chip_id),
            "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a19"
            "36776b564ea464cdce40c05f63c9b610c5068b006b5d");

  EXPECT_EQ(r->tcb_layout, SnpTcbLayout::MilanGenoa);
  for (const SnpTcb* t : {&r->current_tcb, &r->reported_tcb, &r->committed_tcb, &r->launch_tcb}) {
    EXPECT_EQ(t->raw, 0x4405000000000002ULL);
    EXPECT_EQ(t->raw, 4901323769462652930ULL);
    EXPECT_EQ(t->bootloader, 2);
    EXPECT_EQ(t->tee, 0);
    EXPECT_EQ(t->snp, 5);
    EXPECT_EQ(t->microcode, 68);
    EXPECT_EQ(t->layout, SnpTcbLayout::MilanGenoa);
  }
  EXPECT_EQ(r->platform_info.raw, 1U);
  EXPECT_TRUE(r->platform_info.smt_en());
  EXPECT_FALSE(r->platform_info.tsme_en());
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 49);
  EXPECT_EQ(r->current_build, 3);
  EXPECT_EQ(r->committed_major, 1);
  EXPECT_EQ(r->committed_minor, 49);
  EXPECT_EQ(r->committed_build, 3);
  // Version 2: no CPUID and no mitigation vectors.
  EXPECT_FALSE(r->cpuid_fam_id.has_value());
  EXPECT_FALSE(r->launch_mit_vector.has_value());

  EXPECT_EQ(r->signed_bytes.size(), 0x2A0U);
  EXPECT_EQ(to_hex(r->signature_r),
            "21c89c9932a2504bd2a590c9c21a32bbba083b2dd6e5bc7438896bf672ae1353aa5fa6bbb6274fca69f9f8"
            "b85a8b8e4f");
  EXPECT_EQ(r->signature_s.size(), 48U);
}

TEST(SnpVerify, GoSevGuestVerifies) {
  auto vcek = cert("snp/gosevguest_vcek.der");
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  ASSERT_TRUE(vcek && milan.ask && milan.ark);
  const Bytes raw = gsg_report();
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r);

  auto c = verify_vcek_chain(vcek.get(), milan.ask.get(), milan.ark.get(), k20220924);
  EXPECT_TRUE(c) << c.error().to_string();
  auto m = check_vcek_matches_report(vcek.get(), *r);
  EXPECT_TRUE(m) << m.error().to_string();
  auto s = verify_snp_report_signature(*r, ::X509_get0_pubkey(vcek.get()));
  EXPECT_TRUE(s) << s.error().to_string();

  auto all = verify_snp_attestation(raw, vcek.get(), milan, k20220924);
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->reported_tcb.raw, 0x4405000000000002ULL);
}

// A TCB minimum one above the reported value must not be met (MANIFEST:
// minimum_tcb=4901323769462652931 fails). Appraisal compares raw values here
// only to pin that the decoded value is exactly the documented one.
TEST(SnpReport, GoSevGuestTcbIsBelowBadMinimum) {
  auto r = parse_snp_report(gsg_report());
  ASSERT_TRUE(r);
  EXPECT_LT(r->reported_tcb.raw, 4901323769462652931ULL);
  // min_version 1.50 and min_build 90 must not be met.
  EXPECT_TRUE(r->current_major == 1 && r->current_minor < 50);
  EXPECT_LT(r->current_build, 90);
}

// --- virtee_report_milan.hex ------------------------------------------------

TEST(SnpReport, VirteeMilanFields) {
  const Bytes raw = virtee_report();
  ASSERT_EQ(raw.size(), kSnpReportSize);
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->version, 2U);
  EXPECT_EQ(r->policy.raw, 0x30000U);
  EXPECT_TRUE(r->policy.smt_allowed());
  EXPECT_FALSE(r->policy.debug_allowed());
  EXPECT_EQ(r->vmpl, 0U);
  EXPECT_EQ(hex_of(r->report_data),
            "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063"
            "fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd");
  EXPECT_EQ(hex_of(r->measurement),
            "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c4"
            "80cd81841f");
  EXPECT_EQ(hex_of(r->chip_id),
            "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0e"
            "facfd08e244324884738c72b082e2f87a44d541eb6");
  EXPECT_EQ(r->reported_tcb.raw, 0x7308000000000003ULL);
  EXPECT_EQ(r->reported_tcb.bootloader, 3);
  EXPECT_EQ(r->reported_tcb.tee, 0);
  EXPECT_EQ(r->reported_tcb.snp, 8);
  EXPECT_EQ(r->reported_tcb.microcode, 0x73);
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 52);
  EXPECT_EQ(r->current_build, 4);
}

TEST(SnpVerify, VirteeMilanVerifies) {
  auto vcek = cert("snp/virtee_vcek_milan.der");
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  ASSERT_TRUE(vcek && milan.ark);
  auto all = verify_snp_attestation(virtee_report(), vcek.get(), milan, k20240101);
  ASSERT_TRUE(all) << all.error().to_string();
}

// --- negative verification --------------------------------------------------

TEST(SnpVerify, TamperedFamilyIdFailsSignature) {
  const Bytes bad = read_data("snp/bad_virtee_report_milan_byte21_flipped.bin");
  auto r = parse_snp_report(bad);
  ASSERT_TRUE(r) << r.error().to_string();  // still well-formed
  auto vcek = cert("snp/virtee_vcek_milan.der");
  ASSERT_TRUE(vcek);
  EXPECT_EQ(verify_snp_report_signature(*r, ::X509_get0_pubkey(vcek.get())).error().code,
            ErrorCode::SnpBadSignature);
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  EXPECT_EQ(verify_snp_attestation(bad, vcek.get(), milan, k20240101).error().code,
            ErrorCode::SnpBadSignature);
}

TEST(SnpVerify, TamperedVcekFailsChain) {
  auto vcek = cert("snp/bad_virtee_vcek_milan_byte40_flipped.der");
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  ASSERT_TRUE(vcek && milan.ark);
  auto c = verify_vcek_chain(vcek.get(), milan, k20240101);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::CertChainInvalid) << c.error().to_string();
  EXPECT_EQ(verify_snp_attestation(virtee_report(), vcek.get(), milan, k20240101).error().code,
            ErrorCode::CertChainInvalid);
}

TEST(SnpVerify, WrongChipVcekFails) {
  auto r = parse_snp_report(gsg_report());
  auto vcek = cert("snp/virtee_vcek_milan.der");
  ASSERT_TRUE(r && vcek);
  EXPECT_EQ(verify_snp_report_signature(*r, ::X509_get0_pubkey(vcek.get())).error().code,
            ErrorCode::SnpBadSignature);
  EXPECT_EQ(check_vcek_matches_report(vcek.get(), *r).error().code, ErrorCode::SnpVcekMismatch);
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  EXPECT_EQ(verify_snp_attestation(gsg_report(), vcek.get(), milan, k20240101).error().code,
            ErrorCode::SnpVcekMismatch);
}

TEST(SnpVerify, VcekTcbMismatch) {
  // Same chip, REPORTED_TCB byte changed: the VCEK's SPLs no longer match.
  auto vcek = cert("snp/gosevguest_vcek.der");
  Bytes raw = gsg_report();
  raw[0x180] = 3;  // REPORTED_TCB.BOOT_LOADER 2 -> 3
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r && vcek);
  auto m = check_vcek_matches_report(vcek.get(), *r);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::SnpVcekMismatch);
}

TEST(SnpVerify, FlippedSignatureByteFails) {
  auto vcek = cert("snp/gosevguest_vcek.der");
  Bytes raw = gsg_report();
  raw[0x2A0] ^= 0x01;  // R, least significant byte
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r && vcek);
  EXPECT_EQ(verify_snp_report_signature(*r, ::X509_get0_pubkey(vcek.get())).error().code,
            ErrorCode::SnpBadSignature);
}

TEST(SnpVerify, WrongKeyType) {
  auto r = parse_snp_report(gsg_report());
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  ASSERT_TRUE(r && milan.ark);
  EXPECT_EQ(verify_snp_report_signature(*r, ::X509_get0_pubkey(milan.ark.get())).error().code,
            ErrorCode::KeyTypeMismatch);
  EXPECT_EQ(verify_snp_report_signature(*r, nullptr).error().code, ErrorCode::KeyTypeMismatch);
}

TEST(SnpChainTest, TurinChainsToTurinOnly) {
  auto vcek = cert("snp/virtee_vcek_turin.der");
  SnpChain turin = chain("snp/ask_ark_turin.pem");
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  ASSERT_TRUE(vcek && turin.ark && milan.ark);
  auto ok_turin = verify_vcek_chain(vcek.get(), turin, k20250601);
  EXPECT_TRUE(ok_turin) << ok_turin.error().to_string();
  auto bad = verify_vcek_chain(vcek.get(), milan, k20250601);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::CertUntrusted) << bad.error().to_string();
  // Milan VCEK does not chain to Turin either.
  auto milan_vcek = cert("snp/virtee_vcek_milan.der");
  EXPECT_EQ(verify_vcek_chain(milan_vcek.get(), turin, k20240101).error().code,
            ErrorCode::CertUntrusted);
}

TEST(SnpChainTest, ValidityWindow) {
  auto vcek = cert("snp/gosevguest_vcek.der");
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  ASSERT_TRUE(vcek && milan.ark);
  EXPECT_EQ(verify_vcek_chain(vcek.get(), milan, k20500101).error().code, ErrorCode::CertExpired);
  EXPECT_EQ(verify_vcek_chain(vcek.get(), milan, k20210101).error().code,
            ErrorCode::CertNotYetValid);
  EXPECT_EQ(verify_snp_attestation(gsg_report(), vcek.get(), milan, k20500101).error().code,
            ErrorCode::CertExpired);
}

TEST(SnpChainTest, ArkMustBeSelfSignedRoot) {
  auto vcek = cert("snp/gosevguest_vcek.der");
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  ASSERT_TRUE(vcek && milan.ark);
  // The ASK offered as the trust anchor is not a self-signed root.
  EXPECT_EQ(verify_vcek_chain(vcek.get(), milan.ask.get(), milan.ask.get(), k20220924).error().code,
            ErrorCode::CertUntrusted);
  // ASK and ARK swapped in the PEM.
  const std::string pem = test::read_text("snp/ask_ark_milan.pem");
  const std::size_t second = pem.find("-----BEGIN CERTIFICATE-----", 1);
  ASSERT_NE(second, std::string::npos);
  const std::string swapped = pem.substr(second) + "\n" + pem.substr(0, second);
  EXPECT_EQ(parse_snp_chain(to_bytes(swapped)).error().code, ErrorCode::CertChainInvalid);
  // One certificate only.
  EXPECT_EQ(parse_snp_chain(to_bytes(pem.substr(0, second))).error().code,
            ErrorCode::CertMalformed);
  EXPECT_EQ(verify_vcek_chain(nullptr, milan, k20220924).error().code, ErrorCode::InvalidArgument);
}

// --- parser negatives -------------------------------------------------------

TEST(SnpReport, WrongLength) {
  Bytes raw = gsg_report();
  Bytes shorter(raw.begin(), raw.end() - 1);
  EXPECT_EQ(parse_error(shorter), ErrorCode::SnpMalformed);
  Bytes longer = raw;
  longer.push_back(0);
  EXPECT_EQ(parse_error(longer), ErrorCode::SnpMalformed);
  EXPECT_EQ(parse_error({}), ErrorCode::SnpMalformed);
}

TEST(SnpReport, UnknownVersion) {
  for (std::uint32_t v : {0U, 1U, 6U, 0xFFFFFFFFU}) {
    Bytes raw = gsg_report();
    put_le32(raw, 0x000, v);
    EXPECT_EQ(parse_error(raw), ErrorCode::SnpUnsupportedVersion) << v;
  }
}

TEST(SnpReport, WrongSignatureAlgo) {
  for (std::uint32_t a : {0U, 2U, 0x100U}) {
    Bytes raw = gsg_report();
    put_le32(raw, 0x034, a);
    EXPECT_EQ(parse_error(raw), ErrorCode::UnsupportedAlgorithm) << a;
  }
}

// Reserved fields are MBZ in the ABI specification; a non-zero byte in any of
// them is rejected (signed areas and the unsigned signature tail alike).
TEST(SnpReport, ReservedMustBeZero) {
  for (std::size_t off : {0x04CU, 0x04FU, 0x188U, 0x19FU, 0x1EBU, 0x1EFU, 0x1F8U, 0x208U, 0x29FU,
                          0x2A0U + 48U, 0x2E8U + 71U, 0x330U, 0x49FU}) {
    Bytes raw = gsg_report();
    raw[off] = 0x01;
    EXPECT_EQ(parse_error(raw), ErrorCode::SnpMalformed) << std::hex << off;
  }
}

TEST(SnpReport, PolicyAndKeyInfoReservedBits) {
  Bytes raw = gsg_report();
  raw[0x0A] &= static_cast<std::uint8_t>(~0x02);  // POLICY bit 17 (must be one)
  EXPECT_EQ(parse_error(raw), ErrorCode::SnpMalformed);
  raw = gsg_report();
  raw[0x0B] |= 0x04;  // POLICY bit 26 (MBZ)
  EXPECT_EQ(parse_error(raw), ErrorCode::SnpMalformed);
  raw = gsg_report();
  raw[0x0F] |= 0x80;  // POLICY bit 63
  EXPECT_EQ(parse_error(raw), ErrorCode::SnpMalformed);
  raw = gsg_report();
  raw[0x048] = 0x20;  // bit 5 (MBZ)
  EXPECT_EQ(parse_error(raw), ErrorCode::SnpMalformed);
  raw = gsg_report();
  raw[0x048] = 2 << 2;  // SIGNING_KEY 2 (reserved)
  EXPECT_EQ(parse_error(raw), ErrorCode::SnpMalformed);
  raw = gsg_report();
  raw[0x048] = 0x1F;  // AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY 7 (none)
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->author_key_en);
  EXPECT_TRUE(r->mask_chip_key);
  EXPECT_EQ(r->signing_key, SnpSigningKey::None);
  auto vcek = cert("snp/gosevguest_vcek.der");
  SnpChain milan = chain("snp/ask_ark_milan.pem");
  EXPECT_EQ(verify_snp_attestation(raw, vcek.get(), milan, k20220924).error().code,
            ErrorCode::SnpBadSignature);
}

TEST(SnpReport, Version3CpuidAndTurinLayout) {
  Bytes raw = gsg_report();
  put_le32(raw, 0x000, 3);
  raw[0x188] = 0x19;  // family 19h (Milan/Genoa)
  raw[0x189] = 0x01;
  raw[0x18A] = 0x01;
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_TRUE(r->cpuid_fam_id && r->cpuid_mod_id && r->cpuid_step);
  EXPECT_EQ(*r->cpuid_fam_id, 0x19);
  EXPECT_EQ(*r->cpuid_mod_id, 0x01);
  EXPECT_EQ(*r->cpuid_step, 0x01);
  EXPECT_EQ(r->tcb_layout, SnpTcbLayout::MilanGenoa);
  EXPECT_EQ(r->reported_tcb.bootloader, 2);

  raw[0x188] = 0x1A;  // family 1Ah (Turin): FMC, BOOT_LOADER, TEE, SNP, 3 reserved, MICROCODE
  r = parse_snp_report(raw);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tcb_layout, SnpTcbLayout::Turin);
  EXPECT_EQ(r->reported_tcb.fmc, 2);
  EXPECT_EQ(r->reported_tcb.bootloader, 0);
  EXPECT_EQ(r->reported_tcb.snp, 0);
  EXPECT_EQ(r->reported_tcb.microcode, 0x44);
}

TEST(SnpReport, Version2TurinChipId) {
  Bytes raw = gsg_report();
  std::fill(raw.begin() + 0x1A8, raw.begin() + 0x1E0, 0);  // only 8 CHIP_ID bytes
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tcb_layout, SnpTcbLayout::Turin);
}

TEST(SnpReport, Version5MitigationVectors) {
  Bytes raw = gsg_report();
  put_le32(raw, 0x000, 5);
  raw[0x1F8] = 0x05;
  raw[0x200] = 0x07;
  auto r = parse_snp_report(raw);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_TRUE(r->launch_mit_vector && r->current_mit_vector);
  EXPECT_EQ(*r->launch_mit_vector, 5U);
  EXPECT_EQ(*r->current_mit_vector, 7U);
  put_le32(raw, 0x000, 4);  // before version 5 the same bytes are reserved
  EXPECT_EQ(parse_error(raw), ErrorCode::SnpMalformed);
}

TEST(SnpReport, DecodeTcb) {
  const SnpTcb milan = decode_snp_tcb(0x7308000000000003ULL, SnpTcbLayout::MilanGenoa);
  EXPECT_EQ(milan.bootloader, 3);
  EXPECT_EQ(milan.tee, 0);
  EXPECT_EQ(milan.snp, 8);
  EXPECT_EQ(milan.microcode, 0x73);
  EXPECT_EQ(milan.fmc, 0);
  const SnpTcb turin = decode_snp_tcb(0x4800000004030201ULL, SnpTcbLayout::Turin);
  EXPECT_EQ(turin.fmc, 1);
  EXPECT_EQ(turin.bootloader, 2);
  EXPECT_EQ(turin.tee, 3);
  EXPECT_EQ(turin.snp, 4);
  EXPECT_EQ(turin.microcode, 0x48);
}

TEST(SnpReport, ReportDataArgument) {
  auto r = parse_snp_report(gsg_report());
  ASSERT_TRUE(r);
  EXPECT_EQ(verify_snp_report_data(*r, hex("0102030405")).error().code, ErrorCode::InvalidArgument);
}

TEST(SnpReport, Json) {
  auto r = parse_snp_report(gsg_report());
  ASSERT_TRUE(r);
  const nlohmann::json j = snp_report_to_json(*r);
  EXPECT_EQ(j.at("version"), 2);
  EXPECT_EQ(j.at("policy").at("raw"), 0xB0000);
  EXPECT_EQ(j.at("policy").at("debug"), true);
  EXPECT_EQ(j.at("policy").at("smt"), true);
  EXPECT_EQ(j.at("policy").at("migrate_ma"), false);
  EXPECT_EQ(j.at("reported_tcb").at("raw"), 4901323769462652930ULL);
  EXPECT_EQ(j.at("reported_tcb").at("raw_hex"), "0x4405000000000002");
  EXPECT_EQ(j.at("reported_tcb").at("microcode"), 68);
  EXPECT_EQ(j.at("reported_tcb").at("layout"), "milan-genoa");
  EXPECT_EQ(j.at("report_id"), "8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a");
  EXPECT_EQ(j.at("current_minor"), 49);
  EXPECT_EQ(j.at("signing_key"), "vcek");
  EXPECT_EQ(j.at("platform_info").at("smt_en"), true);
  EXPECT_FALSE(j.contains("cpuid_fam_id"));
  EXPECT_EQ(j.at("signature").at("r").get<std::string>().size(), 96U);
}

}  // namespace
}  // namespace atls
