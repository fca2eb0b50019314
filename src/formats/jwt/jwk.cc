#include "src/formats/jwt/jwk.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include <vector>

namespace atls {
namespace {

Result<std::string> string_member(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return Error{ErrorCode::KeyInvalid, std::string("JWK has no string \"") + name + "\""};
  }
  return it->get<std::string>();
}

Result<Bytes> b64_member(const nlohmann::json& jwk, const char* name) {
  ATLS_ASSIGN_OR_RETURN(const std::string s, string_member(jwk, name));
  auto b = base64url_decode(s);
  if (!b) {
    return Error{ErrorCode::KeyInvalid, std::string("JWK \"") + name + "\" is not base64url"};
  }
  return std::move(*b);
}

Result<ossl::KeyType> ec_curve(std::string_view crv) {
  //= https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1.1
  //# "P-256", "P-384", and "P-521"
  if (crv == "P-256") {
    return ossl::KeyType::EcP256;
  }
  if (crv == "P-384") {
    return ossl::KeyType::EcP384;
  }
  if (crv == "P-521") {
    return ossl::KeyType::EcP521;
  }
  return Error{ErrorCode::UnsupportedAlgorithm, "EC curve \"" + std::string(crv) + "\""};
}

}  // namespace

Result<ossl::UniquePtr<EVP_PKEY>> jwk_to_pkey(const nlohmann::json& jwk) {
  if (!jwk.is_object()) {
    return Error{ErrorCode::KeyInvalid, "JWK is not a JSON object"};
  }
  ATLS_ASSIGN_OR_RETURN(const std::string kty, string_member(jwk, "kty"));
  ATLS_ASSIGN_OR_RETURN(const std::string crv, string_member(jwk, "crv"));
  if (kty == "EC") {
    ATLS_ASSIGN_OR_RETURN(const ossl::KeyType curve, ec_curve(crv));
    ATLS_ASSIGN_OR_RETURN(const Bytes x, b64_member(jwk, "x"));
    ATLS_ASSIGN_OR_RETURN(const Bytes y, b64_member(jwk, "y"));
    //= https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1.2
    //# The length of this octet string MUST be the full size of a coordinate
    //# for the curve specified in the "crv" parameter.
    return ossl::ec_public_from_xy(curve, x, y);
  }
  if (kty == "OKP") {
    if (crv != "Ed25519") {
      return Error{ErrorCode::UnsupportedAlgorithm, "OKP curve \"" + crv + "\""};
    }
    ATLS_ASSIGN_OR_RETURN(const Bytes x, b64_member(jwk, "x"));
    return ossl::ed25519_public_from_raw(x);
  }
  return Error{ErrorCode::UnsupportedAlgorithm, "JWK kty \"" + kty + "\""};
}

Result<nlohmann::json> pkey_to_jwk(EVP_PKEY* key) {
  if (key == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no key"};
  }
  const ossl::KeyType t = ossl::key_type(key);
  nlohmann::json jwk = nlohmann::json::object();
  switch (t) {
    case ossl::KeyType::EcP256:
    case ossl::KeyType::EcP384:
    case ossl::KeyType::EcP521: {
      ATLS_ASSIGN_OR_RETURN(const ossl::EcPoint p, ossl::ec_public_xy(key));
      jwk["kty"] = "EC";
      jwk["crv"] = t == ossl::KeyType::EcP256   ? "P-256"
                   : t == ossl::KeyType::EcP384 ? "P-384"
                                                : "P-521";
      jwk["x"] = base64url_encode(p.x);
      jwk["y"] = base64url_encode(p.y);
      return jwk;
    }
    case ossl::KeyType::Ed25519: {
      ATLS_ASSIGN_OR_RETURN(const Bytes raw, ossl::raw_public_key(key));
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = base64url_encode(raw);
      return jwk;
    }
    default:
      return Error{ErrorCode::UnsupportedAlgorithm,
                   "no JWK form for a " + std::string(ossl::key_type_name(t)) + " key"};
  }
}

Result<std::string> jwk_thumbprint(const nlohmann::json& jwk) {
  if (!jwk.is_object()) {
    return Error{ErrorCode::KeyInvalid, "JWK is not a JSON object"};
  }
  ATLS_ASSIGN_OR_RETURN(const std::string kty, string_member(jwk, "kty"));
  //= https://www.rfc-editor.org/rfc/rfc7638#section-3
  //# Construct a JSON object containing only the required members of a JWK
  //# representing the key and with no whitespace or line breaks before or
  //# after any syntactic elements and with the required members ordered
  //# lexicographically by the Unicode code points of the member names.
  std::vector<const char*> members;
  if (kty == "EC") {
    members = {"crv", "kty", "x", "y"};
  } else if (kty == "OKP") {
    members = {"crv", "kty", "x"};
  } else if (kty == "RSA") {
    members = {"e", "kty", "n"};
  } else {
    return Error{ErrorCode::UnsupportedAlgorithm, "JWK kty \"" + kty + "\""};
  }
  // nlohmann::json objects keep their members sorted by name, which is the
  // required order for these ASCII names.
  nlohmann::json required = nlohmann::json::object();
  for (const char* m : members) {
    ATLS_ASSIGN_OR_RETURN(required[m], string_member(jwk, m));
  }
  ATLS_ASSIGN_OR_RETURN(const Bytes h,
                        ossl::digest(ossl::HashAlg::Sha256, to_bytes(json_dump(required))));
  return base64url_encode(h);
}

Result<std::string> jwk_thumbprint(EVP_PKEY* key) {
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json jwk, pkey_to_jwk(key));
  return jwk_thumbprint(jwk);
}

}  // namespace atls
