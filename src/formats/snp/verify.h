#pragma once

// Cryptographic checks for SEV-SNP attestation reports: the report signature
// (ECDSA P-384 / SHA-384 by the VCEK), the VCEK <- ASK <- ARK certificate
// chain (RSA-PSS SHA-384), and the binding of a VCEK to a report (CHIP_ID and
// REPORTED_TCB against the VCEK's AMD extensions). Time is always injected.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/snp/report.h"
#include "src/ossl/chain_cache.h"
#include "src/ossl/ossl.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>

namespace atls {

// verify_snp_report_signature checks r.signature_r/s over r.signed_bytes with
// |vcek_key| (borrowed). Fails with KeyTypeMismatch unless the key is EC
// P-384, with SnpBadSignature when the signature does not verify.
Result<void> verify_snp_report_signature(const SnpReport& r, EVP_PKEY* vcek_key);

// SnpChain is AMD's ASK (or ASVK) and ARK for one product line, as served by
// AMD KDS in `cert_chain` (PEM, ASK first).
struct SnpChain {
  ossl::UniquePtr<X509> ask;
  ossl::UniquePtr<X509> ark;
};

// parse_snp_chain reads exactly two PEM (or concatenated) certificates, ASK
// first then ARK. Fails with CertMalformed on anything else, and with
// CertChainInvalid when the second certificate is not self-issued.
Result<SnpChain> parse_snp_chain(ByteView pem);

// verify_vcek_chain verifies |vcek| <- |ask| <- |ark| at Unix time |at|. All
// three are borrowed. |ark| is the trust anchor and must come from the
// caller's trusted configuration, never from the evidence; it must be
// self-issued and carry a valid self-signature. Unknown critical extensions
// are rejected (OpenSSL's default). The VCEK's serial number 0, which RFC 5280
// forbids, is accepted (OpenSSL does not check it). Fails with CertUntrusted
// (ARK not self-signed, or no path to it), CertExpired, CertNotYetValid or
// CertChainInvalid (a bad signature anywhere in the chain, bad CA flags).
// With a |cache| (src/ossl/chain_cache.h), a chain that verified before is
// not verified again while |at| is inside its validity window; the result is
// the same.
Result<void> verify_vcek_chain(X509* vcek, X509* ask, X509* ark, std::int64_t at,
                               const ossl::ChainCache* cache = nullptr);

// verify_vcek_chain is the same with the ASK and ARK taken from |chain|.
Result<void> verify_vcek_chain(X509* vcek, const SnpChain& chain, std::int64_t at,
                               const ossl::ChainCache* cache = nullptr);

// check_vcek_matches_report checks that |vcek| (borrowed) was issued for the
// chip and TCB that signed |r|: its hwID extension (1.3.6.1.4.1.3704.1.4)
// equals CHIP_ID (the first 8 bytes for Turin; skipped when MASK_CHIP_KEY is
// set) and its blSPL/teeSPL/snpSPL/ucodeSPL (and fmcSPL on Turin) extensions
// equal REPORTED_TCB. Fails with SnpVcekMismatch, or CertMalformed when an
// extension is missing or not a small DER INTEGER.
Result<void> check_vcek_matches_report(X509* vcek, const SnpReport& r);

// verify_snp_report_data compares REPORT_DATA with |expected| (64 bytes) in
// constant time. Fails with InvalidArgument if |expected| is not 64 bytes,
// SnpReportDataMismatch if they differ.
Result<void> verify_snp_report_data(const SnpReport& r, ByteView expected);

// verify_snp_attestation runs every integrity check on a raw report: parse,
// VCEK chain to |chain| at |at|, VCEK/report binding, and the signature.
// Returns the parsed report; fails with the first failing check's code.
// Appraisal (policy, TCB minimums, measurement, REPORT_DATA) is the caller's.
Result<SnpReport> verify_snp_attestation(ByteView report, X509* vcek, const SnpChain& chain,
                                         std::int64_t at);

}  // namespace atls
