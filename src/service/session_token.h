#pragma once

// The Verifier service's self-authenticating session id
// (docs/verifier-service.md, "Stateless"). The id carries everything the
// service needs to finish the session, under a MAC with a key that every
// instance of a deployment shares, so that any instance finishes any session
// and none stores anything:
//
//   id  = base64url(body ‖ tag)          (no padding)
//   body = version (u8, 1) ‖ binding (u8) ‖ iat (u64 BE) ‖ exp (u64 BE)
//          ‖ nonce length (u8) ‖ nonce ‖ akpub length (u16 BE) ‖ akpub
//   tag  = HMAC-SHA256(session key, "atls verifier session v1" ‖ 0x00 ‖ body)

#include <atls/bytes.h>
#include <atls/result.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace atls::service {

// SessionBinding is how the Evidence's nonce relates to the session nonce
// (src/remote/api.h: binding=nonce|key|tls). The values are wire values.
enum class SessionBinding : std::uint8_t {
  Nonce = 0x00,
  Key = 0x01,
  Tls = 0x02,
};

// binding_name returns "nonce", "key" or "tls".
std::string_view binding_name(SessionBinding b);

// Session is what a session id says.
struct Session {
  SessionBinding binding = SessionBinding::Nonce;
  std::int64_t iat = 0;  // when the session was opened (seconds since the epoch)
  std::int64_t exp = 0;  // when it expires
  Bytes nonce;           // 8..64 bytes (remote::kMinNonceSize..kMaxNonceSize)
  Bytes akpub;           // DER SPKI; non-empty exactly when binding is Key
};

inline constexpr std::uint8_t kSessionTokenVersion = 1;
// The session key: exactly 32 bytes.
inline constexpr std::size_t kSessionKeySize = 32;
// The longest id seal_session writes (and open_session reads), in characters.
std::size_t max_session_id_size();

// seal_session writes the id of |session| under |key|. Fails with
// InvalidArgument when |key| is not kSessionKeySize bytes or the session is
// out of bounds (nonce size, akpub size or presence, negative times, exp
// before iat), or CryptoFailure.
Result<std::string> seal_session(const Session& session, ByteView key);

// open_session checks |id| under |key| and returns the session it
// describes. The MAC is compared in constant time and checked before any
// field is trusted. Fails with VerifierSessionInvalid (too long, bad
// base64url, truncated, trailing bytes, unknown version or binding, a field
// out of bounds, a MAC that does not verify: a forged id or another
// deployment's) or VerifierSessionExpired (now > exp; only for an id whose
// MAC verifies), or InvalidArgument for a key of the wrong size.
Result<Session> open_session(std::string_view id, ByteView key, std::int64_t now);

}  // namespace atls::service
