#include "src/formats/dcap/ecdsa_quote.h"

#include "src/core/encoding.h"

#include <string>
#include <utility>

namespace atls {

Result<Bytes> QuoteReader::take(std::size_t n, std::string_view what) {
  ATLS_ASSIGN_OR_RETURN(const ByteView b, view(n, what));
  return Bytes(b.begin(), b.end());
}

Result<ByteView> QuoteReader::view(std::size_t n, std::string_view what) {
  auto b = m_r.bytes(n);
  if (!b) {
    return malformed("truncated " + std::string(what));
  }
  return *b;
}

Result<std::uint16_t> QuoteReader::u16(std::string_view what) {
  auto v = m_r.u16_le();
  if (!v) {
    return malformed("truncated " + std::string(what));
  }
  return *v;
}

Result<std::uint32_t> QuoteReader::u32(std::string_view what) {
  auto v = m_r.u32_le();
  if (!v) {
    return malformed("truncated " + std::string(what));
  }
  return *v;
}

Result<void> QuoteReader::skip(std::size_t n, std::string_view what) {
  if (!m_r.skip(n)) {
    return malformed("truncated " + std::string(what));
  }
  return ok();
}

Result<ByteView> QuoteReader::sized(std::size_t prefix, std::string_view what) {
  std::size_t len = 0;
  if (prefix == 2) {
    ATLS_ASSIGN_OR_RETURN(len, u16(std::string(what) + " length"));
  } else {
    ATLS_ASSIGN_OR_RETURN(len, u32(std::string(what) + " length"));
  }
  if (len > m_r.remaining()) {
    return malformed(std::string(what) + " length " + std::to_string(len) + " exceeds the " +
                     std::to_string(m_r.remaining()) + " bytes left");
  }
  return *m_r.bytes(len);
}

Result<DcapQuoteHeader> parse_dcap_quote_header(QuoteReader& r, std::uint16_t min_version,
                                                std::uint16_t max_version, std::uint32_t tee_type,
                                                ErrorCode unsupported_version) {
  if (r.remaining() < kDcapQuoteHeaderSize) {
    return r.malformed("truncated header");
  }
  DcapQuoteHeader h;
  ATLS_ASSIGN_OR_RETURN(h.version, r.u16("version"));
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.3.1
  //# Version of the Quote data structure. Value: 4
  if (h.version < min_version || h.version > max_version) {
    const std::string want = min_version == max_version ? std::to_string(min_version)
                                                        : std::to_string(min_version) + " or " +
                                                              std::to_string(max_version);
    return Error{unsupported_version,
                 "quote version " + std::to_string(h.version) + " (expected " + want + ")"};
  }
  ATLS_ASSIGN_OR_RETURN(h.att_key_type, r.u16("att_key_type"));
  if (h.att_key_type != kDcapAttKeyTypeEcdsaP256) {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 "attestation key type " + std::to_string(h.att_key_type) + " (expected 2)"};
  }
  // Version 3 calls this field "Reserved" (zero, i.e. SGX).
  ATLS_ASSIGN_OR_RETURN(h.tee_type, r.u32("tee_type"));
  //# TEE for this Attestation: 0x00000000: SGX, 0x00000081: TDX
  if (h.tee_type != tee_type) {
    return r.malformed("tee_type " + std::to_string(h.tee_type) + " (expected " +
                       std::to_string(tee_type) + ")");
  }
  ATLS_ASSIGN_OR_RETURN(h.qe_svn, r.u16("qe_svn"));
  ATLS_ASSIGN_OR_RETURN(h.pce_svn, r.u16("pce_svn"));
  ATLS_ASSIGN_OR_RETURN(h.qe_vendor_id, r.take(16, "qe_vendor_id"));
  ATLS_ASSIGN_OR_RETURN(h.user_data, r.take(20, "user_data"));
  return h;
}

nlohmann::json dcap_quote_header_to_json(const DcapQuoteHeader& h) {
  return {
      {"version", h.version},
      {"att_key_type", h.att_key_type},
      {"tee_type", h.tee_type},
      {"qe_svn", h.qe_svn},
      {"pce_svn", h.pce_svn},
      {"qe_vendor_id", to_hex(h.qe_vendor_id)},
      {"user_data", to_hex(h.user_data)},
  };
}

