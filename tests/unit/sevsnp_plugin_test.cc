#include "src/plugins/sevsnp/sevsnp.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/formats/snp/report.h"

#include "tests/testlib/fake_configfs.h"
#include "tests/testlib/rp_outcome.h"
#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <string>

namespace atls {
namespace {

using test::hex;
using test::read_data;

// Inside the validity of gosevguest_vcek.der (from 2022-09-24T00:55:28Z).
constexpr std::int64_t k20220924 = 1664020800;  // 2022-09-24T12:00:00Z
constexpr std::int64_t k20500101 = 2524608000;  // 2050-01-01T00:00:00Z

// The vector's MEASUREMENT and CHIP_ID (tests/data/snp/README.md, MANIFEST).
const char* const kMeasurement =
    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b"
    "01";
const char* const kChipId =
    "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564e"
    "a4"
    "64cdce40c05f63c9b610c5068b006b5d";

// The binder whose zero-padding is the vector's REPORT_DATA.
Bytes vector_nonce() {
  return hex("0102030405");
}
Bytes gsg_report() {
  return read_data("snp/gosevguest_attestation.bin");
}
Bytes gsg_vcek() {
  return read_data("snp/gosevguest_vcek.der");
}

Registry snp_registry() {
  Registry r;
  r.add_verifier(make_sevsnp_verifier());
  r.add_appraiser(make_sevsnp_appraiser());
  return r;
}

EvidenceRecord report_record(Bytes report) {
  return {std::string(kSnpReportLabel), std::string(kMediaTypeSnpReport), std::move(report),
          kIndEvidence};
}

EvidenceRecord vcek_record(Bytes der) {
  return {std::string(kSnpVcekLabel), std::string(kMediaTypePkixCert), std::move(der),
          kSnpVcekIndicator};
}

Evidence evidence_with_vcek(Bytes report = gsg_report()) {
  auto e = evidence_from_records({report_record(std::move(report)), vcek_record(gsg_vcek())});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

// A policy for the vector: Milan ASK/ARK from tests/data/snp and |reference|.
Policy policy_with(const Registry& reg, const nlohmann::json& reference,
                   const std::string& ask_ark = "ask_ark_milan.pem") {
  nlohmann::json doc = {{"schemes",
                         {{std::string(kMediaTypeSnpReport),
                           {{"trust", {{"ask_ark", ask_ark}}}, {"reference", reference}}}}}};
  auto p = parse_policy(doc.dump(), reg, test::data_path("snp"));
  EXPECT_TRUE(p) << p.error().to_string();
  return p ? std::move(*p) : Policy{};
}

VerifyContext ctx_with_nonce(Bytes nonce = vector_nonce()) {
  VerifyContext ctx;
  ctx.expected_nonce = std::move(nonce);
  return ctx;
}

using Outcome = test::RpOutcome;
using test::verify_error;

// Runs verify -> appraise -> check at |at|.
Outcome run(const Evidence& e, const nlohmann::json& reference,
            VerifyContext ctx = ctx_with_nonce(), std::int64_t at = k20220924,
            const std::string& ask_ark = "ask_ark_milan.pem") {
  const Registry reg = snp_registry();
  const Policy policy = policy_with(reg, reference, ask_ark);
  FixedClock clock(at);
  return test::rp_outcome(internal::RelyingParty(reg, clock, policy).appraise(e, {std::move(ctx)}));
}

const nlohmann::json kGoodReference = {{"measurements", {kMeasurement}}, {"allow_debug", true}};

std::optional<std::int8_t> claim(const AttestationResult& r, TrustVector::Claim c) {
  return r.submods().at(0).trust_vector.claims[c];
}

// --- the real vector through the whole pipeline --------------------------------

TEST(SevSnpPlugin, RealVectorAffirming) {
  const Outcome o = run(evidence_with_vcek(), kGoodReference);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  const EvidenceClaims& c = o.verified->claims();
  EXPECT_TRUE(c.nonce_verified);
  EXPECT_EQ(c.nonce, vector_nonce());
  EXPECT_TRUE(c.hardware_rooted);
  EXPECT_FALSE(c.issued_at.has_value()) << "a report carries no time";
  EXPECT_EQ(c.machine_id, std::string("snp-chip-id:") + kChipId);
  EXPECT_EQ(c.claims["measurement"], kMeasurement);
  EXPECT_EQ(c.claims["policy"]["debug"], true);

  ASSERT_TRUE(o.result) << o.result.error().to_string();
  EXPECT_EQ(o.result->status(), TrustTier::Affirming);
  EXPECT_TRUE(o.result->hardware_rooted());
  EXPECT_EQ(o.result->machine_id(), c.machine_id);
  ASSERT_EQ(o.result->submods().size(), 1u);
  EXPECT_EQ(o.result->submods()[0].name, "sev-snp");
  EXPECT_EQ(o.result->submods()[0].policy_id, "atls:sev-snp/default");
  EXPECT_TRUE(o.result->submods()[0].findings.empty());
  EXPECT_EQ(claim(*o.result, TrustVector::kInstanceIdentity), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kHardware), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kConfiguration), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kRuntimeOpaque), 2);
  EXPECT_FALSE(claim(*o.result, TrustVector::kFileSystem).has_value());
  EXPECT_TRUE(o.check) << o.check.error().to_string();
}

