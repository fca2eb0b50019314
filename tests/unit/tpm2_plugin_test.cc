// The tpm2 plug-in (src/plugins/tpm2): the verifier and appraiser on real
// GCE vTPM quotes and tpm2-tools quotes, and the attester against a private
// swtpm, with interop both ways through tpm2-tools (tpm2_quote -> our
// verifier; our attester -> tpm2_checkquote). The TPM structures' parsers
// are tested in tpm_test.cc.

#include "src/plugins/tpm2/tpm2.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/json/json.h"
#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/tpm.h"
#include "src/formats/tpm/verify.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include "src/tls/config.h"
#include "tests/testlib/rp_outcome.h"
#include "tests/testlib/test_data.h"
#include "tests/testlib/tpm_vectors.h"
#include "tools/swtpm_process.h"

#include <gtest/gtest.h>

#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace atls {
namespace {

using test::field_bytes;
using test::gce;
using test::gce_ak_spki;
using test::gce_evidence;
using test::gce_pcrs;
using test::GceParts;
using test::hex;
using test::kNonce9009;
using test::with_field;

// 2024-01-01T00:00:00Z: inside the validity of the GCE AK chain.
constexpr std::int64_t k20240101 = 1704067200;

Bytes fresh_p256_spki() {
  auto k = ossl::generate_key(ossl::KeyType::EcP256);
  return *ossl::spki_der(k->get());
}

Result<EvidenceClaims> verify_with(const Evidence& e, std::optional<Bytes> nonce,
                                   std::vector<Bytes> anchors, std::vector<Bytes> certs = {},
                                   std::int64_t at = k20240101,
                                   const nlohmann::json& trust = nlohmann::json::object()) {
  FixedClock clock(at);
  VerifyContext ctx;
  ctx.trust = trust;
  ctx.clock = &clock;
  ctx.expected_nonce = std::move(nonce);
  ctx.trust_anchors = std::move(anchors);
  ctx.certificates = std::move(certs);
  return make_tpm2_verifier()->verify(e, ctx);
}

ErrorCode code_of(const Result<EvidenceClaims>& r) {
  return r ? ErrorCode::Ok : r.error().code;
}

// Runs the pipeline (verify -> appraise -> check) with a tpm2 policy.
using Outcome = test::RpOutcome;

Outcome run_pipeline(const Evidence& e, const nlohmann::json& trust,
                     const nlohmann::json& reference, std::optional<Bytes> nonce,
                     std::vector<Bytes> anchors = {}, std::int64_t at = k20240101) {
  Registry reg;
  reg.add_verifier(make_tpm2_verifier());
  reg.add_appraiser(make_tpm2_appraiser());
  nlohmann::json doc = {
      {"schemes",
       {{std::string(kMediaTypeTpmQuote), {{"trust", trust}, {"reference", reference}}}}}};
  auto policy = parse_policy(doc.dump(), reg, test::data_path("tpm"));
  EXPECT_TRUE(policy) << policy.error().to_string();
  if (!policy) {
    return Outcome{};
  }
  FixedClock clock(at);
  internal::Expectation expect;
  expect.context.expected_nonce = std::move(nonce);
  expect.context.trust_anchors = std::move(anchors);
  return test::rp_outcome(
      internal::RelyingParty(reg, clock, *policy).appraise(e, std::move(expect)));
}

std::optional<std::int8_t> claim(const AttestationResult& r, TrustVector::Claim c) {
  return r.submods().at(0).trust_vector.claims[c];
}

// --- the verifier on the GCE vTPM vectors -----------------------------------------

TEST(Tpm2GceVectors, EveryBankVerifiesUnderThePinnedAk) {
  for (const char* bank : {"sha1", "sha256", "sha384"}) {
    auto c = verify_with(gce_evidence("gce_cos85_nonce9009", bank), kNonce9009, {gce_ak_spki()});
    ASSERT_TRUE(c) << bank << ": " << c.error().to_string();
    EXPECT_TRUE(c->nonce_verified);
    EXPECT_TRUE(c->hardware_rooted);
    EXPECT_EQ(c->nonce, kNonce9009);
    EXPECT_EQ(c->claims["ak_trust"], "pinned-key");
    EXPECT_EQ(c->machine_id.rfind("tpm-ak-name:000b", 0), 0U) << c->machine_id;
    EXPECT_EQ(c->machine_id.size(), std::string("tpm-ak-name:").size() + 68);
    EXPECT_EQ(c->claims["pcrs"][bank].size(), 24U);

    auto none = verify_with(gce_evidence("gce_cos85_nononce", bank), Bytes{}, {gce_ak_spki()});
    ASSERT_TRUE(none) << bank << ": " << none.error().to_string();
    EXPECT_TRUE(none->nonce_verified);
  }
}

const nlohmann::json kGceAkEku = {{"ak_certificate_ekus", {"2.23.133.8.1"}}};

TEST(Tpm2GceVectors, AkCertificateChain) {
  const Bytes root = test::read_data("tpm/gce_tpm_ek_root_1.cer");
  const Bytes inter = test::read_data("tpm/gce_tpm_ek_intermediate_2.crt");
  for (const char* dir : {"gce_cos85_nonce9009", "gce_cos85_nononce"}) {
    const Bytes nonce = std::string(dir) == "gce_cos85_nonce9009" ? kNonce9009 : Bytes{};
    for (const char* bank : {"sha1", "sha256", "sha384"}) {
      const Evidence e = gce_evidence(GceParts{dir, dir, bank, true});
      // GCE's AK certificates carry the EK certificate EKU (2.23.133.8.1), not
      // tcg-kp-AIKCertificate: accepted only when the policy says so.
      EXPECT_EQ(code_of(verify_with(e, nonce, {root}, {inter})),
                ErrorCode::TpmAkCertificateProfile);
      auto c = verify_with(e, nonce, {root}, {inter}, k20240101, kGceAkEku);
      ASSERT_TRUE(c) << dir << " " << bank << ": " << c.error().to_string();
      EXPECT_EQ(c->claims["ak_trust"], "certificate");
      // Without the intermediate the AK certificate does not chain.
      EXPECT_EQ(code_of(verify_with(e, nonce, {root}, {}, k20240101, kGceAkEku)),
                ErrorCode::CertUntrusted)
          << dir << bank;
    }
  }
  // The chain through the policy's trust section.
  const Evidence e =
      gce_evidence(GceParts{"gce_cos85_nonce9009", "gce_cos85_nonce9009", "sha256", true});
  const nlohmann::json trust = {{"roots", {"gce_tpm_ek_root_1.cer"}},
                                {"intermediates", {"gce_tpm_ek_intermediate_2.crt"}},
                                {"ak_certificate_ekus", {"2.23.133.8.1"}}};
  Outcome o = run_pipeline(e, trust, {{"dangerous_any_measurement", true}}, kNonce9009);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  ASSERT_TRUE(o.result);
  EXPECT_EQ(claim(*o.result, TrustVector::kHardware), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kInstanceIdentity), 2);
  // Any PCRs accepted: the runtime is unrecognized, so not affirming.
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 33);
  EXPECT_EQ(o.result->status(), TrustTier::Warning);
  EXPECT_EQ(o.check.error().code, ErrorCode::TierInsufficient);
  EXPECT_EQ(o.result->machine_id().rfind("tpm-ak-name:", 0), 0U);
}

