#include "src/formats/tdx/quote.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"

#include <string>
#include <string_view>
#include <utility>

namespace atls {
namespace {

Error malformed(std::string detail) {
  return Error{ErrorCode::TdxMalformed, std::move(detail)};
}

// take copies the next |n| bytes of |r|, naming |what| when they are missing.
Result<Bytes> take(ByteReader& r, std::size_t n, std::string_view what) {
  auto b = r.bytes(n);
  if (!b) {
    return malformed("truncated " + std::string(what));
  }
  return Bytes(b->begin(), b->end());
}

Result<std::uint16_t> take_u16(ByteReader& r, std::string_view what) {
  auto v = r.u16_le();
  if (!v) {
    return malformed("truncated " + std::string(what));
  }
  return *v;
}

Result<std::uint32_t> take_u32(ByteReader& r, std::string_view what) {
  auto v = r.u32_le();
  if (!v) {
    return malformed("truncated " + std::string(what));
  }
  return *v;
}

// take_sized reads a little-endian length (|prefix| 2 or 4 bytes) and that
// many bytes. The length is checked against the input before any copy.
Result<ByteView> take_sized(ByteReader& r, std::size_t prefix, std::string_view what) {
  std::size_t len = 0;
  if (prefix == 2) {
    ATLS_ASSIGN_OR_RETURN(len, take_u16(r, std::string(what) + " length"));
  } else {
    ATLS_ASSIGN_OR_RETURN(len, take_u32(r, std::string(what) + " length"));
  }
  if (len > r.remaining()) {
    return malformed(std::string(what) + " length " + std::to_string(len) + " exceeds the " +
                     std::to_string(r.remaining()) + " bytes left");
  }
  return *r.bytes(len);
}

Result<TdxQuoteHeader> parse_header(ByteReader& r) {
  if (r.remaining() < kTdxHeaderSize) {
    return malformed("truncated header");
  }
  TdxQuoteHeader h;
  ATLS_ASSIGN_OR_RETURN(h.version, take_u16(r, "version"));
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.3.1
  //# Version of the Quote data structure. Value: 4
  if (h.version != 4 && h.version != 5) {
    return Error{ErrorCode::TdxUnsupportedVersion,
                 "quote version " + std::to_string(h.version) + " (expected 4 or 5)"};
  }
  ATLS_ASSIGN_OR_RETURN(h.att_key_type, take_u16(r, "att_key_type"));
  if (h.att_key_type != kTdxAttKeyTypeEcdsaP256) {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 "attestation key type " + std::to_string(h.att_key_type) + " (expected 2)"};
  }
  ATLS_ASSIGN_OR_RETURN(h.tee_type, take_u32(r, "tee_type"));
  //# TEE for this Attestation: 0x00000000: SGX, 0x00000081: TDX
  if (h.tee_type != kTdxTeeTypeTdx) {
    return malformed("tee_type " + std::to_string(h.tee_type) + " is not TDX (0x81)");
  }
  ATLS_ASSIGN_OR_RETURN(h.qe_svn, take_u16(r, "qe_svn"));
  ATLS_ASSIGN_OR_RETURN(h.pce_svn, take_u16(r, "pce_svn"));
  ATLS_ASSIGN_OR_RETURN(h.qe_vendor_id, take(r, 16, "qe_vendor_id"));
  ATLS_ASSIGN_OR_RETURN(h.user_data, take(r, 20, "user_data"));
  return h;
}

Result<TdReport> parse_body(ByteView data, bool td15) {
  ByteReader r(data);
  TdReport b;
  struct Field {
    Bytes* out;
    std::size_t size;
    const char* name;
  };
  const Field fields[] = {
      {&b.tee_tcb_svn, 16, "tee_tcb_svn"},
      {&b.mr_seam, 48, "mr_seam"},
      {&b.mr_signer_seam, 48, "mr_signer_seam"},
      {&b.seam_attributes, 8, "seam_attributes"},
      {&b.td_attributes, 8, "td_attributes"},
      {&b.xfam, 8, "xfam"},
      {&b.mr_td, 48, "mr_td"},
      {&b.mr_config_id, 48, "mr_config_id"},
      {&b.mr_owner, 48, "mr_owner"},
      {&b.mr_owner_config, 48, "mr_owner_config"},
      {&b.rtmr0, 48, "rtmr0"},
      {&b.rtmr1, 48, "rtmr1"},
      {&b.rtmr2, 48, "rtmr2"},
      {&b.rtmr3, 48, "rtmr3"},
      {&b.report_data, 64, "report_data"},
  };
  for (const Field& f : fields) {
    ATLS_ASSIGN_OR_RETURN(*f.out, take(r, f.size, f.name));
  }
  if (td15) {
    ATLS_ASSIGN_OR_RETURN(b.tee_tcb_svn2, take(r, 16, "tee_tcb_svn2"));
    ATLS_ASSIGN_OR_RETURN(b.mr_servicetd, take(r, 48, "mr_servicetd"));
  }
  if (!r.empty()) {
    // Unreachable: callers pass exactly the body size.
    return malformed("TD report has trailing bytes");
  }
  return b;
}

Result<QeReport> parse_qe_report(ByteView data) {
  // |data| is exactly kSgxReportBodySize bytes; the reads below stay in it.
  ByteReader r(data);
  QeReport q;
  ATLS_ASSIGN_OR_RETURN(q.cpu_svn, take(r, 16, "qe cpu_svn"));
  ATLS_ASSIGN_OR_RETURN(q.misc_select, take_u32(r, "qe misc_select"));
  ATLS_TRY(r.skip(12));
  ATLS_ASSIGN_OR_RETURN(q.isv_ext_prod_id, take(r, 16, "qe isv_ext_prod_id"));
  ATLS_ASSIGN_OR_RETURN(q.attributes, take(r, 16, "qe attributes"));
  ATLS_ASSIGN_OR_RETURN(q.mr_enclave, take(r, 32, "qe mr_enclave"));
  ATLS_TRY(r.skip(32));
  ATLS_ASSIGN_OR_RETURN(q.mr_signer, take(r, 32, "qe mr_signer"));
  ATLS_TRY(r.skip(32));
  ATLS_ASSIGN_OR_RETURN(q.config_id, take(r, 64, "qe config_id"));
  ATLS_ASSIGN_OR_RETURN(q.isv_prod_id, take_u16(r, "qe isv_prod_id"));
  ATLS_ASSIGN_OR_RETURN(q.isv_svn, take_u16(r, "qe isv_svn"));
  ATLS_ASSIGN_OR_RETURN(q.config_svn, take_u16(r, "qe config_svn"));
  ATLS_TRY(r.skip(42));
  ATLS_ASSIGN_OR_RETURN(q.isv_family_id, take(r, 16, "qe isv_family_id"));
  ATLS_ASSIGN_OR_RETURN(q.report_data, take(r, 64, "qe report_data"));
  return q;
}

// parse_qe_certification_data parses certification data of type 6
// (QE Report Certification Data) into |q|.
Result<void> parse_qe_certification_data(ByteView data, TdxQuote& q) {
  ByteReader r(data);
  ATLS_ASSIGN_OR_RETURN(q.qe_report_raw, take(r, kSgxReportBodySize, "QE report"));
  ATLS_ASSIGN_OR_RETURN(q.qe_report, parse_qe_report(q.qe_report_raw));
  ATLS_ASSIGN_OR_RETURN(q.qe_report_signature,
                        take(r, kTdxEcdsaSignatureSize, "QE report signature"));
  ATLS_ASSIGN_OR_RETURN(const ByteView auth, take_sized(r, 2, "QE auth data"));
  q.qe_auth_data.assign(auth.begin(), auth.end());
  ATLS_ASSIGN_OR_RETURN(q.pck_cert_type, take_u16(r, "PCK certification data type"));
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.3.11
  //# 5: Concatenated PCK Cert Chain
  if (q.pck_cert_type != kTdxCertTypePckChain) {
    return malformed("PCK certification data type " + std::to_string(q.pck_cert_type) +
                     " (only 5, a PEM PCK chain, is supported)");
  }
  ATLS_ASSIGN_OR_RETURN(const ByteView chain, take_sized(r, 4, "PCK certification data"));
  q.pck_chain_pem.assign(chain.begin(), chain.end());
  if (!r.empty()) {
    return malformed(std::to_string(r.remaining()) +
                     " unexpected bytes after the PCK certification data");
  }
  return ok();
}

Result<void> parse_signature_data(ByteView data, TdxQuote& q) {
  ByteReader r(data);
  ATLS_ASSIGN_OR_RETURN(q.signature, take(r, kTdxEcdsaSignatureSize, "quote signature"));
  ATLS_ASSIGN_OR_RETURN(q.attestation_key, take(r, kTdxEcdsaKeySize, "attestation key"));
  ATLS_ASSIGN_OR_RETURN(q.cert_type, take_u16(r, "certification data type"));
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.3.9
  //# Type of data required to verify the ECDSA Attestation Key. Supported values: 6 (QE
  //# Report Certification Data)
  if (q.cert_type != kTdxCertTypeQeReport) {
    return malformed("certification data type " + std::to_string(q.cert_type) +
                     " (only 6, QE report certification data, is supported)");
  }
  ATLS_ASSIGN_OR_RETURN(const ByteView cert, take_sized(r, 4, "certification data"));
  if (!r.empty()) {
    return malformed(std::to_string(r.remaining()) +
                     " unexpected bytes after the certification data");
  }
  return parse_qe_certification_data(cert, q);
}

}  // namespace

