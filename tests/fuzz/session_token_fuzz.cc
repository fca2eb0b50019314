// Fuzz target: the Verifier service's session ids (src/service/session_token.h).
// The first byte picks the mode: even, the rest is an id as a client sends
// it; odd, the rest is a body that gets a valid MAC under the fixed key, so
// that the field parser behind the MAC is reached. An id that opens must
// seal back to itself, and must not open under another key.

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/service/session_token.h"

#include "tests/fuzz/fuzz.h"

#include <array>
#include <cstdlib>
#include <string>

namespace {

constexpr std::int64_t kNow = 1700000000;

const std::array<std::uint8_t, 32> kKey = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                           12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                           23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
const std::array<std::uint8_t, 32> kOtherKey = {32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22,
                                                21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
                                                10, 9,  8,  7,  6,  5,  4,  3,  2,  1};

// with_mac appends the MAC seal_session would write (src/service/session_token.cc).
std::string with_mac(std::span<const std::uint8_t> body) {
  static constexpr std::string_view kLabel = "atls verifier session v1";
  atls::Bytes input(kLabel.begin(), kLabel.end());
  input.push_back(0x00);
  input.insert(input.end(), body.begin(), body.end());
  auto tag = atls::ossl::hmac(atls::ossl::HashAlg::Sha256, kKey, input);
  if (!tag) {
    std::abort();
  }
  atls::Bytes all(body.begin(), body.end());
  all.insert(all.end(), tag->begin(), tag->end());
  return atls::base64url_encode(all);
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_session_token) {
  if (data.empty()) {
    return;
  }
  const auto rest = data.subspan(1);
  const std::string id = (data[0] & 1) != 0
                             ? with_mac(rest)
                             : std::string(reinterpret_cast<const char*>(rest.data()), rest.size());
  auto s = atls::service::open_session(id, kKey, kNow);
  if (!s) {
    const auto code = s.error().code;
    if (code != atls::ErrorCode::VerifierSessionInvalid &&
        code != atls::ErrorCode::VerifierSessionExpired) {
      std::abort();
    }
    return;
  }
  auto again = atls::service::seal_session(*s, kKey);
  if (!again || *again != id) {
    std::abort();
  }
  if (atls::service::open_session(id, kOtherKey, kNow)) {
    std::abort();
  }
}
