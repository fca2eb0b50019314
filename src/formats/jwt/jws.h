#pragma once

// JWS compact serialization (RFC 7515) and JWT claim checks (RFC 7519),
// restricted to the asymmetric algorithms ES256, ES384 and EdDSA (Ed25519).

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/json/json.h"
#include "src/ossl/ossl.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace atls {

// Jws is a parsed, not yet verified, JWS in compact serialization.
struct Jws {
  // signing_input is BASE64URL(header) "." BASE64URL(payload), exactly as
  // received; the signature is computed over these bytes.
  std::string signing_input;
  // header is the decoded protected header (always a JSON object).
  nlohmann::json header;
  // payload is the decoded payload.
  Bytes payload;
  // signature is the decoded signature (raw r||s for ECDSA).
  Bytes signature;
  // alg is header["alg"].
  std::string alg;
};

// parse_jws_compact splits and decodes a compact JWS: exactly three base64url
// parts without padding, separated by '.', with nothing before or after. The
// header must be a JSON object (bounded by |limits|) with a string "alg".
// Fails with JwsMalformed (shape, base64url, header type, a "crit" header,
// empty signature), JwsAlgNone (alg "none" in any letter case) or the JSON
// codes of parse_json. Does not verify the signature.
Result<Jws> parse_jws_compact(std::string_view token, const JsonLimits& limits = {});

// verify_jws checks |jws|'s signature with |key| (borrowed). The algorithm
// must be ES256 with a P-256 key, ES384 with a P-384 key or EdDSA with an
// Ed25519 key. Fails with InvalidArgument (null key), JwsAlgorithmMismatch
// (alg does not fit the key, including HS*/RS*/PS* algorithm confusion),
// UnsupportedAlgorithm (an alg name this library does not know) or
// JwsBadSignature. A "jwk" header is never consulted: a caller that trusts
// an embedded key must convert it with jwk_to_pkey and pass it here.
Result<void> verify_jws(const Jws& jws, EVP_PKEY* key);

// sign_jws signs |payload| with the private |key| (borrowed) and returns the
// compact serialization. alg follows the key (P-256 → ES256, P-384 → ES384,
// Ed25519 → EdDSA). |extra_header| members (e.g. "typ", "kid") are copied
// into the protected header. Fails with InvalidArgument (null key, a
// non-object header, a conflicting "alg", a "crit" member),
// UnsupportedAlgorithm (other key types) or CryptoFailure.
Result<std::string> sign_jws(EVP_PKEY* key, ByteView payload,
                             const nlohmann::json& extra_header = nlohmann::json::object());

// jwt_claims parses the payload of |jws| as a JWT claims set. Fails with
// JwtClaimsMalformed when the payload is not a JSON object, or with the JSON
// codes of parse_json (bounded by |limits|).
Result<nlohmann::json> jwt_claims(const Jws& jws, const JsonLimits& limits = {});

// check_jwt_times applies the RFC 7519 "exp" and "nbf" checks at |now| with
// |leeway_s| seconds of tolerance. Absent claims are not checked. Fails with
// JwtExpired (now > exp + leeway), JwtNotYetValid (now + leeway < nbf) or
// JwtClaimsMalformed (a present claim that is not a number).
Result<void> check_jwt_times(const nlohmann::json& claims, std::int64_t now, std::int64_t leeway_s);

}  // namespace atls
