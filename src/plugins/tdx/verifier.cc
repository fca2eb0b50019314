#include "src/attestation/policy_sections.h"
#include "src/core/encoding.h"
#include "src/core/parse_cache.h"
#include "src/formats/tdx/qe_identity.h"
#include "src/formats/tdx/quote.h"
#include "src/formats/tdx/verify.h"
#include "src/ossl/x509.h"
#include "src/plugins/tdx/intel_roots.h"
#include "src/plugins/tdx/tdx.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

namespace atls {
namespace {

// TD_ATTRIBUTES bits (Intel TDX Module ABI, TDREPORT "ATTRIBUTES", a
// little-endian u64): TUD.DEBUG is bit 0; the others are informational.
constexpr unsigned kTdAttrDebugBit = 0;
constexpr unsigned kTdAttrSeptVeDisableBit = 28;
constexpr unsigned kTdAttrPksBit = 30;
constexpr unsigned kTdAttrKlBit = 31;
constexpr unsigned kTdAttrPerfmonBit = 63;

// The reference keys that hold 48-byte measurements, with the claim each
// one is compared with.
struct MeasurementKey {
  const char* reference;
  const char* claim;
  bool executables;  // false: configuration
  // Whether the value measures this TD (rather than the TDX module that
  // every TD on the host shares). A reference section must name at least
  // one such key, or say "dangerous_any_measurement".
  bool identifies_td;
};
constexpr MeasurementKey kMeasurementKeys[] = {
    {"mrtd", "mr_td", true, true},
    {"mrseam", "mr_seam", true, false},
    {"rtmr0", "rtmr0", true, true},
    {"rtmr1", "rtmr1", true, true},
    {"rtmr2", "rtmr2", true, true},
    {"rtmr3", "rtmr3", true, true},
    {"mrconfigid", "mr_config_id", false, false},
    {"mrowner", "mr_owner", false, false},
    {"mrownerconfig", "mr_owner_config", false, false},
};

bool bit_set(ByteView le, unsigned bit) {
  const std::size_t byte = bit / 8;
  return byte < le.size() && ((le[byte] >> (bit % 8)) & 1U) != 0;
}

bool all_zero(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

// The platform identifier from the PCK certificate: the PPID (identifies the
// platform to Intel's provisioning service), else the Platform Instance ID of
// multi-package platforms, else the FMSPC (a platform model, not an instance).
std::string platform_id(const PckExtensions& e) {
  if (!e.ppid.empty() && !all_zero(e.ppid)) {
    return "tdx-ppid:" + to_hex(e.ppid);
  }
  if (e.platform_instance_id && !all_zero(*e.platform_instance_id)) {
    return "tdx-platform-instance-id:" + to_hex(*e.platform_instance_id);
  }
  return "tdx-fmspc:" + to_hex(e.fmspc);
}

// What the claims say about the PCK certificate: a function of the
// certificate alone, so rendered once per parsed chain rather than once per
// quote.
struct PckClaims {
  nlohmann::json pck;       // the "pck" claim
  std::string platform_id;  // the machine identifier
};

// The quote's PCK chain with the SGX extensions of its leaf. The extensions
// are parsed with the chain but reported only once the chain verifies.
struct ParsedPck {
  DcapPckChain chain;
  Result<PckClaims> claims;
};

Result<ParsedPck> parse_pck(ByteView pck_chain_pem) {
  ATLS_ASSIGN_OR_RETURN(DcapPckChain chain, parse_tdx_pck_chain(pck_chain_pem));
  Result<PckExtensions> extensions = parse_pck_extensions(chain.pck.get());
  if (!extensions) {
    return ParsedPck{std::move(chain), std::move(extensions).error()};
  }
  PckClaims claims{pck_extensions_to_json(*extensions), platform_id(*extensions)};
  return ParsedPck{std::move(chain), std::move(claims)};
}

// Parsed certificates by content: the PCK chains quotes carry (one per
// platform) are parsed once rather than on every verification.
struct Caches {
  internal::IntelRoots roots;
  internal::ParseCache<ParsedPck> pck_chains{internal::kParseCacheCapacity,
                                             internal::kParseCacheMaxEvidenceInput};
  // Decoded attestation keys (the QE keeps its key across quotes). Reusing
  // one skips OpenSSL's full EC public-key check, as costly as a signature
  // check.
  internal::ParseCache<ossl::UniquePtr<EVP_PKEY>> attestation_keys{
      internal::kParseCacheCapacity, internal::kParseCacheMaxEvidenceInput};
  // QE Identity collateral files, by content.
  internal::ParseCache<QeIdentity> qe_identities;
};

// Checks the Quoting Enclave that signed the quote's attestation key
// (finding: a platform owner's own enclave certified under the PCK could
// otherwise sign quotes with any TD measurement). With "qe_identity"
// collateral in the trust section: its signature by the Intel SGX TCB
// Signing key chained to |roots|, its validity window at |at|, and the QE
// report against it (src/formats/tdx/qe_identity.h). Without: Intel's
// published TD QE identity. A debug QE is refused either way. Returns the
// "qe_identity" claims.
Result<nlohmann::json> check_quoting_enclave(const TdxQuote& q, const VerifyContext& ctx,
                                             const std::vector<X509*>& roots, std::int64_t at,
                                             const Caches& caches) {
  const auto identity_refs = internal::file_refs(ctx.trust, "qe_identity");
  if (identity_refs.empty()) {
    ATLS_TRY(check_intel_td_qe(q.qe_report));
    return nlohmann::json{{"source", "intel-td-qe"}};
  }
  const auto chain_refs = internal::file_refs(ctx.trust, "qe_identity_issuer_chain");
  if (chain_refs.empty()) {
    return Error{ErrorCode::PolicyInvalid,
                 "trust.qe_identity needs trust.qe_identity_issuer_chain"};
  }
  ATLS_ASSIGN_OR_RETURN(const Bytes text, internal::load_file(ctx, identity_refs.front()));
  ATLS_ASSIGN_OR_RETURN(const Bytes chain, internal::load_file(ctx, chain_refs.front()));
  ATLS_ASSIGN_OR_RETURN(const auto id, caches.qe_identities.get(text, parse_qe_identity));
  ATLS_TRY(verify_qe_identity_signature(*id, chain, roots, at));
  ATLS_TRY(check_qe_identity_time(*id, at));
  ATLS_ASSIGN_OR_RETURN(const std::string status, match_qe_identity(*id, q.qe_report));
  return nlohmann::json{{"source", "collateral"},
                        {"tcb_status", status},
                        {"tcb_evaluation_data_number", id->tcb_evaluation_data_number}};
}

// Flat claims for appraisal and display (bytes as lower-case hex). Values
// are moved into the object (a braced initializer list copies each one).
nlohmann::json quote_claims(const TdxQuote& q, const nlohmann::json& pck) {
  const TdReport& b = q.body;
  nlohmann::json c = td_report_to_json(b);
  auto& o = c.get_ref<nlohmann::json::object_t&>();
  o.emplace("quote_version", q.header.version);
  o.emplace("body_type", q.body_type);
  o.emplace("qe_svn", q.header.qe_svn);
  o.emplace("pce_svn", q.header.pce_svn);
  o.emplace("qe_vendor_id", to_hex(q.header.qe_vendor_id));
  nlohmann::json flags = nlohmann::json::object();
  auto& f = flags.get_ref<nlohmann::json::object_t&>();
  f.emplace("debug", bit_set(b.td_attributes, kTdAttrDebugBit));
  f.emplace("sept_ve_disable", bit_set(b.td_attributes, kTdAttrSeptVeDisableBit));
  f.emplace("pks", bit_set(b.td_attributes, kTdAttrPksBit));
  f.emplace("kl", bit_set(b.td_attributes, kTdAttrKlBit));
  f.emplace("perfmon", bit_set(b.td_attributes, kTdAttrPerfmonBit));
  o.emplace("td_attributes_flags", std::move(flags));
  nlohmann::json qe = nlohmann::json::object();
  auto& e = qe.get_ref<nlohmann::json::object_t&>();
  e.emplace("mr_enclave", to_hex(q.qe_report.mr_enclave));
  e.emplace("mr_signer", to_hex(q.qe_report.mr_signer));
  e.emplace("attributes", to_hex(q.qe_report.attributes));
  e.emplace("misc_select", q.qe_report.misc_select);
  e.emplace("isv_prod_id", q.qe_report.isv_prod_id);
  e.emplace("isv_svn", q.qe_report.isv_svn);
  o.emplace("qe_report", std::move(qe));
  o.emplace("pck", pck);
  return c;
}

class TdxVerifier final : public Verifier {
 public:
  std::string_view name() const override { return "tdx"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeTdxQuote)};
  }

