// The claims the hardware verifiers report are byte-for-byte those recorded
// in tests/data/claims/ (rendered as JSON with the machine identifier), so
// that work done to make verification cheaper cannot change what an
// appraisal sees. The files were written by the verifiers before that work;
// regenerate them (ATLS_WRITE_GOLDEN=1) only for an intended claims change.

#include <atls/clock.h>
#include <atls/evidence.h>

#include "src/attestation/evidence_cmw.h"
#include "src/ossl/chain_cache.h"
#include "src/plugins/sevsnp/sevsnp.h"
#include "src/plugins/tdx/tdx.h"
#include "src/plugins/tpm2/tpm2.h"
#include "tests/testlib/process.h"
#include "tests/testlib/test_data.h"
#include "tests/testlib/tpm_vectors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace atls {
namespace {

using test::read_data;

constexpr std::int64_t k20220924 = 1664020800;  // the gosevguest VCEK
constexpr std::int64_t k20230701 = 1688169600;  // the TDX SPR E4 vector
constexpr std::int64_t k20240101 = 1704067200;  // the GCE AK chain

std::string render(const EvidenceClaims& c) {
  nlohmann::json j = {{"claims", c.claims},
                      {"machine_id", c.machine_id},
                      {"nonce_verified", c.nonce_verified},
                      {"hardware_rooted", c.hardware_rooted}};
  return j.dump(1) + "\n";
}

// Verifies twice (cold, then with the caches warm) and compares both
// renderings with the golden file.
void check_golden(const Verifier& v, const Evidence& e, std::int64_t at,
                  const std::vector<Bytes>& anchors, const std::vector<Bytes>& certs,
                  const nlohmann::json& trust, const std::string& golden) {
  ossl::chain_cache().clear();
  const std::string path = std::string(ATLS_SOURCE_DIR) + "/tests/data/claims/" + golden;
  for (int round = 0; round < 2; ++round) {
    FixedClock clock(at);
    VerifyContext ctx;
    ctx.clock = &clock;
    ctx.trust = trust;
    ctx.trust_anchors = anchors;
    ctx.certificates = certs;
    auto r = v.verify(e, ctx);
    ASSERT_TRUE(r) << r.error().to_string();
    const std::string text = render(*r);
    if (std::getenv("ATLS_WRITE_GOLDEN") != nullptr) {
      ASSERT_TRUE(test::write_text_file(path, text));
      continue;
    }
    EXPECT_EQ(text, test::read_text_file(path)) << golden << " round " << round;
  }
}

TEST(ClaimsGolden, Tdx) {
  const auto v = make_tdx_verifier();
  if (v == nullptr) {
    GTEST_SKIP() << "no tdx plug-in in this build";
  }
  auto e = evidence_from_records(
      {EvidenceRecord{"", std::string(kMediaTypeTdxQuote),
                      read_data("tdx/gotdx_tdx_prod_quote_SPR_E4.dat"), kIndEvidence}});
  ASSERT_TRUE(e);
  check_golden(*v, *e, k20230701, {read_data("tdx/intel_sgx_root_ca.pem")}, {},
               nlohmann::json::object(), "tdx_spr_e4.json");
}

TEST(ClaimsGolden, GceVtpm) {
  const auto v = make_tpm2_verifier();
  const Evidence e = test::gce_evidence(
      test::GceParts{"gce_cos85_nonce9009", "gce_cos85_nonce9009", "sha256", true});
  check_golden(*v, e, k20240101, {read_data("tpm/gce_tpm_ek_root_1.cer")},
               {read_data("tpm/gce_tpm_ek_intermediate_2.crt")},
               {{"ak_certificate_ekus", {"2.23.133.8.1"}}}, "gce_cos85_nonce9009.json");
}

TEST(ClaimsGolden, SevSnp) {
  const auto v = make_sevsnp_verifier();
  auto e = evidence_from_records(
      {EvidenceRecord{std::string(kSnpReportLabel), std::string(kMediaTypeSnpReport),
                      read_data("snp/gosevguest_attestation.bin"), kIndEvidence},
       EvidenceRecord{std::string(kSnpVcekLabel), std::string(kMediaTypePkixCert),
                      read_data("snp/gosevguest_vcek.der"), kSnpVcekIndicator}});
  ASSERT_TRUE(e);
  check_golden(*v, *e, k20220924, {read_data("snp/ask_ark_milan.pem")}, {},
               nlohmann::json::object(), "snp_gosevguest.json");
}

}  // namespace
}  // namespace atls
