#include "src/ossl/ossl.h"

#include "src/ossl/secret.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

namespace atls::ossl {

void X509StackDeleter::operator()(STACK_OF(X509) * s) const noexcept {
  ::sk_X509_pop_free(s, ::X509_free);
}

X509Stack new_x509_stack() {
  return X509Stack(sk_X509_new_null());
}

UniquePtr<EVP_PKEY> up_ref(EVP_PKEY* p) {
  if (p == nullptr || ::EVP_PKEY_up_ref(p) != 1) {
    return nullptr;
  }
  return UniquePtr<EVP_PKEY>(p);
}

UniquePtr<X509> up_ref(X509* p) {
  if (p == nullptr || ::X509_up_ref(p) != 1) {
    return nullptr;
  }
  return UniquePtr<X509>(p);
}

std::string drain_errors() {
  std::string out;
  unsigned long e = 0;
  char buf[256];
  while ((e = ::ERR_get_error()) != 0) {
    ::ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out;
}

Error failure(ErrorCode code, std::string what) {
  std::string q = drain_errors();
  if (!q.empty()) {
    what += " (" + q + ")";
  }
  return Error{code, std::move(what)};
}

}  // namespace atls::ossl

namespace atls::ossl {

void SecretBytes::wipe() noexcept {
  if (!m_bytes.empty()) {
    ::OPENSSL_cleanse(m_bytes.data(), m_bytes.size());
  }
  m_bytes.clear();
  m_bytes.shrink_to_fit();
}

void cleanse(std::string& s) noexcept {
  if (!s.empty()) {
    ::OPENSSL_cleanse(s.data(), s.size());
  }
  s.clear();
}

void cleanse(Bytes& b) noexcept {
  if (!b.empty()) {
    ::OPENSSL_cleanse(b.data(), b.size());
  }
  b.clear();
}

}  // namespace atls::ossl
