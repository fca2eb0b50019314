// Fuzz target: QE Identity collateral parsing (src/formats/tdx/qe_identity.h),
// its rendering, its validity window and its comparison with a fixed QE report
// (Intel's TD QE values). Whatever parses must have located its signed bytes
// inside the input, as an object, and a 64-byte signature.

#include "src/formats/json/json.h"
#include "src/formats/tdx/qe_identity.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_qe_identity) {
  auto id = atls::parse_qe_identity(data);
  if (!id) {
    return;
  }
  const atls::Bytes& sb = id->signed_bytes;
  if (sb.size() < 2 || sb.front() != '{' || sb.back() != '}' || id->signature.size() != 64 ||
      std::search(data.begin(), data.end(), sb.begin(), sb.end()) == data.end() ||
      id->tcb_levels.empty()) {
    std::abort();
  }
  (void)atls::json_dump(atls::qe_identity_to_json(*id));
  (void)atls::check_qe_identity_time(*id, 1688169600);  // 2023-07-01T00:00:00Z
  atls::SgxReportBody qe;
  qe.attributes = atls::Bytes{0x15, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0};
  qe.mr_signer = atls::Bytes(32, 0xdc);
  qe.isv_prod_id = 2;
  qe.isv_svn = 4;
  (void)atls::match_qe_identity(*id, qe);
}
