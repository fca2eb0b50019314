#include "src/plugins/tdx/tdx.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/formats/tdx/quote.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include "tests/testlib/fake_configfs.h"
#include "tests/testlib/rp_outcome.h"
#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace atls {
namespace {

using test::hex;
using test::read_data;

std::int64_t unix_day(int y, unsigned m, unsigned d) {
  const std::chrono::sys_days days{std::chrono::year{y} / std::chrono::month{m} /
                                   std::chrono::day{d}};
  return std::chrono::duration_cast<std::chrono::seconds>(days.time_since_epoch()).count();
}

// The vectors (tests/data/tdx/README.md, MANIFEST "tdx/") and the times at
// which they verify.
const std::string kSpr = "gotdx_tdx_prod_quote_SPR_E4.dat";
const std::string kV5 = "gotdx_quote_v5_sample.dat";
const std::string kQvlV4 = "dcapqvl_tdx_quote_v4.dat";
const std::string kQvlV5 = "dcapqvl_tdx_quote_outdated_v5.dat";
const std::string kCos = "gotdx_cos-113-tdx-quote.dat";
const std::int64_t kSprTime = unix_day(2023, 7, 1);

const char* const kSprReportData =
    "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dac"
    "ead6f0c87a6d766c66f6f29f8acb281f1113";
const char* const kSprMrTd =
    "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d721"
    "5cbb";
const char* const kSprRtmr0 =
    "2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593"
    "f32a";
const char* const kSprRtmr1 =
    "2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2ca"
    "cb61";
const char* const kSprRtmr2 =
    "8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4"
    "424e";
const char* const kSprMrSeam =
    "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363"
    "c656";
const std::string kZero48(96, '0');
// A reference section for tests about verification, not measurements.
const nlohmann::json kAnyMeasurement = {{"dangerous_any_measurement", true}};

Bytes quote_file(const std::string& name) {
  return read_data("tdx/" + name);
}

Registry tdx_registry() {
  Registry r;
  r.add_verifier(make_tdx_verifier());
  r.add_appraiser(make_tdx_appraiser());
  return r;
}

Evidence evidence_of(Bytes quote) {
  auto e = evidence_from_records(
      {EvidenceRecord{"", std::string(kMediaTypeTdxQuote), std::move(quote), kIndEvidence}});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

Policy policy_with(const Registry& reg, const nlohmann::json& reference,
                   const nlohmann::json& trust = {{"sgx_root", "intel_sgx_root_ca.pem"}}) {
  nlohmann::json doc = {
      {"schemes",
       {{std::string(kMediaTypeTdxQuote), {{"trust", trust}, {"reference", reference}}}}}};
  auto p = parse_policy(doc.dump(), reg, test::data_path("tdx"));
  EXPECT_TRUE(p) << p.error().to_string();
  return p ? std::move(*p) : Policy{};
}

VerifyContext ctx_with_nonce(Bytes nonce) {
  VerifyContext ctx;
  ctx.expected_nonce = std::move(nonce);
  return ctx;
}

using Outcome = test::RpOutcome;
using test::verify_error;

// Runs verify -> appraise -> check at |at|.
Outcome run(const Evidence& e, const nlohmann::json& reference, VerifyContext ctx,
            std::int64_t at = kSprTime,
            const nlohmann::json& trust = {{"sgx_root", "intel_sgx_root_ca.pem"}}) {
  const Registry reg = tdx_registry();
  const Policy policy = policy_with(reg, reference, trust);
  FixedClock clock(at);
  return test::rp_outcome(internal::RelyingParty(reg, clock, policy).appraise(e, {std::move(ctx)}));
}

std::optional<std::int8_t> claim(const AttestationResult& r, TrustVector::Claim c) {
  return r.submods().at(0).trust_vector.claims[c];
}

Outcome run_spr(const nlohmann::json& reference) {
  return run(evidence_of(quote_file(kSpr)), reference, ctx_with_nonce(hex(kSprReportData)));
}

// --- the valid vectors through the whole pipeline ------------------------------

TEST(TdxPlugin, SprE4Affirming) {
  const nlohmann::json ref = {
      {"mrtd", {kSprMrTd}},    {"rtmr0", kSprRtmr0}, {"rtmr1", kSprRtmr1},
      {"rtmr2", kSprRtmr2},    {"rtmr3", kZero48},   {"mrseam", {kSprMrSeam}},
      {"mrconfigid", kZero48}, {"mrowner", kZero48}, {"mrownerconfig", kZero48}};
  const Outcome o = run_spr(ref);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  const EvidenceClaims& c = o.verified->claims();
  EXPECT_TRUE(c.nonce_verified);
  EXPECT_EQ(c.nonce, hex(kSprReportData));
  EXPECT_TRUE(c.hardware_rooted);
  EXPECT_FALSE(c.issued_at.has_value()) << "a quote carries no time";
  EXPECT_EQ(c.machine_id, "tdx-ppid:089ddfdb9c0359c82a3bc7719239574e");
  EXPECT_EQ(c.claims["quote_version"], 4);
  EXPECT_EQ(c.claims["mr_td"], kSprMrTd);
  EXPECT_EQ(c.claims["rtmr0"], kSprRtmr0);
  EXPECT_EQ(c.claims["rtmr3"], kZero48);
  EXPECT_EQ(c.claims["mr_seam"], kSprMrSeam);
  EXPECT_EQ(c.claims["tee_tcb_svn"], "03000400000000000000000000000000");
  EXPECT_EQ(c.claims["td_attributes"], "0000004000000000");
  EXPECT_EQ(c.claims["td_attributes_flags"]["debug"], false);
  EXPECT_EQ(c.claims["td_attributes_flags"]["pks"], true);
  EXPECT_EQ(c.claims["xfam"], "e71a060000000000");
  EXPECT_EQ(c.claims["report_data"], kSprReportData);
  EXPECT_EQ(c.claims["qe_report"]["isv_svn"], 4);
  EXPECT_EQ(c.claims["pck"]["fmspc"], "50806f000000");
  EXPECT_EQ(c.claims["pck"]["ca_type"], "platform");
  EXPECT_FALSE(c.claims.contains("tee_tcb_svn2"));

  ASSERT_TRUE(o.result) << o.result.error().to_string();
  EXPECT_EQ(o.result->status(), TrustTier::Affirming);
  EXPECT_EQ(o.result->machine_id(), c.machine_id);
  ASSERT_EQ(o.result->submods().size(), 1u);
  EXPECT_EQ(o.result->submods()[0].name, "tdx");
  EXPECT_EQ(o.result->submods()[0].policy_id, "atls:tdx/default");
  EXPECT_TRUE(o.result->submods()[0].findings.empty());
  EXPECT_EQ(claim(*o.result, TrustVector::kInstanceIdentity), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kHardware), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kConfiguration), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kRuntimeOpaque), 2);
  EXPECT_FALSE(claim(*o.result, TrustVector::kFileSystem).has_value());
  EXPECT_TRUE(o.check) << o.check.error().to_string();
}

