#pragma once

// The parts of an Intel DCAP ECDSA quote that SGX (version 3) and TDX
// (versions 4 and 5) quotes share: the 384-byte SGX report body (an SGX
// enclave's report, or the Quoting Enclave's), the quote signature by the
// attestation key, and the QE certification data (QE report, its signature by
// the PCK key, QE authentication data, and the PCK chain). A pure parser: no
// I/O, no OpenSSL. Field names and offsets follow Intel's "Intel SGX ECDSA
// Quote Library API" (Appendix A) and "Intel TDX DCAP Quoting Library API"
// (Appendix A). The quote formats themselves: src/formats/sgx/quote.h and
// src/formats/tdx/quote.h; the signature checks: src/formats/dcap/ecdsa_verify.h.
//
// QE certification data (all integers little-endian), the tail of a v3
// quote's signature data and the content of a v4/v5 quote's type-6
// certification data:
//
//   QE report               384   sgx_report_body_t
//   QE report signature      64   r||s by the PCK key over the QE report
//   QE auth data         2 + n   u16 size, bytes
//   certification data   6 + n   type u16 (5 = PEM PCK chain), size u32, bytes

#include <atls/bytes.h>
#include <atls/error.h>
#include <atls/result.h>

#include "src/core/byte_reader.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace atls {

inline constexpr std::size_t kSgxReportBodySize = 384;
inline constexpr std::size_t kDcapEcdsaSignatureSize = 64;
inline constexpr std::size_t kDcapEcdsaKeySize = 64;
// Attestation key type 2: ECDSA-256-with-P-256 curve.
inline constexpr std::uint16_t kDcapAttKeyTypeEcdsaP256 = 2;
// Certification data types ("Certification Data Type").
inline constexpr std::uint16_t kDcapCertTypePckChain = 5;
inline constexpr std::uint16_t kDcapCertTypeQeReport = 6;

inline constexpr std::size_t kDcapQuoteHeaderSize = 48;

// DcapQuoteHeader is the 48-byte header of every DCAP quote version.
struct DcapQuoteHeader {
  std::uint16_t version = 0;       // 3 (SGX), 4 or 5 (TDX)
  std::uint16_t att_key_type = 0;  // 2 = ECDSA-256-with-P-256
  std::uint32_t tee_type = 0;      // 0 = SGX, 0x81 = TDX
  std::uint16_t qe_svn = 0;
  std::uint16_t pce_svn = 0;
  Bytes qe_vendor_id;  // 16 bytes; Intel's QE is 939a7233f79c4ca9940a0db3957f0607
  Bytes user_data;     // 20 bytes
};

// SgxReportBody is an SGX REPORT body (384 bytes, sgx_report_body_t): the
// body of an SGX quote and the Quoting Enclave's report in every DCAP quote.
// Reserved fields are skipped.
struct SgxReportBody {
  Bytes cpu_svn;                  // 16 @0
  std::uint32_t misc_select = 0;  // @16
  Bytes isv_ext_prod_id;          // 16 @32
  Bytes attributes;               // 16 @48
  Bytes mr_enclave;               // 32 @64
  Bytes mr_signer;                // 32 @128
  Bytes config_id;                // 64 @192
  std::uint16_t isv_prod_id = 0;  // @256
  std::uint16_t isv_svn = 0;      // @258
  std::uint16_t config_svn = 0;   // @260
  Bytes isv_family_id;            // 16 @304
  Bytes report_data;              // 64 @320
};

// DcapEcdsaQuote holds what every ECDSA DCAP quote carries, whatever its
// header and body: the signed bytes, the quote signature and attestation key,
// and the QE certification data. SgxQuote and TdxQuote extend it. Byte
// fields are owned copies.
struct DcapEcdsaQuote {
  // header ‖ [v5 body descriptor] ‖ body: the message of |signature|.
  Bytes signed_bytes;
  Bytes signature;        // 64 bytes r||s (big-endian P-256 scalars)
  Bytes attestation_key;  // 64 bytes x||y (big-endian P-256 coordinates)
  SgxReportBody qe_report;
  Bytes qe_report_raw;        // the 384 bytes qe_report was parsed from
  Bytes qe_report_signature;  // 64 bytes r||s, by the PCK key over qe_report_raw
  Bytes qe_auth_data;
  std::uint16_t pck_cert_type = 0;  // certification data type (always 5)
  Bytes pck_chain_pem;              // PCK leaf, intermediate CA, root CA; unparsed (may end in NUL)
  // Bytes after the signature data. Some producers pad quotes (e.g. with
  // zeros to a fixed buffer size); they are outside every signature.
  std::size_t trailing_bytes = 0;
};

// QuoteReader reads little-endian quote fields and fails with the error code
// of the quote format being parsed (TdxMalformed, SgxMalformed) naming the
// field that is missing.
class QuoteReader {
 public:
  QuoteReader(ByteView data, ErrorCode malformed) : m_r(data), m_code(malformed) {}

  Error malformed(std::string detail) const { return Error{m_code, std::move(detail)}; }
  ErrorCode code() const { return m_code; }
  std::size_t remaining() const { return m_r.remaining(); }
  std::size_t position() const { return m_r.position(); }
  bool empty() const { return m_r.empty(); }

  // take copies the next |n| bytes.
  Result<Bytes> take(std::size_t n, std::string_view what);
  // view borrows the next |n| bytes.
  Result<ByteView> view(std::size_t n, std::string_view what);
  Result<std::uint16_t> u16(std::string_view what);
  Result<std::uint32_t> u32(std::string_view what);
  Result<void> skip(std::size_t n, std::string_view what);
  // sized reads a little-endian length (|prefix| 2 or 4 bytes) and that many
  // bytes; the length is checked against the input before anything is read.
  Result<ByteView> sized(std::size_t prefix, std::string_view what);

 private:
  ByteReader m_r;
  ErrorCode m_code;
};

// parse_dcap_quote_header reads the header from |r|. Fails with
// |unsupported_version| when the version is not in [min_version,
// max_version], with UnsupportedAlgorithm when att_key_type is not 2, and
// with r.code() when it is truncated or tee_type is not |tee_type|.
Result<DcapQuoteHeader> parse_dcap_quote_header(QuoteReader& r, std::uint16_t min_version,
                                                std::uint16_t max_version, std::uint32_t tee_type,
                                                ErrorCode unsupported_version);

// dcap_quote_header_to_json renders every field of |h| (bytes as hex).
nlohmann::json dcap_quote_header_to_json(const DcapQuoteHeader& h);

// parse_sgx_report_body parses exactly kSgxReportBodySize bytes. Fails with
// |malformed| when |data| has another size.
Result<SgxReportBody> parse_sgx_report_body(ByteView data, ErrorCode malformed);

// parse_qe_certification_data parses the QE certification data described at
// the top of this file, which must fill |r| exactly, into |q|. Fails with
// r.code() on a truncated field, a length that overruns, a certification
// data type other than 5, or bytes left over.
Result<void> parse_qe_certification_data(QuoteReader& r, DcapEcdsaQuote& q);

// sgx_report_body_to_json renders every field of |b| (bytes as lower-case
// hex). Never throws.
nlohmann::json sgx_report_body_to_json(const SgxReportBody& b);

// dcap_signature_data_to_json renders the shared signature-data fields of
// |q| (bytes as hex; the PCK chain PEM as text without trailing NULs, or as
// hex when it is not UTF-8) into |out|. Never throws.
void dcap_signature_data_to_json(const DcapEcdsaQuote& q, nlohmann::json& out);

}  // namespace atls
