#pragma once

// Cryptographic verification of the parts every ECDSA DCAP quote shares
// (src/formats/dcap/ecdsa_quote.h), against caller-supplied Intel SGX Root CA
// certificates, with the time injected. Used by the SGX (v3) and TDX (v4,
// v5) quote verifiers, each with its own error codes (DcapErrorCodes).
//
// What verify_dcap_quote checks (integrity only):
//   - the PCK chain in the quote is exactly three PEM certificates (PCK leaf,
//     PCK Platform/Processor CA, Root CA), the quote's root is byte-for-byte
//     one of the caller's trusted roots, and PCK <- CA <- trusted root
//     verifies at the given time (signatures, validity, CA flags);
//   - the QE report signature (ECDSA P-256 / SHA-256 by the PCK key over the
//     384-byte QE report);
//   - the QE report binds the attestation key:
//     report_data[0:32] == SHA-256(attestation_key ‖ qe_auth_data) and
//     report_data[32:64] is zero;
//   - the quote signature (ECDSA P-256 / SHA-256 by the attestation key over
//     the quote's signed bytes: header ‖ [v5 body descriptor] ‖ body).
//
// What it does NOT check (collateral and appraisal, done elsewhere or not at
// all): revocation (PCK CRL, Root CA CRL); TCB status (TCB Info: FMSPC, SVNs,
// advisories); QE identity (src/formats/tdx/qe_identity.h) and the QE vendor
// id; any measurement, attribute (e.g. DEBUG) or report_data of the body.

#include <atls/bytes.h>
#include <atls/error.h>
#include <atls/result.h>

#include "src/formats/dcap/ecdsa_quote.h"
#include "src/ossl/chain_cache.h"
#include "src/ossl/ossl.h"

#include <openssl/x509.h>

#include <cstdint>
#include <vector>

namespace atls {

// DcapVerifyOptions configures verify_dcap_quote.
struct DcapVerifyOptions {
  // Verification time (Unix seconds), from the caller's Clock.
  std::int64_t at = 0;
  // Trusted Intel SGX Root CA certificates (borrowed; they must outlive the
  // call). They come from configuration, never from the evidence.
  std::vector<X509*> trusted_roots;
  // Optional (borrowed): the quote's attestation key, already decoded from
  // q.attestation_key by ec_public_from_xy (P-256) by a caller that keeps
  // decoded keys. Null: the key is decoded (and its point checked) here.
  EVP_PKEY* attestation_key = nullptr;
  // Optional (borrowed): verdicts to reuse (src/ossl/chain_cache.h): the PCK
  // chain while the time is inside its validity window, and the QE report
  // signature by that PCK. The quote signature is verified every time.
  const ossl::ChainCache* cache = nullptr;
};

// DcapErrorCodes names the errors of one quote format for the failures that
// belong to the quote rather than to the certificates.
struct DcapErrorCodes {
  ErrorCode malformed;                // a field of the wrong size
  ErrorCode bad_pck_chain;            // the PCK chain is not three PEM certificates
  ErrorCode bad_qe_report_signature;  // the PCK key did not sign the QE report
  ErrorCode qe_report_data_mismatch;  // the QE report does not bind the attestation key
  ErrorCode bad_quote_signature;      // the attestation key did not sign the quote
};

// DcapPckChain is the PCK certificate chain carried in a quote.
struct DcapPckChain {
  ossl::UniquePtr<X509> pck;           // PCK leaf certificate
  ossl::UniquePtr<X509> intermediate;  // Intel SGX PCK Platform CA or Processor CA
  ossl::UniquePtr<X509> root;          // Intel SGX Root CA (as sent; not trusted)
};

// parse_dcap_pck_chain parses a quote's PCK chain field (trailing NUL bytes
// ignored). Fails with |bad_chain| unless it holds exactly three PEM
// certificates (a corrupted PEM block ends the list early and so also fails).
Result<DcapPckChain> parse_dcap_pck_chain(ByteView pck_chain_pem, ErrorCode bad_chain);

// verify_dcap_quote runs the checks listed at the top of this file, in this
// order, and returns the first failure: InvalidArgument when no trusted root
// is given or |chain| is incomplete; CertUntrusted when the quote's root is
// not one of opts.trusted_roots or the chain does not reach it; CertExpired /
// CertNotYetValid / CertChainInvalid from the chain check; KeyTypeMismatch
// when the PCK key is not EC P-256; codes.bad_qe_report_signature;
// codes.qe_report_data_mismatch; KeyInvalid when the attestation key is not a
// P-256 point; codes.bad_quote_signature. |chain| must be
// parse_dcap_pck_chain(q.pck_chain_pem) (borrowed for the call). The chain is
// checked first so that no key is used before it is trusted.
Result<void> verify_dcap_quote(const DcapEcdsaQuote& q, const DcapPckChain& chain,
                               const DcapVerifyOptions& opts, const DcapErrorCodes& codes);

// verify_dcap_quote parses q.pck_chain_pem (codes.bad_pck_chain) and
// verifies as the overload above; InvalidArgument (no trusted root) comes
// before any parse.
Result<void> verify_dcap_quote(const DcapEcdsaQuote& q, const DcapVerifyOptions& opts,
                               const DcapErrorCodes& codes);

// dcap_attestation_key decodes q.attestation_key (x || y) as an EC P-256
// public key. Fails with |malformed| when it is not 64 bytes and KeyInvalid
// when it is not a point on the curve.
Result<ossl::UniquePtr<EVP_PKEY>> dcap_attestation_key(const DcapEcdsaQuote& q,
                                                       ErrorCode malformed);

// verify_raw_p256 checks a 64-byte r||s ECDSA P-256 / SHA-256 signature by
// |key| (borrowed) over |msg|. Fails with |bad| (detail |what|) for any
// signature that does not verify, and with OpenSSL's codes otherwise.
Result<void> verify_raw_p256(EVP_PKEY* key, ByteView msg, ByteView raw_sig, ErrorCode bad,
                             const char* what);

}  // namespace atls
