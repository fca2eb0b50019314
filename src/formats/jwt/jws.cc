#include "src/formats/jwt/jws.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"

#include <array>
#include <cmath>
#include <limits>

namespace atls {
namespace {

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// JwsAlg ties a JWS "alg" value to the key type and signature algorithm.
struct JwsAlg {
  std::string_view name;
  ossl::KeyType key;
  ossl::SignatureAlg sig;
};

// RFC 7518 §3.1 (ES256: ECDSA P-256 SHA-256; ES384: ECDSA P-384 SHA-384)
// and RFC 8037 §3.1 (EdDSA, here with Ed25519 only).
constexpr std::array<JwsAlg, 3> kAlgs{{
    {"ES256", ossl::KeyType::EcP256, ossl::SignatureAlg::EcdsaSha256},
    {"ES384", ossl::KeyType::EcP384, ossl::SignatureAlg::EcdsaSha384},
    {"EdDSA", ossl::KeyType::Ed25519, ossl::SignatureAlg::Ed25519},
}};

// Registered JWA names that this library refuses. Meeting one of them with
// an asymmetric key is the classic algorithm-confusion attack (e.g. HS256
// "verified" with the public key as HMAC secret), so it is reported as a
// mismatch between the token's alg and the key rather than as merely unknown.
constexpr std::array<std::string_view, 13> kRefusedAlgs{
    "HS256", "HS384", "HS512", "RS256",  "RS384",   "RS512", "PS256",
    "PS384", "PS512", "ES512", "ES256K", "Ed25519", "Ed448"};

const JwsAlg* find_alg(std::string_view name) {
  for (const auto& a : kAlgs) {
    if (a.name == name) {
      return &a;
    }
  }
  return nullptr;
}

const JwsAlg* alg_for_key(ossl::KeyType t) {
  for (const auto& a : kAlgs) {
    if (a.key == t) {
      return &a;
    }
  }
  return nullptr;
}

bool is_alg_none(std::string_view alg) {
  if (alg.size() != 4) {
    return false;
  }
  std::string lower(alg);
  for (auto& c : lower) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return lower == "none";
}

Result<Bytes> decode_part(std::string_view part, const char* what) {
  auto b = base64url_decode(part);
  if (!b) {
    return Error{ErrorCode::JwsMalformed, std::string(what) + ": " + b.error().to_string()};
  }
  return std::move(*b);
}

// numeric_date reads a NumericDate ("seconds since the epoch", RFC 7519 §2,
// which allows non-integer values; they are truncated towards -inf).
Result<std::int64_t> numeric_date(const nlohmann::json& v, const char* name) {
  // is_number_integer() is also true for unsigned values: test those first.
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Error{ErrorCode::JwtClaimsMalformed, std::string(name) + " out of range"};
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) {
    return v.get<std::int64_t>();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < -9.0e18 || d > 9.0e18) {
      return Error{ErrorCode::JwtClaimsMalformed, std::string(name) + " out of range"};
    }
    return static_cast<std::int64_t>(std::floor(d));
  }
  return Error{ErrorCode::JwtClaimsMalformed, std::string(name) + " is not a number"};
}

// Saturating addition for time comparisons with attacker-chosen values.
std::int64_t add_sat(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return a + b;
}

}  // namespace

