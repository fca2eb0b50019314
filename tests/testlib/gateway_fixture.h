#pragma once

// Gateway tokens in tests (docs/gateway.md): a client appraised by a real
// gateway connection, tokens issued for it, internal servers that take them,
// and one token connection's outcome. Used by tests/unit/gateway_test.cc
// and the security matrix's gateway column.

#include <atls/config.h>
#include <atls/gateway.h>

#include "tests/testlib/tls_harness.h"

#include <optional>
#include <string>
#include <utility>

namespace atls::test::gateway {

// key_of is a gateway key of 32 bytes |v|.
Bytes key_of(std::uint8_t v);

// Appraised is a software client that a gateway appraised over a real
// attested connection (made once per process).
struct Appraised {
  SoftwareAttesterBundle bundle;
  std::optional<AttestationResult> result;
};
const Appraised& appraised();

// issue issues a token for appraised() under |key|.
GatewayToken issue(const GatewayTokenOptions& options = {}, const Bytes& key = key_of(7));

// internal_server takes tokens under |key| (for |audience|), with a policy
// that trusts appraised()'s attester (|policy_options| may pin machines).
Config::Builder internal_server(const Bytes& key = key_of(7), std::string audience = "",
                                const PolicyOptions& policy_options = {});

// token_client connects with |token|.
std::shared_ptr<const Config> token_client(GatewayToken token);

// connect_with runs one connection over a BIO pair: each side's handshake.
std::pair<Result<void>, Result<void>> connect_with(std::shared_ptr<const Config> client,
                                                   std::shared_ptr<const Config> server);

}  // namespace atls::test::gateway