TEST(SevSnpPlugin, WireFormRoundTrip) {
  // The CMW bytes, parsed as a relying party receives them.
  const Evidence sent = evidence_with_vcek();
  auto received = evidence_from_cmw(sent.cmw);
  ASSERT_TRUE(received) << received.error().to_string();
  ASSERT_EQ(received->records.size(), 2u);
  EXPECT_EQ(received->media_type(), kMediaTypeSnpReport);
  const Outcome o = run(*received, kGoodReference);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.check) << o.check.error().to_string();
}

TEST(SevSnpPlugin, WithoutExpectedNonceTheNonceIsOnlyReported) {
  VerifyContext ctx;  // `atls verify` without --nonce
  const Outcome o = run(evidence_with_vcek(), kGoodReference, std::move(ctx));
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_FALSE(o.verified->claims().nonce_verified);
  Bytes padded = vector_nonce();
  padded.resize(64, 0);
  EXPECT_EQ(o.verified->claims().nonce, padded);
}

// Trust anchors without reference values would let any guest of a genuine
// chip pass: such a policy does not load unless it says so explicitly, and
// then the executables claim is "unrecognized runtime", not affirming.
TEST(SevSnpPlugin, NoReferenceValuesIsRefusedUnlessExplicit) {
  const Registry reg = snp_registry();
  for (const nlohmann::json& ref :
       {nlohmann::json::object(), nlohmann::json{{"allow_debug", true}},
        nlohmann::json{{"family_id", std::string(32, '0')}, {"image_id", std::string(32, '0')}}}) {
    nlohmann::json doc = {
        {"schemes",
         {{std::string(kMediaTypeSnpReport),
           {{"trust", {{"ask_ark", "ask_ark_milan.pem"}}}, {"reference", ref}}}}}};
    auto p = parse_policy(doc.dump(), reg, test::data_path("snp"));
    ASSERT_FALSE(p) << ref.dump();
    EXPECT_EQ(p.error().code, ErrorCode::PolicyInvalid);
  }
  const Outcome o =
      run(evidence_with_vcek(), {{"allow_debug", true}, {"dangerous_any_measurement", true}});
  ASSERT_TRUE(o.result) << error_name(verify_error(o));
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 33);
  EXPECT_EQ(o.result->status(), TrustTier::Warning);
  EXPECT_EQ(o.check.error().code, ErrorCode::TierInsufficient);
  // The ID key alone identifies the workload (it signs the launch digest).
  EXPECT_TRUE(snp_registry()
                  .appraiser_for(kMediaTypeSnpReport)
                  ->check_reference_section({{"id_key_digest", std::string(96, '0')}}));
}

// --- nonce --------------------------------------------------------------------

