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

// kTpmMaxDirectNonce is the longest nonce placed in extraData as is: the
// size of TPM2B_DATA's buffer (a TPMT_HA) on a TPM with SHA-512.
inline constexpr std::size_t kTpmMaxDirectNonce = 64;
// kTpmMaxPortableNonce is the longest nonce every TPM takes as is (TPM2B_DATA
// holds 34 bytes on a SHA-256-only TPM).
inline constexpr std::size_t kTpmMaxPortableNonce = 32;

// tpm_qualifying_data maps a nonce to the TPM2_Quote qualifyingData (and so
// TPMS_ATTEST.extraData): the nonce itself when it is at most 64 bytes
// (docs/wire-profile.md §1.5: extraData = binder; a SHA-384 suite's binder is 48
// bytes), otherwise SHA-256(nonce). Fails only if hashing fails.
Result<Bytes> tpm_qualifying_data(ByteView nonce);

// tpm_hashed_qualifying_data is the fallback for a TPM whose TPM2B_DATA is
// too small for the nonce (TPM_RC_SIZE): SHA-256(nonce). Only nonces longer
// than kTpmMaxPortableNonce use it.
Result<Bytes> tpm_hashed_qualifying_data(ByteView nonce);

// tpm_extra_data_matches reports whether |extra_data| carries |nonce|: as is
// (tpm_qualifying_data), or, for a nonce longer than kTpmMaxPortableNonce,
// as SHA-256(nonce) from a TPM that could not take it whole. Constant time.
Result<bool> tpm_extra_data_matches(ByteView extra_data, ByteView nonce);

}  // namespace atls
