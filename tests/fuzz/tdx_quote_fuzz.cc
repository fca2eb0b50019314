// Fuzz target: TDX quote parsing, JSON rendering, PCK chain parsing and full
// verification against the Intel SGX Root CA (tests/data/tdx/intel_sgx_root_ca.pem)
// at a fixed time (2023-07-01). Whatever parses must keep the signed prefix
// byte-exact and account for every input byte.

#include "src/formats/json/json.h"
#include "src/formats/tdx/quote.h"
#include "src/formats/tdx/verify.h"

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/intel_sgx_root.h"

#include <algorithm>
#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_tdx_quote) {
  auto quote = atls::parse_tdx_quote(data);
  if (!quote) {
    return;
  }
  const atls::Bytes& sb = quote->signed_bytes;
  if (sb.size() > data.size() || !std::equal(sb.begin(), sb.end(), data.begin()) ||
      quote->trailing_bytes > data.size() || quote->signature.size() != 64 ||
      quote->attestation_key.size() != 64 || quote->qe_report_raw.size() != 384) {
    std::abort();
  }
  (void)atls::json_dump(atls::tdx_quote_to_json(*quote));
  auto chain = atls::parse_tdx_pck_chain(*quote);
  if (chain) {
    auto ext = atls::parse_pck_extensions(chain->pck.get());
    if (ext) {
      (void)atls::json_dump(atls::pck_extensions_to_json(*ext));
    }
  }
  atls::DcapVerifyOptions opts;
  opts.at = 1688169600;  // 2023-07-01T00:00:00Z
  opts.trusted_roots = {atls::fuzz::intel_sgx_root()};
  (void)atls::verify_tdx_quote(*quote, opts);
}