  Result<void> check_trust_section(const nlohmann::json& trust) const override {
    ATLS_TRY(internal::only_keys(trust, {"sgx_root", "qe_identity", "qe_identity_issuer_chain"},
                                 "the tdx trust section"));
    ATLS_TRY(internal::check_sgx_root_entry(trust));
    for (const char* key : {"qe_identity", "qe_identity_issuer_chain"}) {
      if (trust.contains(key) &&
          (!trust[key].is_string() || trust[key].get<std::string>().empty())) {
        return Error{ErrorCode::PolicyInvalid, std::string("\"") + key + "\" must be a file name"};
      }
    }
    if (trust.contains("qe_identity") != trust.contains("qe_identity_issuer_chain")) {
      return Error{ErrorCode::PolicyInvalid,
                   "\"qe_identity\" and \"qe_identity_issuer_chain\" go together"};
    }
    return ok();
  }

  Result<EvidenceClaims> verify(const Evidence& evidence, const VerifyContext& ctx) const override {
    const EvidenceRecord* rec = evidence.find(kMediaTypeTdxQuote);
    if (rec == nullptr) {
      return Error{ErrorCode::UnsupportedMediaType, "no application/vnd.atls.tdx-quote record"};
    }
    if (ctx.clock == nullptr) {
      return Error{ErrorCode::Internal, "VerifyContext has no clock"};
    }
    ATLS_ASSIGN_OR_RETURN(const TdxQuote q, parse_tdx_quote(rec->value));

    // Integrity: PCK <- PCK CA <- trusted root, QE report, attestation key
    // binding and quote signature (src/formats/tdx/verify.h).
    ATLS_ASSIGN_OR_RETURN(const auto roots, m_caches.roots.trusted(ctx));
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
    // A key that does not decode is left to verify_tdx_quote, which reports
    // it in its order of checks.
    auto attestation_key = m_caches.attestation_keys.get(
        q.attestation_key, [&q](ByteView) { return tdx_attestation_key(q); });
    if (attestation_key) {
      opts.attestation_key = (*attestation_key)->get();
    }
    ATLS_ASSIGN_OR_RETURN(const auto parsed, m_caches.pck_chains.get(q.pck_chain_pem, parse_pck));
    ATLS_TRY(verify_tdx_quote(q, parsed->chain, opts));
    if (!parsed->claims) {
      return parsed->claims.error();
    }
    const PckClaims& pck = *parsed->claims;
    ATLS_ASSIGN_OR_RETURN(nlohmann::json qe_identity,
                          check_quoting_enclave(q, ctx, opts.trusted_roots, opts.at, m_caches));

    EvidenceClaims out;
    ATLS_TRY(internal::bind_report_data(q.body.report_data, ctx, out));
    out.claims = quote_claims(q, pck.pck);
    out.claims["qe_identity"] = std::move(qe_identity);
    out.machine_id = pck.platform_id;
    out.hardware_rooted = true;
    // No issued_at: a quote carries no time; freshness comes from the nonce.
    return out;
  }

