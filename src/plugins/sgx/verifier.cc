#include "src/attestation/policy_sections.h"
#include "src/core/encoding.h"
#include "src/formats/sgx/quote.h"
#include "src/formats/tdx/qe_identity.h"
#include "src/formats/tdx/verify.h"
#include "src/plugins/sgx/sgx.h"
#include "src/plugins/tdx/intel_roots.h"

#include <algorithm>
#include <set>
#include <utility>

namespace atls {
namespace {

// SGX ATTRIBUTES.FLAGS (a little-endian u64 at the start of ATTRIBUTES):
// bit 1 is DEBUG.
bool is_debug(const Bytes& attributes) {
  return !attributes.empty() && (attributes[0] & 0x02U) != 0;
}

// The platform identifier from the PCK certificate: its PPID, else its FMSPC
// (a platform model, not an instance).
std::string platform_id(const PckExtensions& e) {
  const bool zero =
      std::all_of(e.ppid.begin(), e.ppid.end(), [](std::uint8_t b) { return b == 0; });
  if (!e.ppid.empty() && !zero) {
    return "sgx-ppid:" + to_hex(e.ppid);
  }
  return "sgx-fmspc:" + to_hex(e.fmspc);
}

nlohmann::json quote_claims(const SgxQuote& q, nlohmann::json pck) {
  nlohmann::json c = sgx_report_body_to_json(q.body);
  c["quote_version"] = q.header.version;
  c["qe_svn"] = q.header.qe_svn;
  c["pce_svn"] = q.header.pce_svn;
  c["qe_vendor_id"] = to_hex(q.header.qe_vendor_id);
  c["debug"] = is_debug(q.body.attributes);
  c["qe_report"] = {{"mr_enclave", to_hex(q.qe_report.mr_enclave)},
                    {"mr_signer", to_hex(q.qe_report.mr_signer)},
                    {"isv_prod_id", q.qe_report.isv_prod_id},
                    {"isv_svn", q.qe_report.isv_svn}};
  c["qe_identity"] = {{"source", "intel-sgx-qe"}};
  c["pck"] = std::move(pck);
  return c;
}

class SgxVerifier final : public Verifier {
 public:
  std::string_view name() const override { return "sgx"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeSgxQuote)};
  }

  Result<void> check_trust_section(const nlohmann::json& trust) const override {
    ATLS_TRY(internal::only_keys(trust, {"sgx_root"}, "the sgx trust section"));
    return internal::check_sgx_root_entry(trust);
  }

  Result<EvidenceClaims> verify(const Evidence& evidence, const VerifyContext& ctx) const override {
    const EvidenceRecord* rec = evidence.find(kMediaTypeSgxQuote);
    if (rec == nullptr) {
      return Error{ErrorCode::UnsupportedMediaType, "no application/vnd.atls.sgx-quote record"};
    }
    if (ctx.clock == nullptr) {
      return Error{ErrorCode::Internal, "VerifyContext has no clock"};
    }
    ATLS_ASSIGN_OR_RETURN(const SgxQuote q, parse_sgx_quote(rec->value));
    ATLS_ASSIGN_OR_RETURN(const auto roots, m_roots.trusted(ctx));
    if (roots.empty()) {
      return Error{ErrorCode::CertUntrusted,
                   "no Intel SGX Root CA trust anchor (policy trust.sgx_root or --trust)"};
    }
    DcapVerifyOptions opts;
    opts.at = ctx.clock->now();
    opts.cache = &ossl::chain_cache();
    for (const auto& r : roots) {
      opts.trusted_roots.push_back(r.get());
    }
    ATLS_ASSIGN_OR_RETURN(const DcapPckChain chain,
                          parse_dcap_pck_chain(q.pck_chain_pem, ErrorCode::SgxBadPckChain));
    ATLS_TRY(verify_dcap_quote(q, chain, opts, kSgxQuoteErrors));
    ATLS_ASSIGN_OR_RETURN(const PckExtensions pck, parse_pck_extensions(chain.pck.get()));
    // Without QE Identity collateral: Intel's published SGX QE identity.
    ATLS_TRY(check_intel_sgx_qe(q.qe_report));

    EvidenceClaims out;
    ATLS_TRY(internal::bind_report_data(q.body.report_data, ctx, out));
    out.claims = quote_claims(q, pck_extensions_to_json(pck));
    out.machine_id = platform_id(pck);
    out.hardware_rooted = true;
    return out;
  }