TEST(Tpm2GceVectors, CrossCombinationsFail) {
  const std::vector<Bytes> pinned = {gce_ak_spki()};
  EXPECT_EQ(code_of(verify_with(gce_evidence("gce_cos85_nononce"), kNonce9009, pinned)),
            ErrorCode::NonceMismatch);
  EXPECT_EQ(code_of(verify_with(gce_evidence("gce_cos85_nonce9009"), Bytes{}, pinned)),
            ErrorCode::NonceMismatch);
  EXPECT_EQ(code_of(verify_with(gce_evidence("gce_cos85_nonce9009"), Bytes{0x90, 0x10}, pinned)),
            ErrorCode::NonceMismatch);
  for (const char* bank : {"sha1", "sha256", "sha384"}) {
    EXPECT_EQ(code_of(verify_with(
                  gce_evidence(GceParts{"gce_cos85_nonce9009", "gce_cos85_nononce", bank}),
                  kNonce9009, pinned)),
              ErrorCode::TpmBadSignature)
        << bank;
    EXPECT_EQ(code_of(verify_with(
                  gce_evidence(GceParts{"gce_cos85_nononce", "gce_cos85_nonce9009", bank}), Bytes{},
                  pinned)),
              ErrorCode::TpmBadSignature)
        << bank;
  }
}

