#include "src/attestation/evidence_cmw.h"
#include "src/core/encoding.h"
#include "src/formats/tdx/quote.h"
#include "src/plugins/tdx/tdx.h"

#include <algorithm>

namespace atls {
namespace {

// The configfs-tsm provider name of the TDX guest driver.
constexpr std::string_view kTdxGuestProvider = "tdx_guest";

class TdxAttester final : public Attester {
 public:
  explicit TdxAttester(TdxAttesterConfig config) : m_config(std::move(config)) {}

  std::string_view name() const override { return "tdx"; }
  std::string_view media_type() const override { return kMediaTypeTdxQuote; }

  Result<Evidence> attest(const AttestationRequest& request) override {
    // docs/wire-profile.md §1.5: the binder is TDX REPORTDATA, zero-padded to 64 bytes.
    if (request.nonce.empty() || request.nonce.size() > kTsmInblobSize) {
      return Error{ErrorCode::InvalidArgument, "TDX nonce must be 1..64 bytes"};
    }
    Bytes report_data(kTsmInblobSize, 0);
    std::copy(request.nonce.begin(), request.nonce.end(), report_data.begin());

    ATLS_ASSIGN_OR_RETURN(const TsmReport tsm, tsm_get_report(m_config.tsm, report_data));
    if (tsm.provider != kTdxGuestProvider) {
      return Error{ErrorCode::AttesterFailure,
                   "configfs-tsm provider is \"" + tsm.provider + "\", not \"tdx_guest\""};
    }
    // Check what the quoting service returned before sending it anywhere: a
    // quote that does not parse or lacks our REPORTDATA is a local fault.
    ATLS_ASSIGN_OR_RETURN(const TdxQuote quote, parse_tdx_quote(tsm.outblob));
    if (!constant_time_equal(quote.body.report_data, report_data)) {
      return Error{ErrorCode::AttesterFailure, "the quote does not carry the requested REPORTDATA"};
    }

    EvidenceRecord rec;
    rec.media_type = std::string(kMediaTypeTdxQuote);
    rec.value = tsm.outblob;
    rec.ind = kIndEvidence;
    std::vector<EvidenceRecord> records;
    records.push_back(std::move(rec));
    return evidence_from_records(std::move(records));
  }

 private:
  TdxAttesterConfig m_config;
};

}  // namespace

Result<std::unique_ptr<Attester>> make_tdx_attester(TdxAttesterConfig config) {
  if (config.tsm.privlevel != -1) {
    return Error{ErrorCode::InvalidArgument,
                 "TDX has no privilege level; leave tsm.privlevel at -1"};
  }
  return std::unique_ptr<Attester>(std::make_unique<TdxAttester>(std::move(config)));
}

}  // namespace atls
