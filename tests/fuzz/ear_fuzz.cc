// Fuzz target: EAR JWT decoding and verification (fixed key and clock), and
// EAR claims-set parsing. The input is tried both as a token and as a JSON
// claims set. Whatever parses must serialise to claims that parse to the
// same EAR.

#include "src/formats/ear/ear.h"
#include "src/formats/json/json.h"
#include "src/formats/jwt/jwk.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>
#include <string_view>

namespace {

// The veraison/ear P-256 test key.
EVP_PKEY* fixed_key() {
  static const auto key = atls::jwk_to_pkey({{"kty", "EC"},
                                             {"crv", "P-256"},
                                             {"x", "usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8"},
                                             {"y", "IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4"}});
  if (!key) {
    std::abort();
  }
  return key->get();
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_ear) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  (void)atls::decode_ear_jwt_unverified(text);
  const atls::FixedClock clock(1666091373);
  (void)atls::verify_ear_jwt(text, fixed_key(), clock, atls::EarVerifyOptions{3600, 60});

  atls::JsonLimits limits;
  limits.max_size = 64 * 1024;
  auto claims = atls::parse_json(text, limits);
  if (!claims) {
    return;
  }
  auto ear = atls::ear_from_claims(*claims);
  if (!ear) {
    return;
  }
  const nlohmann::json out = atls::ear_to_claims(*ear);
  (void)atls::json_dump(out);
  auto again = atls::ear_from_claims(out);
  if (!again || atls::ear_to_claims(*again) != out || again->legacy_names != ear->legacy_names) {
    std::abort();
  }
}