TEST(Tpm2GceVectors, UntrustedAkAndPcrTampering) {
  const Evidence e = gce_evidence("gce_cos85_nonce9009");
  EXPECT_EQ(code_of(verify_with(e, kNonce9009, {fresh_p256_spki()})), ErrorCode::KeyUntrusted);
  EXPECT_EQ(code_of(verify_with(e, kNonce9009, {})), ErrorCode::KeyUntrusted);

  // One PCR value changed: the recomputed pcrDigest differs.
  TpmPcrValues pcrs = gce_pcrs("gce_cos85_nonce9009", "sha256");
  pcrs.banks[0].values[7][0] ^= 1;
  Tpm2QuoteEvidence ev = *parse_tpm2_quote_evidence(e.records.front().value);
  ev.pcrs = pcrs;
  EvidenceRecord rec{"", std::string(kMediaTypeTpmQuote), encode_tpm2_quote_evidence(ev),
                     kIndEvidence};
  EXPECT_EQ(code_of(verify_with(*evidence_from_records({rec}), kNonce9009, {gce_ak_spki()})),
            ErrorCode::TpmPcrDigestMismatch);
  // One PCR missing: the selection differs.
  ev.pcrs = gce_pcrs("gce_cos85_nonce9009", "sha256");
  ev.pcrs.banks[0].values.erase(23);
  rec.value = encode_tpm2_quote_evidence(ev);
  EXPECT_EQ(code_of(verify_with(*evidence_from_records({rec}), kNonce9009, {gce_ak_spki()})),
            ErrorCode::TpmPcrSelectionMismatch);
  // Another bank's values.
  ev.pcrs = gce_pcrs("gce_cos85_nonce9009", "sha1");
  rec.value = encode_tpm2_quote_evidence(ev);
  EXPECT_EQ(code_of(verify_with(*evidence_from_records({rec}), kNonce9009, {gce_ak_spki()})),
            ErrorCode::TpmPcrSelectionMismatch);
  // Truncated attest inside the map.
  Bytes attest = field_bytes(e, "attest");
  attest.pop_back();
  EXPECT_EQ(code_of(verify_with(with_field(e, "attest", CborValue::bytes(attest)), kNonce9009,
                                {gce_ak_spki()})),
            ErrorCode::TpmMalformed);
}

TEST(Tpm2GceVectors, AppraisalAgainstReferencePcrs) {
  const Evidence e = gce_evidence("gce_cos85_nonce9009");
  const TpmPcrValues pcrs = gce_pcrs("gce_cos85_nonce9009", "sha256");
  const std::string pcr0 = to_hex(pcrs.banks[0].values.at(0));
  const std::string pcr4 = to_hex(pcrs.banks[0].values.at(4));
  const auto quote = parse_tpm_attest(field_bytes(e, "attest"));
  const std::string digest = to_hex(quote->quote->pcr_digest);

  Outcome good =
      run_pipeline(e, nlohmann::json::object(),
                   {{"pcrs", {{"sha256", {{"0", pcr0}, {"4", {std::string(64, '0'), pcr4}}}}}},
                    {"pcr_digests", {digest}},
                    {"policy_id", "test/gce"}},
                   kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(good.result) << (good.verified ? good.result.error().to_string()
                                             : good.verified.error().to_string());
  EXPECT_EQ(claim(*good.result, TrustVector::kExecutables), 2);
  EXPECT_EQ(claim(*good.result, TrustVector::kConfiguration), 2);
  EXPECT_EQ(claim(*good.result, TrustVector::kHardware), 2);
  EXPECT_EQ(good.result->submods().at(0).policy_id, "test/gce");
  EXPECT_TRUE(good.check) << good.check.error().to_string();

  Bytes wrong = pcrs.banks[0].values.at(0);
  wrong[0] ^= 1;
  Outcome bad =
      run_pipeline(e, nlohmann::json::object(), {{"pcrs", {{"sha256", {{"0", to_hex(wrong)}}}}}},
                   kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(bad.result);
  EXPECT_EQ(claim(*bad.result, TrustVector::kExecutables), 96);
  ASSERT_FALSE(bad.check);
  EXPECT_EQ(bad.check.error().code, ErrorCode::MeasurementMismatch);
  EXPECT_EQ(bad.result->submods().at(0).findings.at(0).code, ErrorCode::MeasurementMismatch);

  // A PCR the quote does not cover is a mismatch too.
  Outcome other_bank = run_pipeline(e, nlohmann::json::object(),
                                    {{"pcrs", {{"sha1", {{"0", std::string(40, '0')}}}}}},
                                    kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(other_bank.result);
  EXPECT_EQ(claim(*other_bank.result, TrustVector::kExecutables), 96);
  Outcome bad_digest =
      run_pipeline(e, nlohmann::json::object(), {{"pcr_digests", {std::string(64, '0')}}},
                   kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(bad_digest.result);
  EXPECT_EQ(bad_digest.check.error().code, ErrorCode::MeasurementMismatch);
}

TEST(Tpm2Policy, SectionValidation) {
  auto v = make_tpm2_verifier();
  auto a = make_tpm2_appraiser();
  EXPECT_TRUE(v->check_trust_section({{"ak_keys", {"a.pem"}}, {"roots", {"r.pem"}}}));
  EXPECT_EQ(v->check_trust_section({{"keys", {"a.pem"}}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"roots", "r.pem"}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_TRUE(a->check_reference_section({{"pcrs", {{"sha256", {{"0", std::string(64, 'a')}}}}}}));
  EXPECT_EQ(a->check_reference_section({{"pcrs", {{"sha256", {{"0", "abcd"}}}}}}).error().code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(
      a->check_reference_section({{"pcrs", {{"md5", nlohmann::json::object()}}}}).error().code,
      ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"pcrs", {{"sha1", {{"x", std::string(40, 'a')}}}}}})
                .error()
                .code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"pcrs", {{"sha1", {{"32", std::string(40, 'a')}}}}}})
                .error()
                .code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"pcr_digests", {"zz"}}}).error().code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"measurements", {}}}).error().code,
            ErrorCode::PolicyInvalid);
  // Trust anchors but no reference PCRs: refused unless said explicitly.
  EXPECT_EQ(a->check_reference_section(nlohmann::json::object()).error().code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"policy_id", "x"}}).error().code,
            ErrorCode::PolicyInvalid);
  EXPECT_TRUE(a->check_reference_section({{"dangerous_any_measurement", true}}));
  EXPECT_TRUE(v->check_trust_section({{"ak_names", {"000b" + std::string(64, 'a')}}}));
  EXPECT_TRUE(v->check_trust_section({{"ak_certificate_ekus", {"2.23.133.8.1"}}}));
  EXPECT_EQ(v->check_trust_section({{"ak_names", {"zz"}}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"ak_names", "000b"}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"ak_certificate_ekus", nlohmann::json::array()}}).error().code,
            ErrorCode::PolicyInvalid);
}

