#pragma once

// Ownership of libssl handles. Only src/tls/ and tools include this header:
// the formats and plug-ins never see <openssl/ssl.h>.

#include "src/ossl/ossl.h"

#include <openssl/ssl.h>

namespace atls::ossl {

ATLS_OSSL_DELETER(SSL_CTX, ::SSL_CTX_free)
ATLS_OSSL_DELETER(SSL, ::SSL_free)
ATLS_OSSL_DELETER(SSL_SESSION, ::SSL_SESSION_free)

// up_ref returns a new owning reference to |p|, or nullptr.
inline UniquePtr<SSL_CTX> up_ref(SSL_CTX* p) {
  if (p == nullptr || ::SSL_CTX_up_ref(p) != 1) {
    return nullptr;
  }
  return UniquePtr<SSL_CTX>(p);
}

}  // namespace atls::ossl
