#include "src/formats/ratls/dice_evidence.h"

#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"

#include <string>

namespace atls {
namespace {

Error malformed(std::string detail) {
  return Error{ErrorCode::RatlsMalformed, std::move(detail)};
}

// The claims are small: a limit keeps a hostile certificate from making the
// decoder build deep structures.
constexpr CborLimits kLimits{64 * 1024, 16};

nlohmann::json claim_to_json(const CborValue& v) {
  if (v.is_text()) {
    const std::string_view t = v.raw_text();
    return is_valid_utf8(t) ? nlohmann::json(std::string(t))
                            : nlohmann::json(to_hex(v.raw_bytes()));
  }
  if (v.is_bytes()) {
    return to_hex(v.raw_bytes());
  }
  if (v.is_unsigned()) {
    return v.raw_uint();
  }
  return cbor_diag(v);
}

}  // namespace

std::size_t dice_hash_size(std::uint64_t alg) {
  //= https://www.iana.org/assignments/named-information/named-information.xhtml
  //# 1 sha-256 32; 7 sha-384 48; 8 sha-512 64
  switch (alg) {
    case 1:
      return 32;
    case 7:
      return 48;
    case 8:
      return 64;
    default:
      return 0;
  }
}

Result<DiceRatlsEvidence> parse_dice_ratls_evidence(ByteView cbor) {
  auto top = cbor_decode(cbor, kLimits);
  if (!top) {
    return malformed("tagged evidence is not CBOR: " + top.error().detail);
  }
  if (!top->is_tag() || top->tag_number() != kRatlsTagSgxQuote) {
    return malformed("tagged evidence is not CBOR tag 60000 (an SGX quote)");
  }
  const CborValue& arr = top->tag_content();
  if (!arr.is_array() || arr.items().size() != 2 || !arr.items()[0].is_bytes() ||
      !arr.items()[1].is_bytes()) {
    return malformed("tagged evidence is not [quote: bstr, claims-buffer: bstr]");
  }
  DiceRatlsEvidence out;
  out.tag = top->tag_number();
  out.quote = arr.items()[0].raw_bytes();
  out.claims_buffer = arr.items()[1].raw_bytes();
  auto claims = cbor_decode(out.claims_buffer, kLimits);
  if (!claims || !claims->is_map()) {
    return malformed("claims-buffer is not a CBOR map");
  }
  out.other_claims = nlohmann::json::object();
  const CborValue* pubkey_hash = nullptr;
  for (std::size_t i = 0; i < claims->map_size(); ++i) {
    const CborValue& k = claims->map_key(i);
    if (!k.is_text()) {
      return malformed("claims-buffer has a key that is not a text string");
    }
    if (k.raw_text() == "pubkey-hash") {
      pubkey_hash = &claims->map_value(i);
    } else {
      out.other_claims[std::string(k.raw_text())] = claim_to_json(claims->map_value(i));
    }
  }
  if (pubkey_hash == nullptr || !pubkey_hash->is_bytes()) {
    return malformed("claims-buffer has no \"pubkey-hash\" byte string");
  }
  auto hash = cbor_decode(pubkey_hash->raw_bytes(), kLimits);
  if (!hash || !hash->is_array() || hash->items().size() != 2 || !hash->items()[0].is_unsigned() ||
      !hash->items()[1].is_bytes()) {
    return malformed("pubkey-hash is not CBOR [hash-alg-id, hash]");
  }
  out.hash_alg = hash->items()[0].raw_uint();
  out.pubkey_hash = hash->items()[1].raw_bytes();
  const std::size_t size = dice_hash_size(out.hash_alg);
  if (size == 0) {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 "pubkey-hash algorithm " + std::to_string(out.hash_alg) + " (expected 1, 7 or 8)"};
  }
  if (out.pubkey_hash.size() != size) {
    return malformed("pubkey-hash is " + std::to_string(out.pubkey_hash.size()) + " bytes, not " +
                     std::to_string(size));
  }
  return out;
}

}  // namespace atls
