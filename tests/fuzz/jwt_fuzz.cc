// Fuzz target: JWS compact parsing, JWT claims and time checks, signature
// verification with fixed keys, and JWK import. The input is tried both as a
// compact JWS and as a JWK. A JWK that imports must export to a JWK that
// imports to the same key.

#include "src/formats/json/json.h"
#include "src/formats/jwt/jwk.h"
#include "src/formats/jwt/jws.h"
#include "src/ossl/keys.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>
#include <string_view>

namespace {

// The veraison/ear P-256 test key and the RFC 8037 A.2 Ed25519 key.
EVP_PKEY* fixed_key(bool ed25519) {
  static const auto p256 =
      atls::jwk_to_pkey({{"kty", "EC"},
                         {"crv", "P-256"},
                         {"x", "usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8"},
                         {"y", "IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4"}});
  static const auto ed = atls::jwk_to_pkey(
      {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}});
  const auto& k = ed25519 ? ed : p256;
  if (!k) {
    std::abort();
  }
  return k->get();
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_jwt) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  atls::JsonLimits limits;
  limits.max_size = 64 * 1024;

  if (auto jws = atls::parse_jws_compact(text, limits)) {
    (void)atls::verify_jws(*jws, fixed_key(false));
    (void)atls::verify_jws(*jws, fixed_key(true));
    if (auto claims = atls::jwt_claims(*jws, limits)) {
      (void)atls::check_jwt_times(*claims, 1700000000, 60);
    }
  }

  auto j = atls::parse_json(text, limits);
  if (!j) {
    return;
  }
  (void)atls::jwk_thumbprint(*j);
  auto key = atls::jwk_to_pkey(*j);
  if (!key) {
    return;
  }
  auto exported = atls::pkey_to_jwk(key->get());
  if (!exported) {
    std::abort();
  }
  auto again = atls::jwk_to_pkey(*exported);
  if (!again || !atls::ossl::public_keys_equal(again->get(), key->get())) {
    std::abort();
  }
}
