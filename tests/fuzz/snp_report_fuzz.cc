// Fuzz target: SEV-SNP ATTESTATION_REPORT parsing, JSON rendering and
// signature verification with a fixed key (the VCEK of the go-sev-guest test
// report in tests/data/snp/gosevguest_vcek.der). Whatever parses must keep the
// signed prefix byte-exact and carry 48-byte signature scalars.

#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/formats/snp/report.h"
#include "src/formats/snp/verify.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
#include <cstdlib>

namespace {

EVP_PKEY* fixed_vcek_key() {
  static const atls::ossl::UniquePtr<EVP_PKEY> key = [] {
    auto x = atls::from_hex(
        "48ec9f362eedee5ea1765939d30ac6c056c8219ade71c585d2e21f773cde430f30b20d6ab817df8e8de1d85cf2"
        "93a385");
    auto y = atls::from_hex(
        "4f08609d7f00f4852ccd83882772abfe82ffcc70fa8a63fb94f532c840f2e7a835607cc725bf125b884ffec904"
        "4e3ef9");
    if (!x || !y) {
      std::abort();
    }
    auto k = atls::ossl::ec_public_from_xy(atls::ossl::KeyType::EcP384, *x, *y);
    if (!k) {
      std::abort();
    }
    return std::move(*k);
  }();
  return key.get();
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_snp_report) {
  auto report = atls::parse_snp_report(data);
  if (!report) {
    return;
  }
  if (data.size() != atls::kSnpReportSize || report->signed_bytes.size() != atls::kSnpSignedSize ||
      !std::equal(report->signed_bytes.begin(), report->signed_bytes.end(), data.begin()) ||
      report->signature_r.size() != 48 || report->signature_s.size() != 48) {
    std::abort();
  }
  (void)atls::json_dump(atls::snp_report_to_json(*report));
  (void)atls::verify_snp_report_signature(*report, fixed_vcek_key());
  (void)atls::verify_snp_report_data(*report, atls::ByteView(report->report_data.data(), 64));
}