Result<TdxQuote> parse_tdx_quote(ByteView data) {
  ByteReader r(data);
  TdxQuote q;
  ATLS_ASSIGN_OR_RETURN(q.header, parse_header(r));
  std::size_t body_size = kTdReport10Size;
  q.body_type = kTdxBodyTypeTdReport10;
  if (q.header.version == 5) {
    //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.4
    //# Type of Quote Body: 1 - SGX Enclave Report, 2 - TD Report for TDX 1.0,
    //# 3 - TD Report for TDX 1.5
    ATLS_ASSIGN_OR_RETURN(q.body_type, take_u16(r, "body type"));
    ATLS_ASSIGN_OR_RETURN(const std::uint32_t size, take_u32(r, "body size"));
    if (q.body_type == kTdxBodyTypeTdReport10) {
      body_size = kTdReport10Size;
    } else if (q.body_type == kTdxBodyTypeTdReport15) {
      body_size = kTdReport15Size;
    } else {
      return malformed("v5 body type " + std::to_string(q.body_type) +
                       " is not a TD report (2 or 3)");
    }
    if (size != body_size) {
      return malformed("v5 body size " + std::to_string(size) + " does not match type " +
                       std::to_string(q.body_type) + " (" + std::to_string(body_size) + ")");
    }
  }
  const std::size_t signed_size = r.position() + body_size;
  ATLS_ASSIGN_OR_RETURN(const Bytes body, take(r, body_size, "TD report body"));
  ATLS_ASSIGN_OR_RETURN(q.body, parse_body(body, q.body_type == kTdxBodyTypeTdReport15));
  q.signed_bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(signed_size));

  ATLS_ASSIGN_OR_RETURN(const ByteView sig_data, take_sized(r, 4, "signature data"));
  ATLS_TRY(parse_signature_data(sig_data, q));
  q.trailing_bytes = r.remaining();
  return q;
}