struct ValidCase {
  std::string file;
  std::int64_t at;
  int version;
};

TEST(TdxPlugin, EveryValidVectorVerifies) {
  const ValidCase cases[] = {
      {kSpr, kSprTime, 4},
      {kV5, unix_day(2026, 2, 3), 5},
      {kQvlV4, unix_day(2025, 7, 1), 4},
      {kQvlV5, unix_day(2026, 3, 1), 5},
      {kCos, unix_day(2025, 1, 1), 4},
  };
  for (const auto& v : cases) {
    SCOPED_TRACE(v.file);
    const Bytes quote = quote_file(v.file);
    auto parsed = parse_tdx_quote(quote);
    ASSERT_TRUE(parsed);
    // The expected nonce is the quote's whole REPORTDATA.
    const Outcome o =
        run(evidence_of(quote), kAnyMeasurement, ctx_with_nonce(parsed->body.report_data), v.at);
    ASSERT_TRUE(o.verified) << o.verified.error().to_string();
    EXPECT_TRUE(o.verified->claims().nonce_verified);
    EXPECT_EQ(o.verified->claims().claims["quote_version"], v.version);
    EXPECT_EQ(o.verified->claims().claims.contains("tee_tcb_svn2"), v.version == 5);
    EXPECT_EQ(o.verified->claims().machine_id.rfind("tdx-ppid:", 0), 0u)
        << o.verified->claims().machine_id;
    // Any TD accepted ("dangerous_any_measurement"): the runtime is
    // unrecognized, so the result is not affirming.
    ASSERT_TRUE(o.result);
    EXPECT_EQ(o.result->status(), TrustTier::Warning);
    EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 33);
    EXPECT_EQ(claim(*o.result, TrustVector::kHardware), 2);
    ASSERT_FALSE(o.check);
    EXPECT_EQ(o.check.error().code, ErrorCode::TierInsufficient);
  }
}

TEST(TdxPlugin, V5SampleFields) {
  const Outcome o =
      run(evidence_of(quote_file(kV5)), kAnyMeasurement, VerifyContext{}, unix_day(2026, 2, 3));
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  const auto& c = o.verified->claims().claims;
  EXPECT_EQ(c["body_type"], 3);
  EXPECT_EQ(c["mr_td"],
            "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f"
            "750c3bc8f876");
  EXPECT_EQ(c["td_attributes_flags"]["sept_ve_disable"], true);
  EXPECT_EQ(c["td_attributes_flags"]["debug"], false);
  EXPECT_EQ(c["qe_report"]["isv_svn"], 7);
  EXPECT_TRUE(c.contains("mr_servicetd"));
  EXPECT_EQ(c["tee_tcb_svn2"].get<std::string>().substr(0, 8), "0d010400");
}

TEST(TdxPlugin, WireFormRoundTrip) {
  const Evidence sent = evidence_of(quote_file(kSpr));
  auto received = evidence_from_cmw(sent.cmw);
  ASSERT_TRUE(received) << received.error().to_string();
  EXPECT_EQ(received->media_type(), kMediaTypeTdxQuote);
  const Outcome o = run(*received, {{"mrtd", kSprMrTd}}, ctx_with_nonce(hex(kSprReportData)));
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.check);
}

