#pragma once

// Intel SGX DCAP quote, version 3 (ECDSA): a pure parser (no I/O, no
// OpenSSL), its verification against trusted Intel SGX Root CAs, and a JSON
// rendering. Layout from "Intel SGX ECDSA Quote Library API", Appendix A
// ("Version 3 Quote Format"); everything after the body is shared with TDX
// quotes (src/formats/dcap/ecdsa_quote.h).
//
// Wire layout (all integers little-endian):
//
//   header            48   version u16 (3), att_key_type u16 (2), tee_type u32 (0),
//                          qe_svn u16, pce_svn u16, qe_vendor_id 16, user_data 20
//   body             384   SGX report body of the attested enclave
//   sig_data_len       4   u32
//   sig_data         len   signature 64 (r||s), attestation key 64 (x||y),
//                          QE report 384, QE report signature 64,
//                          QE auth data (u16 size + bytes),
//                          certification data: type u16 (5), size u32, PEM chain
//   trailing bytes         ignored (recorded in trailing_bytes)
//
// Note the version 3 format has no type-6 wrapper around the QE report,
// unlike TDX quotes.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/dcap/ecdsa_quote.h"
#include "src/formats/dcap/ecdsa_verify.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>

namespace atls {

inline constexpr std::uint16_t kSgxQuoteVersion3 = 3;
inline constexpr std::uint32_t kSgxTeeTypeSgx = 0;

// SgxQuote is a parsed version 3 quote.
struct SgxQuote : DcapEcdsaQuote {
  DcapQuoteHeader header;
  SgxReportBody body;  // the attested enclave's report
};

// kSgxQuoteErrors are the SGX quote's codes for the shared DCAP checks.
inline constexpr DcapErrorCodes kSgxQuoteErrors{
    ErrorCode::SgxMalformed, ErrorCode::SgxBadPckChain, ErrorCode::SgxBadQeReportSignature,
    ErrorCode::SgxQeReportDataMismatch, ErrorCode::SgxBadQuoteSignature};

// parse_sgx_quote parses a version 3 SGX quote from the start of |data|.
// Bytes after the signature data are accepted and counted in trailing_bytes.
// Fails with SgxUnsupportedVersion when version is not 3; with
// UnsupportedAlgorithm when att_key_type is not 2 (ECDSA P-256); and with
// SgxMalformed on a truncated structure, a tee_type other than 0, a length
// field that overruns its container, a certification data type other than 5,
// or signature data that its fields do not exactly fill. It verifies nothing.
Result<SgxQuote> parse_sgx_quote(ByteView data);

// verify_sgx_quote checks the quote's integrity as verify_dcap_quote does
// (PCK chain to a trusted root at opts.at, QE report signature, attestation
// key binding, quote signature), with the SGX codes of kSgxQuoteErrors. It
// checks no measurement, no report_data, no QE identity and no TCB status.
Result<void> verify_sgx_quote(const SgxQuote& q, const DcapVerifyOptions& opts);

// sgx_quote_to_json renders every field of |q| (bytes as lower-case hex).
// Never throws.
nlohmann::json sgx_quote_to_json(const SgxQuote& q);

}  // namespace atls
