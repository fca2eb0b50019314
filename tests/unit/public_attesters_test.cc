// The public attester factories (include/atls/attesters.h).

#include <atls/attesters.h>

#include "src/attestation/evidence_cmw.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace atls {
namespace {

TEST(PublicAttesters, SoftwareAttesterProducesEvidenceForTheNonce) {
  const std::string id_file = ::testing::TempDir() + "atls-public-attesters-machine-id";
  std::FILE* f = std::fopen(id_file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("0123456789abcdef0123456789abcdef\n", f);
  std::fclose(f);
  SoftwareAttesterOptions options;
  options.machine_id_file = id_file;
  auto a = software_attester(options);
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ((*a)->name(), "software");
  auto pem = attester_public_key_pem(**a);
  ASSERT_TRUE(pem) << pem.error().to_string();
  EXPECT_TRUE(pem->starts_with("-----BEGIN PUBLIC KEY-----"));
  AttestationRequest req;
  req.nonce = Bytes(32, 0x5a);
  auto e = (*a)->attest(req);
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(e->media_type(), kMediaTypeEatCwt);
  std::remove(id_file.c_str());
}

TEST(PublicAttesters, BadOptionsFailWithSpecificCodes) {
  SoftwareAttesterOptions missing;
  missing.measured_files = {"/nonexistent/atls-measured-file"};
  EXPECT_EQ(software_attester(missing).error().code, ErrorCode::FileNotFound);
  SoftwareAttesterOptions bad_key;
  bad_key.signing_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  EXPECT_EQ(software_attester(bad_key).error().code, ErrorCode::KeyInvalid);
  TeeAttesterOptions vmpl;
  vmpl.vmpl = 4;
  EXPECT_EQ(sev_snp_attester(vmpl).error().code, ErrorCode::InvalidArgument);
  vmpl.vmpl = 1;
  EXPECT_EQ(tdx_attester(vmpl).error().code, ErrorCode::InvalidArgument);
}

TEST(PublicAttesters, TeeAttestersTouchNothingUntilUsedAndHaveNoKeyToPin) {
  TeeAttesterOptions options;
  options.tsm_path = "/nonexistent/tsm/report";
  auto snp = sev_snp_attester(options);
  ASSERT_TRUE(snp) << snp.error().to_string();
  auto tdx = tdx_attester(options);
  ASSERT_TRUE(tdx) << tdx.error().to_string();
  EXPECT_EQ(attester_public_key_pem(**snp).error().code, ErrorCode::InvalidArgument);
  AttestationRequest req;
  req.nonce = Bytes(32, 1);
  auto e = (*tdx)->attest(req);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::FileNotFound) << e.error().to_string();
}

}  // namespace
}  // namespace atls