// --- what binds the AK ---------------------------------------------------------------

// The GCE AK public area with one object attribute changed (TPMA_OBJECT is
// the big-endian UINT32 at offset 4 of TPMT_PUBLIC): fixedTPM (bit 1) cleared.
// The key, restricted and sign are unchanged, so only the Name tells it apart.
Evidence gce_with_forged_attributes() {
  const Evidence e = gce_evidence("gce_cos85_nonce9009");
  Bytes pub = field_bytes(e, "ak_pub");
  pub[7] ^= 0x02;
  return with_field(e, "ak_pub", CborValue::bytes(pub));
}

std::string gce_ak_name() {
  auto pub =
      parse_tpm_public(test::read_data(gce("gce_cos85_nonce9009", "ak_pub.tpmt_public.bin")));
  return to_hex(*tpm_object_name(*pub));
}

TEST(Tpm2KeyTrust, PinnedNameBindsTheAttributes) {
  const Evidence e = gce_evidence("gce_cos85_nonce9009");
  const nlohmann::json by_name = {{"ak_names", {gce_ak_name()}}};
  auto c = verify_with(e, kNonce9009, {}, {}, k20240101, by_name);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->claims["ak_trust"], "pinned-name");
  EXPECT_EQ(c->claims["ak_name"], gce_ak_name());
  // The same key with other attributes has another Name.
  const Evidence forged = gce_with_forged_attributes();
  EXPECT_EQ(code_of(verify_with(forged, kNonce9009, {}, {}, k20240101, by_name)),
            ErrorCode::KeyUntrusted);
  // A pinned public key cannot tell (docs/evidence-profiles.md, "tpm2").
  EXPECT_EQ(code_of(verify_with(forged, kNonce9009, {gce_ak_spki()})), ErrorCode::Ok);
  // tpm2-tools' ak.pub (TPM2B_PUBLIC) as a --trust anchor pins by Name.
  const Evidence tools = *evidence_from_tpm2_tools(
      test::read_data("tpm/tools_ecc/msg"), test::read_data("tpm/tools_ecc/sig"),
      test::read_data("tpm/tools_ecc/pcrs"), test::read_data("tpm/tools_ecc/ak.pub"));
  auto t = verify_with(tools, std::nullopt, {test::read_data("tpm/tools_ecc/ak.pub")});
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->claims["ak_trust"], "pinned-name");
  EXPECT_EQ(code_of(verify_with(e, kNonce9009, {test::read_data("tpm/tools_ecc/ak.pub")})),
            ErrorCode::KeyUntrusted);
}

// An AK certificate for the GCE AK key under a fresh CA, with |eku| (dotted
// OID; empty: no extended key usage extension).
struct AkCertCase {
  ossl::UniquePtr<EVP_PKEY> ca_key = *ossl::generate_key(ossl::KeyType::EcP256);
  ossl::UniquePtr<X509> ca;
  Bytes ca_pem;

  AkCertCase() {
    internal::CertificateSpec spec{"Test AK CA", {}, {}, true, 0, 4102444800};
    ca = *internal::make_certificate(spec, ca_key.get(), nullptr, nullptr);
    ca_pem = to_bytes(*internal::certificate_pem(ca.get()));
  }

