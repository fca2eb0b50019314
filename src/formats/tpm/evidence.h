#pragma once

// The tpm2 evidence profile (media type application/vnd.atls.tpm2-quote+cbor,
// docs/evidence-profiles.md): one CBOR map with text keys
//   "attest"    bstr  TPMS_ATTEST as the TPM returned it (the signed bytes)
//   "signature" bstr  TPMT_SIGNATURE
//   "pcrs"      map   bank name ("sha1", "sha256", "sha384", "sha512") ->
//                     map of PCR index (uint 0..31) -> bstr value
//   "ak_pub"    bstr  TPMT_PUBLIC of the attestation key (optional)
//   "ak_cert"   bstr  DER X.509 certificate of the AK (optional)
// Pure: no I/O and no TSS.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/tpm/tpm.h"

#include <optional>

namespace atls {

// Tpm2QuoteEvidence is the decoded evidence map; the TPM structures are
// kept as bytes (parse them with src/formats/tpm/tpm.h).
struct Tpm2QuoteEvidence {
  Bytes attest;
  Bytes signature;
  TpmPcrValues pcrs;
  std::optional<Bytes> ak_pub;
  std::optional<Bytes> ak_cert;
};

// parse_tpm2_quote_evidence decodes the evidence map. Fails with the CBOR
// decoder's codes for bad CBOR, and TpmMalformed for a missing or mistyped
// field, an unknown key, an unknown bank, a PCR index above 31, or a PCR
// value whose size is not the bank's digest size.
Result<Tpm2QuoteEvidence> parse_tpm2_quote_evidence(ByteView data);

// encode_tpm2_quote_evidence encodes |ev| (keys in the order above, PCRs
// in ascending order). Never fails.
Bytes encode_tpm2_quote_evidence(const Tpm2QuoteEvidence& ev);

// kTpmMaxDirectNonce is the longest nonce placed in extraData as is.
inline constexpr std::size_t kTpmMaxDirectNonce = 32;

// tpm_qualifying_data maps a nonce to the TPM2_Quote qualifyingData (and so
// TPMS_ATTEST.extraData): the nonce itself when it is at most 32 bytes,
// otherwise SHA-256(nonce). 32 bytes fits every TPM (TPM2B_DATA holds a
// TPMT_HA, 34 bytes on SHA-256-only TPMs). Fails only if hashing fails.
Result<Bytes> tpm_qualifying_data(ByteView nonce);

}  // namespace atls