TEST(TdxPlugin, WithoutExpectedNonceTheNonceIsOnlyReported) {
  const Outcome o = run(evidence_of(quote_file(kSpr)), kAnyMeasurement, VerifyContext{});
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_FALSE(o.verified->claims().nonce_verified);
  EXPECT_EQ(o.verified->claims().nonce, hex(kSprReportData));
}

TEST(TdxPlugin, TrustAnchorFromContext) {
  // No policy trust section: the root comes from --trust.
  VerifyContext ctx = ctx_with_nonce(hex(kSprReportData));
  ctx.trust_anchors = {read_data("tdx/intel_sgx_root_ca.pem")};
  const Outcome o = run(evidence_of(quote_file(kSpr)), {{"mrtd", kSprMrTd}}, std::move(ctx),
                        kSprTime, nlohmann::json::object());
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.check);
}

// --- nonce ----------------------------------------------------------------------

TEST(TdxPlugin, WrongNonce) {
  const Evidence e = evidence_of(quote_file(kSpr));
  // The source's bad value: the last byte differs (...2213 instead of ...1113).
  Bytes bad = hex(kSprReportData);
  bad[62] = 0x22;
  EXPECT_EQ(verify_error(run(e, kAnyMeasurement, ctx_with_nonce(bad))), ErrorCode::NonceMismatch);
  // A prefix of REPORTDATA: the zero padding differs.
  Bytes prefix = hex(kSprReportData);
  prefix.resize(32);
  EXPECT_EQ(verify_error(run(e, kAnyMeasurement, ctx_with_nonce(prefix))),
            ErrorCode::NonceMismatch);
  EXPECT_EQ(verify_error(run(e, kAnyMeasurement, ctx_with_nonce(Bytes(65, 1)))),
            ErrorCode::NonceMismatch);
  // The COS quote has all-zero REPORTDATA: a short zero nonce matches, others do not.
  const Evidence cos = evidence_of(quote_file(kCos));
  EXPECT_TRUE(
      run(cos, kAnyMeasurement, ctx_with_nonce(Bytes(32, 0)), unix_day(2025, 1, 1)).verified);
  EXPECT_EQ(
      verify_error(run(cos, kAnyMeasurement, ctx_with_nonce(Bytes(32, 1)), unix_day(2025, 1, 1))),
      ErrorCode::NonceMismatch);
}

// --- integrity --------------------------------------------------------------------

TEST(TdxPlugin, NegativeVectors) {
  const std::pair<const char*, ErrorCode> cases[] = {
      {"bad_gotdx_v4_version_byte_0x0.dat", ErrorCode::TdxUnsupportedVersion},
      {"bad_gotdx_v4_signed_data_size_0x278.dat", ErrorCode::TdxMalformed},
      {"bad_gotdx_v4_cert_chain_byte_0x1343.dat", ErrorCode::TdxBadPckChain},
      {"bad_gotdx_v4_root_cert_byte_0x1329.dat", ErrorCode::CertUntrusted},
      {"bad_gotdx_v4_intermediate_cert_byte_0xf5f.dat", ErrorCode::CertChainInvalid},
      {"bad_gotdx_v4_pck_cert_byte_0xb77.dat", ErrorCode::CertChainInvalid},
      {"bad_gotdx_v4_header_byte_0x1e.dat", ErrorCode::TdxBadQuoteSignature},
      {"bad_gotdx_v4_td_quote_body_0x3c.dat", ErrorCode::TdxBadQuoteSignature},
  };
  for (const auto& [file, code] : cases) {
    SCOPED_TRACE(file);
    const Outcome o =
        run(evidence_of(quote_file(file)), kAnyMeasurement, ctx_with_nonce(hex(kSprReportData)));
    EXPECT_EQ(verify_error(o), code) << (o.verified ? "" : o.verified.error().to_string());
  }
}

TEST(TdxPlugin, UntrustedRoot) {
  // A root the quote does not chain to (AMD's Milan ARK).
  EXPECT_EQ(verify_error(run(evidence_of(quote_file(kSpr)), kAnyMeasurement,
                             ctx_with_nonce(hex(kSprReportData)), kSprTime,
                             {{"sgx_root", "../snp/ask_ark_milan.pem"}})),
            ErrorCode::CertUntrusted);
  // No root at all.
  EXPECT_EQ(
      verify_error(run(evidence_of(quote_file(kSpr)), kAnyMeasurement,
                       ctx_with_nonce(hex(kSprReportData)), kSprTime, nlohmann::json::object())),
      ErrorCode::CertUntrusted);
}

TEST(TdxPlugin, ChainTimes) {
  EXPECT_EQ(verify_error(run(evidence_of(quote_file(kSpr)), kAnyMeasurement,
                             ctx_with_nonce(hex(kSprReportData)), unix_day(2053, 7, 1))),
            ErrorCode::CertExpired);
  EXPECT_EQ(verify_error(run(evidence_of(quote_file(kSpr)), kAnyMeasurement,
                             ctx_with_nonce(hex(kSprReportData)), unix_day(2022, 9, 1))),
            ErrorCode::CertNotYetValid);
}

