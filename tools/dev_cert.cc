#include "tools/dev_cert.h"

namespace atls::tools {

Result<DevCert> make_dev_cert(const std::string& common_name) {
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