 private:
  internal::IntelRoots m_roots;
};

// --- appraisal ---------------------------------------------------------------

class SgxAppraiser final : public Appraiser {
 public:
  std::string_view name() const override { return "sgx"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeSgxQuote)};
  }

  Result<void> check_reference_section(const nlohmann::json& ref) const override {
    ATLS_TRY(internal::only_keys(ref,
                                 {"mrenclave", "mrsigner", "isvprodid", "min_isvsvn", "allow_debug",
                                  "policy_id", std::string(internal::kDangerousAnyMeasurement)},
                                 "the sgx reference section"));
    ATLS_TRY(internal::check_digests(ref, "mrenclave", 32));
    ATLS_TRY(internal::check_digests(ref, "mrsigner", 32));
    for (const char* key : {"isvprodid", "min_isvsvn"}) {
      if (ref.contains(key) && (!ref[key].is_number_unsigned() || ref[key] > 0xffff)) {
        return Error{ErrorCode::PolicyInvalid,
                     std::string("\"") + key + "\" must be an integer 0..65535"};
      }
    }
    ATLS_TRY(internal::check_boolean(ref, "allow_debug"));
    ATLS_TRY(internal::require_reference_values(
        ref, ref.contains("mrenclave") || ref.contains("mrsigner"), "mrenclave or mrsigner"));
    return internal::check_string(ref, "policy_id");
  }

  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& ev,
                                                const nlohmann::json& ref) const override {
    const nlohmann::json& c = ev.claims().claims;
    SubmodAppraisal s;
    s.name = "sgx";
    s.policy_id = ref.value("policy_id", "atls:sgx/default");
    auto& tv = s.trust_vector.claims;
    // A genuine Intel platform (PCK chain to the trusted root, Intel's QE)
    // and enclave memory the platform cannot read.
    tv[TrustVector::kInstanceIdentity] = 2;
    tv[TrustVector::kHardware] = 2;
    tv[TrustVector::kRuntimeOpaque] = 2;
    std::vector<Finding> exec;
    for (const char* key : {"mrenclave", "mrsigner"}) {
      const std::string claim = std::string(key) == "mrenclave" ? "mr_enclave" : "mr_signer";
      if (ref.contains(key) && !internal::matches_any(c.value(claim, nlohmann::json()), ref[key])) {
        exec.push_back(
            {ErrorCode::MeasurementMismatch,
             claim + " " + c.value(claim, std::string("?")) + " is not a reference value"});
      }
    }
    if (ref.contains("isvprodid") && c.value("isv_prod_id", -1) != ref["isvprodid"]) {
      exec.push_back({ErrorCode::MeasurementMismatch, "isv_prod_id is not the reference value"});
    }
    if (ref.contains("min_isvsvn") && c.value("isv_svn", 0) < ref["min_isvsvn"].get<int>()) {
      exec.push_back({ErrorCode::MeasurementMismatch, "isv_svn is below min_isvsvn"});
    }
    const bool identified = ref.contains("mrenclave") || ref.contains("mrsigner");
    tv[TrustVector::kExecutables] =
        !exec.empty() ? 96 : (identified ? 2 : internal::kExecutablesUnrecognized);
    std::vector<Finding> config;
    if (c.value("debug", false) && !ref.value("allow_debug", false)) {
      config.push_back(
          {ErrorCode::DebugEnabled, "ATTRIBUTES.DEBUG (bit 1) is set and allow_debug is false"});
    }
    tv[TrustVector::kConfiguration] = config.empty() ? 2 : 96;
    s.findings = std::move(exec);
    s.findings.insert(s.findings.end(), config.begin(), config.end());
    return std::vector<SubmodAppraisal>{std::move(s)};
  }
};

}  // namespace

std::unique_ptr<Verifier> make_sgx_verifier() {
  return std::make_unique<SgxVerifier>();
}
std::unique_ptr<Appraiser> make_sgx_appraiser() {
  return std::make_unique<SgxAppraiser>();
}

}  // namespace atls
