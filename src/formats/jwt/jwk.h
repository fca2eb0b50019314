#pragma once

// JSON Web Keys (RFC 7517/7518, OKP from RFC 8037) for public keys, and
// RFC 7638 thumbprints.

#include <atls/result.h>

#include "src/ossl/ossl.h"

#include <nlohmann/json.hpp>

#include <string>

namespace atls {

// jwk_to_pkey builds a public key from a JWK: kty "EC" with crv P-256,
// P-384 or P-521 (x and y base64url of exactly the field size), or kty "OKP"
// with crv "Ed25519" (x of 32 bytes). Private members ("d") are ignored; the
// result is always a public key. Fails with KeyInvalid (malformed members,
// point not on the curve) or UnsupportedAlgorithm (other kty or crv).
Result<ossl::UniquePtr<EVP_PKEY>> jwk_to_pkey(const nlohmann::json& jwk);

// pkey_to_jwk returns the public JWK of |key| (borrowed): EC P-256/384/521
// or OKP Ed25519. Never includes private members. Fails with
// UnsupportedAlgorithm for other key types.
Result<nlohmann::json> pkey_to_jwk(EVP_PKEY* key);

// jwk_thumbprint returns the RFC 7638 SHA-256 thumbprint of |jwk|, base64url
// without padding: the hash of the required members (EC: crv, kty, x, y;
// OKP: crv, kty, x; RSA: e, kty, n) in lexicographic order with no
// whitespace. Fails with KeyInvalid when a required member is missing or not
// a string, or UnsupportedAlgorithm for another kty.
Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

// jwk_thumbprint returns the thumbprint of |key|'s public JWK (a key id).
// Fails as pkey_to_jwk does.
Result<std::string> jwk_thumbprint(EVP_PKEY* key);

}  // namespace atls