TEST(SevSnpPlugin, WrongNonce) {
  EXPECT_EQ(
      verify_error(run(evidence_with_vcek(), kGoodReference, ctx_with_nonce(hex("0102030406")))),
      ErrorCode::NonceMismatch);
  // The vector's nonce with one more byte: the padding differs.
  EXPECT_EQ(
      verify_error(run(evidence_with_vcek(), kGoodReference, ctx_with_nonce(hex("010203040501")))),
      ErrorCode::NonceMismatch);
  // go-sev-guest's bad value: the right prefix and a trailing 01 at byte 63.
  Bytes trailing = vector_nonce();
  trailing.resize(64, 0);
  trailing[63] = 0x01;
  EXPECT_EQ(verify_error(run(evidence_with_vcek(), kGoodReference, ctx_with_nonce(trailing))),
            ErrorCode::NonceMismatch);
  EXPECT_EQ(verify_error(run(evidence_with_vcek(), kGoodReference, ctx_with_nonce(Bytes(65, 1)))),
            ErrorCode::NonceMismatch);
}

TEST(SevSnpPlugin, FullLengthNonceMatches) {
  Bytes full = vector_nonce();
  full.resize(64, 0);
  const Outcome o = run(evidence_with_vcek(), kGoodReference, ctx_with_nonce(full));
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.verified->claims().nonce_verified);
}

// --- appraisal ------------------------------------------------------------------

TEST(SevSnpPlugin, WrongMeasurement) {
  const nlohmann::json ref = {{"measurements", {std::string(96, 'a')}}, {"allow_debug", true}};
  const Outcome o = run(evidence_with_vcek(), ref);
  ASSERT_TRUE(o.result) << error_name(verify_error(o));
  EXPECT_EQ(o.result->status(), TrustTier::Contraindicated);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 96);
  EXPECT_EQ(claim(*o.result, TrustVector::kConfiguration), 2);
  ASSERT_FALSE(o.check);
  EXPECT_EQ(o.check.error().code, ErrorCode::MeasurementMismatch);
}

TEST(SevSnpPlugin, AnyListedMeasurementMatches) {
  // Upper-case hex in the policy compares as bytes.
  std::string upper = kMeasurement;
  for (auto& ch : upper) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  const nlohmann::json ref = {{"measurements", {std::string(96, 'a'), upper}},
                              {"allow_debug", true}};
  const Outcome o = run(evidence_with_vcek(), ref);
  EXPECT_TRUE(o.check) << (o.check ? "" : o.check.error().to_string());
}

TEST(SevSnpPlugin, DebugPolicyBitRejectedByDefault) {
  const Outcome o = run(evidence_with_vcek(), {{"measurements", {kMeasurement}}});
  ASSERT_TRUE(o.result) << error_name(verify_error(o));
  EXPECT_EQ(claim(*o.result, TrustVector::kConfiguration), 96);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 2);
  ASSERT_FALSE(o.check);
  EXPECT_EQ(o.check.error().code, ErrorCode::DebugEnabled);

  const Outcome explicit_false =
      run(evidence_with_vcek(), {{"measurements", {kMeasurement}}, {"allow_debug", false}});
  ASSERT_TRUE(explicit_false.result);
  EXPECT_EQ(explicit_false.check.error().code, ErrorCode::DebugEnabled);
}

TEST(SevSnpPlugin, DebugAllowed) {
  const Outcome o =
      run(evidence_with_vcek(), {{"measurements", {kMeasurement}}, {"allow_debug", true}});
  EXPECT_TRUE(o.check);
}

TEST(SevSnpPlugin, MinimumTcb) {
  // The vector: bootloader 2, tee 0, snp 5, microcode 68 (all four TCBs).
  nlohmann::json ref = kGoodReference;
  ref["minimum_tcb"] = {{"bootloader", 2}, {"tee", 0}, {"snp", 5}, {"microcode", 68}};
  EXPECT_TRUE(run(evidence_with_vcek(), ref).check);

  ref["minimum_tcb"]["microcode"] = 69;
  const Outcome o = run(evidence_with_vcek(), ref);
  ASSERT_TRUE(o.result) << error_name(verify_error(o));
  EXPECT_EQ(claim(*o.result, TrustVector::kConfiguration), 96);
  ASSERT_FALSE(o.check);
  EXPECT_EQ(o.check.error().code, ErrorCode::TcbTooLow);
  EXPECT_NE(o.check.error().detail.find("microcode 68 < 69"), std::string::npos)
      << o.check.error().detail;

  ref["minimum_tcb"] = {{"snp", 6}};
  EXPECT_EQ(run(evidence_with_vcek(), ref).check.error().code, ErrorCode::TcbTooLow);
  // Milan has no FMC component: a Turin-only minimum fails.
  ref["minimum_tcb"] = {{"fmc", 1}};
  EXPECT_EQ(run(evidence_with_vcek(), ref).check.error().code, ErrorCode::TcbTooLow);
}