  Bytes cert_for(EVP_PKEY* key, const char* eku) const {
    internal::CertificateSpec spec{"AK", {}, {}, false, 0, 4102444800};
    auto cert = *internal::make_certificate(spec, key, ca.get(), ca_key.get());
    if (*eku != '\0') {
      X509_EXTENSION* ext = ::X509V3_EXT_conf_nid(nullptr, nullptr, NID_ext_key_usage, eku);
      EXPECT_NE(ext, nullptr);
      ::X509_add_ext(cert.get(), ext, -1);
      ::X509_EXTENSION_free(ext);
      EXPECT_GT(::X509_sign(cert.get(), ca_key.get(), ::EVP_sha256()), 0);
    }
    return *ossl::cert_der(cert.get());
  }
};

TEST(Tpm2KeyTrust, AkCertificatesMustBeAkCertificates) {
  const AkCertCase ca;
  const Evidence e = gce_evidence("gce_cos85_nonce9009");
  auto ak = ossl::parse_public_key(test::read_data(gce("gce_cos85_nonce9009", "ak_cert.der")));
  ASSERT_TRUE(ak);
  auto with_cert = [&](const char* eku) {
    return verify_with(e, kNonce9009, {ca.ca_pem}, {ca.cert_for(ak->get(), eku)});
  };
  auto good = with_cert("2.23.133.8.3");
  ASSERT_TRUE(good) << good.error().to_string();
  EXPECT_EQ(good->claims["ak_trust"], "certificate");
  EXPECT_EQ(code_of(with_cert("")), ErrorCode::TpmAkCertificateProfile);
  EXPECT_EQ(code_of(with_cert("serverAuth")), ErrorCode::TpmAkCertificateProfile);
  EXPECT_EQ(code_of(with_cert("serverAuth,2.23.133.8.3")), ErrorCode::Ok);
  // An AK certificate for another key vouches for nothing.
  auto other = ossl::generate_key(ossl::KeyType::EcP256);
  EXPECT_EQ(
      code_of(verify_with(e, kNonce9009, {ca.ca_pem}, {ca.cert_for(other->get(), "2.23.133.8.3")})),
      ErrorCode::KeyUntrusted);
  // Without ak_pub the certificate's key is tried; the profile still applies.
  const Evidence no_pub =
      gce_evidence(GceParts{"gce_cos85_nonce9009", "gce_cos85_nonce9009", "sha256", false, false});
  EXPECT_EQ(code_of(verify_with(no_pub, kNonce9009, {ca.ca_pem},
                                {ca.cert_for(ak->get(), "2.23.133.8.3")})),
            ErrorCode::Ok);
  EXPECT_EQ(code_of(verify_with(no_pub, kNonce9009, {ca.ca_pem}, {ca.cert_for(ak->get(), "")})),
            ErrorCode::TpmAkCertificateProfile);
}

// --- tpm2-tools files (committed vectors) -------------------------------------------

TEST(Tpm2ToolsFiles, CommittedQuotesVerify) {
  const Bytes nonce = hex("00112233445566778899aabbccddeeff");
  for (const char* dir : {"tpm/tools_ecc", "tpm/tools_rsapss"}) {
    const std::string d = dir;
    auto e = evidence_from_tpm2_tools(test::read_data(d + "/msg"), test::read_data(d + "/sig"),
                                      test::read_data(d + "/pcrs"), test::read_data(d + "/ak.pub"));
    ASSERT_TRUE(e) << e.error().to_string();
    auto c = verify_with(*e, nonce, {test::read_data(d + "/ak.pem")});
    ASSERT_TRUE(c) << dir << ": " << c.error().to_string();
    EXPECT_EQ(c->claims["pcrs"]["sha1"].size(), 2U);
    EXPECT_EQ(c->claims["pcrs"]["sha256"].size(), 4U);
    // Without ak.pub the pinned key alone identifies the AK.
    auto bare = evidence_from_tpm2_tools(test::read_data(d + "/msg"), test::read_data(d + "/sig"),
                                         test::read_data(d + "/pcrs"));
    ASSERT_TRUE(bare);
    auto c2 = verify_with(*bare, nonce, {test::read_data(d + "/ak.pem")});
    ASSERT_TRUE(c2) << c2.error().to_string();
    EXPECT_EQ(c2->machine_id.rfind("tpm-ak-spki-sha256:", 0), 0U);
    EXPECT_EQ(code_of(verify_with(*bare, nonce, {fresh_p256_spki()})), ErrorCode::TpmBadSignature);
    // The export gives back the tools' files.
    auto files = export_tpm2_tools_files(*e);
    ASSERT_TRUE(files);
    EXPECT_EQ(files->msg, test::read_data(d + "/msg"));
    EXPECT_EQ(files->sig, test::read_data(d + "/sig"));
    EXPECT_EQ(files->pcrs, test::read_data(d + "/pcrs"));
    EXPECT_EQ(files->hash, "sha256");
    EXPECT_EQ(files->qualifying_data, nonce);
  }
  EXPECT_EQ(evidence_from_tpm2_tools(Bytes{1, 2}, Bytes{}, Bytes{}).error().code,
            ErrorCode::TpmMalformed);
}

