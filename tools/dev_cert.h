#pragma once

// Throw-away P-256 certificates for the demo, tests and the handshake
// benchmark: a self-signed leaf for "localhost", valid for a day.
// Header-only so the benchmark (which links only the library) can use it.
// Never for production: nothing chains to a real CA.

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
inline Result<DevCert> make_dev_cert(const std::string& common_name = "localhost") {
  ATLS_ASSIGN_OR_RETURN(ossl::UniquePtr<EVP_PKEY> key, ossl::generate_key(ossl::KeyType::EcP256));
  internal::CertificateSpec spec;
  spec.common_name = common_name;
  spec.dns_names = {common_name};
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  spec.not_before = now - 3600;
  spec.not_after = now + 24 * 3600;
  ATLS_ASSIGN_OR_RETURN(ossl::UniquePtr<X509> cert,
                        internal::make_certificate(spec, key.get(), nullptr, nullptr));
  DevCert out;
  ATLS_ASSIGN_OR_RETURN(out.cert_pem, internal::certificate_pem(cert.get()));
  ATLS_ASSIGN_OR_RETURN(out.key_pem, ossl::private_key_pem(key.get()));
  return out;
}

}  // namespace atls::tools
