#include "src/formats/tdx/quote.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"

#include <string>
#include <string_view>
#include <utility>

namespace atls {
namespace {

Result<TdReport> parse_body(ByteView data, bool td15) {
  QuoteReader r(data, ErrorCode::TdxMalformed);
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
    ATLS_ASSIGN_OR_RETURN(*f.out, r.take(f.size, f.name));
  }
  if (td15) {
    ATLS_ASSIGN_OR_RETURN(b.tee_tcb_svn2, r.take(16, "tee_tcb_svn2"));
    ATLS_ASSIGN_OR_RETURN(b.mr_servicetd, r.take(48, "mr_servicetd"));
  }
  if (!r.empty()) {
    // Unreachable: callers pass exactly the body size.
    return r.malformed("TD report has trailing bytes");
  }
  return b;
}

Result<void> parse_signature_data(ByteView data, TdxQuote& q) {
  QuoteReader r(data, ErrorCode::TdxMalformed);
  ATLS_ASSIGN_OR_RETURN(q.signature, r.take(kDcapEcdsaSignatureSize, "quote signature"));
  ATLS_ASSIGN_OR_RETURN(q.attestation_key, r.take(kDcapEcdsaKeySize, "attestation key"));
  ATLS_ASSIGN_OR_RETURN(q.cert_type, r.u16("certification data type"));
  //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.3.9
  //# Type of data required to verify the ECDSA Attestation Key. Supported values: 6 (QE
  //# Report Certification Data)
  if (q.cert_type != kDcapCertTypeQeReport) {
    return r.malformed("certification data type " + std::to_string(q.cert_type) +
                       " (only 6, QE report certification data, is supported)");
  }
  ATLS_ASSIGN_OR_RETURN(const ByteView cert, r.sized(4, "certification data"));
  if (!r.empty()) {
    return r.malformed(std::to_string(r.remaining()) +
                       " unexpected bytes after the certification data");
  }
  QuoteReader cr(cert, ErrorCode::TdxMalformed);
  return parse_qe_certification_data(cr, q);
}

}  // namespace

Result<TdxQuote> parse_tdx_quote(ByteView data) {
  QuoteReader r(data, ErrorCode::TdxMalformed);
  TdxQuote q;
  ATLS_ASSIGN_OR_RETURN(
      q.header, parse_dcap_quote_header(r, 4, 5, kTdxTeeTypeTdx, ErrorCode::TdxUnsupportedVersion));
  std::size_t body_size = kTdReport10Size;
  q.body_type = kTdxBodyTypeTdReport10;
  if (q.header.version == 5) {
    //= https://download.01.org/intel-sgx/latest/dcap-latest/linux/docs/Intel_TDX_DCAP_Quoting_Library_API.pdf#A.4
    //# Type of Quote Body: 1 - SGX Enclave Report, 2 - TD Report for TDX 1.0,
    //# 3 - TD Report for TDX 1.5
    ATLS_ASSIGN_OR_RETURN(q.body_type, r.u16("body type"));
    ATLS_ASSIGN_OR_RETURN(const std::uint32_t size, r.u32("body size"));
    if (q.body_type == kTdxBodyTypeTdReport10) {
      body_size = kTdReport10Size;
    } else if (q.body_type == kTdxBodyTypeTdReport15) {
      body_size = kTdReport15Size;
    } else {
      return r.malformed("v5 body type " + std::to_string(q.body_type) +
                         " is not a TD report (2 or 3)");
    }
    if (size != body_size) {
      return r.malformed("v5 body size " + std::to_string(size) + " does not match type " +
                         std::to_string(q.body_type) + " (" + std::to_string(body_size) + ")");
    }
  }
  const std::size_t signed_size = r.position() + body_size;
  ATLS_ASSIGN_OR_RETURN(const Bytes body, r.take(body_size, "TD report body"));
  ATLS_ASSIGN_OR_RETURN(q.body, parse_body(body, q.body_type == kTdxBodyTypeTdReport15));
  q.signed_bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(signed_size));

  ATLS_ASSIGN_OR_RETURN(const ByteView sig_data, r.sized(4, "signature data"));
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
  json header = dcap_quote_header_to_json(q.header);
  const json body = td_report_to_json(q.body);
  json out = {
      {"header", std::move(header)},
      {"body_type", q.body_type},
      {"body", std::move(body)},
      {"cert_type", q.cert_type},
  };
  dcap_signature_data_to_json(q, out);
  return out;
}

}  // namespace atls
