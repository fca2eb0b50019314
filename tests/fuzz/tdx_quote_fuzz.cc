// Fuzz target: TDX quote parsing, JSON rendering, PCK chain parsing and full
// verification against the Intel SGX Root CA (tests/data/tdx/intel_sgx_root_ca.pem)
// at a fixed time (2023-07-01). Whatever parses must keep the signed prefix
// byte-exact and account for every input byte.

#include "src/formats/json/json.h"
#include "src/formats/tdx/quote.h"
#include "src/formats/tdx/verify.h"
#include "src/ossl/x509.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace {

constexpr std::string_view kIntelRootPem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw\n"
    "aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv\n"
    "cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ\n"
    "BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG\n"
    "A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0\n"
    "aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT\n"
    "AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7\n"
    "1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB\n"
    "uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ\n"
    "MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50\n"
    "ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV\n"
    "Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI\n"
    "KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg\n"
    "AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=\n"
    "-----END CERTIFICATE-----\n";

X509* intel_root() {
  static const atls::ossl::UniquePtr<X509> root = [] {
    auto r = atls::ossl::parse_certificate(atls::ByteView(
        reinterpret_cast<const std::uint8_t*>(kIntelRootPem.data()), kIntelRootPem.size()));
    if (!r) {
      std::abort();
    }
    return std::move(*r);
  }();
  return root.get();
}

}  // namespace

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
  atls::TdxVerifyOptions opts;
  opts.at = 1688169600;  // 2023-07-01T00:00:00Z
  opts.trusted_roots = {intel_root()};
  (void)atls::verify_tdx_quote(*quote, opts);
}