// --- the attester against swtpm ----------------------------------------------------

bool have_tools() {
  return std::system("command -v tpm2_quote >/dev/null 2>&1") == 0;
}

class Tpm2Swtpm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (tools::SwtpmProcess::available()) {
      auto tpm = tools::SwtpmProcess::start();
      if (tpm) {
        s_tpm = std::move(*tpm);
      } else {
        s_error = tpm.error().detail;
      }
    } else {
      s_error = "swtpm is not installed";
    }
  }
  static void TearDownTestSuite() { s_tpm.reset(); }

  void SetUp() override {
    if (!tools::SwtpmProcess::available()) {
      GTEST_SKIP() << s_error;
    }
    ASSERT_NE(s_tpm, nullptr) << s_error;
  }

  static std::unique_ptr<Attester> attester(std::vector<std::uint32_t> pcrs = {0, 1, 2, 3, 4, 5, 6,
                                                                               7, 8, 9, 16}) {
    Tpm2AttesterConfig config;
    config.tcti = s_tpm->tcti();
    config.pcrs = std::move(pcrs);
    auto a = make_tpm2_attester(config);
    EXPECT_TRUE(a) << a.error().to_string();
    return a ? std::move(*a) : nullptr;
  }

  static Evidence attest(Attester& a, const Bytes& nonce) {
    AttestationRequest req;
    req.nonce = nonce;
    auto e = a.attest(req);
    EXPECT_TRUE(e) << e.error().to_string();
    return e ? std::move(*e) : Evidence{};
  }

  // Runs |cmd| in |dir| against the swtpm; returns its exit status and
  // prints its output on failure.
  static int tools(const std::string& dir, const std::string& cmd) {
    const std::string full = "cd '" + dir + "' && { export TPM2TOOLS_TCTI='" + s_tpm->tcti() +
                             "'; " + cmd + "; } >>tools.log 2>&1";
    const int rc = std::system(full.c_str());
    if (rc != 0) {
      std::ifstream log(dir + "/tools.log");
      ADD_FAILURE() << "command failed (" << rc << "): " << cmd << "\n" << log.rdbuf();
    }
    return rc;
  }

  static std::unique_ptr<tools::SwtpmProcess> s_tpm;
  static std::string s_error;
};

std::unique_ptr<tools::SwtpmProcess> Tpm2Swtpm::s_tpm;
std::string Tpm2Swtpm::s_error;

// A scratch directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/atls-tpm-test-XXXXXX";
    m_path = ::mkdtemp(tmpl) != nullptr ? tmpl : "";
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::string& path() const { return m_path; }
  void write(const std::string& name, ByteView data) const {
    std::ofstream out(m_path + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
  }

 private:
  std::string m_path;
};

TEST_F(Tpm2Swtpm, HappyPathAttestVerifyAppraise) {
  auto a = attester();
  ASSERT_NE(a, nullptr);
  const Bytes nonce(32, 0x5a);
  const Evidence e = attest(*a, nonce);
  ASSERT_EQ(e.media_type(), kMediaTypeTpmQuote);
  auto pem = tpm2_attester_ak_pem(*a);
  ASSERT_TRUE(pem);

  auto c = verify_with(e, nonce, {to_bytes(*pem)});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->nonce_verified);
  EXPECT_EQ(c->claims["signature_alg"], "ecdsa");
  EXPECT_EQ(c->claims["pcrs"]["sha256"].size(), 11U);
  auto pub = parse_tpm_public(*tpm2_attester_ak_public(*a));
  ASSERT_TRUE(pub);
  EXPECT_EQ(c->machine_id, "tpm-ak-name:" + to_hex(*tpm_object_name(*pub)));
  EXPECT_EQ(pub->type, kTpmAlgEcc);
  EXPECT_EQ(pub->object_attributes & 0x00070072U, 0x00050072U);

  // swtpm has no firmware: PCR 0 is all zeros.
  const nlohmann::json ref = {{"pcrs", {{"sha256", {{"0", std::string(64, '0')}}}}}};
  Outcome o = run_pipeline(e, nlohmann::json::object(), ref, nonce, {to_bytes(*pem)});
  ASSERT_TRUE(o.result) << (o.verified ? o.result.error().to_string()
                                       : o.verified.error().to_string());
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kHardware), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kInstanceIdentity), 2);
  EXPECT_EQ(o.result->status(), TrustTier::Affirming);
  EXPECT_TRUE(o.check);

  // The CMW wire form round-trips.
  auto wire = evidence_from_cmw(e.cmw);
  ASSERT_TRUE(wire);
  EXPECT_TRUE(verify_with(*wire, nonce, {to_bytes(*pem)}));
}

