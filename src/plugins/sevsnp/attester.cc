#include "src/attestation/evidence_cmw.h"
#include "src/core/encoding.h"
#include "src/formats/snp/report.h"
#include "src/ossl/x509.h"
#include "src/plugins/sevsnp/sevsnp.h"

#include <algorithm>

namespace atls {
namespace {

// The configfs-tsm provider name of the SEV-SNP guest driver.
constexpr std::string_view kSevGuestProvider = "sev_guest";

// strip_der_padding drops trailing zero bytes after a DER SEQUENCE whose
// length fits in |b|; anything else is returned unchanged for the parser to judge.
ByteView strip_der_padding(ByteView b) {
  if (b.size() < 2 || b[0] != 0x30) {
    return b;
  }
  std::size_t header = 2;
  std::size_t len = b[1];
  if ((b[1] & 0x80) != 0) {
    const std::size_t n = b[1] & 0x7fU;
    if (n == 0 || n > 3 || b.size() < 2 + n) {
      return b;
    }
    len = 0;
    for (std::size_t i = 0; i < n; ++i) {
      len = (len << 8) | b[2 + i];
    }
    header += n;
  }
  if (len > b.size() - header) {
    return b;
  }
  const ByteView rest = b.subspan(header + len);
  if (!std::all_of(rest.begin(), rest.end(), [](std::uint8_t x) { return x == 0; })) {
    return b;
  }
  return b.first(header + len);
}

class SevSnpAttester final : public Attester {
 public:
  explicit SevSnpAttester(SevSnpAttesterConfig config) : m_config(std::move(config)) {}

  std::string_view name() const override { return "sev-snp"; }
  std::string_view media_type() const override { return kMediaTypeSnpReport; }

  Result<Evidence> attest(const AttestationRequest& request) override {
    // docs/wire-profile.md §1.5: the binder is SEV-SNP `report_data`, zero-padded to 64 bytes.
    if (request.nonce.empty() || request.nonce.size() > kTsmInblobSize) {
      return Error{ErrorCode::InvalidArgument, "SEV-SNP nonce must be 1..64 bytes"};
    }
    Bytes report_data(kTsmInblobSize, 0);
    std::copy(request.nonce.begin(), request.nonce.end(), report_data.begin());

    ATLS_ASSIGN_OR_RETURN(const TsmReport tsm, tsm_get_report(m_config.tsm, report_data));
    if (tsm.provider != kSevGuestProvider) {
      return Error{ErrorCode::AttesterFailure,
                   "configfs-tsm provider is \"" + tsm.provider + "\", not \"sev_guest\""};
    }
    // Check what the firmware returned before sending it anywhere: a report
    // that does not parse or does not carry our REPORT_DATA is a local fault.
    ATLS_ASSIGN_OR_RETURN(const SnpReport report, parse_snp_report(tsm.outblob));
    if (!constant_time_equal(ByteView(report.report_data.data(), report.report_data.size()),
                             report_data)) {
      return Error{ErrorCode::AttesterFailure,
                   "the report does not carry the requested REPORT_DATA"};
    }

    std::vector<EvidenceRecord> records;
    EvidenceRecord rec;
    rec.label = std::string(kSnpReportLabel);
    rec.media_type = std::string(kMediaTypeSnpReport);
    rec.value = tsm.outblob;
    rec.ind = kIndEvidence;
    records.push_back(std::move(rec));

    if (m_config.include_vcek && !tsm.auxblob.empty()) {
      ATLS_ASSIGN_OR_RETURN(const auto table, parse_snp_cert_table(tsm.auxblob));
      if (const SnpCertTableEntry* vcek = snp_cert_table_find(table, kSnpVcekGuid)) {
        // Hosts may round certificate lengths up with zero bytes; the record
        // holds the exact DER.
        auto cert = ossl::parse_certificate(strip_der_padding(vcek->data));
        if (!cert) {
          return Error{ErrorCode::AttesterFailure, "auxblob VCEK: " + cert.error().to_string()};
        }
        EvidenceRecord v;
        v.label = std::string(kSnpVcekLabel);
        v.media_type = std::string(kMediaTypePkixCert);
        ATLS_ASSIGN_OR_RETURN(v.value, ossl::cert_der(cert->get()));
        v.ind = kSnpVcekIndicator;
        records.push_back(std::move(v));
      }
    }
    return evidence_from_records(std::move(records));
  }

 private:
  SevSnpAttesterConfig m_config;
};

}  // namespace

Result<std::unique_ptr<Attester>> make_sevsnp_attester(SevSnpAttesterConfig config) {
  if (config.tsm.privlevel < -1 || config.tsm.privlevel > 3) {
    return Error{ErrorCode::InvalidArgument, "SEV-SNP VMPL (privlevel) must be 0..3"};
  }
  return std::unique_ptr<Attester>(std::make_unique<SevSnpAttester>(std::move(config)));
}

}  // namespace atls
