#pragma once

// The identities of a ClientHello's pre_shared_key extension (RFC 8446
// §4.2.11), as the server's ClientHello callback sees them:
//
//   struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; } PskIdentity;
//   opaque PskBinderEntry<32..255>;
//   struct {
//     PskIdentity identities<7..2^16-1>;
//     PskBinderEntry binders<33..2^16-1>;
//   } OfferedPsks;
//
// libssl checks the binders itself; this reader only finds the identities
// (and that there is one binder per identity).

#include <atls/bytes.h>
#include <atls/result.h>

#include <vector>

namespace atls::gateway {

// parse_offered_psks returns the identities in order (views into |ext|).
// Fails with Truncated, LengthOverflow, TrailingData or GatewayTokenInvalid (an empty
// list, an empty identity, a binder out of bounds, a count mismatch).
Result<std::vector<ByteView>> parse_offered_psks(ByteView ext);

}  // namespace atls::gateway
