#pragma once

// Intel TDX DCAP quote, versions 4 and 5: a pure parser (no I/O, no OpenSSL)
// and a JSON rendering for `atls inspect`. Field names and offsets follow the
// Intel TDX DCAP Quoting Library API, Appendix A ("Version 4 Quote Format" and
// "Version 5 Quote Format"). Signature and certificate checks live in
// src/formats/tdx/verify.h.
//
// Wire layout (all integers little-endian):
//
//   header            48   version u16, att_key_type u16, tee_type u32, qe_svn u16,
//                          pce_svn u16, qe_vendor_id 16, user_data 20
//   [v5 only]          6   body descriptor: type u16 (2 = TD report 1.0, 3 = 1.5), size u32
//   body         584/648   TD report (TDX 1.0) or TD report 1.5
//   sig_data_len       4   u32
//   sig_data         len   signature 64 (r||s), attestation key 64 (x||y),
//                          certification data: type u16 (6), size u32, then
//                            QE report 384, QE report signature 64,
//                            QE auth data (u16 size + bytes),
//                            certification data: type u16 (5), size u32, PEM chain
//   trailing bytes         ignored (recorded in TdxQuote::trailing_bytes)

#include <atls/bytes.h>
#include <atls/result.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace atls {

// Sizes of the fixed parts of a quote.
inline constexpr std::size_t kTdxHeaderSize = 48;
inline constexpr std::size_t kTdxBodyDescriptorSize = 6;
inline constexpr std::size_t kTdReport10Size = 584;
inline constexpr std::size_t kTdReport15Size = 648;
inline constexpr std::size_t kSgxReportBodySize = 384;
inline constexpr std::size_t kTdxEcdsaSignatureSize = 64;
inline constexpr std::size_t kTdxEcdsaKeySize = 64;

// Header and body codes this parser accepts.
inline constexpr std::uint16_t kTdxAttKeyTypeEcdsaP256 = 2;
inline constexpr std::uint32_t kTdxTeeTypeTdx = 0x81;
inline constexpr std::uint16_t kTdxBodyTypeTdReport10 = 2;
inline constexpr std::uint16_t kTdxBodyTypeTdReport15 = 3;
// Certification data types (QE Certification Data "Certification Data Type").
inline constexpr std::uint16_t kTdxCertTypePckChain = 5;
inline constexpr std::uint16_t kTdxCertTypeQeReport = 6;

// TdxQuoteHeader is the 48-byte quote header.
struct TdxQuoteHeader {
  std::uint16_t version = 0;       // 4 or 5
  std::uint16_t att_key_type = 0;  // 2 = ECDSA-256-with-P-256
  std::uint32_t tee_type = 0;      // 0x81 = TDX
  std::uint16_t qe_svn = 0;
  std::uint16_t pce_svn = 0;
  Bytes qe_vendor_id;  // 16 bytes; Intel's QE is 939a7233f79c4ca9940a0db3957f0607
  Bytes user_data;     // 20 bytes
};

// TdReport is the TD quote body: TD report 1.0 (584 bytes) or, for a v5
// body of type 3, TD report 1.5 (648 bytes, which adds tee_tcb_svn2 and
// mr_servicetd). Every field is copied out unchanged.
struct TdReport {
  Bytes tee_tcb_svn;                  // 16
  Bytes mr_seam;                      // 48
  Bytes mr_signer_seam;               // 48
  Bytes seam_attributes;              // 8
  Bytes td_attributes;                // 8
  Bytes xfam;                         // 8
  Bytes mr_td;                        // 48
  Bytes mr_config_id;                 // 48
  Bytes mr_owner;                     // 48
  Bytes mr_owner_config;              // 48
  Bytes rtmr0;                        // 48
  Bytes rtmr1;                        // 48
  Bytes rtmr2;                        // 48
  Bytes rtmr3;                        // 48
  Bytes report_data;                  // 64
  std::optional<Bytes> tee_tcb_svn2;  // 16, TD report 1.5 only
  std::optional<Bytes> mr_servicetd;  // 48, TD report 1.5 only
};

// QeReport is the Quoting Enclave's SGX REPORT body (384 bytes,
// sgx_report_body_t).
struct QeReport {
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

// TdxQuote is a parsed quote. Byte fields are owned copies.
struct TdxQuote {
  TdxQuoteHeader header;
  // Body type: the v5 descriptor's type, or kTdxBodyTypeTdReport10 for v4.
  std::uint16_t body_type = 0;
  TdReport body;
  // header ‖ [v5 body descriptor] ‖ body: the message of |signature|.
  Bytes signed_bytes;
  Bytes signature;              // 64 bytes r||s (big-endian P-256 scalars)
  Bytes attestation_key;        // 64 bytes x||y (big-endian P-256 coordinates)
  std::uint16_t cert_type = 0;  // outer certification data type (always 6)
  QeReport qe_report;
  Bytes qe_report_raw;        // the 384 bytes QeReport was parsed from
  Bytes qe_report_signature;  // 64 bytes r||s, by the PCK key over qe_report_raw
  Bytes qe_auth_data;
  std::uint16_t pck_cert_type = 0;  // nested certification data type (always 5)
  Bytes pck_chain_pem;              // PCK leaf, intermediate CA, root CA; unparsed (may end in NUL)
  // Bytes after the signature data. Some producers pad quotes (e.g. with
  // zeros to a fixed buffer size); they are outside every signature.
  std::size_t trailing_bytes = 0;
};

// parse_tdx_quote parses a v4 or v5 TDX quote from the start of |data|.
// Bytes after the signature data are accepted and counted in trailing_bytes.
// Fails with TdxUnsupportedVersion when version is not 4 or 5; with
// UnsupportedAlgorithm when att_key_type is not 2 (ECDSA P-256); and with
// TdxMalformed on a truncated structure, a tee_type other than 0x81, an
// unknown v5 body type or a body size that does not match it, a length field
// that overruns its container, a certification data type other than 6 (outer)
// or 5 (nested), or a nested structure that does not exactly fill its
// container. It does not verify anything (see verify_tdx_quote).
Result<TdxQuote> parse_tdx_quote(ByteView data);

// td_report_to_json renders every field of a TD report body (byte fields as
// lower-case hex; the TD report 1.5 fields only when present).
nlohmann::json td_report_to_json(const TdReport& body);

// tdx_quote_to_json renders every field of |q| (byte fields as lower-case
// hex, the PCK chain PEM as text without trailing NULs). Never throws.
nlohmann::json tdx_quote_to_json(const TdxQuote& q);

}  // namespace atls
