#pragma once

// Cryptographic checks on TPM 2.0 quote structures (OpenSSL, no TSS): the
// public key and Name of a TPMT_PUBLIC, the TPMT_SIGNATURE over the
// TPMS_ATTEST bytes, and the quote's pcrDigest against PCR values.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/tpm/tpm.h"
#include "src/ossl/ossl.h"

#include <cstdint>

namespace atls {

// tpm_public_key builds an OpenSSL public key from an RSA or ECC
// TPMT_PUBLIC (NIST P-256/P-384/P-521). Fails with KeyInvalid (point not on
// the curve, bad modulus) or UnsupportedAlgorithm (other curves).
Result<ossl::UniquePtr<EVP_PKEY>> tpm_public_key(const TpmPublic& pub);

//= https://trustedcomputinggroup.org/resource/tpm-library-specification/ Part 1 §16
//# Name = nameAlg || H_nameAlg (TPMT_PUBLIC)
// tpm_object_name returns the object's Name: the UINT16 nameAlg followed by
// H_nameAlg(pub.raw). Fails with UnsupportedAlgorithm for an unknown nameAlg.
Result<Bytes> tpm_object_name(const TpmPublic& pub);

// verify_tpm_signature checks |sig| over |signed_bytes| (the exact
// TPMS_ATTEST bytes) with |key| and the signature's own hash: ECDSA with
// an EC key, RSASSA-PKCS1-v1_5 or RSASSA-PSS (any salt length) with an RSA
// key. Only SHA-256, SHA-384 and SHA-512 are accepted. Fails with
// TpmBadSignature (also when the key type does not fit the scheme) or
// UnsupportedAlgorithm (another hash).
Result<void> verify_tpm_signature(EVP_PKEY* key, const TpmSignature& sig, ByteView signed_bytes);

// tpm_pcr_digest computes H_hash(PCR[i0] || PCR[i1] || ...) over the PCRs
// selected by |selection|, banks in selection order and indices ascending
// (TPM Part 1 "Selecting Multiple PCR"). Fails with
// TpmPcrSelectionMismatch when |values| lacks a selected PCR, and
// UnsupportedAlgorithm for an unknown |hash|.
Result<Bytes> tpm_pcr_digest(std::uint16_t hash, const std::vector<TpmPcrSelection>& selection,
                             const TpmPcrValues& values);

// check_tpm_quote_pcrs requires the quote's PCR selection to cover exactly
// the PCRs in |values| (banks with no selected PCR are ignored; a bank may
// appear once) and its pcrDigest to equal tpm_pcr_digest(|sig_hash|, ...).
// Fails with TpmPcrSelectionMismatch or TpmPcrDigestMismatch.
Result<void> check_tpm_quote_pcrs(const TpmQuoteInfo& quote, std::uint16_t sig_hash,
                                  const TpmPcrValues& values);

}  // namespace atls
