#pragma once

// Throw-away P-256 certificates for the demo, tests and the handshake
// benchmark: a self-signed leaf for "localhost", valid for a day.
// Header-only so the benchmark (which links only the library) can use it.
// Never for production: nothing chains to a real CA.

#include <atls/result.h>

#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/ossl.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string>

namespace atls::tools {

struct DevCert {
  std::string cert_pem;
  std::string key_pem;
};

// make_dev_cert generates a P-256 key and a self-signed certificate for
// |common_name| (no extensions: OpenSSL's host check falls back to the
// common name when a certificate has no DNS subjectAltName, so
// "localhost" verifies). Fails with CryptoFailure.
inline Result<DevCert> make_dev_cert(const std::string& common_name = "localhost") {
  ATLS_ASSIGN_OR_RETURN(ossl::UniquePtr<EVP_PKEY> key, ossl::generate_key(ossl::KeyType::EcP256));
  ossl::UniquePtr<X509> cert(::X509_new());
  if (!cert) {
    return ossl::failure(ErrorCode::CryptoFailure, "X509_new");
  }
  ::X509_set_version(cert.get(), 2);
  ossl::UniquePtr<BIGNUM> serial(::BN_new());
  if (!serial || ::BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      ::BN_to_ASN1_INTEGER(serial.get(), ::X509_get_serialNumber(cert.get())) == nullptr) {
    return ossl::failure(ErrorCode::CryptoFailure, "serial number");
  }
  ::X509_gmtime_adj(::X509_getm_notBefore(cert.get()), -3600);
  ::X509_gmtime_adj(::X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_NAME* name = ::X509_get_subject_name(cert.get());  // owned by |cert|
  if (::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0) != 1 ||
      ::X509_set_issuer_name(cert.get(), name) != 1 ||
      ::X509_set_pubkey(cert.get(), key.get()) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "certificate fields");
  }
  if (::X509_sign(cert.get(), key.get(), ::EVP_sha256()) <= 0) {
    return ossl::failure(ErrorCode::CryptoFailure, "X509_sign");
  }
  ossl::UniquePtr<BIO> bio(::BIO_new(::BIO_s_mem()));
  if (!bio || ::PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "PEM_write_bio_X509");
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  if (n <= 0 || p == nullptr) {
    return ossl::failure(ErrorCode::CryptoFailure, "BIO_get_mem_data");
  }
  DevCert out;
  out.cert_pem.assign(p, static_cast<std::size_t>(n));
  ATLS_ASSIGN_OR_RETURN(out.key_pem, ossl::private_key_pem(key.get()));
  return out;
}

}  // namespace atls::tools
