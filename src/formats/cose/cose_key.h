#pragma once

// COSE_Key (RFC 9052 §7, RFC 9053 §7): conversion between public COSE_Key
// maps and OpenSSL keys for EC2 (P-256, P-384, P-521) and OKP (Ed25519).

#include <atls/result.h>

#include "src/formats/cbor/cbor.h"
#include "src/ossl/ossl.h"

#include <cstdint>

namespace atls {

// COSE_Key labels and values (RFC 9052 §7.1, RFC 9053 §7.1-7.2).
inline constexpr std::int64_t kCoseKeyKty = 1;
inline constexpr std::int64_t kCoseKeyKid = 2;
inline constexpr std::int64_t kCoseKeyAlg = 3;
inline constexpr std::int64_t kCoseKeyCrv = -1;
inline constexpr std::int64_t kCoseKeyX = -2;
inline constexpr std::int64_t kCoseKeyY = -3;
inline constexpr std::int64_t kCoseKeyD = -4;
inline constexpr std::int64_t kCoseKtyOkp = 1;
inline constexpr std::int64_t kCoseKtyEc2 = 2;
inline constexpr std::int64_t kCoseCrvP256 = 1;
inline constexpr std::int64_t kCoseCrvP384 = 2;
inline constexpr std::int64_t kCoseCrvP521 = 3;
inline constexpr std::int64_t kCoseCrvEd25519 = 6;

// cose_key_to_pkey builds a public key from the COSE_Key map |cose_key|:
// EC2 with crv P-256/P-384/P-521 and x, y bstrs of exactly the field size, or
// OKP with crv Ed25519 and a 32-byte x. A private part (d) is ignored. If the
// key carries an integer alg (3) it must suit the curve. Fails with KeyInvalid
// (not a map, missing or ill-typed parameters, wrong lengths, point not on
// the curve, compressed y), UnsupportedAlgorithm (other kty or crv) or
// KeyTypeMismatch (alg does not fit the curve).
Result<ossl::UniquePtr<EVP_PKEY>> cose_key_to_pkey(const CborValue& cose_key);

// pkey_to_cose_key returns the public COSE_Key of |key| (borrowed), with the
// labels in deterministic order (kty, crv, x[, y]). Fails with
// UnsupportedAlgorithm for keys other than P-256/P-384/P-521/Ed25519.
Result<CborValue> pkey_to_cose_key(EVP_PKEY* key);

}  // namespace atls
