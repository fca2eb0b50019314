#pragma once

// Throw-away P-256 certificates for `atls demo` and the handshake benchmark:
// a self-signed leaf for "localhost", valid for a day. Not part of the
// library: built into atls_tools_support, which the atls command, the
// benchmarks and the tests link. Never for production: nothing chains to a
// real CA.

#include <atls/result.h>

#include "src/ossl/keys.h"
#include "src/ossl/ossl.h"
#include "src/tls/config.h"

#include <cstdint>
#include <ctime>
#include <string>

namespace atls::tools {

struct DevCert {
  std::string cert_pem;
  std::string key_pem;
};

// make_dev_cert generates a P-256 key and a self-signed certificate for
// |common_name| (also its DNS subjectAltName, so the host check passes),
// with the library's own certificate maker. Fails with CryptoFailure.
Result<DevCert> make_dev_cert(const std::string& common_name = "localhost");

}  // namespace atls::tools