TEST(SevSnpPlugin, ExactMatchFields) {
  nlohmann::json ref = kGoodReference;
  ref["host_data"] = std::string(64, '0');
  ref["id_key_digest"] = std::string(96, '0');
  ref["family_id"] = std::string(32, '0');
  ref["image_id"] = std::string(32, '0');
  ref["vmpl"] = 0;
  ref["policy_id"] = "example:snp/1";
  const Outcome good = run(evidence_with_vcek(), ref);
  ASSERT_TRUE(good.result) << error_name(verify_error(good));
  EXPECT_TRUE(good.check);
  EXPECT_EQ(good.result->submods()[0].policy_id, "example:snp/1");

  for (const char* key : {"host_data", "id_key_digest", "family_id", "image_id"}) {
    nlohmann::json bad = ref;
    std::string v = bad[key].get<std::string>();
    v.back() = '1';
    bad[key] = v;
    const Outcome o = run(evidence_with_vcek(), bad);
    ASSERT_TRUE(o.result) << key;
    ASSERT_FALSE(o.check) << key;
    EXPECT_EQ(o.check.error().code, ErrorCode::MeasurementMismatch) << key;
    EXPECT_EQ(o.result->status(), TrustTier::Contraindicated) << key;
  }
}

TEST(SevSnpPlugin, ReferenceSectionValidation) {
  const Registry reg = snp_registry();
  const Appraiser* a = reg.appraiser_for(kMediaTypeSnpReport);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->check_reference_section(nlohmann::json::object()).error().code,
            ErrorCode::PolicyInvalid);
  EXPECT_TRUE(a->check_reference_section(kGoodReference));
  const nlohmann::json bad[] = {
      {{"measurement", {kMeasurement}}},            // unknown key
      {{"measurements", kMeasurement}},             // not a list
      {{"measurements", nlohmann::json::array()}},  // empty
      {{"measurements", {std::string(64, 'a')}}},   // 32 bytes
      {{"measurements", {std::string(96, 'g')}}},   // not hex
      {{"allow_debug", "yes"}},                     //
      {{"minimum_tcb", {{"ucode", 1}}}},            // unknown component
      {{"minimum_tcb", {{"snp", 256}}}},            //
      {{"minimum_tcb", 5}},                         //
      {{"host_data", std::string(62, '0')}},        // 31 bytes
      {{"image_id", 1}},                            //
      {{"vmpl", 4}},                                //
      {{"policy_id", 1}},                           //
  };
  for (const auto& r : bad) {
    auto v = a->check_reference_section(r);
    ASSERT_FALSE(v) << r.dump();
    EXPECT_EQ(v.error().code, ErrorCode::PolicyInvalid) << r.dump();
  }
  const Verifier* v = reg.verifier_for(kMediaTypeSnpReport);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->check_trust_section({{"ask_ark", "a.pem"}, {"vcek", "v.der"}}));
  EXPECT_TRUE(v->check_trust_section({{"ask_ark", {"milan.pem", "genoa.pem"}}}));
  EXPECT_EQ(v->check_trust_section({{"ark", "a.pem"}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"ask_ark", 1}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"vcek", {"a"}}}).error().code, ErrorCode::PolicyInvalid);
}

TEST(SevSnpPlugin, ExamplePolicyParses) {
  const Registry reg = snp_registry();
  auto p =
      load_policy_file(std::string(ATLS_SOURCE_DIR) + "/docs/examples/policy-sev-snp.json", reg);
  ASSERT_TRUE(p) << p.error().to_string();
  ASSERT_NE(p->scheme(std::string(kMediaTypeSnpReport)), nullptr);
}

// --- integrity --------------------------------------------------------------------