TEST(TdxPlugin, MissingRecordAndRootFile) {
  auto other = evidence_from_records({EvidenceRecord{"", "application/vnd.other", Bytes{1}, 4}});
  ASSERT_TRUE(other);
  const Registry reg = tdx_registry();
  const Verifier* v = reg.verifier_for(kMediaTypeTdxQuote);
  ASSERT_NE(v, nullptr);
  FixedClock clock(kSprTime);
  VerifyContext ctx;
  ctx.clock = &clock;
  EXPECT_EQ(v->verify(*other, ctx).error().code, ErrorCode::UnsupportedMediaType);
  EXPECT_EQ(verify_error(run(evidence_of(quote_file(kSpr)), kAnyMeasurement,
                             ctx_with_nonce(hex(kSprReportData)), kSprTime,
                             {{"sgx_root", "missing.pem"}})),
            ErrorCode::FileNotFound);
}

// --- appraisal ------------------------------------------------------------------

TEST(TdxPlugin, WrongMeasurement) {
  const Outcome o = run_spr({{"mrtd", {std::string(96, 'a')}}});
  ASSERT_TRUE(o.result) << error_name(verify_error(o));
  EXPECT_EQ(o.result->status(), TrustTier::Contraindicated);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 96);
  EXPECT_EQ(claim(*o.result, TrustVector::kConfiguration), 2);
  ASSERT_FALSE(o.check);
  EXPECT_EQ(o.check.error().code, ErrorCode::MeasurementMismatch);

  // Any listed MRTD matches; upper-case hex compares as bytes.
  std::string upper = kSprMrTd;
  for (auto& ch : upper) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  EXPECT_TRUE(run_spr({{"mrtd", {std::string(96, 'a'), upper}}}).check);

  for (const char* key : {"rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrseam"}) {
    SCOPED_TRACE(key);
    // mrseam alone does not identify the TD: it comes with the right MRTD.
    nlohmann::json ref = {{key, std::string(96, 'b')}};
    if (std::string(key) == "mrseam") {
      ref["mrtd"] = kSprMrTd;
    }
    const Outcome r = run_spr(ref);
    ASSERT_TRUE(r.result);
    EXPECT_EQ(claim(*r.result, TrustVector::kExecutables), 96);
    EXPECT_EQ(r.check.error().code, ErrorCode::MeasurementMismatch);
  }
  for (const char* key : {"mrconfigid", "mrowner", "mrownerconfig"}) {
    SCOPED_TRACE(key);
    const Outcome r = run_spr({{key, std::string(96, 'c')}, {"dangerous_any_measurement", true}});
    ASSERT_TRUE(r.result);
    EXPECT_EQ(claim(*r.result, TrustVector::kConfiguration), 96);
    EXPECT_EQ(claim(*r.result, TrustVector::kExecutables), 33);
    EXPECT_EQ(r.check.error().code, ErrorCode::MeasurementMismatch);
  }
}

TEST(TdxPlugin, PolicyId) {
  const Outcome o =
      run_spr({{"policy_id", "example:tdx/1"}, {"allow_debug", false}, {"mrtd", kSprMrTd}});
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->submods()[0].policy_id, "example:tdx/1");
  EXPECT_TRUE(o.check);
}

TEST(TdxPlugin, MachineIdPinning) {
  const Registry reg = tdx_registry();
  nlohmann::json doc = {{"machine_ids", {"tdx-ppid:00000000000000000000000000000000"}},
                        {"schemes",
                         {{std::string(kMediaTypeTdxQuote),
                           {{"trust", {{"sgx_root", "intel_sgx_root_ca.pem"}}},
                            {"reference", {{"mrtd", kSprMrTd}}}}}}}};
  auto p = parse_policy(doc.dump(), reg, test::data_path("tdx"));
  ASSERT_TRUE(p);
  FixedClock clock(kSprTime);
  const internal::RelyingParty rp(reg, clock, *p);
  auto a = rp.appraise(evidence_of(quote_file(kSpr)), {ctx_with_nonce(hex(kSprReportData))});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->verdict.error().code, ErrorCode::MachineIdMismatch);
  p->machine_ids = {"tdx-ppid:089ddfdb9c0359c82a3bc7719239574e"};
  EXPECT_TRUE(rp.accept(evidence_of(quote_file(kSpr)), {ctx_with_nonce(hex(kSprReportData))}));
}

