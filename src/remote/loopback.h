#pragma once

// Which hosts count as loopback, for the rule that plain HTTP to or from a
// Verifier is allowed there only (docs/verifier-service.md). The client
// (src/remote/verifier_client.h) and the service (src/service/http_server.h)
// both apply it.

#include <string_view>

namespace atls::remote {

// is_loopback_host reports whether |host| is "localhost" or a loopback
// address: 127.0.0.0/8 or ::1, with or without IPv6 brackets. A name that
// merely starts with "127." (127.example.com) is not.
bool is_loopback_host(std::string_view host);

}  // namespace atls::remote