TEST(SevSnpPlugin, TamperedReport) {
  Bytes report = gsg_report();
  report[0x90] ^= 0x01;  // MEASUREMENT, inside the signed bytes
  EXPECT_EQ(verify_error(run(evidence_with_vcek(report), kGoodReference)),
            ErrorCode::SnpBadSignature);
  report = gsg_report();
  report[0x2A0] ^= 0x01;  // SIGNATURE R
  EXPECT_EQ(verify_error(run(evidence_with_vcek(report), kGoodReference)),
            ErrorCode::SnpBadSignature);
}

TEST(SevSnpPlugin, UntrustedChain) {
  const Outcome o =
      run(evidence_with_vcek(), kGoodReference, ctx_with_nonce(), k20220924, "ask_ark_turin.pem");
  EXPECT_EQ(verify_error(o), ErrorCode::CertUntrusted);
}

TEST(SevSnpPlugin, ChainExpired) {
  EXPECT_EQ(verify_error(run(evidence_with_vcek(), kGoodReference, ctx_with_nonce(), k20500101)),
            ErrorCode::CertExpired);
}

TEST(SevSnpPlugin, MalformedReport) {
  Bytes report = gsg_report();
  report.pop_back();
  EXPECT_EQ(verify_error(run(evidence_with_vcek(report), kGoodReference)), ErrorCode::SnpMalformed);
  report = gsg_report();
  report.push_back(0);
  EXPECT_EQ(verify_error(run(evidence_with_vcek(report), kGoodReference)), ErrorCode::SnpMalformed);
  EXPECT_EQ(verify_error(run(evidence_with_vcek(Bytes{}), kGoodReference)),
            ErrorCode::SnpMalformed);
}

TEST(SevSnpPlugin, WrongVcek) {
  // A real VCEK of another chip: it does not match CHIP_ID.
  auto e = evidence_from_records(
      {report_record(gsg_report()), vcek_record(read_data("snp/virtee_vcek_milan.der"))});
  ASSERT_TRUE(e);
  EXPECT_EQ(verify_error(run(*e, kGoodReference)), ErrorCode::SnpVcekMismatch);
  auto garbage =
      evidence_from_records({report_record(gsg_report()), vcek_record(Bytes{0x30, 0x00})});
  ASSERT_TRUE(garbage);
  EXPECT_EQ(verify_error(run(*garbage, kGoodReference)), ErrorCode::CertMalformed);
}

TEST(SevSnpPlugin, VcekFromCertOption) {
  auto e = evidence_from_records({report_record(gsg_report())});
  ASSERT_TRUE(e);
  EXPECT_EQ(verify_error(run(*e, kGoodReference)), ErrorCode::CertUntrusted) << "no VCEK anywhere";
  VerifyContext ctx = ctx_with_nonce();
  // --cert with another chip's VCEK first: the matching one is chosen.
  ctx.certificates = {read_data("snp/virtee_vcek_milan.der"), gsg_vcek()};
  const Outcome o = run(*e, kGoodReference, std::move(ctx));
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.check);
}

TEST(SevSnpPlugin, VcekAndAnchorsWithoutPolicy) {
  // `atls verify --cert vcek.der --trust ask_ark_milan.pem`: no policy file.
  auto e = evidence_from_records({report_record(gsg_report())});
  ASSERT_TRUE(e);
  const Registry reg = snp_registry();
  FixedClock clock(k20220924);
  const Policy no_policy;
  const internal::RelyingParty rp(reg, clock, no_policy);
  VerifyContext ctx = ctx_with_nonce();
  ctx.certificates = {gsg_vcek()};
  auto no_anchor = rp.appraise(*e, {ctx});
  ASSERT_FALSE(no_anchor);
  EXPECT_EQ(no_anchor.error().code, ErrorCode::CertUntrusted);
  ctx.trust_anchors = {read_data("snp/ask_ark_turin.pem"), read_data("snp/ask_ark_milan.pem")};
  auto a = rp.appraise(*e, {ctx});
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(claim(a->result, TrustVector::kConfiguration), 96)
      << "debug is rejected without a policy";
}