nlohmann::json td_report_to_json(const TdReport& b) {
  // Built by moving each value into the object: a braced initializer list
  // would copy every hex string once more, on every verification.
  nlohmann::json body = nlohmann::json::object();
  auto& o = body.get_ref<nlohmann::json::object_t&>();
  o.emplace("tee_tcb_svn", to_hex(b.tee_tcb_svn));
  o.emplace("mr_seam", to_hex(b.mr_seam));
  o.emplace("mr_signer_seam", to_hex(b.mr_signer_seam));
  o.emplace("seam_attributes", to_hex(b.seam_attributes));
  o.emplace("td_attributes", to_hex(b.td_attributes));
  o.emplace("xfam", to_hex(b.xfam));
  o.emplace("mr_td", to_hex(b.mr_td));
  o.emplace("mr_config_id", to_hex(b.mr_config_id));
  o.emplace("mr_owner", to_hex(b.mr_owner));
  o.emplace("mr_owner_config", to_hex(b.mr_owner_config));
  o.emplace("rtmr0", to_hex(b.rtmr0));
  o.emplace("rtmr1", to_hex(b.rtmr1));
  o.emplace("rtmr2", to_hex(b.rtmr2));
  o.emplace("rtmr3", to_hex(b.rtmr3));
  o.emplace("report_data", to_hex(b.report_data));
  if (b.tee_tcb_svn2) {
    o.emplace("tee_tcb_svn2", to_hex(*b.tee_tcb_svn2));
  }
  if (b.mr_servicetd) {
    o.emplace("mr_servicetd", to_hex(*b.mr_servicetd));
  }
  return body;
}

