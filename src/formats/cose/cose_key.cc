#include "src/formats/cose/cose_key.h"

#include "src/formats/cose/cose.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include <string>

namespace atls {

namespace {

Error key_invalid(std::string detail) {
  return Error{ErrorCode::KeyInvalid, std::move(detail)};
}

Result<std::int64_t> int_param(const CborValue& key, std::int64_t label, const char* name) {
  const CborValue* v = key.find(label);
  if (v == nullptr) {
    return key_invalid(std::string("COSE_Key has no ") + name);
  }
  auto i = v->as_int64();
  if (!v->is_integer() || !i) {
    return key_invalid(std::string("COSE_Key ") + name + " is not an integer");
  }
  return *i;
}

Result<ByteView> bytes_param(const CborValue& key, std::int64_t label, const char* name) {
  const CborValue* v = key.find(label);
  if (v == nullptr) {
    return key_invalid(std::string("COSE_Key has no ") + name);
  }
  if (!v->is_bytes()) {
    return key_invalid(std::string("COSE_Key ") + name + " is not a bstr");
  }
  return ByteView(v->raw_bytes());
}

}  // namespace

Result<ossl::UniquePtr<EVP_PKEY>> cose_key_to_pkey(const CborValue& cose_key) {
  if (!cose_key.is_map()) {
    return key_invalid("COSE_Key is not a map");
  }
  //= https://www.rfc-editor.org/rfc/rfc9052#section-7.1
  //# kty:  This parameter is used to identify the family of keys for this
  //# structure and, thus, the set of key-type-specific parameters to be found.
  ATLS_ASSIGN_OR_RETURN(const std::int64_t kty, int_param(cose_key, kCoseKeyKty, "kty"));
  ATLS_ASSIGN_OR_RETURN(const std::int64_t crv, int_param(cose_key, kCoseKeyCrv, "crv"));

  ossl::KeyType type = ossl::KeyType::Other;
  std::int64_t expected_alg = 0;
  if (kty == kCoseKtyEc2) {
    switch (crv) {
      case kCoseCrvP256:
        type = ossl::KeyType::EcP256;
        expected_alg = kCoseAlgEs256;
        break;
      case kCoseCrvP384:
        type = ossl::KeyType::EcP384;
        expected_alg = kCoseAlgEs384;
        break;
      case kCoseCrvP521:
        type = ossl::KeyType::EcP521;
        expected_alg = kCoseAlgEs512;
        break;
      default:
        return Error{ErrorCode::UnsupportedAlgorithm, "EC2 crv " + std::to_string(crv)};
    }
  } else if (kty == kCoseKtyOkp) {
    if (crv != kCoseCrvEd25519) {
      return Error{ErrorCode::UnsupportedAlgorithm, "OKP crv " + std::to_string(crv)};
    }
    type = ossl::KeyType::Ed25519;
    expected_alg = kCoseAlgEdDsa;
  } else {
    return Error{ErrorCode::UnsupportedAlgorithm, "COSE_Key kty " + std::to_string(kty)};
  }

  if (const CborValue* alg = cose_key.find(kCoseKeyAlg)) {
    // alg may also be a text name; only integer ids are checked here.
    if (alg->is_integer()) {
      auto a = alg->as_int64();
      if (!a || *a != expected_alg) {
        return Error{ErrorCode::KeyTypeMismatch,
                     "COSE_Key alg " + cbor_diag(*alg) + " does not fit the curve"};
      }
    } else if (!alg->is_text()) {
      return key_invalid("COSE_Key alg is neither int nor tstr");
    }
  }

  ATLS_ASSIGN_OR_RETURN(const ByteView x, bytes_param(cose_key, kCoseKeyX, "x"));
  if (type == ossl::KeyType::Ed25519) {
    return ossl::ed25519_public_from_raw(x);
  }
  //= https://www.rfc-editor.org/rfc/rfc9053#section-7.1.1
  //# y:  This contains the y-coordinate for the EC point.  When encoding the
  //# value y, the leading zero octets MUST be preserved.  The compressed
  //# point encoding is also supported.
  const CborValue* yv = cose_key.find(kCoseKeyY);
  if (yv != nullptr && yv->is_bool()) {
    return key_invalid("compressed EC points are not supported");
  }
  ATLS_ASSIGN_OR_RETURN(const ByteView y, bytes_param(cose_key, kCoseKeyY, "y"));
  const std::size_t n = ossl::ec_field_len(type);
  if (x.size() != n || y.size() != n) {
    return key_invalid("EC coordinate length does not match the curve");
  }
  return ossl::ec_public_from_xy(type, x, y);
}

Result<CborValue> pkey_to_cose_key(EVP_PKEY* key) {
  const ossl::KeyType type = ossl::key_type(key);
  CborValue out = CborValue::map();
  switch (type) {
    case ossl::KeyType::Ed25519: {
      ATLS_ASSIGN_OR_RETURN(Bytes x, ossl::raw_public_key(key));
      out.map_put(CborValue::integer(kCoseKeyKty), CborValue::integer(kCoseKtyOkp));
      out.map_put(CborValue::integer(kCoseKeyCrv), CborValue::integer(kCoseCrvEd25519));
      out.map_put(CborValue::integer(kCoseKeyX), CborValue::bytes(std::move(x)));
      return out;
    }
    case ossl::KeyType::EcP256:
    case ossl::KeyType::EcP384:
    case ossl::KeyType::EcP521: {
      const std::int64_t crv = type == ossl::KeyType::EcP256   ? kCoseCrvP256
                               : type == ossl::KeyType::EcP384 ? kCoseCrvP384
                                                               : kCoseCrvP521;
      ATLS_ASSIGN_OR_RETURN(ossl::EcPoint p, ossl::ec_public_xy(key));
      out.map_put(CborValue::integer(kCoseKeyKty), CborValue::integer(kCoseKtyEc2));
      out.map_put(CborValue::integer(kCoseKeyCrv), CborValue::integer(crv));
      out.map_put(CborValue::integer(kCoseKeyX), CborValue::bytes(std::move(p.x)));
      out.map_put(CborValue::integer(kCoseKeyY), CborValue::bytes(std::move(p.y)));
      return out;
    }
    default:
      break;
  }
  return Error{ErrorCode::UnsupportedAlgorithm,
               "no COSE_Key form for a " + std::string(ossl::key_type_name(type)) + " key"};
}

}  // namespace atls