TEST(SevSnpPlugin, VcekFromPolicyTrustSection) {
  auto e = evidence_from_records({report_record(gsg_report())});
  ASSERT_TRUE(e);
  const Registry reg = snp_registry();
  nlohmann::json doc = {
      {"schemes",
       {{std::string(kMediaTypeSnpReport),
         {{"trust", {{"ask_ark", "ask_ark_milan.pem"}, {"vcek", "gosevguest_vcek.der"}}},
          {"reference", kGoodReference}}}}}};
  auto policy = parse_policy(doc.dump(), reg, test::data_path("snp"));
  ASSERT_TRUE(policy) << policy.error().to_string();
  FixedClock clock(k20220924);
  auto a = internal::RelyingParty(reg, clock, *policy).appraise(*e, {ctx_with_nonce()});
  ASSERT_TRUE(a) << a.error().to_string();
}

TEST(SevSnpPlugin, OtherVectorNeedsItsOwnVcek) {
  // The virtee report with its own VCEK verifies (at 2024); its REPORT_DATA is a full 64 bytes.
  std::string text = test::read_text("snp/virtee_report_milan.hex");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  auto e = evidence_from_records(
      {report_record(hex(text)), vcek_record(read_data("snp/virtee_vcek_milan.der"))});
  ASSERT_TRUE(e);
  VerifyContext ctx = ctx_with_nonce(hex(
      "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a82"
      "93f0f3f8dae7b79fecb3d1cd82bd6a93ebfd"));
  const Outcome o = run(*e,
                        {{"allow_debug", false},
                         {"measurements",
                          {"7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc"
                           "39b2c60bd95b9c480cd81841f"}}},
                        std::move(ctx), 1704067200);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.check) << "policy 0x30000 has debug off";
}

// --- certificate table -----------------------------------------------------------------

Bytes cert_table(const std::vector<std::pair<std::array<std::uint8_t, 16>, Bytes>>& certs,
                 std::size_t pad = 0) {
  const std::size_t header = (certs.size() + 1) * 24;
  Bytes t(header, 0);
  for (std::size_t i = 0; i < certs.size(); ++i) {
    const std::uint32_t off = static_cast<std::uint32_t>(t.size());
    const std::uint32_t len = static_cast<std::uint32_t>(certs[i].second.size() + pad);
    std::copy(certs[i].first.begin(), certs[i].first.end(),
              t.begin() + static_cast<std::ptrdiff_t>(i * 24));
    for (std::size_t k = 0; k < 4; ++k) {
      t[i * 24 + 16 + k] = static_cast<std::uint8_t>(off >> (8 * k));
      t[i * 24 + 20 + k] = static_cast<std::uint8_t>(len >> (8 * k));
    }
    t.insert(t.end(), certs[i].second.begin(), certs[i].second.end());
    t.insert(t.end(), pad, 0);
  }
  return t;
}

// ARK GUID c0b406a4-a803-4952-9743-3fb6014cd0ae.
constexpr std::array<std::uint8_t, 16> kArkGuid = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                                   0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

TEST(SnpCertTable, Parse) {
  const Bytes t = cert_table({{kArkGuid, Bytes{1, 2, 3}}, {kSnpVcekGuid, gsg_vcek()}});
  auto entries = parse_snp_cert_table(t);
  ASSERT_TRUE(entries) << entries.error().to_string();
  ASSERT_EQ(entries->size(), 2u);
  const SnpCertTableEntry* v = snp_cert_table_find(*entries, kSnpVcekGuid);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->data, gsg_vcek());
  EXPECT_EQ(snp_cert_table_find(*entries, std::array<std::uint8_t, 16>{}), nullptr);
  // Only a terminator: no certificates.
  auto empty = parse_snp_cert_table(Bytes(24, 0));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SnpCertTable, Malformed) {
  EXPECT_EQ(parse_snp_cert_table(Bytes{}).error().code, ErrorCode::SnpMalformed);
  EXPECT_EQ(parse_snp_cert_table(Bytes(23, 0)).error().code, ErrorCode::SnpMalformed);
  Bytes t = cert_table({{kSnpVcekGuid, Bytes{1, 2, 3}}});
  // No terminator: cut it off and keep the data right behind the entry.
  Bytes no_term(t.begin(), t.begin() + 24);
  EXPECT_EQ(parse_snp_cert_table(no_term).error().code, ErrorCode::SnpMalformed);
  // Length past the end.
  Bytes long_len = t;
  long_len[20] = 4;
  EXPECT_EQ(parse_snp_cert_table(long_len).error().code, ErrorCode::SnpMalformed);
  // Offset near 2^32 (no wrap-around).
  Bytes far = t;
  far[16] = 0xff;
  far[17] = 0xff;
  far[18] = 0xff;
  far[19] = 0xff;
  EXPECT_EQ(parse_snp_cert_table(far).error().code, ErrorCode::SnpMalformed);
}

