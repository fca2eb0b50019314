#include "src/formats/cose/cose.h"

#include "src/ossl/crypto.h"

#include <string>

namespace atls {

namespace {

Error malformed(std::string detail) {
  return Error{ErrorCode::CoseMalformed, std::move(detail)};
}

// Looks a label up in a header map; nullptr if absent.
const CborValue* header_find(const CborValue& map, std::int64_t label) {
  return map.find(label);
}

//= https://www.rfc-editor.org/rfc/rfc9052#section-3
//# label = int / tstr
// Also checks the types of the common header parameters we interpret.
Result<void> check_header_map(const CborValue& map, bool is_protected) {
  for (std::size_t i = 0; i < map.map_size(); ++i) {
    const CborValue& key = map.map_key(i);
    if (!key.is_integer() && !key.is_text()) {
      return malformed("header label is neither int nor tstr");
    }
  }
  if (const CborValue* alg = header_find(map, kCoseHeaderAlg)) {
    if (!alg->is_integer() && !alg->is_text()) {
      return malformed("alg is neither int nor tstr");
    }
  }
  if (const CborValue* crit = header_find(map, kCoseHeaderCrit)) {
    //= https://www.rfc-editor.org/rfc/rfc9052#section-3.1
    //# When present, the "crit" header parameter MUST be placed in the
    //# protected header bucket.  The array MUST have at least one value in it.
    if (!is_protected) {
      return malformed("crit is in the unprotected header");
    }
    if (!crit->is_array() || crit->items().empty()) {
      return malformed("crit is not a non-empty array");
    }
    for (const CborValue& l : crit->items()) {
      if (!l.is_integer() && !l.is_text()) {
        return malformed("crit lists a label that is neither int nor tstr");
      }
    }
  }
  if (const CborValue* ct = header_find(map, kCoseHeaderContentType)) {
    if (!ct->is_unsigned() && !ct->is_text()) {
      return malformed("content type is neither uint nor tstr");
    }
  }
  if (const CborValue* kid = header_find(map, kCoseHeaderKid)) {
    if (!kid->is_bytes()) {
      return malformed("kid is not a bstr");
    }
  }
  return ok();
}

// The signature algorithm, hash and key type that a COSE alg stands for.
struct CoseAlgInfo {
  ossl::SignatureAlg sig;
  ossl::KeyType key;
  std::size_t sig_len;  // r||s for ECDSA, 64 for Ed25519
};

Result<CoseAlgInfo> alg_info(std::int64_t alg) {
  switch (alg) {
    case kCoseAlgEs256:
      return CoseAlgInfo{ossl::SignatureAlg::EcdsaSha256, ossl::KeyType::EcP256, 64};
    case kCoseAlgEs384:
      return CoseAlgInfo{ossl::SignatureAlg::EcdsaSha384, ossl::KeyType::EcP384, 96};
    case kCoseAlgEs512:
      return CoseAlgInfo{ossl::SignatureAlg::EcdsaSha512, ossl::KeyType::EcP521, 132};
    case kCoseAlgEdDsa:
      return CoseAlgInfo{ossl::SignatureAlg::Ed25519, ossl::KeyType::Ed25519, 64};
    default:
      break;
  }
  return Error{ErrorCode::UnsupportedAlgorithm, "COSE alg " + std::to_string(alg)};
}

Result<std::int64_t> alg_for_key(const EVP_PKEY* key) {
  switch (ossl::key_type(key)) {
    case ossl::KeyType::EcP256:
      return kCoseAlgEs256;
    case ossl::KeyType::EcP384:
      return kCoseAlgEs384;
    case ossl::KeyType::EcP521:
      return kCoseAlgEs512;
    case ossl::KeyType::Ed25519:
      return kCoseAlgEdDsa;
    default:
      break;
  }
  return Error{
      ErrorCode::UnsupportedAlgorithm,
      "no COSE algorithm for a " + std::string(ossl::key_type_name(ossl::key_type(key))) + " key"};
}

bool is_understood_label(const CborValue& label) {
  // The header parameters this implementation processes: alg, crit,
  // content type and kid.
  if (!label.is_integer()) {
    return false;
  }
  auto v = label.as_int64();
  return v && *v >= kCoseHeaderAlg && *v <= kCoseHeaderKid;
}

}  // namespace

std::optional<std::int64_t> CoseSign1::alg() const {
  const CborValue* v = header_find(protected_header, kCoseHeaderAlg);
  if (v == nullptr || !v->is_integer()) {
    return std::nullopt;
  }
  auto i = v->as_int64();
  if (!i) {
    return std::nullopt;
  }
  return *i;
}

std::optional<Bytes> CoseSign1::kid() const {
  const CborValue* v = header_find(protected_header, kCoseHeaderKid);
  if (v == nullptr) {
    v = header_find(unprotected_header, kCoseHeaderKid);
  }
  if (v == nullptr || !v->is_bytes()) {
    return std::nullopt;
  }
  return v->raw_bytes();
}

std::optional<CborValue> CoseSign1::content_type() const {
  const CborValue* v = header_find(protected_header, kCoseHeaderContentType);
  if (v == nullptr) {
    v = header_find(unprotected_header, kCoseHeaderContentType);
  }
  if (v == nullptr) {
    return std::nullopt;
  }
  return *v;
}

Result<CoseSign1> parse_cose_sign1(ByteView data, const CborLimits& limits) {
  auto v = cbor_decode(data, limits);
  if (!v) {
    return malformed("CBOR: " + v.error().to_string() + " (" + std::string(v.error().name()) + ")");
  }
  return cose_sign1_from_cbor(*v);
}

Result<CoseSign1> cose_sign1_from_cbor(const CborValue& v) {
  CoseSign1 msg;
  const CborValue* body = &v;
  //= https://www.rfc-editor.org/rfc/rfc8392#section-6
  //# The CWT tag MUST prefix a tagged object using one of the COSE CBOR tags.
  if (body->is_tag() && body->tag_number() == kCwtTag) {
    body = &body->tag_content();
    if (!body->is_tag() || body->tag_number() != kCoseSign1Tag) {
      return malformed("CWT tag 61 does not wrap a COSE_Sign1 tag 18");
    }
    msg.outer_tag = kCwtTag;
  } else if (body->is_tag()) {
    if (body->tag_number() != kCoseSign1Tag) {
      return malformed("tag " + std::to_string(body->tag_number()) + " is not COSE_Sign1 (18)");
    }
    msg.outer_tag = kCoseSign1Tag;
  }
  if (body->is_tag()) {
    body = &body->tag_content();
  }

  //= https://www.rfc-editor.org/rfc/rfc9052#section-4.2
  //# COSE_Sign1 = [
  //#     Headers,
  //#     payload : bstr / nil,
  //#     signature : bstr
  //# ]
  if (!body->is_array() || body->items().size() != 4) {
    return malformed("COSE_Sign1 is not an array of four items");
  }
  const auto& items = body->items();
  if (!items[0].is_bytes()) {
    return malformed("protected header is not a bstr");
  }
  if (!items[1].is_map()) {
    return malformed("unprotected header is not a map");
  }
  if (!items[2].is_bytes() && !items[2].is_null()) {
    return malformed("payload is neither bstr nor nil");
  }
  if (!items[3].is_bytes()) {
    return malformed("signature is not a bstr");
  }

  //= https://www.rfc-editor.org/rfc/rfc9052#section-3
  //# empty_or_serialized_map = bstr .cbor header_map / bstr .size 0
  msg.protected_bytes = items[0].raw_bytes();
  if (!msg.protected_bytes.empty()) {
    auto ph = cbor_decode(msg.protected_bytes);
    if (!ph) {
      return malformed("protected header: " + ph.error().to_string() + " (" +
                       std::string(ph.error().name()) + ")");
    }
    if (!ph->is_map()) {
      return malformed("protected header is not a map");
    }
    msg.protected_header = std::move(*ph);
  }
  msg.unprotected_header = items[1];
  ATLS_TRY(check_header_map(msg.protected_header, true));
  ATLS_TRY(check_header_map(msg.unprotected_header, false));

  //= https://www.rfc-editor.org/rfc/rfc9052#section-3
  //# The same header parameter label MUST NOT occur in both the protected and
  //# unprotected header buckets.
  for (std::size_t i = 0; i < msg.unprotected_header.map_size(); ++i) {
    const CborValue& label = msg.unprotected_header.map_key(i);
    for (std::size_t j = 0; j < msg.protected_header.map_size(); ++j) {
      if (msg.protected_header.map_key(j) == label) {
        return malformed("a header label occurs in both buckets");
      }
    }
  }

  if (items[2].is_bytes()) {
    msg.payload = items[2].raw_bytes();
  }
  msg.signature = items[3].raw_bytes();
  return msg;
}

Bytes cose_sig_structure(ByteView protected_bytes, ByteView external_aad, ByteView payload) {
  //= https://www.rfc-editor.org/rfc/rfc9052#section-4.4
  //# Sig_structure = [
  //#     context : "Signature" / "Signature1",
  //#     body_protected : empty_or_serialized_map,
  //#     ? sign_protected : empty_or_serialized_map,
  //#     external_aad : bstr,
  //#     payload : bstr
  //# ]
  std::vector<CborValue> items;
  items.reserve(4);
  items.push_back(CborValue::text("Signature1"));
  items.push_back(CborValue::bytes(protected_bytes));
  items.push_back(CborValue::bytes(external_aad));
  items.push_back(CborValue::bytes(payload));
  return cbor_encode(CborValue::array(std::move(items)));
}

Result<void> verify_cose_sign1(const CoseSign1& msg, EVP_PKEY* key, ByteView external_aad,
                               std::optional<ByteView> detached_payload) {
  if (key == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no verification key"};
  }
  //= https://www.rfc-editor.org/rfc/rfc9052#section-3.1
  //# This header parameter MUST be authenticated where the ability to do so
  //# exists.
  // No external authentication of alg exists here, so it must be protected.
  const CborValue* alg_value = header_find(msg.protected_header, kCoseHeaderAlg);
  if (alg_value == nullptr) {
    if (header_find(msg.unprotected_header, kCoseHeaderAlg) != nullptr) {
      return Error{ErrorCode::CoseMissingAlgorithm, "alg is only in the unprotected header"};
    }
    return Error{ErrorCode::CoseMissingAlgorithm, {}};
  }

  //= https://www.rfc-editor.org/rfc/rfc9052#section-3.1
  //# The "crit" header parameter lists the header parameters that an
  //# application MUST understand and process
  if (const CborValue* crit = header_find(msg.protected_header, kCoseHeaderCrit)) {
    for (const CborValue& label : crit->items()) {
      if (!is_understood_label(label)) {
        return Error{ErrorCode::CoseUnknownCritical, cbor_diag(label)};
      }
    }
  }

  const std::optional<std::int64_t> alg = msg.alg();
  if (!alg) {
    return Error{ErrorCode::UnsupportedAlgorithm, "COSE alg " + cbor_diag(*alg_value)};
  }
  ATLS_ASSIGN_OR_RETURN(const CoseAlgInfo info, alg_info(*alg));
  const ossl::KeyType kt = ossl::key_type(key);
  if (kt != info.key) {
    return Error{ErrorCode::KeyTypeMismatch, "COSE alg " + std::to_string(*alg) + " with a " +
                                                 std::string(ossl::key_type_name(kt)) + " key"};
  }

  ByteView payload;
  if (msg.payload) {
    if (detached_payload) {
      return Error{ErrorCode::InvalidArgument, "detached payload given for an attached payload"};
    }
    payload = *msg.payload;
  } else {
    if (!detached_payload) {
      return malformed("payload is detached (nil) but none was supplied");
    }
    payload = *detached_payload;
  }

  //= https://www.rfc-editor.org/rfc/rfc9053#section-2.1
  //# The signature algorithm results in a pair of integers (R, S).  These
  //# integers will be the same length as the length of the key used for the
  //# signature process.  The signature is encoded by converting the integers
  //# into byte strings of the same length as the key size.
  if (msg.signature.size() != info.sig_len) {
    return Error{ErrorCode::CoseBadSignature,
                 "signature has " + std::to_string(msg.signature.size()) + " bytes, expected " +
                     std::to_string(info.sig_len)};
  }
  Bytes sig_for_ossl;
  if (info.key == ossl::KeyType::Ed25519) {
    sig_for_ossl = msg.signature;
  } else {
    auto der = ossl::ecdsa_raw_to_der(msg.signature);
    if (!der) {
      return Error{ErrorCode::CoseBadSignature, der.error().detail};
    }
    sig_for_ossl = std::move(*der);
  }

  const Bytes tbs = cose_sig_structure(msg.protected_bytes, external_aad, payload);
  auto r = ossl::verify(key, info.sig, tbs, sig_for_ossl);
  if (!r) {
    if (r.error().code == ErrorCode::SignatureInvalid) {
      return Error{ErrorCode::CoseBadSignature, {}};
    }
    return r;
  }
  return ok();
}

Result<Bytes> sign_cose_sign1(EVP_PKEY* key, ByteView payload, const CoseSignOptions& opts) {
  if (key == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no signing key"};
  }
  ATLS_ASSIGN_OR_RETURN(const std::int64_t alg, alg_for_key(key));
  ATLS_ASSIGN_OR_RETURN(const CoseAlgInfo info, alg_info(alg));

  CborValue prot = CborValue::map();
  prot.map_put(CborValue::integer(kCoseHeaderAlg), CborValue::integer(alg));
  for (const auto& [k, val] : opts.protected_extra) {
    prot.map_put(k, val);
  }
  CborValue unprot = CborValue::map();
  for (const auto& [k, val] : opts.unprotected) {
    unprot.map_put(k, val);
  }
  // Reject what the parser would reject: bad labels, duplicates (including a
  // second alg) and any label in both buckets.
  for (const CborValue* m : {&prot, &unprot}) {
    for (std::size_t i = 0; i < m->map_size(); ++i) {
      if (!m->map_key(i).is_integer() && !m->map_key(i).is_text()) {
        return Error{ErrorCode::InvalidArgument, "header label is neither int nor tstr"};
      }
      for (std::size_t j = i + 1; j < m->map_size(); ++j) {
        if (m->map_key(i) == m->map_key(j)) {
          return Error{ErrorCode::InvalidArgument, "duplicate header label"};
        }
      }
    }
  }
  for (std::size_t i = 0; i < unprot.map_size(); ++i) {
    for (std::size_t j = 0; j < prot.map_size(); ++j) {
      if (unprot.map_key(i) == prot.map_key(j)) {
        return Error{ErrorCode::InvalidArgument, "header label in both buckets"};
      }
    }
  }

  for (const auto& [m, is_protected] : {std::pair{&prot, true}, std::pair{&unprot, false}}) {
    auto checked = check_header_map(*m, is_protected);
    if (!checked) {
      return Error{ErrorCode::InvalidArgument, checked.error().detail};
    }
  }

  Bytes prot_bytes = cbor_encode(prot);
  const Bytes tbs = cose_sig_structure(prot_bytes, opts.external_aad, payload);
  ATLS_ASSIGN_OR_RETURN(Bytes sig, ossl::sign(key, info.sig, tbs));
  if (info.key != ossl::KeyType::Ed25519) {
    ATLS_ASSIGN_OR_RETURN(sig, ossl::ecdsa_der_to_raw(sig, ossl::ec_field_len(info.key)));
  }

  std::vector<CborValue> items;
  items.reserve(4);
  items.push_back(CborValue::bytes(std::move(prot_bytes)));
  items.push_back(std::move(unprot));
  items.push_back(CborValue::bytes(payload));
  items.push_back(CborValue::bytes(std::move(sig)));
  CborValue out = CborValue::array(std::move(items));
  if (opts.tagged || opts.cwt_tagged) {
    out = CborValue::tag(kCoseSign1Tag, std::move(out));
  }
  if (opts.cwt_tagged) {
    out = CborValue::tag(kCwtTag, std::move(out));
  }
  return cbor_encode(out);
}

}  // namespace atls
