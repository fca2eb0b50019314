#pragma once

// The gateway token's PSK identity (docs/wire-profile.md §3, docs/gateway.md):
//
//   identity  = "atls-tok1" || nonce[12] || AES-256-GCM(K, nonce, aad = "atls-tok1", plaintext)
//   plaintext = struct {
//     uint8  version = 1;
//     uint8  flags;                      // bit 0: single use
//     opaque psk[32];
//     uint64 iat; uint64 exp;            // seconds since the epoch
//     opaque token_id[16];
//     opaque audience<0..2^8-1>;         // the server it is for ("": any holder of K)
//     ResultSummary summary;
//   }
//   ResultSummary = struct {
//     int8   status;                     // AR4SI tier of the client's appraisal
//     uint8  hardware_rooted;
//     uint64 verified_at; uint64 valid_until;
//     opaque media_type<0..2^8-1>;
//     opaque machine_id<0..2^8-1>;
//     Submod submods<1..2^16-1>;
//   }
//   Submod = struct {
//     opaque name<0..2^8-1>; opaque policy_id<0..2^8-1>;
//     uint8  present;                    // bit i: trustworthiness claim i is present
//     int8   claims[8];                  // AR4SI order (TrustVector)
//     opaque finding<0..2^8-1>;          // error name of the first finding ("": none)
//   }
//
// All integers big-endian. The summary discloses the appraisal's verdict,
// not the Evidence's claims (docs/wire-profile.md §4, privacy).

#include <atls/bytes.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include "src/attestation/pipeline.h"
#include "src/ossl/secret.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace atls::gateway {

inline constexpr std::string_view kTokenPrefix = "atls-tok1";
inline constexpr std::uint8_t kTokenVersion = 1;
inline constexpr std::size_t kPskSize = 32;
inline constexpr std::size_t kTokenIdSize = 16;
inline constexpr std::size_t kGatewayKeySize = 32;
// The longest identity open_token reads (a PSK identity is at most 2^16-1).
inline constexpr std::size_t kMaxIdentitySize = 4096;
inline constexpr std::uint8_t kFlagSingleUse = 0x01;

struct TokenContents {
  ossl::SecretBytes psk;  // kPskSize bytes
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  Bytes token_id;  // kTokenIdSize bytes
  bool single_use = false;
  std::string audience;
  // The client's appraisal, without its claims (see above).
  internal::ResultParts summary;
};

// is_token_identity: |identity| starts with kTokenPrefix (it may still be
// forged or malformed).
bool is_token_identity(ByteView identity);

// seal_token writes the identity of |t| under |key| (kGatewayKeySize bytes)
// with |nonce| (12 bytes, fresh for every token). Fails with
// InvalidArgument (sizes, a field longer than its length prefix, no
// submodule, negative times) or CryptoFailure.
Result<Bytes> seal_token(const TokenContents& t, ByteView key, ByteView nonce);

// open_token checks |identity| under |key| and returns what it says. The
// AEAD tag is checked before any field is read. Fails with
// GatewayTokenInvalid (not a token, too long, truncated, a tag that does
// not verify: forged, altered or sealed under another key; an unknown
// version, trailing bytes, a field out of bounds) or InvalidArgument (the
// key size). Expiry and single use are for the caller.
Result<TokenContents> open_token(ByteView identity, ByteView key);

}  // namespace atls::gateway