 private:
  // Thread-safe; verify is const and may run on many threads.
  Caches m_caches;
};

// --- appraisal ---------------------------------------------------------------

class TdxAppraiser final : public Appraiser {
 public:
  std::string_view name() const override { return "tdx"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeTdxQuote)};
  }

  Result<void> check_reference_section(const nlohmann::json& ref) const override {
    std::set<std::string> allowed = {"allow_debug", "policy_id",
                                     std::string(internal::kDangerousAnyMeasurement)};
    for (const auto& m : kMeasurementKeys) {
      allowed.insert(m.reference);
    }
    ATLS_TRY(internal::only_keys(ref, allowed, "the tdx reference section"));
    bool identifies_td = false;
    for (const auto& m : kMeasurementKeys) {
      ATLS_TRY(internal::check_digests(ref, m.reference, 48));
      identifies_td = identifies_td || (m.identifies_td && ref.contains(m.reference));
    }
    ATLS_TRY(internal::check_boolean(ref, "allow_debug"));
    ATLS_TRY(internal::require_reference_values(ref, identifies_td, "mrtd or rtmr0-3"));
    return internal::check_string(ref, "policy_id");
  }

  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& ev,
                                                const nlohmann::json& ref) const override {
    const nlohmann::json& c = ev.claims().claims;
    SubmodAppraisal s;
    s.name = "tdx";
    s.policy_id = ref.value("policy_id", "atls:tdx/default");
    auto& tv = s.trust_vector.claims;
    // The PCK chains to the Intel SGX Root CA the relying party trusts, the
    // quote comes from genuine Intel hardware, and TD memory is encrypted.
    tv[TrustVector::kInstanceIdentity] = 2;
    tv[TrustVector::kHardware] = 2;
    tv[TrustVector::kRuntimeOpaque] = 2;

    std::vector<Finding> exec_findings;
    std::vector<Finding> config_findings;
    bool exec_checked = false;
    for (const auto& m : kMeasurementKeys) {
      if (!ref.contains(m.reference)) {
        continue;
      }
      exec_checked = exec_checked || m.executables;
      const nlohmann::json have = c.value(m.claim, nlohmann::json());
      if (!internal::matches_any(have, ref[m.reference])) {
        Finding f{ErrorCode::MeasurementMismatch,
                  std::string(m.claim) + " " + (have.is_string() ? have.get<std::string>() : "?") +
                      " is not a reference value"};
        (m.executables ? exec_findings : config_findings).push_back(std::move(f));
      }
    }
    bool td_checked = false;
    for (const auto& m : kMeasurementKeys) {
      td_checked = td_checked || (m.identifies_td && ref.contains(m.reference));
    }
    if (exec_checked) {
      tv[TrustVector::kExecutables] = exec_findings.empty() ? 2 : 96;
    }
    if (!td_checked && exec_findings.empty()) {
      // No reference value for this TD (the policy said
      // "dangerous_any_measurement", or there is no policy section): any TD
      // of a genuine platform would pass, so the runtime is unrecognized.
      tv[TrustVector::kExecutables] = internal::kExecutablesUnrecognized;
    }
    // A Quoting Enclave at a TCB level other than UpToDate (QE Identity
    // collateral): genuine hardware with known vulnerabilities.
    const nlohmann::json qe = c.value("qe_identity", nlohmann::json::object());
    if (qe.is_object() && qe.contains("tcb_status") && qe["tcb_status"] != "UpToDate") {
      tv[TrustVector::kHardware] = 32;
    }

    // Configuration: always appraised, since the debug rule applies by default.
    const bool debug = c.contains("td_attributes_flags") && c["td_attributes_flags"].is_object() &&
                       c["td_attributes_flags"].value("debug", false);
    if (debug && !ref.value("allow_debug", false)) {
      config_findings.insert(
          config_findings.begin(),
          {ErrorCode::DebugEnabled, "TD_ATTRIBUTES.DEBUG (bit 0) is set and allow_debug is false"});
    }
    tv[TrustVector::kConfiguration] = config_findings.empty() ? 2 : 96;

    s.findings = std::move(exec_findings);
    s.findings.insert(s.findings.end(), config_findings.begin(), config_findings.end());
    return std::vector<SubmodAppraisal>{std::move(s)};
  }
};

}  // namespace

std::unique_ptr<Verifier> make_tdx_verifier() {
  return std::make_unique<TdxVerifier>();
}
std::unique_ptr<Appraiser> make_tdx_appraiser() {
  return std::make_unique<TdxAppraiser>();
}

}  // namespace atls