TEST(TdxPlugin, SectionValidation) {
  const Registry reg = tdx_registry();
  const Appraiser* a = reg.appraiser_for(kMediaTypeTdxQuote);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->check_reference_section({{"mrtd", {kSprMrTd}}, {"rtmr0", {kSprRtmr0, kZero48}}}));
  EXPECT_TRUE(a->check_reference_section(kAnyMeasurement));
  const nlohmann::json bad[] = {
      {{"mr_td", {kSprMrTd}}},                                    // unknown key
      {{"mrtd", nlohmann::json::array()}},                        // empty list
      {{"mrtd", {std::string(64, 'a')}}},                         // 32 bytes
      {{"rtmr1", std::string(96, 'g')}},                          // not hex
      {{"rtmr2", 5}},                                             //
      {{"allow_debug", "no"}},                                    //
      {{"policy_id", 1}},                                         //
      nlohmann::json::array(),                                    // not an object
      nlohmann::json::object(),                                   // no reference value for the TD
      {{"mrseam", kSprMrSeam}, {"mrowner", kZero48}},             // none that measures the TD
      {{"allow_debug", true}},                                    //
      {{"mrtd", kSprMrTd}, {"dangerous_any_measurement", true}},  // both
      {{"dangerous_any_measurement", false}},                     //
      {{"dangerous_any_measurement", "yes"}},                     //
  };
  for (const auto& r : bad) {
    auto v = a->check_reference_section(r);
    ASSERT_FALSE(v) << r.dump();
    EXPECT_EQ(v.error().code, ErrorCode::PolicyInvalid) << r.dump();
  }
  const Verifier* v = reg.verifier_for(kMediaTypeTdxQuote);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->check_trust_section({{"sgx_root", "root.pem"}}));
  EXPECT_TRUE(v->check_trust_section({{"sgx_root", {"a.pem", "b.pem"}}}));
  EXPECT_TRUE(v->check_trust_section(nlohmann::json::object()));
  EXPECT_EQ(v->check_trust_section({{"root", "a.pem"}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"sgx_root", 1}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"sgx_root", nlohmann::json::array()}}).error().code,
            ErrorCode::PolicyInvalid);
}

// --- attester against a fake configfs-tsm tree -------------------------------------

struct AttesterFixture {
  test::TempDir tmp;
  test::FakeConfigfs fs;
  Bytes quote = quote_file(kSpr);

  AttesterFixture() {
    fs.provider = "tdx_guest\n";
    // The fake quoting service returns the prepared quote only for the
    // inblob that is its REPORTDATA; otherwise it puts the inblob into
    // REPORTDATA (so the quote signature no longer verifies).
    fs.respond = [this](ByteView in) {
      if (Bytes(in.begin(), in.end()) == hex(kSprReportData)) {
        return quote;
      }
      Bytes other = quote;
      std::copy(in.begin(), in.end(), other.begin() + 48 + 520);
      return other;
    };
  }

  std::unique_ptr<Attester> attester() {
    TdxAttesterConfig cfg;
    cfg.tsm.root = tmp.path();
    cfg.tsm.backend = &fs;
    auto a = make_tdx_attester(cfg);
    EXPECT_TRUE(a) << a.error().to_string();
    return a ? std::move(*a) : nullptr;
  }
};

AttestationRequest request(Bytes nonce) {
  AttestationRequest r;
  r.nonce = std::move(nonce);
  return r;
}

TEST(TdxAttester, RoundTripVerifies) {
  AttesterFixture f;
  auto a = f.attester();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name(), "tdx");
  EXPECT_EQ(a->media_type(), kMediaTypeTdxQuote);
  auto e = a->attest(request(hex(kSprReportData)));
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(f.fs.last_inblob, hex(kSprReportData));
  EXPECT_FALSE(f.fs.last_privlevel.has_value());
  EXPECT_TRUE(std::filesystem::is_empty(f.tmp.path()));

  auto wire = evidence_from_cmw(e->cmw);
  ASSERT_TRUE(wire) << wire.error().to_string();
  ASSERT_EQ(wire->records.size(), 1u);
  EXPECT_EQ(wire->records[0].media_type, kMediaTypeTdxQuote);
  EXPECT_EQ(wire->records[0].ind, kIndEvidence);
  EXPECT_EQ(wire->records[0].value, quote_file(kSpr));
  const Outcome o = run(*wire, {{"mrtd", {kSprMrTd}}}, ctx_with_nonce(hex(kSprReportData)));
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.check);
}

TEST(TdxAttester, ShortNonceIsZeroPadded) {
  AttesterFixture f;
  const Bytes nonce(32, 0xab);
  auto e = f.attester()->attest(request(nonce));
  ASSERT_TRUE(e) << e.error().to_string();
  Bytes padded = nonce;
  padded.resize(64, 0);
  EXPECT_EQ(f.fs.last_inblob, padded);
  auto q = parse_tdx_quote(e->records[0].value);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->body.report_data, padded);
  // The fake put the nonce into a signed quote: the verifier notices.
  EXPECT_EQ(verify_error(run(*e, kAnyMeasurement, ctx_with_nonce(nonce))),
            ErrorCode::TdxBadQuoteSignature);
}

