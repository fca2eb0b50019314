#pragma once

// Intel QE Identity collateral (the body of Intel PCS
// GET /tdx/certification/v4/qe/identity, "enclaveIdentity" version 2) and
// the checks of a Quoting Enclave's report against it: a pure parser and
// pure comparisons (no I/O, no OpenSSL). The signature over the identity
// and its issuer chain are checked by verify_qe_identity_signature
// (src/formats/tdx/verify.h).
//
// Wire form: {"enclaveIdentity": {...}, "signature": "<128 hex>"}, where the
// signature is ECDSA P-256 / SHA-256 (r||s) by the Intel SGX TCB Signing key
// over the exact bytes of the enclaveIdentity JSON text as sent.
//
// When no collateral is given, a TD Quoting Enclave is checked against
// Intel's published TD_QE identity (check_intel_td_qe).

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/tdx/quote.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace atls {

// MRSIGNER of Intel's Quoting Enclaves (SGX QE and TD QE).
inline constexpr const char* kIntelQeMrSigner =
    "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5";
// ISVPRODID of Intel's TD Quoting Enclave.
inline constexpr std::uint16_t kIntelTdQeIsvProdId = 2;
// MRSIGNER and ISVPRODID of Intel's SGX (ECDSA) Quoting Enclave, as Intel's
// SGX QE Identity ("id": "QE") publishes them.
inline constexpr const char* kIntelSgxQeMrSigner =
    "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff";
inline constexpr std::uint16_t kIntelSgxQeIsvProdId = 1;
// SGX ATTRIBUTES.FLAGS bit 1: the enclave is a debug enclave (its memory
// can be read by the host).
inline constexpr unsigned kSgxAttrDebugBit = 1;

// QeTcbLevel is one entry of enclaveIdentity.tcbLevels.
struct QeTcbLevel {
  std::uint16_t isv_svn = 0;
  std::string tcb_date;    // RFC 3339, as sent
  std::string tcb_status;  // "UpToDate", "OutOfDate", "Revoked", ...
};

// QeIdentity is a parsed QE Identity document.
struct QeIdentity {
  std::string id;  // "TD_QE" for the TD Quoting Enclave
  std::uint32_t version = 0;
  std::int64_t issue_date = 0;   // Unix seconds
  std::int64_t next_update = 0;  // Unix seconds
  std::uint32_t tcb_evaluation_data_number = 0;
  std::uint32_t misc_select = 0;
  std::uint32_t misc_select_mask = 0;
  Bytes attributes;       // 16 bytes, in SGX REPORT byte order
  Bytes attributes_mask;  // 16 bytes
  Bytes mr_signer;        // 32 bytes
  std::uint16_t isv_prod_id = 0;
  std::vector<QeTcbLevel> tcb_levels;  // in document order (Intel: highest first)
  // The exact enclaveIdentity JSON text: the message of |signature|.
  Bytes signed_bytes;
  Bytes signature;  // 64 bytes r||s
};

// parse_qe_identity parses a QE Identity document. Fails with
// TdxQeIdentityMalformed when the text is not one JSON object with exactly
// the members "enclaveIdentity" (an object) and "signature" (128 hex
// digits), when enclaveIdentity.version is not 2, or when a field is
// missing, of the wrong type or size, or a date is not
// "YYYY-MM-DDTHH:MM:SSZ" (fractional seconds allowed). Unknown members of
// enclaveIdentity are ignored. Verifies nothing.
Result<QeIdentity> parse_qe_identity(ByteView text);

// check_qe_identity_time fails with TdxQeIdentityExpired unless
// issue_date <= at <= next_update.
Result<void> check_qe_identity_time(const QeIdentity& id, std::int64_t at);

// match_qe_identity compares a QE report with an identity, in this order,
// and returns the TCB status of the report's ISVSVN:
//   - DEBUG (ATTRIBUTES bit 1) set: TdxQeDebug, whatever the identity says;
//   - id is not "TD_QE": TdxQeIdentityMismatch;
//   - MRSIGNER, ISVPRODID, MISCSELECT & mask, ATTRIBUTES & mask differ:
//     TdxQeIdentityMismatch;
//   - the status is that of the first tcbLevel (in document order) whose
//     isvsvn <= the report's ISVSVN; none: TcbTooLow; "Revoked": TcbTooLow.
Result<std::string> match_qe_identity(const QeIdentity& id, const SgxReportBody& qe);

// check_intel_td_qe checks a QE report against Intel's published TD QE
// identity, for use when no collateral is given: not a debug enclave
// (TdxQeDebug), MRSIGNER kIntelQeMrSigner and ISVPRODID kIntelTdQeIsvProdId
// (TdxQeIdentityMismatch). ISVSVN is not checked (that needs collateral).
Result<void> check_intel_td_qe(const SgxReportBody& qe);

// check_intel_sgx_qe is check_intel_td_qe for the SGX Quoting Enclave that
// signs SGX (version 3) quotes: ISVPRODID
// kIntelSgxQeIsvProdId and MRSIGNER kIntelSgxQeMrSigner, same codes.
Result<void> check_intel_sgx_qe(const SgxReportBody& qe);

// qe_identity_to_json renders the identity's fields (bytes as lower-case
// hex, dates as Unix seconds). Never throws.
nlohmann::json qe_identity_to_json(const QeIdentity& id);

}  // namespace atls