Result<Jws> parse_jws_compact(std::string_view token, const JsonLimits& limits) {
  // Base64url expands by 4/3; anything much longer than the JSON limit
  // cannot hold an acceptable header and payload.
  if (token.size() > limits.max_size / 3 * 8 + 1024) {
    return Error{ErrorCode::JwsMalformed,
                 "token of " + std::to_string(token.size()) + " bytes is too large"};
  }
  //= https://www.rfc-editor.org/rfc/rfc7515#section-7.1
  //# BASE64URL(UTF8(JWS Protected Header)) || '.' ||
  //# BASE64URL(JWS Payload) || '.' ||
  //# BASE64URL(JWS Signature)
  std::size_t dots[2] = {0, 0};
  std::size_t ndots = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    if (c == '.') {
      if (ndots == 2) {
        return Error{ErrorCode::JwsMalformed, "more than three parts"};
      }
      dots[ndots++] = i;
    } else if (!is_base64url_char(c)) {
      return Error{ErrorCode::JwsMalformed,
                   "character outside the base64url alphabet at offset " + std::to_string(i)};
    }
  }
  if (ndots != 2) {
    return Error{ErrorCode::JwsMalformed, "expected three '.'-separated parts"};
  }
  const std::string_view h64 = token.substr(0, dots[0]);
  const std::string_view p64 = token.substr(dots[0] + 1, dots[1] - dots[0] - 1);
  const std::string_view s64 = token.substr(dots[1] + 1);
  if (h64.empty()) {
    return Error{ErrorCode::JwsMalformed, "empty protected header"};
  }

  Jws jws;
  ATLS_ASSIGN_OR_RETURN(const Bytes header_bytes, decode_part(h64, "header"));
  ATLS_ASSIGN_OR_RETURN(jws.header, parse_json(as_string_view(header_bytes), limits));
  if (!jws.header.is_object()) {
    return Error{ErrorCode::JwsMalformed, "protected header is not a JSON object"};
  }
  const auto alg = jws.header.find("alg");
  if (alg == jws.header.end() || !alg->is_string()) {
    return Error{ErrorCode::JwsMalformed, "protected header has no string \"alg\""};
  }
  jws.alg = alg->get<std::string>();
  //= https://www.rfc-editor.org/rfc/rfc8725#section-3.1
  //# Libraries MUST enable the caller to specify a supported set of
  //# algorithms and MUST NOT use any other algorithms
  if (is_alg_none(jws.alg)) {
    return Error{ErrorCode::JwsAlgNone, "alg \"" + jws.alg + "\""};
  }
  //= https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11
  //# If any of the listed extension Header Parameters are not understood
  //# and supported by the recipient, then the JWS is invalid.
  // No extension is supported, and an empty list is forbidden, so any
  // "crit" makes the JWS invalid.
  if (jws.header.contains("crit")) {
    return Error{ErrorCode::JwsMalformed, "\"crit\" header parameter is not supported"};
  }
  // RFC 7797 unencoded payloads would change the signing input.
  if (const auto b64 = jws.header.find("b64"); b64 != jws.header.end() && *b64 != true) {
    return Error{ErrorCode::JwsMalformed, "\"b64\" header parameter is not supported"};
  }
  if (s64.empty()) {
    return Error{ErrorCode::JwsMalformed, "empty signature"};
  }
  ATLS_ASSIGN_OR_RETURN(jws.payload, decode_part(p64, "payload"));
  ATLS_ASSIGN_OR_RETURN(jws.signature, decode_part(s64, "signature"));
  if (jws.payload.size() > limits.max_size) {
    return Error{ErrorCode::JsonTooLarge, "payload exceeds " + std::to_string(limits.max_size)};
  }
  jws.signing_input = std::string(token.substr(0, dots[1]));
  return jws;
}

Result<void> verify_jws(const Jws& jws, EVP_PKEY* key) {
  if (key == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no verification key"};
  }
  if (is_alg_none(jws.alg)) {
    return Error{ErrorCode::JwsAlgNone, "alg \"" + jws.alg + "\""};
  }
  const ossl::KeyType kt = ossl::key_type(key);
  const JwsAlg* alg = find_alg(jws.alg);
  if (alg == nullptr) {
    for (const auto name : kRefusedAlgs) {
      if (name == jws.alg) {
        return Error{ErrorCode::JwsAlgorithmMismatch,
                     "alg " + jws.alg + " is not accepted with a " +
                         std::string(ossl::key_type_name(kt)) + " key"};
      }
    }
    return Error{ErrorCode::UnsupportedAlgorithm, "alg \"" + jws.alg + "\""};
  }
  //= https://www.rfc-editor.org/rfc/rfc8725#section-3.1
  //# each key MUST be used with exactly one algorithm, and this MUST be
  //# checked when the cryptographic operation is performed.
  if (alg->key != kt) {
    return Error{ErrorCode::JwsAlgorithmMismatch,
                 "alg " + jws.alg + " with a " + std::string(ossl::key_type_name(kt)) + " key"};
  }
  const ByteView input(reinterpret_cast<const std::uint8_t*>(jws.signing_input.data()),
                       jws.signing_input.size());
  Result<void> r = ok();
  if (alg->key == ossl::KeyType::Ed25519) {
    if (jws.signature.size() != 64) {
      return Error{ErrorCode::JwsBadSignature, "EdDSA signature is not 64 bytes"};
    }
    r = ossl::verify(key, alg->sig, input, jws.signature);
  } else {
    //= https://www.rfc-editor.org/rfc/rfc7518#section-3.4
    //# The JWS Signature value MUST be a 64-octet sequence.
    const std::size_t n = ossl::ec_field_len(alg->key);
    if (jws.signature.size() != 2 * n) {
      return Error{ErrorCode::JwsBadSignature, "ECDSA signature of " +
                                                   std::to_string(jws.signature.size()) +
                                                   " bytes, expected " + std::to_string(2 * n)};
    }
    auto der = ossl::ecdsa_raw_to_der(jws.signature);
    if (!der) {
      return Error{ErrorCode::JwsBadSignature, der.error().to_string()};
    }
    r = ossl::verify(key, alg->sig, input, *der);
  }
  if (!r) {
    if (r.error().code == ErrorCode::SignatureInvalid) {
      return Error{ErrorCode::JwsBadSignature, {}};
    }
    return std::move(r).error();
  }
  return ok();
}

