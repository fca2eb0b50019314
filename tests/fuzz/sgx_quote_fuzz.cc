// Fuzz target: SGX quote (version 3) parsing, JSON rendering and full
// verification against the Intel SGX Root CA at a fixed time (2025-01-01,
// inside every seed's PCK validity). Whatever parses must keep the signed
// prefix byte-exact (header and body, 432 bytes) and account for every field.

#include "src/formats/json/json.h"
#include "src/formats/sgx/quote.h"

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/intel_sgx_root.h"

#include <algorithm>
#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_sgx_quote) {
  auto quote = atls::parse_sgx_quote(data);
  if (!quote) {
    return;
  }
  const atls::Bytes& sb = quote->signed_bytes;
  if (sb.size() != 48 + atls::kSgxReportBodySize || sb.size() > data.size() ||
      !std::equal(sb.begin(), sb.end(), data.begin()) || quote->trailing_bytes > data.size() ||
      quote->signature.size() != 64 || quote->attestation_key.size() != 64 ||
      quote->qe_report_raw.size() != 384 || quote->body.report_data.size() != 64) {
    std::abort();
  }
  (void)atls::json_dump(atls::sgx_quote_to_json(*quote));
  atls::DcapVerifyOptions opts;
  opts.at = 1735689600;  // 2025-01-01T00:00:00Z
  opts.trusted_roots = {atls::fuzz::intel_sgx_root()};
  (void)atls::verify_sgx_quote(*quote, opts);
}
