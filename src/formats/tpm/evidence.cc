#include "src/formats/tpm/evidence.h"

#include "src/core/encoding.h"

#include "src/formats/cbor/cbor.h"
#include "src/ossl/crypto.h"

#include <string>
#include <utility>

namespace atls {
namespace {

Error malformed(std::string what) {
  return Error{ErrorCode::TpmMalformed, "tpm2 evidence: " + std::move(what)};
}

// bytes_field takes a byte string out of the decoded tree (moved, not
// copied: the tree is discarded after parsing).
Result<Bytes> bytes_field(CborValue& v, const char* name) {
  if (!v.is_bytes()) {
    return malformed(std::string("\"") + name + "\" must be a byte string");
  }
  return std::move(v.mutable_bytes());
}

Result<TpmPcrValues> parse_pcrs(CborValue& v) {
  if (!v.is_map()) {
    return malformed("\"pcrs\" must be a map");
  }
  TpmPcrValues out;
  for (std::size_t i = 0; i < v.map_size(); ++i) {
    const CborValue& k = v.map_key(i);
    const std::optional<std::uint16_t> hash =
        k.is_text() ? tpm_hash_from_name(k.raw_text()) : std::nullopt;
    if (!hash) {
      return malformed("\"pcrs\" keys must be sha1, sha256, sha384 or sha512");
    }
    CborValue& bank_map = v.items()[2 * i + 1];
    if (!bank_map.is_map()) {
      return malformed("a PCR bank must be a map");
    }
    TpmPcrBank bank;
    bank.hash = *hash;
    for (std::size_t j = 0; j < bank_map.map_size(); ++j) {
      const CborValue& index = bank_map.map_key(j);
      CborValue& value = bank_map.items()[2 * j + 1];
      if (!index.is_unsigned() || index.raw_uint() >= kTpmPcrSelectMax * 8) {
        return malformed("a PCR index must be an unsigned integer below 32");
      }
      if (!value.is_bytes() || value.raw_bytes().size() != tpm_hash_size(*hash)) {
        return malformed("a PCR value must be a byte string of the bank's digest size");
      }
      // Keys are unique: the CBOR decoder rejects duplicate map keys.
      bank.values.emplace_hint(bank.values.end(), static_cast<std::uint32_t>(index.raw_uint()),
                               std::move(value.mutable_bytes()));
    }
    out.banks.push_back(std::move(bank));
  }
  return out;
}

}  // namespace

Result<Tpm2QuoteEvidence> parse_tpm2_quote_evidence(ByteView data) {
  ATLS_ASSIGN_OR_RETURN(CborValue root, cbor_decode(data));
  if (!root.is_map()) {
    return malformed("not a CBOR map");
  }
  Tpm2QuoteEvidence ev;
  bool have_attest = false;
  bool have_signature = false;
  bool have_pcrs = false;
  for (std::size_t i = 0; i < root.map_size(); ++i) {
    const CborValue& k = root.map_key(i);
    CborValue& v = root.items()[2 * i + 1];
    if (!k.is_text()) {
      return malformed("keys must be text");
    }
    const std::string_view key = k.raw_text();
    if (key == "attest") {
      ATLS_ASSIGN_OR_RETURN(ev.attest, bytes_field(v, "attest"));
      have_attest = true;
    } else if (key == "signature") {
      ATLS_ASSIGN_OR_RETURN(ev.signature, bytes_field(v, "signature"));
      have_signature = true;
    } else if (key == "pcrs") {
      ATLS_ASSIGN_OR_RETURN(ev.pcrs, parse_pcrs(v));
      have_pcrs = true;
    } else if (key == "ak_pub") {
      ATLS_ASSIGN_OR_RETURN(ev.ak_pub, bytes_field(v, "ak_pub"));
    } else if (key == "ak_cert") {
      ATLS_ASSIGN_OR_RETURN(ev.ak_cert, bytes_field(v, "ak_cert"));
    } else {
      return malformed("unknown key \"" + std::string(key) + "\"");
    }
  }
  if (!have_attest || !have_signature || !have_pcrs) {
    return malformed("\"attest\", \"signature\" and \"pcrs\" are required");
  }
  return ev;
}

Bytes encode_tpm2_quote_evidence(const Tpm2QuoteEvidence& ev) {
  CborValue pcrs = CborValue::map();
  for (const auto& bank : ev.pcrs.banks) {
    CborValue values = CborValue::map();
    for (const auto& [index, value] : bank.values) {
      values.map_put(CborValue::uint(index), CborValue::bytes(value));
    }
    pcrs.map_put(CborValue::text(tpm_hash_name(bank.hash)), std::move(values));
  }
  CborValue root = CborValue::map();
  root.map_put(CborValue::text("attest"), CborValue::bytes(ev.attest));
  root.map_put(CborValue::text("signature"), CborValue::bytes(ev.signature));
  root.map_put(CborValue::text("pcrs"), std::move(pcrs));
  if (ev.ak_pub) {
    root.map_put(CborValue::text("ak_pub"), CborValue::bytes(*ev.ak_pub));
  }
  if (ev.ak_cert) {
    root.map_put(CborValue::text("ak_cert"), CborValue::bytes(*ev.ak_cert));
  }
  return cbor_encode(root);
}

Result<Bytes> tpm_qualifying_data(ByteView nonce) {
  if (nonce.size() <= kTpmMaxDirectNonce) {
    return Bytes(nonce.begin(), nonce.end());
  }
  return ossl::digest(ossl::HashAlg::Sha256, nonce);
}

Result<Bytes> tpm_hashed_qualifying_data(ByteView nonce) {
  return ossl::digest(ossl::HashAlg::Sha256, nonce);
}

Result<bool> tpm_extra_data_matches(ByteView extra_data, ByteView nonce) {
  ATLS_ASSIGN_OR_RETURN(const Bytes direct, tpm_qualifying_data(nonce));
  bool match = constant_time_equal(extra_data, direct);
  if (nonce.size() > kTpmMaxPortableNonce && nonce.size() <= kTpmMaxDirectNonce) {
    ATLS_ASSIGN_OR_RETURN(const Bytes hashed, tpm_hashed_qualifying_data(nonce));
    match = constant_time_equal(extra_data, hashed) || match;
  }
  return match;
}

}  // namespace atls