// --- attester against a fake configfs-tsm tree -------------------------------------------

struct AttesterFixture {
  test::TempDir tmp;
  test::FakeConfigfs fs;
  Bytes report = gsg_report();

  AttesterFixture() {
    // The fake provider returns the prepared report only for the inblob
    // that matches it (as the firmware would put inblob into REPORT_DATA).
    fs.respond = [this](ByteView in) {
      Bytes padded = vector_nonce();
      padded.resize(64, 0);
      if (Bytes(in.begin(), in.end()) != padded) {
        Bytes other = report;
        std::copy(in.begin(), in.end(), other.begin() + 0x50);
        return other;  // the right REPORT_DATA, but no longer validly signed
      }
      return report;
    };
  }

  std::unique_ptr<Attester> attester(int privlevel = -1, bool include_vcek = true) {
    SevSnpAttesterConfig cfg;
    cfg.tsm.root = tmp.path();
    cfg.tsm.privlevel = privlevel;
    cfg.tsm.backend = &fs;
    cfg.include_vcek = include_vcek;
    auto a = make_sevsnp_attester(cfg);
    EXPECT_TRUE(a) << a.error().to_string();
    return a ? std::move(*a) : nullptr;
  }
};

AttestationRequest request(Bytes nonce = vector_nonce()) {
  AttestationRequest r;
  r.nonce = std::move(nonce);
  return r;
}

TEST(SevSnpAttester, EvidenceWithVcekVerifies) {
  AttesterFixture f;
  f.fs.auxblob = cert_table({{kArkGuid, Bytes{1, 2, 3}}, {kSnpVcekGuid, gsg_vcek()}});
  auto a = f.attester(0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name(), "sev-snp");
  EXPECT_EQ(a->media_type(), kMediaTypeSnpReport);
  auto e = a->attest(request());
  ASSERT_TRUE(e) << e.error().to_string();
  // inblob = nonce zero-padded to 64 bytes; VMPL 0 requested.
  Bytes padded = vector_nonce();
  padded.resize(64, 0);
  EXPECT_EQ(f.fs.last_inblob, padded);
  EXPECT_EQ(f.fs.last_privlevel, std::optional<std::string>("0\n"));
  EXPECT_TRUE(std::filesystem::is_empty(f.tmp.path()));

  // The CMW on the wire: {"report": [type, report, 4], "vcek": [pkix-cert, DER, 2]}.
  auto wire = evidence_from_cmw(e->cmw);
  ASSERT_TRUE(wire) << wire.error().to_string();
  ASSERT_EQ(wire->records.size(), 2u);
  EXPECT_EQ(wire->records[0].label, "report");
  EXPECT_EQ(wire->records[0].media_type, kMediaTypeSnpReport);
  EXPECT_EQ(wire->records[0].ind, kIndEvidence);
  EXPECT_EQ(wire->records[0].value, gsg_report());
  EXPECT_EQ(wire->records[1].label, "vcek");
  EXPECT_EQ(wire->records[1].media_type, kMediaTypePkixCert);
  EXPECT_EQ(wire->records[1].ind, 2u);
  EXPECT_EQ(wire->records[1].value, gsg_vcek());

  const Outcome o = run(*wire, kGoodReference);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.check);
}

TEST(SevSnpAttester, PaddedVcekIsTrimmed) {
  AttesterFixture f;
  f.fs.auxblob = cert_table({{kSnpVcekGuid, gsg_vcek()}}, 100);
  auto e = f.attester()->attest(request());
  ASSERT_TRUE(e) << e.error().to_string();
  ASSERT_NE(e->find_label("vcek"), nullptr);
  EXPECT_EQ(e->find_label("vcek")->value, gsg_vcek());
}