TEST_F(Tpm2Swtpm, PersistentAkIsReusedAndNoncesUpTo64BytesGoInWhole) {
  Bytes first;
  {
    auto a = attester();
    ASSERT_NE(a, nullptr);
    first = *tpm2_attester_ak_public(*a);
  }
  auto a = attester({7});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*tpm2_attester_ak_public(*a), first);
  const std::string pem = *tpm2_attester_ak_pem(*a);
  for (const std::size_t n : {0U, 1U, 32U, 33U, 48U, 64U, 65U, 100U}) {
    const Bytes nonce(n, 0xa5);
    const Evidence e = attest(*a, nonce);
    auto c = verify_with(e, nonce, {to_bytes(pem)});
    ASSERT_TRUE(c) << n << ": " << c.error().to_string();
    auto attest_bytes = parse_tpm_attest(field_bytes(e, "attest"));
    EXPECT_EQ(attest_bytes->extra_data, *tpm_qualifying_data(nonce)) << n;
  }
  AttestationRequest huge;
  huge.nonce.assign(2000, 1);
  EXPECT_EQ(a->attest(huge).error().code, ErrorCode::InvalidArgument);
}

TEST_F(Tpm2Swtpm, NegativeCases) {
  auto a = attester();
  ASSERT_NE(a, nullptr);
  const Bytes nonce(32, 0x11);
  const Evidence e = attest(*a, nonce);
  const Bytes pem = to_bytes(*tpm2_attester_ak_pem(*a));

  // Wrong nonce.
  EXPECT_EQ(code_of(verify_with(e, Bytes(32, 0x12), {pem})), ErrorCode::NonceMismatch);
  // Tampered signature (last byte of s).
  Bytes sig = field_bytes(e, "signature");
  sig.back() ^= 1;
  EXPECT_EQ(code_of(verify_with(with_field(e, "signature", CborValue::bytes(sig)), nonce, {pem})),
            ErrorCode::TpmBadSignature);
  // Tampered attest (a byte of clockInfo).
  Bytes att = field_bytes(e, "attest");
  att[50] ^= 1;
  EXPECT_EQ(code_of(verify_with(with_field(e, "attest", CborValue::bytes(att)), nonce, {pem})),
            ErrorCode::TpmBadSignature);
  // Untrusted AK.
  EXPECT_EQ(code_of(verify_with(e, nonce, {fresh_p256_spki()})), ErrorCode::KeyUntrusted);
  // ak_pub swapped for another (trusted) key: the signature no longer verifies.
  Bytes gce_pub = test::read_data(gce("gce_cos85_nonce9009", "ak_pub.tpmt_public.bin"));
  EXPECT_EQ(code_of(verify_with(with_field(e, "ak_pub", CborValue::bytes(gce_pub)), nonce,
                                {gce_ak_spki()})),
            ErrorCode::TpmBadSignature);
  // Wrong PCR reference value.
  const nlohmann::json ref = {{"pcrs", {{"sha256", {{"0", std::string(64, 'f')}}}}}};
  Outcome o = run_pipeline(e, nlohmann::json::object(), ref, nonce, {pem});
  ASSERT_TRUE(o.result);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 96);
  EXPECT_EQ(o.check.error().code, ErrorCode::MeasurementMismatch);
  // Truncated and oversize inputs.
  Bytes short_attest = field_bytes(e, "attest");
  short_attest.resize(short_attest.size() - 3);
  EXPECT_EQ(
      code_of(verify_with(with_field(e, "attest", CborValue::bytes(short_attest)), nonce, {pem})),
      ErrorCode::TpmMalformed);
  Bytes long_sig = field_bytes(e, "signature");
  long_sig.resize(long_sig.size() + 4096, 0);
  EXPECT_EQ(
      code_of(verify_with(with_field(e, "signature", CborValue::bytes(long_sig)), nonce, {pem})),
      ErrorCode::TpmMalformed);
  Bytes long_pub = *tpm2_attester_ak_public(*a);
  long_pub.push_back(0);
  EXPECT_EQ(code_of(verify_with(with_field(e, "ak_pub", CborValue::bytes(long_pub)), nonce, {pem})),
            ErrorCode::TpmMalformed);
}

TEST_F(Tpm2Swtpm, ConcurrentAttestsShareOneContext) {
  auto a = attester({0, 1});
  ASSERT_NE(a, nullptr);
  const Bytes pem = to_bytes(*tpm2_attester_ak_pem(*a));
  std::vector<Result<Evidence>> results(4, Error{ErrorCode::Internal, "not run"});
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      AttestationRequest req;
      req.nonce = Bytes(32, static_cast<std::uint8_t>(i));
      results[i] = a->attest(req);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().to_string();
    EXPECT_TRUE(verify_with(*results[i], Bytes(32, static_cast<std::uint8_t>(i)), {pem})) << i;
  }
}

