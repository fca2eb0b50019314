// The Verifier service's session ids: round trip, forgery, tampering,
// expiry, bounds. See src/service/session_token.h.

#include "src/service/session_token.h"
#include "src/core/encoding.h"
#include "src/remote/api.h"

#include <gtest/gtest.h>

namespace atls::service {
namespace {

const Bytes kKey(32, 0x5a);
const Bytes kOtherKey(32, 0xa5);
constexpr std::int64_t kIat = 1700000000;

Session sample(SessionBinding b = SessionBinding::Nonce) {
  Session s;
  s.binding = b;
  s.iat = kIat;
  s.exp = kIat + 300;
  s.nonce = Bytes(32, 0x11);
  if (b == SessionBinding::Key) {
    s.akpub = Bytes(91, 0x30);
  }
  return s;
}

ErrorCode open_code(const std::string& id, std::int64_t now = kIat) {
  auto s = open_session(id, kKey, now);
  return s ? ErrorCode::Ok : s.error().code;
}

TEST(SessionToken, RoundTripsEveryBinding) {
  for (auto b : {SessionBinding::Nonce, SessionBinding::Key, SessionBinding::Tls}) {
    auto id = seal_session(sample(b), kKey);
    ASSERT_TRUE(id) << id.error().to_string();
    EXPECT_LE(id->size(), max_session_id_size());
    auto s = open_session(*id, kKey, kIat + 10);
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ(s->binding, b);
    EXPECT_EQ(s->iat, kIat);
    EXPECT_EQ(s->exp, kIat + 300);
    EXPECT_EQ(s->nonce, sample(b).nonce);
    EXPECT_EQ(s->akpub, sample(b).akpub);
  }
}

TEST(SessionToken, AnotherKeyIsForged) {
  auto id = seal_session(sample(), kOtherKey);
  ASSERT_TRUE(id);
  EXPECT_EQ(open_code(*id), ErrorCode::VerifierSessionInvalid);
}

TEST(SessionToken, EveryAlteredByteIsForged) {
  auto id = seal_session(sample(SessionBinding::Key), kKey);
  ASSERT_TRUE(id);
  auto raw = base64url_decode(*id);
  ASSERT_TRUE(raw);
  for (std::size_t i = 0; i < raw->size(); ++i) {
    Bytes t = *raw;
    t[i] ^= 0x01;
    EXPECT_EQ(open_code(base64url_encode(t)), ErrorCode::VerifierSessionInvalid) << "byte " << i;
  }
}

TEST(SessionToken, TamperedBindingOrAkpubIsForged) {
  auto id = seal_session(sample(SessionBinding::Key), kKey);
  ASSERT_TRUE(id);
  auto raw = base64url_decode(*id);
  ASSERT_TRUE(raw);
  Bytes t = *raw;
  t[1] = static_cast<std::uint8_t>(SessionBinding::Nonce);  // claim binding=nonce
  EXPECT_EQ(open_code(base64url_encode(t)), ErrorCode::VerifierSessionInvalid);
  t = *raw;
  t[1 + 1 + 8 + 8 + 1 + 32 + 2 + 10] ^= 0xff;  // inside akpub
  EXPECT_EQ(open_code(base64url_encode(t)), ErrorCode::VerifierSessionInvalid);
}

TEST(SessionToken, TruncatedAndExtendedAreInvalid) {
  auto id = seal_session(sample(), kKey);
  ASSERT_TRUE(id);
  EXPECT_EQ(open_code(id->substr(0, id->size() - 1)), ErrorCode::VerifierSessionInvalid);
  EXPECT_EQ(open_code(id->substr(0, id->size() - 4)), ErrorCode::VerifierSessionInvalid);
  EXPECT_EQ(open_code(*id + "AAAA"), ErrorCode::VerifierSessionInvalid);
  EXPECT_EQ(open_code(""), ErrorCode::VerifierSessionInvalid);
  EXPECT_EQ(open_code("not an id"), ErrorCode::VerifierSessionInvalid);
  EXPECT_EQ(open_code(std::string(max_session_id_size() + 1, 'A')),
            ErrorCode::VerifierSessionInvalid);
}

TEST(SessionToken, ExpiresAfterExp) {
  auto id = seal_session(sample(), kKey);
  ASSERT_TRUE(id);
  EXPECT_EQ(open_code(*id, kIat + 300), ErrorCode::Ok);
  EXPECT_EQ(open_code(*id, kIat + 301), ErrorCode::VerifierSessionExpired);
}

TEST(SessionToken, ExpiryIsReportedOnlyForAuthenticIds) {
  Session s = sample();
  auto id = seal_session(s, kOtherKey);
  ASSERT_TRUE(id);
  EXPECT_EQ(open_code(*id, kIat + 10000), ErrorCode::VerifierSessionInvalid);
}

TEST(SessionToken, SealRefusesOutOfBounds) {
  Session s = sample();
  s.nonce = Bytes(remote::kMinNonceSize - 1, 1);
  EXPECT_EQ(seal_session(s, kKey).error().code, ErrorCode::InvalidArgument);
  s.nonce = Bytes(remote::kMaxNonceSize + 1, 1);
  EXPECT_EQ(seal_session(s, kKey).error().code, ErrorCode::InvalidArgument);
  s = sample(SessionBinding::Key);
  s.akpub.clear();
  EXPECT_EQ(seal_session(s, kKey).error().code, ErrorCode::InvalidArgument);
  s = sample();
  s.akpub = Bytes(10, 1);  // akpub without binding=key
  EXPECT_EQ(seal_session(s, kKey).error().code, ErrorCode::InvalidArgument);
  s = sample(SessionBinding::Key);
  s.akpub = Bytes(remote::kMaxAkpubSize + 1, 1);
  EXPECT_EQ(seal_session(s, kKey).error().code, ErrorCode::InvalidArgument);
  s = sample();
  s.exp = s.iat - 1;
  EXPECT_EQ(seal_session(s, kKey).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(seal_session(sample(), Bytes(16, 1)).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(open_session("x", Bytes(16, 1), kIat).error().code, ErrorCode::InvalidArgument);
}

TEST(SessionToken, LargestSessionFitsTheBound) {
  Session s = sample(SessionBinding::Key);
  s.nonce = Bytes(remote::kMaxNonceSize, 1);
  s.akpub = Bytes(remote::kMaxAkpubSize, 2);
  auto id = seal_session(s, kKey);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->size(), max_session_id_size());
  EXPECT_TRUE(open_session(*id, kKey, kIat));
}

}  // namespace
}  // namespace atls::service
