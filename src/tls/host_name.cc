#include "src/tls/host_name.h"

#include <openssl/x509v3.h>

#include <arpa/inet.h>

namespace atls::internal {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool certificate_matches_host(X509* cert, const std::string& host) {
  if (host.empty() || cert == nullptr) {
    return false;
  }
  const int rc = is_ip_literal(host)
                     ? ::X509_check_ip_asc(cert, host.c_str(), 0)
                     : ::X509_check_host(cert, host.c_str(), host.size(), 0, nullptr);
  return rc == 1;
}

}  // namespace atls::internal
