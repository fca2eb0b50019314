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

#include "src/formats/dcap/ecdsa_quote.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace atls {

// Sizes of the fixed parts of a quote.
inline constexpr std::size_t kTdxBodyDescriptorSize = 6;
inline constexpr std::size_t kTdReport10Size = 584;
inline constexpr std::size_t kTdReport15Size = 648;

// Header and body codes this parser accepts.
inline constexpr std::uint32_t kTdxTeeTypeTdx = 0x81;
inline constexpr std::uint16_t kTdxBodyTypeTdReport10 = 2;
inline constexpr std::uint16_t kTdxBodyTypeTdReport15 = 3;

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

// TdxQuote is a parsed quote: the TDX header and body, and the signature
// data every DCAP quote shares (src/formats/dcap/ecdsa_quote.h). Byte fields
// are owned copies.
struct TdxQuote : DcapEcdsaQuote {
  DcapQuoteHeader header;
  // Body type: the v5 descriptor's type, or kTdxBodyTypeTdReport10 for v4.
  std::uint16_t body_type = 0;
  TdReport body;
  std::uint16_t cert_type = 0;  // outer certification data type (always 6)
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
