#include "src/formats/sgx/quote.h"

#include "src/core/encoding.h"

#include <string>
#include <utility>

namespace atls {
Result<SgxQuote> parse_sgx_quote(ByteView data) {
  QuoteReader r(data, ErrorCode::SgxMalformed);
  SgxQuote q;
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_SGX_ECDSA_QuoteLibReference_DCAP_API.pdf#A.4
  //# Version of the Quote data structure. Value: 3
  ATLS_ASSIGN_OR_RETURN(
      q.header, parse_dcap_quote_header(r, kSgxQuoteVersion3, kSgxQuoteVersion3, kSgxTeeTypeSgx,
                                        ErrorCode::SgxUnsupportedVersion));
  ATLS_ASSIGN_OR_RETURN(const ByteView body, r.view(kSgxReportBodySize, "enclave report body"));
  ATLS_ASSIGN_OR_RETURN(q.body, parse_sgx_report_body(body, ErrorCode::SgxMalformed));
  q.signed_bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(r.position()));

  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_SGX_ECDSA_QuoteLibReference_DCAP_API.pdf#A.4.1
  //# ECDSA Signature Data Structure: ISV Enclave Report Signature, ECDSA Attestation Key,
  //# QE Report, QE Report Signature, QE Authentication Data, QE Certification Data
  ATLS_ASSIGN_OR_RETURN(const ByteView sig_data, r.sized(4, "signature data"));
  QuoteReader s(sig_data, ErrorCode::SgxMalformed);
  ATLS_ASSIGN_OR_RETURN(q.signature, s.take(kDcapEcdsaSignatureSize, "quote signature"));
  ATLS_ASSIGN_OR_RETURN(q.attestation_key, s.take(kDcapEcdsaKeySize, "attestation key"));
  ATLS_TRY(parse_qe_certification_data(s, q));
  q.trailing_bytes = r.remaining();
  return q;
}

Result<void> verify_sgx_quote(const SgxQuote& q, const DcapVerifyOptions& opts) {
  return verify_dcap_quote(q, opts, kSgxQuoteErrors);
}

nlohmann::json sgx_quote_to_json(const SgxQuote& q) {
  nlohmann::json out = {
      {"header", dcap_quote_header_to_json(q.header)},
      {"body", sgx_report_body_to_json(q.body)},
  };
  dcap_signature_data_to_json(q, out);
  return out;
}

}  // namespace atls
