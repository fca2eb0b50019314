#pragma once

// The TCG DICE tagged-evidence certificate extension as Interoperable RA-TLS
// uses it (OID 2.23.133.5.4.9, tcg-dice-TaggedEvidence): a pure parser, no
// OpenSSL. The extension's extnValue is the DER OCTET STRING contents given
// by OpenSSL, which here are CBOR:
//
//   tagged-evidence = #6.60000([ quote: bstr, claims-buffer: bstr ])
//   claims-buffer   = bstr .cbor { "pubkey-hash": bstr .cbor [ hash-alg-id, hash ], * tstr => any }
//
// Tag 60000 marks an Intel SGX ECDSA (DCAP v3) quote. hash-alg-id is from the
// IANA "Named Information Hash Algorithm" registry (1 sha-256, 7 sha-384,
// 8 sha-512). The binding the certificate relies on (checked by the caller,
// src/tls/ratls.h): quote report_data = Hash(claims-buffer) zero-padded to 64
// bytes, and pubkey-hash = Hash(DER SubjectPublicKeyInfo of the certificate).

#include <atls/bytes.h>
#include <atls/result.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>

namespace atls {

// kOidTcgDiceTaggedEvidence is tcg-dice-TaggedEvidence.
inline constexpr std::string_view kOidTcgDiceTaggedEvidence = "2.23.133.5.4.9";
// kRatlsTagSgxQuote is the CBOR tag of an SGX DCAP quote in tagged evidence.
inline constexpr std::uint64_t kRatlsTagSgxQuote = 60000;

// DiceRatlsEvidence is the parsed extension.
struct DiceRatlsEvidence {
  std::uint64_t tag = 0;
  Bytes quote;
  Bytes claims_buffer;          // the exact bytes the quote's report_data hashes
  std::uint64_t hash_alg = 0;   // pubkey-hash's hash-alg-id
  Bytes pubkey_hash;            // Hash(SPKI DER)
  nlohmann::json other_claims;  // every other claim (text key; bytes as hex)
};

// parse_dice_ratls_evidence parses |cbor| (the extension's value). Fails with
// RatlsMalformed when it is not the CBOR above (wrong tag, not a two-element
// array of byte strings, claims not a map or without "pubkey-hash", a
// pubkey-hash that is not [uint, bstr], or a hash of the wrong length), and
// with UnsupportedAlgorithm for a hash-alg-id other than 1, 7 or 8.
Result<DiceRatlsEvidence> parse_dice_ratls_evidence(ByteView cbor);

// dice_hash_size returns the digest size of hash-alg-id |alg| (1, 7, 8), or
// 0 for any other.
std::size_t dice_hash_size(std::uint64_t alg);

}  // namespace atls