Result<SgxReportBody> parse_sgx_report_body(ByteView data, ErrorCode malformed) {
  if (data.size() != kSgxReportBodySize) {
    return Error{malformed, "an SGX report body is 384 bytes, not " + std::to_string(data.size())};
  }
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_SGX_ECDSA_QuoteLibReference_DCAP_API.pdf#A.4
  //# Enclave Report Body: CPUSVN, MISCSELECT, Reserved, ISVEXTPRODID, ATTRIBUTES,
  //# MRENCLAVE, Reserved, MRSIGNER, Reserved, CONFIGID, ISVPRODID, ISVSVN, CONFIGSVN,
  //# Reserved, ISVFAMILYID, REPORTDATA
  QuoteReader r(data, malformed);
  SgxReportBody b;
  ATLS_ASSIGN_OR_RETURN(b.cpu_svn, r.take(16, "cpu_svn"));
  ATLS_ASSIGN_OR_RETURN(b.misc_select, r.u32("misc_select"));
  ATLS_TRY(r.skip(12, "reserved"));
  ATLS_ASSIGN_OR_RETURN(b.isv_ext_prod_id, r.take(16, "isv_ext_prod_id"));
  ATLS_ASSIGN_OR_RETURN(b.attributes, r.take(16, "attributes"));
  ATLS_ASSIGN_OR_RETURN(b.mr_enclave, r.take(32, "mr_enclave"));
  ATLS_TRY(r.skip(32, "reserved"));
  ATLS_ASSIGN_OR_RETURN(b.mr_signer, r.take(32, "mr_signer"));
  ATLS_TRY(r.skip(32, "reserved"));
  ATLS_ASSIGN_OR_RETURN(b.config_id, r.take(64, "config_id"));
  ATLS_ASSIGN_OR_RETURN(b.isv_prod_id, r.u16("isv_prod_id"));
  ATLS_ASSIGN_OR_RETURN(b.isv_svn, r.u16("isv_svn"));
  ATLS_ASSIGN_OR_RETURN(b.config_svn, r.u16("config_svn"));
  ATLS_TRY(r.skip(42, "reserved"));
  ATLS_ASSIGN_OR_RETURN(b.isv_family_id, r.take(16, "isv_family_id"));
  ATLS_ASSIGN_OR_RETURN(b.report_data, r.take(64, "report_data"));
  return b;
}

Result<void> parse_qe_certification_data(QuoteReader& r, DcapEcdsaQuote& q) {
  ATLS_ASSIGN_OR_RETURN(q.qe_report_raw, r.take(kSgxReportBodySize, "QE report"));
  ATLS_ASSIGN_OR_RETURN(q.qe_report, parse_sgx_report_body(q.qe_report_raw, r.code()));
  ATLS_ASSIGN_OR_RETURN(q.qe_report_signature,
                        r.take(kDcapEcdsaSignatureSize, "QE report signature"));
  ATLS_ASSIGN_OR_RETURN(const ByteView auth, r.sized(2, "QE auth data"));
  q.qe_auth_data.assign(auth.begin(), auth.end());
  ATLS_ASSIGN_OR_RETURN(q.pck_cert_type, r.u16("PCK certification data type"));
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.3.11
  //# 5: Concatenated PCK Cert Chain
  if (q.pck_cert_type != kDcapCertTypePckChain) {
    return r.malformed("PCK certification data type " + std::to_string(q.pck_cert_type) +
                       " (only 5, a PEM PCK chain, is supported)");
  }
  ATLS_ASSIGN_OR_RETURN(const ByteView chain, r.sized(4, "PCK certification data"));
  q.pck_chain_pem.assign(chain.begin(), chain.end());
  if (!r.empty()) {
    return r.malformed(std::to_string(r.remaining()) +
                       " unexpected bytes after the PCK certification data");
  }
  return ok();
}

nlohmann::json sgx_report_body_to_json(const SgxReportBody& b) {
  return {
      {"cpu_svn", to_hex(b.cpu_svn)},
      {"misc_select", b.misc_select},
      {"isv_ext_prod_id", to_hex(b.isv_ext_prod_id)},
      {"attributes", to_hex(b.attributes)},
      {"mr_enclave", to_hex(b.mr_enclave)},
      {"mr_signer", to_hex(b.mr_signer)},
      {"config_id", to_hex(b.config_id)},
      {"isv_prod_id", b.isv_prod_id},
      {"isv_svn", b.isv_svn},
      {"config_svn", b.config_svn},
      {"isv_family_id", to_hex(b.isv_family_id)},
      {"report_data", to_hex(b.report_data)},
  };
}

void dcap_signature_data_to_json(const DcapEcdsaQuote& q, nlohmann::json& out) {
  out["signature"] = to_hex(q.signature);
  out["attestation_key"] = to_hex(q.attestation_key);
  out["qe_report"] = sgx_report_body_to_json(q.qe_report);
  out["qe_report_signature"] = to_hex(q.qe_report_signature);
  out["qe_auth_data"] = to_hex(q.qe_auth_data);
  out["pck_cert_type"] = q.pck_cert_type;
  out["trailing_bytes"] = q.trailing_bytes;
  // The PEM chain is text; drop the NUL terminator some producers include.
  std::string_view pem = as_string_view(q.pck_chain_pem);
  while (!pem.empty() && pem.back() == '\0') {
    pem.remove_suffix(1);
  }
  // A chain that is not valid UTF-8 cannot be a JSON string (dump would throw).
  if (is_valid_utf8(pem)) {
    out["pck_chain_pem"] = std::string(pem);
  } else {
    out["pck_chain_pem_hex"] = to_hex(q.pck_chain_pem);
  }
}

}  // namespace atls
