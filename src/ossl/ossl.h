#pragma once

// The one place that owns OpenSSL handles. Every *_new / *_dup / get1_*
// result is wrapped in a UniquePtr immediately; no *_free call appears
// outside src/ossl/.

#include <atls/result.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace atls::ossl {

template <class T>
struct Deleter;

template <class T>
using UniquePtr = std::unique_ptr<T, Deleter<T>>;

#define ATLS_OSSL_DELETER(T, fn)                    \
  template <>                                       \
  struct Deleter<T> {                               \
    void operator()(T* p) const noexcept { fn(p); } \
  };

ATLS_OSSL_DELETER(BIO, ::BIO_free_all)
ATLS_OSSL_DELETER(BIGNUM, ::BN_free)
ATLS_OSSL_DELETER(BN_CTX, ::BN_CTX_free)
ATLS_OSSL_DELETER(ECDSA_SIG, ::ECDSA_SIG_free)
ATLS_OSSL_DELETER(EVP_CIPHER_CTX, ::EVP_CIPHER_CTX_free)
ATLS_OSSL_DELETER(EVP_MD_CTX, ::EVP_MD_CTX_free)
ATLS_OSSL_DELETER(EVP_MD, ::EVP_MD_free)
ATLS_OSSL_DELETER(EVP_MAC, ::EVP_MAC_free)
ATLS_OSSL_DELETER(EVP_MAC_CTX, ::EVP_MAC_CTX_free)
ATLS_OSSL_DELETER(EVP_KDF, ::EVP_KDF_free)
ATLS_OSSL_DELETER(EVP_KDF_CTX, ::EVP_KDF_CTX_free)
ATLS_OSSL_DELETER(EVP_PKEY, ::EVP_PKEY_free)
ATLS_OSSL_DELETER(EVP_PKEY_CTX, ::EVP_PKEY_CTX_free)
ATLS_OSSL_DELETER(OSSL_PARAM_BLD, ::OSSL_PARAM_BLD_free)
ATLS_OSSL_DELETER(OSSL_PARAM, ::OSSL_PARAM_free)
ATLS_OSSL_DELETER(X509, ::X509_free)
ATLS_OSSL_DELETER(X509_STORE, ::X509_STORE_free)
ATLS_OSSL_DELETER(X509_STORE_CTX, ::X509_STORE_CTX_free)
ATLS_OSSL_DELETER(X509_CRL, ::X509_CRL_free)
ATLS_OSSL_DELETER(X509_EXTENSION, ::X509_EXTENSION_free)
ATLS_OSSL_DELETER(ASN1_OBJECT, ::ASN1_OBJECT_free)
ATLS_OSSL_DELETER(ASN1_TYPE, ::ASN1_TYPE_free)
ATLS_OSSL_DELETER(ASN1_STRING, ::ASN1_STRING_free)  // also ASN1_OCTET_STRING
ATLS_OSSL_DELETER(OSSL_LIB_CTX, ::OSSL_LIB_CTX_free)

// Stacks of X509 free their elements.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept;
};
using X509Stack = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
X509Stack new_x509_stack();

// up_ref returns a new owning reference to a reference-counted handle.
UniquePtr<EVP_PKEY> up_ref(EVP_PKEY* p);
UniquePtr<X509> up_ref(X509* p);

// drain_errors empties OpenSSL's error queue into one string for
// Error::detail. The queue gives detail, never control flow.
std::string drain_errors();

// failure builds an Error with |code|, |what| and the drained error queue.
Error failure(ErrorCode code, std::string what);

}  // namespace atls::ossl
