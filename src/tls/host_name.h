#pragma once

// Host names as a client checks them (RFC 6125 through OpenSSL): a DNS name
// or an IPv4/IPv6 literal, which is matched against iPAddress entries and is
// never sent as SNI (RFC 6066 §3).

#include <openssl/types.h>

#include <string>

namespace atls::internal {

// is_ip_literal reports whether |host| is an IPv4 or IPv6 address literal.
bool is_ip_literal(const std::string& host);

// certificate_matches_host reports whether |cert| (borrowed) is for |host|:
// its subjectAltName names |host| (an IP literal: as an iPAddress). An
// empty |host| matches nothing.
bool certificate_matches_host(X509* cert, const std::string& host);

}  // namespace atls::internal