TEST_F(Tpm2Swtpm, BadConfigurations) {
  Tpm2AttesterConfig config;
  config.tcti = s_tpm->tcti();
  config.pcrs = {24};
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::InvalidArgument);
  config.pcrs = {};
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::InvalidArgument);
  config.pcrs = {0};
  config.ak_handle = 0x80000001;
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::InvalidArgument);
  config.ak_handle = 0x81010002;
  config.tcti = "swtpm:host=127.0.0.1,port=1";
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::TpmUnavailable);
  config.tcti = s_tpm->tcti();
  config.reconnect_interval = std::chrono::milliseconds(-1);
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::InvalidArgument);
}

// (a) tpm2_quote (tpm2-tools) -> evidence_from_tpm2_tools -> our verifier.
TEST_F(Tpm2Swtpm, InteropToolsQuoteVerifiesWithOurVerifier) {
  if (!have_tools()) {
    GTEST_SKIP() << "tpm2-tools not installed";
  }
  TempDir dir;
  const std::string& d = dir.path();
  const char* flush = " && tpm2_flushcontext -t && tpm2_flushcontext -s";
  ASSERT_EQ(tools(d, std::string("tpm2_createprimary -C o -g sha256 -G ecc -c prim.ctx") + flush),
            0);
  ASSERT_EQ(tools(d, std::string(
                         "tpm2_create -C prim.ctx -G ecc256:ecdsa-sha256:null -a "
                         "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' "
                         "-u ak.pub -r ak.priv") +
                         flush),
            0);
  ASSERT_EQ(tools(d, std::string("tpm2_load -C prim.ctx -u ak.pub -r ak.priv -c ak.ctx") + flush),
            0);
  ASSERT_EQ(tools(d, std::string("tpm2_readpublic -c ak.ctx -f pem -o ak.pem -n ak.name") + flush),
            0);
  const std::string nonce_hex = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
  ASSERT_EQ(tools(d, "tpm2_quote -c ak.ctx -l sha256:0,1,2 -q " + nonce_hex +
                         " -m msg -s sig -o pcrs -g sha256" + flush),
            0);
  const auto rd = [&](const char* f) { return test::read_file(d + "/" + f); };
  auto e = evidence_from_tpm2_tools(rd("msg"), rd("sig"), rd("pcrs"), rd("ak.pub"));
  ASSERT_TRUE(e) << e.error().to_string();
  auto c = verify_with(*e, hex(nonce_hex), {rd("ak.pem")});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->nonce_verified);
  EXPECT_EQ(c->claims["pcrs"]["sha256"].size(), 3U);
  // Our AK Name equals the one tpm2_readpublic reports.
  EXPECT_EQ(c->machine_id, "tpm-ak-name:" + to_hex(rd("ak.name")));
  EXPECT_EQ(code_of(verify_with(*e, Bytes(32, 0), {rd("ak.pem")})), ErrorCode::NonceMismatch);
}

// (b) our attester -> export_tpm2_tools_files -> tpm2_checkquote.
TEST_F(Tpm2Swtpm, InteropOurQuoteVerifiesWithTpm2Checkquote) {
  if (!have_tools()) {
    GTEST_SKIP() << "tpm2-tools not installed";
  }
  Evidence e;
  {
    auto a = attester({0, 1, 2, 3, 10, 16});
    ASSERT_NE(a, nullptr);
    e = attest(*a, Bytes(32, 0x42));
  }  // the attester's connection is closed before the tools run
  auto files = export_tpm2_tools_files(e);
  ASSERT_TRUE(files) << files.error().to_string();
  TempDir dir;
  dir.write("msg", files->msg);
  dir.write("sig", files->sig);
  dir.write("pcrs", files->pcrs);
  dir.write("ak.pem", to_bytes(files->ak_pem));
  EXPECT_EQ(tools(dir.path(), "tpm2_checkquote -u ak.pem -m msg -s sig -f pcrs -g " + files->hash +
                                  " -q " + to_hex(files->qualifying_data)),
            0);
  // tpm2_checkquote rejects a changed PCR value and a wrong nonce.
  Bytes pcrs = files->pcrs;
  pcrs[140 + 2 + 5] ^= 1;  // first value, sixth byte
  dir.write("bad_pcrs", pcrs);
  const std::string base =
      "cd '" + dir.path() + "' && tpm2_checkquote -u ak.pem -m msg -s sig -g sha256 ";
  EXPECT_NE(
      std::system(
          (base + "-f bad_pcrs -q " + to_hex(files->qualifying_data) + " >/dev/null 2>&1").c_str()),
      0);
  EXPECT_NE(std::system((base + "-f pcrs -q " + std::string(64, '0') + " >/dev/null 2>&1").c_str()),
            0);
}

}  // namespace
}  // namespace atls