Result<std::string> sign_jws(EVP_PKEY* key, ByteView payload, const nlohmann::json& extra_header) {
  if (key == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no signing key"};
  }
  if (!extra_header.is_object()) {
    return Error{ErrorCode::InvalidArgument, "extra header is not a JSON object"};
  }
  const ossl::KeyType kt = ossl::key_type(key);
  const JwsAlg* alg = alg_for_key(kt);
  if (alg == nullptr) {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 "no JWS algorithm for a " + std::string(ossl::key_type_name(kt)) + " key"};
  }
  if (extra_header.contains("crit") || extra_header.contains("b64")) {
    return Error{ErrorCode::InvalidArgument, "\"crit\"/\"b64\" are not supported"};
  }
  nlohmann::json header = extra_header;
  if (const auto a = header.find("alg"); a != header.end() && *a != alg->name) {
    return Error{ErrorCode::InvalidArgument, "header alg does not match the key"};
  }
  header["alg"] = alg->name;
  std::string out = base64url_encode(to_bytes(json_dump(header)));
  out += '.';
  out += base64url_encode(payload);
  const ByteView input(reinterpret_cast<const std::uint8_t*>(out.data()), out.size());
  ATLS_ASSIGN_OR_RETURN(Bytes sig, ossl::sign(key, alg->sig, input));
  if (alg->key != ossl::KeyType::Ed25519) {
    ATLS_ASSIGN_OR_RETURN(sig, ossl::ecdsa_der_to_raw(sig, ossl::ec_field_len(alg->key)));
  }
  out += '.';
  out += base64url_encode(sig);
  return out;
}

Result<nlohmann::json> jwt_claims(const Jws& jws, const JsonLimits& limits) {
  ATLS_ASSIGN_OR_RETURN(nlohmann::json claims, parse_json(as_string_view(jws.payload), limits));
  //= https://www.rfc-editor.org/rfc/rfc7519#section-7.2
  //# Verify that the resulting octet sequence is a UTF-8-encoded
  //# representation of a completely valid JSON object
  if (!claims.is_object()) {
    return Error{ErrorCode::JwtClaimsMalformed, "JWT claims set is not a JSON object"};
  }
  return claims;
}

Result<void> check_jwt_times(const nlohmann::json& claims, std::int64_t now,
                             std::int64_t leeway_s) {
  if (!claims.is_object()) {
    return Error{ErrorCode::JwtClaimsMalformed, "JWT claims set is not a JSON object"};
  }
  if (leeway_s < 0) {
    return Error{ErrorCode::InvalidArgument, "negative leeway"};
  }
  //= https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4
  //# The processing of the "exp" claim requires that the current date/time
  //# MUST be before the expiration date/time listed in the "exp" claim.
  if (const auto exp = claims.find("exp"); exp != claims.end()) {
    ATLS_ASSIGN_OR_RETURN(const std::int64_t e, numeric_date(*exp, "exp"));
    if (now > add_sat(e, leeway_s)) {
      return Error{ErrorCode::JwtExpired,
                   "exp " + std::to_string(e) + ", now " + std::to_string(now)};
    }
  }
  //= https://www.rfc-editor.org/rfc/rfc7519#section-4.1.5
  //# The processing of the "nbf" claim requires that the current date/time
  //# MUST be after or equal to the not-before date/time listed in the "nbf"
  //# claim.
  if (const auto nbf = claims.find("nbf"); nbf != claims.end()) {
    ATLS_ASSIGN_OR_RETURN(const std::int64_t n, numeric_date(*nbf, "nbf"));
    if (add_sat(now, leeway_s) < n) {
      return Error{ErrorCode::JwtNotYetValid,
                   "nbf " + std::to_string(n) + ", now " + std::to_string(now)};
    }
  }
  return ok();
}

}  // namespace atls
