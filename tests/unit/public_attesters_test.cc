// The public attester factories (include/atls/attesters.h).

#include <atls/attesters.h>

#include "src/attestation/evidence_cmw.h"
#include "src/ossl/keys.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

TEST(PublicAttesters, PassportAttesterSendsAnEarForTheKey) {
  const std::string id_file = ::testing::TempDir() + "atls-public-passport-machine-id";
  std::FILE* f = std::fopen(id_file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("fedcba9876543210fedcba9876543210\n", f);
  std::fclose(f);
  SoftwareAttesterOptions so;
  so.machine_id_file = id_file;
  auto software = software_attester(so);
  ASSERT_TRUE(software) << software.error().to_string();
  const std::string software_pem = attester_public_key_pem(**software).value();
  auto ear_key = ossl::generate_key(ossl::KeyType::EcP256).value();
  PassportAttesterOptions options;
  options.evidence_attester = *software;
  options.policy_json =
      nlohmann::json{
          {"required_tier", "warning"},
          {"schemes", {{std::string(kMediaTypeEatCwt), {{"trust", {{"keys", {software_pem}}}}}}}}}
          .dump();
  options.signing_key_pem = ossl::private_key_pem(ear_key.get()).value();
  auto passport = passport_attester(options);
  ASSERT_TRUE(passport) << passport.error().to_string();
  EXPECT_EQ((*passport)->media_type(), kMediaTypeEar);
  AttestationRequest req;
  req.nonce = Bytes(32, 0x5a);
  EXPECT_EQ((*passport)->attest(req).error().code, ErrorCode::InvalidArgument) << "no key to bind";
  req.key_spki = ossl::spki_der(ear_key.get()).value();
  auto e = (*passport)->attest(req);
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_EQ(e->media_type(), kMediaTypeEar);

  PassportAttesterOptions no_evidence = options;
  no_evidence.evidence_attester = nullptr;
  EXPECT_EQ(passport_attester(no_evidence).error().code, ErrorCode::InvalidArgument);
  PassportAttesterOptions bad_policy = options;
  bad_policy.policy_json = R"({"bogus": 1})";
  EXPECT_EQ(passport_attester(bad_policy).error().code, ErrorCode::PolicyInvalid);
  PassportAttesterOptions no_key = options;
  no_key.signing_key_pem.clear();
  EXPECT_EQ(passport_attester(no_key).error().code, ErrorCode::InvalidArgument);
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