TEST(TdxAttester, Failures) {
  {
    AttesterFixture f;
    auto a = f.attester();
    EXPECT_EQ(a->attest(request(Bytes{})).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(a->attest(request(Bytes(65, 1))).error().code, ErrorCode::InvalidArgument);
    EXPECT_TRUE(f.fs.made.empty());
  }
  {
    AttesterFixture f;
    f.fs.provider = "sev_guest\n";
    EXPECT_EQ(f.attester()->attest(request(hex(kSprReportData))).error().code,
              ErrorCode::AttesterFailure);
  }
  {
    // A quoting service that ignores inblob.
    AttesterFixture f;
    f.fs.respond = [&f](ByteView) { return f.quote; };
    EXPECT_EQ(f.attester()->attest(request(Bytes(16, 7))).error().code, ErrorCode::AttesterFailure);
  }
  {
    AttesterFixture f;
    f.quote.resize(100);
    EXPECT_EQ(f.attester()->attest(request(hex(kSprReportData))).error().code,
              ErrorCode::TdxMalformed);
  }
  {
    AttesterFixture f;
    f.fs.concurrent_writer = true;
    EXPECT_EQ(f.attester()->attest(request(hex(kSprReportData))).error().code,
              ErrorCode::AttesterFailure);
  }
  {
    test::TempDir tmp;
    TdxAttesterConfig cfg;
    cfg.tsm.root = tmp.path() + "/missing";
    auto a = make_tdx_attester(cfg);
    ASSERT_TRUE(a);
    EXPECT_EQ((*a)->attest(request(hex(kSprReportData))).error().code, ErrorCode::FileNotFound);
    cfg.tsm.privlevel = 0;
    EXPECT_EQ(make_tdx_attester(cfg).error().code, ErrorCode::InvalidArgument);
  }
}

// --- quotes signed by the test PCK chain (tests/data/tdx/test_chain) ---------------
//
// No real vector has TD_ATTRIBUTES.DEBUG set or a chosen REPORTDATA, so these
// tests build quotes from the SPR E4 quote's header, body and QE report with
// fresh signatures: a new attestation key signs header || body, and the test
// PCK key (whose certificate carries the SPR PCK's SGX extension) signs the QE
// report that binds the attestation key.

void put_le(Bytes& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

Bytes raw_signature(EVP_PKEY* key, ByteView msg) {
  auto der = ossl::sign(key, ossl::SignatureAlg::EcdsaSha256, msg);
  EXPECT_TRUE(der) << der.error().to_string();
  auto raw = ossl::ecdsa_der_to_raw(der ? *der : Bytes{}, 32);
  EXPECT_TRUE(raw) << raw.error().to_string();
  return raw ? *raw : Bytes{};
}

constexpr std::size_t kTdAttributesOffset = kDcapQuoteHeaderSize + 120;
constexpr std::size_t kReportDataOffset = kDcapQuoteHeaderSize + 520;

struct QuoteFactory {
  TdxQuote base;
  ossl::UniquePtr<EVP_PKEY> pck_key;
  Bytes chain = read_data("tdx/test_chain/chain.test.pem");

  QuoteFactory() {
    auto q = parse_tdx_quote(quote_file(kSpr));
    EXPECT_TRUE(q);
    if (q) {
      base = std::move(*q);
    }
    auto k = ossl::parse_private_key(read_data("tdx/test_chain/pck_key.test.pem"));
    EXPECT_TRUE(k) << k.error().to_string();
    if (k) {
      pck_key = std::move(*k);
    }
  }

  // make returns a v4 quote with |report_data| (zero-padded) and the DEBUG bit
  // as asked; |break_qe_binding| signs a QE report that binds another key.
  // |edit_qe| changes the QE report before it is signed.
  Bytes make(ByteView report_data, bool debug = false, bool break_qe_binding = false,
             const std::function<void(Bytes&)>& edit_qe = {}) const {
    Bytes signed_bytes = base.signed_bytes;
    std::fill(signed_bytes.begin() + kReportDataOffset,
              signed_bytes.begin() + kReportDataOffset + 64, 0);
    std::copy(report_data.begin(), report_data.end(), signed_bytes.begin() + kReportDataOffset);
    if (debug) {
      signed_bytes[kTdAttributesOffset] |= 0x01;
    }
    auto att = ossl::generate_key(ossl::KeyType::EcP256);
    EXPECT_TRUE(att);
    auto xy = ossl::ec_public_xy(att->get());
    EXPECT_TRUE(xy);
    Bytes att_key = xy->x;
    att_key.insert(att_key.end(), xy->y.begin(), xy->y.end());

    Bytes qe_report = base.qe_report_raw;
    if (edit_qe) {
      edit_qe(qe_report);
    }
    Bytes bound = att_key;
    if (break_qe_binding) {
      bound[0] ^= 0x01;
    }
    bound.insert(bound.end(), base.qe_auth_data.begin(), base.qe_auth_data.end());
    auto h = ossl::digest(ossl::HashAlg::Sha256, bound);
    EXPECT_TRUE(h);
    std::fill(qe_report.begin() + 320, qe_report.end(), 0);
    std::copy(h->begin(), h->end(), qe_report.begin() + 320);

    Bytes inner = qe_report;
    const Bytes qe_sig = raw_signature(pck_key.get(), qe_report);
    inner.insert(inner.end(), qe_sig.begin(), qe_sig.end());
    put_le(inner, base.qe_auth_data.size(), 2);
    inner.insert(inner.end(), base.qe_auth_data.begin(), base.qe_auth_data.end());
    put_le(inner, kDcapCertTypePckChain, 2);
    put_le(inner, chain.size(), 4);
    inner.insert(inner.end(), chain.begin(), chain.end());

    Bytes sig_data = raw_signature(att->get(), signed_bytes);
    sig_data.insert(sig_data.end(), att_key.begin(), att_key.end());
    put_le(sig_data, kDcapCertTypeQeReport, 2);
    put_le(sig_data, inner.size(), 4);
    sig_data.insert(sig_data.end(), inner.begin(), inner.end());

    Bytes quote = signed_bytes;
    put_le(quote, sig_data.size(), 4);
    quote.insert(quote.end(), sig_data.begin(), sig_data.end());
    return quote;
  }
};

const nlohmann::json kTestRoot = {{"sgx_root", "test_chain/root.test.pem"}};

TEST(TdxTestChain, BuiltQuoteVerifiesOnlyUnderTheTestRoot) {
  const QuoteFactory f;
  const Bytes nonce(48, 0x5a);
  const Evidence e = evidence_of(f.make(nonce));
  const Outcome o = run(e, {{"mrtd", {kSprMrTd}}}, ctx_with_nonce(nonce), kSprTime, kTestRoot);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_TRUE(o.verified->claims().nonce_verified);
  EXPECT_EQ(o.verified->claims().machine_id, "tdx-ppid:089ddfdb9c0359c82a3bc7719239574e");
  EXPECT_TRUE(o.check) << o.check.error().to_string();
  // Intel's root does not vouch for the test chain.
  EXPECT_EQ(verify_error(run(e, kAnyMeasurement, ctx_with_nonce(nonce))), ErrorCode::CertUntrusted);
  // Both roots trusted: the test chain is accepted.
  EXPECT_TRUE(run(e, kAnyMeasurement, ctx_with_nonce(nonce), kSprTime,
                  {{"sgx_root", {"intel_sgx_root_ca.pem", "test_chain/root.test.pem"}}})
                  .verified);
}

TEST(TdxTestChain, QeReportMustBindTheAttestationKey) {
  const QuoteFactory f;
  const Bytes nonce(32, 1);
  EXPECT_EQ(verify_error(run(evidence_of(f.make(nonce, false, true)), kAnyMeasurement,
                             ctx_with_nonce(nonce), kSprTime, kTestRoot)),
            ErrorCode::TdxQeReportDataMismatch);
}

TEST(TdxTestChain, DebugForbiddenByDefault) {
  const QuoteFactory f;
  const Bytes nonce(32, 2);
  const Evidence e = evidence_of(f.make(nonce, /*debug=*/true));
  const Outcome o = run(e, {{"mrtd", {kSprMrTd}}}, ctx_with_nonce(nonce), kSprTime, kTestRoot);
  ASSERT_TRUE(o.result) << error_name(verify_error(o));
  EXPECT_EQ(o.verified->claims().claims["td_attributes_flags"]["debug"], true);
  EXPECT_EQ(o.result->status(), TrustTier::Contraindicated);
  EXPECT_EQ(claim(*o.result, TrustVector::kConfiguration), 96);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 2);
  ASSERT_FALSE(o.check);
  EXPECT_EQ(o.check.error().code, ErrorCode::DebugEnabled);

  const Outcome explicit_false = run(e, {{"allow_debug", false}, {"mrtd", kSprMrTd}},
                                     ctx_with_nonce(nonce), kSprTime, kTestRoot);
  ASSERT_TRUE(explicit_false.result);
  EXPECT_EQ(explicit_false.check.error().code, ErrorCode::DebugEnabled);

  const Outcome allowed = run(e, {{"allow_debug", true}, {"mrtd", kSprMrTd}}, ctx_with_nonce(nonce),
                              kSprTime, kTestRoot);
  ASSERT_TRUE(allowed.result);
  EXPECT_TRUE(allowed.check);
}

TEST(TdxTestChain, AttesterRoundTripWithFreshNonce) {
  const QuoteFactory f;
  test::TempDir tmp;
  test::FakeConfigfs fs;
  fs.provider = "tdx_guest\n";
  fs.respond = [&f](ByteView in) { return f.make(in); };
  TdxAttesterConfig cfg;
  cfg.tsm.root = tmp.path();
  cfg.tsm.backend = &fs;
  auto a = make_tdx_attester(cfg);
  ASSERT_TRUE(a);
  // A 48-byte binder, as Hash(SPKI || exporter) with SHA-384 would be.
  Bytes binder(48);
  for (std::size_t i = 0; i < binder.size(); ++i) {
    binder[i] = static_cast<std::uint8_t>(i * 7 + 3);
  }
  auto e = (*a)->attest(request(binder));
  ASSERT_TRUE(e) << e.error().to_string();
  auto wire = evidence_from_cmw(e->cmw);
  ASSERT_TRUE(wire);
  const Outcome o = run(*wire, {{"mrtd", {kSprMrTd}}}, ctx_with_nonce(binder), kSprTime, kTestRoot);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  EXPECT_EQ(o.verified->claims().nonce, binder);
  EXPECT_TRUE(o.check);
  Bytes other = binder;
  other[0] ^= 1;
  EXPECT_EQ(verify_error(run(*wire, kAnyMeasurement, ctx_with_nonce(other), kSprTime, kTestRoot)),
            ErrorCode::NonceMismatch);
}

// --- the Quoting Enclave's identity -------------------------------------------------

// The QE Identity collateral that goes with the SPR E4 quote
// (tests/data/tdx/qe_identity/README.md).
const nlohmann::json kSprQeTrust = {{"sgx_root", "intel_sgx_root_ca.pem"},
                                    {"qe_identity", "qe_identity/qe_identity.json"},
                                    {"qe_identity_issuer_chain", "qe_identity/issuer_chain.pem"}};

TEST(TdxQeIdentity, CollateralAcceptsTheSprQuote) {
  const Outcome o = run(evidence_of(quote_file(kSpr)), {{"mrtd", kSprMrTd}},
                        ctx_with_nonce(hex(kSprReportData)), kSprTime, kSprQeTrust);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  const nlohmann::json& qe = o.verified->claims().claims["qe_identity"];
  EXPECT_EQ(qe["source"], "collateral");
  EXPECT_EQ(qe["tcb_status"], "UpToDate");
  EXPECT_EQ(qe["tcb_evaluation_data_number"], 15);
  EXPECT_TRUE(o.check) << o.check.error().to_string();
  // Without collateral: Intel's published TD QE identity.
  const Outcome d = run_spr({{"mrtd", kSprMrTd}});
  ASSERT_TRUE(d.verified);
  EXPECT_EQ(d.verified->claims().claims["qe_identity"]["source"], "intel-td-qe");
}

TEST(TdxQeIdentity, CollateralIsCheckedInTimeAndSignature) {
  const Evidence e = evidence_of(quote_file(kSpr));
  const nlohmann::json ref = {{"mrtd", kSprMrTd}};
  // nextUpdate is 2023-07-08T07:24:59Z; the PCK chain is still valid after it.
  EXPECT_EQ(verify_error(run(e, ref, ctx_with_nonce(hex(kSprReportData)), unix_day(2023, 7, 9),
                             kSprQeTrust)),
            ErrorCode::TdxQeIdentityExpired);
  EXPECT_TRUE(run(e, ref, ctx_with_nonce(hex(kSprReportData)), unix_day(2023, 7, 9),
                  {{"sgx_root", "intel_sgx_root_ca.pem"}})
                  .verified);
  nlohmann::json tampered = kSprQeTrust;
  tampered["qe_identity"] = "qe_identity/bad_signature.json";
  EXPECT_EQ(verify_error(run(e, ref, ctx_with_nonce(hex(kSprReportData)), kSprTime, tampered)),
            ErrorCode::TdxQeIdentityBadSignature);
  tampered["qe_identity"] = "qe_identity/bad_mrsigner.json";
  EXPECT_EQ(verify_error(run(e, ref, ctx_with_nonce(hex(kSprReportData)), kSprTime, tampered)),
            ErrorCode::TdxQeIdentityBadSignature);
  // An issuer chain that does not reach a trusted root.
  tampered = kSprQeTrust;
  tampered["qe_identity_issuer_chain"] = "test_chain/chain.test.pem";
  EXPECT_EQ(verify_error(run(e, ref, ctx_with_nonce(hex(kSprReportData)), kSprTime, tampered)),
            ErrorCode::TdxQeIdentityMalformed);
}

// Quotes from the test PCK chain whose QE report is changed: without
// collateral the verifier compares the QE with Intel's TD QE identity.
TEST(TdxQeIdentity, DefaultIdentityRefusesOtherEnclaves) {
  const QuoteFactory f;
  const Bytes nonce(32, 9);
  const nlohmann::json ref = {{"mrtd", kSprMrTd}};
  const auto verify_with = [&](const std::function<void(Bytes&)>& edit) {
    return verify_error(run(evidence_of(f.make(nonce, false, false, edit)), ref,
                            ctx_with_nonce(nonce), kSprTime, kTestRoot));
  };
  EXPECT_EQ(verify_with({}), ErrorCode::Ok);
  // Another MRSIGNER (@128): an enclave the platform owner signed.
  EXPECT_EQ(verify_with([](Bytes& r) { r[128] ^= 1; }), ErrorCode::TdxQeIdentityMismatch);
  // ISVPRODID 1 (@256): Intel's SGX QE, not the TD QE.
  EXPECT_EQ(verify_with([](Bytes& r) { r[256] = 1; }), ErrorCode::TdxQeIdentityMismatch);
  // ATTRIBUTES.DEBUG (@48, bit 1).
  EXPECT_EQ(verify_with([](Bytes& r) { r[48] |= 0x02; }), ErrorCode::TdxQeDebug);
}

}  // namespace
}  // namespace atls
