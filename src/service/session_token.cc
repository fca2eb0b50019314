#include "src/service/session_token.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/remote/api.h"

#include <limits>

namespace atls::service {
namespace {

// Domain separation: a MAC made under the session key for any other purpose
// never verifies as a session id.
constexpr std::string_view kMacLabel = "atls verifier session v1";
constexpr std::size_t kTagSize = 32;
// version, binding, iat, exp, nonce length, akpub length.
constexpr std::size_t kFixedSize = 1 + 1 + 8 + 8 + 1 + 2;
constexpr std::size_t kMaxBodySize = kFixedSize + remote::kMaxNonceSize + remote::kMaxAkpubSize;

Error invalid(std::string detail) {
  return Error{ErrorCode::VerifierSessionInvalid, std::move(detail)};
}

Result<Bytes> tag_of(ByteView key, ByteView body) {
  Bytes input;
  input.reserve(kMacLabel.size() + 1 + body.size());
  input.insert(input.end(), kMacLabel.begin(), kMacLabel.end());
  input.push_back(0x00);
  input.insert(input.end(), body.begin(), body.end());
  return ossl::hmac(ossl::HashAlg::Sha256, key, input);
}

Result<void> check_key(ByteView key) {
  if (key.size() != kSessionKeySize) {
    return Error{ErrorCode::InvalidArgument, "the session key must be " +
                                                 std::to_string(kSessionKeySize) + " bytes, not " +
                                                 std::to_string(key.size())};
  }
  return ok();
}

bool known_binding(std::uint8_t b) {
  return b == static_cast<std::uint8_t>(SessionBinding::Nonce) ||
         b == static_cast<std::uint8_t>(SessionBinding::Key) ||
         b == static_cast<std::uint8_t>(SessionBinding::Tls);
}

// check_bounds says why |s| cannot be a session, or "" when it can.
std::string check_bounds(const Session& s) {
  if (s.nonce.size() < remote::kMinNonceSize || s.nonce.size() > remote::kMaxNonceSize) {
    return "nonce of " + std::to_string(s.nonce.size()) + " bytes";
  }
  if (s.akpub.size() > remote::kMaxAkpubSize) {
    return "akpub of " + std::to_string(s.akpub.size()) + " bytes";
  }
  if ((s.binding == SessionBinding::Key) == s.akpub.empty()) {
    return "binding=key goes with an akpub, and only it";
  }
  if (s.iat < 0 || s.exp < s.iat) {
    return "iat " + std::to_string(s.iat) + ", exp " + std::to_string(s.exp);
  }
  return {};
}

}  // namespace

std::string_view binding_name(SessionBinding b) {
  switch (b) {
    case SessionBinding::Key:
      return "key";
    case SessionBinding::Tls:
      return "tls";
    case SessionBinding::Nonce:
      break;
  }
  return "nonce";
}

std::size_t max_session_id_size() {
  const std::size_t n = kMaxBodySize + kTagSize;
  return (n * 4 + 2) / 3;  // unpadded base64url
}

Result<std::string> seal_session(const Session& session, ByteView key) {
  ATLS_TRY(check_key(key));
  if (const std::string why = check_bounds(session); !why.empty()) {
    return Error{ErrorCode::InvalidArgument, "session out of bounds: " + why};
  }
  ByteWriter w;
  w.u8(kSessionTokenVersion);
  w.u8(static_cast<std::uint8_t>(session.binding));
  w.u64(static_cast<std::uint64_t>(session.iat));
  w.u64(static_cast<std::uint64_t>(session.exp));
  ATLS_TRY(w.vector8(session.nonce));
  ATLS_TRY(w.vector16(session.akpub));
  Bytes out = w.take();
  ATLS_ASSIGN_OR_RETURN(const Bytes tag, tag_of(key, out));
  out.insert(out.end(), tag.begin(), tag.end());
  return base64url_encode(out);
}

Result<Session> open_session(std::string_view id, ByteView key, std::int64_t now) {
  ATLS_TRY(check_key(key));
  // Bounded before decoding: an id is never longer than seal_session makes it.
  if (id.size() > max_session_id_size()) {
    return invalid("session id of " + std::to_string(id.size()) + " characters");
  }
  auto raw = base64url_decode(id);
  if (!raw) {
    return invalid("session id is not base64url");
  }
  if (raw->size() < kFixedSize + remote::kMinNonceSize + kTagSize) {
    return invalid("session id of " + std::to_string(raw->size()) + " bytes is too short");
  }
  const ByteView all(*raw);
  const ByteView body = all.first(all.size() - kTagSize);
  const ByteView tag = all.last(kTagSize);
  // The MAC first: nothing in an unauthenticated id is looked at.
  ATLS_ASSIGN_OR_RETURN(const Bytes expected, tag_of(key, body));
  if (!constant_time_equal(expected, tag)) {
    return invalid("session id does not verify (forged, altered or another deployment's)");
  }
  // The MAC holds, so these bytes were written by seal_session under this
  // key; the checks below still run in full (a key shared with a buggy or
  // older writer must not make the service read out of bounds).
  ByteReader r(body);
  const auto version = r.u8();
  const auto binding = r.u8();
  const auto iat = r.u64();
  const auto exp = r.u64();
  if (!version || !binding || !iat || !exp) {
    return invalid("truncated session id");
  }
  if (*version != kSessionTokenVersion) {
    return invalid("session id version " + std::to_string(*version));
  }
  if (!known_binding(*binding)) {
    return invalid("session binding " + std::to_string(*binding));
  }
  constexpr auto kMaxTime = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (*iat > kMaxTime || *exp > kMaxTime) {
    return invalid("session time out of range");
  }
  const auto nonce = r.vector8(remote::kMinNonceSize, remote::kMaxNonceSize);
  if (!nonce) {
    return invalid("session nonce: " + nonce.error().to_string());
  }
  const auto akpub = r.vector16(0, remote::kMaxAkpubSize);
  if (!akpub) {
    return invalid("session akpub: " + akpub.error().to_string());
  }
  if (!r.empty()) {
    return invalid(std::to_string(r.remaining()) + " trailing bytes in the session id");
  }
  Session s;
  s.binding = static_cast<SessionBinding>(*binding);
  s.iat = static_cast<std::int64_t>(*iat);
  s.exp = static_cast<std::int64_t>(*exp);
  s.nonce.assign(nonce->begin(), nonce->end());
  s.akpub.assign(akpub->begin(), akpub->end());
  if (const std::string why = check_bounds(s); !why.empty()) {
    return invalid("session out of bounds: " + why);
  }
  if (now > s.exp) {
    return Error{ErrorCode::VerifierSessionExpired,
                 "expired at " + std::to_string(s.exp) + ", now " + std::to_string(now)};
  }
  return s;
}

}  // namespace atls::service
