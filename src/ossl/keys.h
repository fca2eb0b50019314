#pragma once

// Loading, generating and exporting keys.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/crypto.h"
#include "src/ossl/ossl.h"

#include <string>
#include <string_view>

namespace atls::ossl {

// parse_public_key accepts a PEM public key, a PEM certificate (its key is
// taken), a PEM private key (the returned key then also holds the private
// part), a DER SubjectPublicKeyInfo or a DER certificate. Fails with
// KeyInvalid; encrypted PEM is never decrypted (no passphrase prompt).
Result<UniquePtr<EVP_PKEY>> parse_public_key(ByteView data);

// parse_private_key accepts PEM (PKCS#8 or traditional) or DER PKCS#8.
// Fails with KeyInvalid, also for encrypted PEM (no passphrase prompt).
Result<UniquePtr<EVP_PKEY>> parse_private_key(ByteView data);

// generate_key creates a fresh key of |type| (EC curves or Ed25519).
Result<UniquePtr<EVP_PKEY>> generate_key(KeyType type);

// spki_der returns the DER SubjectPublicKeyInfo of |key|.
Result<Bytes> spki_der(const EVP_PKEY* key);

// public_key_pem / private_key_pem serialise a key as PEM text.
Result<std::string> public_key_pem(const EVP_PKEY* key);
Result<std::string> private_key_pem(const EVP_PKEY* key);

// ec_public_from_xy builds an EC public key from affine coordinates
// (JWK "x"/"y", COSE_Key -2/-3). Fails with KeyInvalid if the point is not
// on the curve.
Result<UniquePtr<EVP_PKEY>> ec_public_from_xy(KeyType curve, ByteView x, ByteView y);

// ed25519_public_from_raw builds an Ed25519 public key from 32 bytes.
Result<UniquePtr<EVP_PKEY>> ed25519_public_from_raw(ByteView raw);

// EcPoint holds affine coordinates padded to the field size.
struct EcPoint {
  Bytes x;
  Bytes y;
};
// ec_public_xy returns the affine coordinates of an EC key.
Result<EcPoint> ec_public_xy(const EVP_PKEY* key);

// raw_public_key returns the raw Ed25519 public key (32 bytes).
Result<Bytes> raw_public_key(const EVP_PKEY* key);

// public_keys_equal compares two public keys.
bool public_keys_equal(const EVP_PKEY* a, const EVP_PKEY* b);

}  // namespace atls::ossl
