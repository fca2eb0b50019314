#pragma once

// Cryptographic verification of a parsed TDX quote (src/formats/tdx/quote.h)
// against caller-supplied Intel SGX Root CA certificates, with the time
// injected, plus the Intel SGX extensions of the PCK certificate.
//
// What verify_tdx_quote checks (integrity only):
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
//     header ‖ [v5 body descriptor] ‖ body).
//
// What it does NOT check (collateral and appraisal, done elsewhere):
//   - revocation (PCK CRL, Root CA CRL);
//   - TCB status (TCB Info: FMSPC, TEE TCB SVN, PCE SVN, CPU SVN, advisories);
//   - QE identity (src/formats/tdx/qe_identity.h; the tdx verifier plug-in
//     runs it) and the QE vendor id;
//   - any TD measurement, attribute (e.g. DEBUG), or report_data value.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/dcap/ecdsa_verify.h"
#include "src/formats/tdx/qe_identity.h"
#include "src/formats/tdx/quote.h"
#include "src/ossl/chain_cache.h"
#include "src/ossl/ossl.h"

#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace atls {

// kTdxQuoteErrors are the TDX quote's codes for the shared DCAP checks.
inline constexpr DcapErrorCodes kTdxQuoteErrors{
    ErrorCode::TdxMalformed, ErrorCode::TdxBadPckChain, ErrorCode::TdxBadQeReportSignature,
    ErrorCode::TdxQeReportDataMismatch, ErrorCode::TdxBadQuoteSignature};

// parse_tdx_pck_chain parses q.pck_chain_pem. Fails with TdxBadPckChain
// unless it holds exactly three PEM certificates (a corrupted PEM block ends
// the list early and so also fails).
Result<DcapPckChain> parse_tdx_pck_chain(const TdxQuote& q);

// parse_tdx_pck_chain parses a quote's PCK chain field (q.pck_chain_pem,
// trailing NUL bytes ignored) exactly as the overload above does.
Result<DcapPckChain> parse_tdx_pck_chain(ByteView pck_chain_pem);

// verify_tdx_quote runs the checks listed at the top of this file, in this
// order, and returns the first failure: InvalidArgument when no trusted root
// is given; TdxBadPckChain (see parse_tdx_pck_chain); CertUntrusted when the
// quote's root is not one of opts.trusted_roots or the chain does not reach
// it; CertExpired / CertNotYetValid / CertChainInvalid from the chain check;
// KeyTypeMismatch when the PCK key is not EC P-256; TdxBadQeReportSignature;
// TdxQeReportDataMismatch; KeyInvalid when the attestation key is not a P-256
// point; TdxBadQuoteSignature. The chain is checked first so that no key is
// used before it is trusted.
Result<void> verify_tdx_quote(const TdxQuote& q, const DcapVerifyOptions& opts);

// verify_tdx_quote with the quote's PCK chain already parsed: |chain| must be
// parse_tdx_pck_chain(q) (borrowed for the call). Runs the same checks in the
// same order with the same errors, minus the chain parse, so that a caller
// that also needs the PCK certificate (for its SGX extensions) parses it
// once.
Result<void> verify_tdx_quote(const TdxQuote& q, const DcapPckChain& chain,
                              const DcapVerifyOptions& opts);

// tdx_attestation_key decodes q.attestation_key (x || y) as an EC P-256
// public key. Fails with TdxMalformed when it is not 64 bytes and KeyInvalid
// when it is not a point on the curve.
Result<ossl::UniquePtr<EVP_PKEY>> tdx_attestation_key(const TdxQuote& q);

// verify_qe_identity_signature checks QE Identity collateral: |issuer_chain_pem|
// is the PCS issuer chain (the Intel SGX TCB Signing certificate, then the
// Root CA; any order); the signing certificate's subject CN must be "Intel
// SGX TCB Signing", it must chain at |at| to one of |trusted_roots| (the
// chain's own root is not trusted), and its key must verify id.signature
// over id.signed_bytes. Fails with TdxQeIdentityMalformed (chain not PEM or
// without a TCB Signing certificate), CertUntrusted / CertExpired /
// CertNotYetValid / CertChainInvalid, KeyTypeMismatch (not P-256), or
// TdxQeIdentityBadSignature. The identity's own dates are checked by
// check_qe_identity_time.
Result<void> verify_qe_identity_signature(const QeIdentity& id, ByteView issuer_chain_pem,
                                          const std::vector<X509*>& trusted_roots, std::int64_t at);

// PckCaType says which Intel CA issued a PCK certificate.
enum class PckCaType : std::uint8_t { Platform, Processor };

// PckExtensions are the Intel SGX extensions of a PCK certificate
// (OID 1.2.840.113741.1.13.1), per Intel's "SGX PCK Certificate and
// Certificate Revocation List Profile Specification".
struct PckExtensions {
  Bytes ppid;                                   // .1, 16 bytes
  std::array<std::uint8_t, 16> tcb_comp_svn{};  // .2.1 - .2.16
  std::uint16_t pcesvn = 0;                     // .2.17
  Bytes cpusvn;                                 // .2.18, 16 bytes
  Bytes pceid;                                  // .3, 2 bytes
  Bytes fmspc;                                  // .4, 6 bytes
  std::uint8_t sgx_type = 0;                    // .5 (0 Standard, 1 Scalable, 2 Scalable+Integrity)
  std::optional<Bytes> platform_instance_id;    // .6 (Platform CA certificates only)
  std::optional<bool> dynamic_platform;         // .7.1
  std::optional<bool> cached_keys;              // .7.2
  std::optional<bool> smt_enabled;              // .7.3
  PckCaType ca_type = PckCaType::Platform;      // from the issuer's common name
};

// parse_pck_extensions reads the SGX extensions of |pck| (borrowed). Fails
// with CertMalformed when the extension is missing, not well-formed DER, lacks
// a mandatory field, has a field of the wrong size, or when the issuer is
// neither "Intel SGX PCK Platform CA" nor "Intel SGX PCK Processor CA".
// Unknown sub-extensions are ignored.
Result<PckExtensions> parse_pck_extensions(X509* pck);

// pck_ca_type_name returns "platform" or "processor".
const char* pck_ca_type_name(PckCaType t);

// pck_extensions_to_json renders |e| with byte fields as lower-case hex.
nlohmann::json pck_extensions_to_json(const PckExtensions& e);

}  // namespace atls