TEST(SevSnpAttester, WithoutVcekASingleRecord) {
  for (const bool with_aux : {false, true}) {
    AttesterFixture f;
    if (with_aux) {
      f.fs.auxblob = cert_table({{kArkGuid, Bytes{1, 2, 3}}});  // no VCEK entry
    }
    auto e = f.attester()->attest(request());
    ASSERT_TRUE(e) << e.error().to_string();
    auto wire = evidence_from_cmw(e->cmw);
    ASSERT_TRUE(wire);
    ASSERT_EQ(wire->records.size(), 1u);
    EXPECT_EQ(wire->records[0].label, "");
    EXPECT_EQ(wire->media_type(), kMediaTypeSnpReport);
    // The verifier then takes the VCEK from --cert.
    VerifyContext ctx = ctx_with_nonce();
    ctx.certificates = {gsg_vcek()};
    EXPECT_TRUE(run(*wire, kGoodReference, std::move(ctx)).check);
  }
  AttesterFixture f;
  f.fs.auxblob = cert_table({{kSnpVcekGuid, gsg_vcek()}});
  auto e = f.attester(-1, /*include_vcek=*/false)->attest(request());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->records.size(), 1u);
  EXPECT_FALSE(f.fs.last_privlevel.has_value());
}

TEST(SevSnpAttester, OtherNonceReachesReportData) {
  // Plumbing only: the fake firmware puts the inblob into REPORT_DATA (so the
  // signature no longer verifies, which the verifier then reports).
  AttesterFixture f;
  f.fs.auxblob = cert_table({{kSnpVcekGuid, gsg_vcek()}});
  const Bytes nonce(32, 0xab);
  auto e = f.attester()->attest(request(nonce));
  ASSERT_TRUE(e) << e.error().to_string();
  Bytes padded = nonce;
  padded.resize(64, 0);
  EXPECT_EQ(f.fs.last_inblob, padded);
  EXPECT_EQ(Bytes(e->records[0].value.begin() + 0x50, e->records[0].value.begin() + 0x90), padded);
  EXPECT_EQ(verify_error(run(*e, kGoodReference, ctx_with_nonce(nonce))),
            ErrorCode::SnpBadSignature);
}

TEST(SevSnpAttester, Failures) {
  {
    AttesterFixture f;
    auto a = f.attester();
    EXPECT_EQ(a->attest(request(Bytes{})).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(a->attest(request(Bytes(65, 1))).error().code, ErrorCode::InvalidArgument);
    EXPECT_TRUE(f.fs.made.empty());
    EXPECT_TRUE(a->attest(request(Bytes(64, 1))));  // exactly 64 is fine
  }
  {
    AttesterFixture f;
    f.fs.provider = "tdx_guest\n";
    EXPECT_EQ(f.attester()->attest(request()).error().code, ErrorCode::AttesterFailure);
  }
  {
    // Firmware that ignores inblob: REPORT_DATA is not what was asked for.
    AttesterFixture f;
    f.fs.respond = [&f](ByteView) { return f.report; };
    EXPECT_EQ(f.attester()->attest(request(hex("0102030406"))).error().code,
              ErrorCode::AttesterFailure);
  }
  {
    AttesterFixture f;
    f.report.resize(100);
    EXPECT_EQ(f.attester()->attest(request()).error().code, ErrorCode::SnpMalformed);
  }
  {
    AttesterFixture f;
    f.fs.auxblob = Bytes(30, 1);  // no terminator
    EXPECT_EQ(f.attester()->attest(request()).error().code, ErrorCode::SnpMalformed);
  }
  {
    AttesterFixture f;
    f.fs.auxblob = cert_table({{kSnpVcekGuid, Bytes{0x30, 0x03, 1, 2, 3}}});
    EXPECT_EQ(f.attester()->attest(request()).error().code, ErrorCode::AttesterFailure);
  }
  {
    test::TempDir tmp;
    SevSnpAttesterConfig cfg;
    cfg.tsm.root = tmp.path() + "/missing";
    auto a = make_sevsnp_attester(cfg);
    ASSERT_TRUE(a);
    EXPECT_EQ((*a)->attest(request()).error().code, ErrorCode::FileNotFound);
    cfg.tsm.privlevel = 4;
    EXPECT_EQ(make_sevsnp_attester(cfg).error().code, ErrorCode::InvalidArgument);
  }
}

}  // namespace
}  // namespace atls