nlohmann::json tdx_quote_to_json(const TdxQuote& q) {
  using nlohmann::json;
  const TdxQuoteHeader& h = q.header;
  json header = {
      {"version", h.version},
      {"att_key_type", h.att_key_type},
      {"tee_type", h.tee_type},
      {"qe_svn", h.qe_svn},
      {"pce_svn", h.pce_svn},
      {"qe_vendor_id", to_hex(h.qe_vendor_id)},
      {"user_data", to_hex(h.user_data)},
  };
  const json body = td_report_to_json(q.body);
  const QeReport& e = q.qe_report;
  json qe = {
      {"cpu_svn", to_hex(e.cpu_svn)},
      {"misc_select", e.misc_select},
      {"isv_ext_prod_id", to_hex(e.isv_ext_prod_id)},
      {"attributes", to_hex(e.attributes)},
      {"mr_enclave", to_hex(e.mr_enclave)},
      {"mr_signer", to_hex(e.mr_signer)},
      {"config_id", to_hex(e.config_id)},
      {"isv_prod_id", e.isv_prod_id},
      {"isv_svn", e.isv_svn},
      {"config_svn", e.config_svn},
      {"isv_family_id", to_hex(e.isv_family_id)},
      {"report_data", to_hex(e.report_data)},
  };
  // The PEM chain is text; drop the NUL terminator some producers include.
  std::string_view pem = as_string_view(q.pck_chain_pem);
  while (!pem.empty() && pem.back() == '\0') {
    pem.remove_suffix(1);
  }
  json out = {
      {"header", std::move(header)},
      {"body_type", q.body_type},
      {"body", std::move(body)},
      {"signature", to_hex(q.signature)},
      {"attestation_key", to_hex(q.attestation_key)},
      {"cert_type", q.cert_type},
      {"qe_report", std::move(qe)},
      {"qe_report_signature", to_hex(q.qe_report_signature)},
      {"qe_auth_data", to_hex(q.qe_auth_data)},
      {"pck_cert_type", q.pck_cert_type},
      {"trailing_bytes", q.trailing_bytes},
  };
  // A chain that is not valid UTF-8 cannot be a JSON string (dump would throw).
  if (is_valid_utf8(pem)) {
    out["pck_chain_pem"] = std::string(pem);
  } else {
    out["pck_chain_pem_hex"] = to_hex(q.pck_chain_pem);
  }
  return out;
}

}  // namespace atls
