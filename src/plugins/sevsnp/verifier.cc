#include "src/attestation/policy_sections.h"
#include "src/core/encoding.h"
#include "src/core/parse_cache.h"
#include "src/formats/snp/report.h"
#include "src/formats/snp/verify.h"
#include "src/ossl/chain_cache.h"
#include "src/ossl/x509.h"
#include "src/plugins/sevsnp/sevsnp.h"

#include <algorithm>
#include <memory>

namespace atls {
namespace {

// Parsed trust material and VCEKs, by content: the ASK/ARK anchors, --cert
// bundles and policy files are parsed once, not on every verification, and
// so is a VCEK that a chip keeps sending.
struct TrustCaches {
  internal::ParseCache<SnpChain> chains;
  internal::ParseCache<std::vector<ossl::UniquePtr<X509>>> bundles;
  internal::ParseCache<ossl::UniquePtr<X509>> vceks;  // the policy's "vcek" file
  internal::ParseCache<ossl::UniquePtr<X509>> evidence_vceks{internal::kParseCacheCapacity,
                                                             internal::kParseCacheMaxEvidenceInput};
};

Result<ossl::UniquePtr<X509>> cached_certificate(
    const internal::ParseCache<ossl::UniquePtr<X509>>& cache, ByteView data) {
  ATLS_ASSIGN_OR_RETURN(const auto c,
                        cache.get(data, [](ByteView d) { return ossl::parse_certificate(d); }));
  return ossl::up_ref(c->get());
}

// The AMD ASK+ARK pairs the relying party trusts: the policy's "ask_ark"
// files, then --trust anchors. Never taken from the Evidence.
Result<std::vector<std::shared_ptr<const SnpChain>>> trusted_chains(const VerifyContext& ctx,
                                                                    const TrustCaches& caches) {
  std::vector<std::shared_ptr<const SnpChain>> chains;
  const auto parse = [](ByteView d) { return parse_snp_chain(d); };
  // The "ask_ark" trust entry: one file reference or a list of them.
  for (const auto& ref : internal::file_refs(ctx.trust, "ask_ark")) {
    ATLS_ASSIGN_OR_RETURN(const Bytes pem, internal::load_file(ctx, ref));
    ATLS_ASSIGN_OR_RETURN(auto c, caches.chains.get(pem, parse));
    chains.push_back(std::move(c));
  }
  for (const auto& anchor : ctx.trust_anchors) {
    ATLS_ASSIGN_OR_RETURN(auto c, caches.chains.get(anchor, parse));
    chains.push_back(std::move(c));
  }
  return chains;
}

// VCEK candidates in order of preference: the Evidence's "vcek" record, the
// --cert certificates, the policy's "vcek" file. The chain check decides
// whether any of them is to be believed.
Result<std::vector<ossl::UniquePtr<X509>>> vcek_candidates(const Evidence& evidence,
                                                           const VerifyContext& ctx,
                                                           const TrustCaches& caches) {
  std::vector<ossl::UniquePtr<X509>> out;
  const EvidenceRecord* rec = evidence.find_label(kSnpVcekLabel);
  if (rec == nullptr) {
    rec = evidence.find(kMediaTypePkixCert);
  }
  if (rec != nullptr) {
    ATLS_ASSIGN_OR_RETURN(auto c, cached_certificate(caches.evidence_vceks, rec->value));
    out.push_back(std::move(c));
  }
  for (const auto& b : ctx.certificates) {
    ATLS_ASSIGN_OR_RETURN(const auto certs, caches.bundles.get(b, [](ByteView d) {
      return ossl::parse_certificates(d);
    }));
    for (const auto& c : *certs) {
      out.push_back(ossl::up_ref(c.get()));
    }
  }
  if (ctx.trust.is_object() && ctx.trust.contains("vcek") && ctx.trust["vcek"].is_string()) {
    ATLS_ASSIGN_OR_RETURN(const Bytes b,
                          internal::load_file(ctx, ctx.trust["vcek"].get<std::string>()));
    ATLS_ASSIGN_OR_RETURN(auto c, cached_certificate(caches.vceks, b));
    out.push_back(std::move(c));
  }
  return out;
}

// Picks the VCEK issued for this report's chip and TCB among the candidates
// (--cert may hold a bundle); fails with the first candidate's error.
Result<X509*> select_vcek(const std::vector<ossl::UniquePtr<X509>>& candidates,
                          const SnpReport& r) {
  if (candidates.empty()) {
    return Error{ErrorCode::CertUntrusted,
                 "no VCEK: the Evidence has no \"vcek\" record and none was configured "
                 "(--cert or policy trust.vcek)"};
  }
  std::optional<Error> first;
  for (const auto& c : candidates) {
    auto m = check_vcek_matches_report(c.get(), r);
    if (m) {
      return c.get();
    }
    if (!first) {
      first = std::move(m).error();
    }
  }
  return *first;
}

// Verifies |vcek| against every trusted chain; succeeds on the first that
// verifies. On failure, a specific error (expired, bad signature) from any
// chain is preferred to "untrusted", which only says that chain is not ours.
Result<void> verify_against(X509* vcek, const std::vector<std::shared_ptr<const SnpChain>>& chains,
                            std::int64_t at) {
  if (chains.empty()) {
    return Error{ErrorCode::CertUntrusted,
                 "no AMD ASK/ARK trust anchor (policy trust.ask_ark or --trust)"};
  }
  std::optional<Error> result;
  for (const auto& chain : chains) {
    auto v = verify_vcek_chain(vcek, *chain, at, &ossl::chain_cache());
    if (v) {
      return ok();
    }
    if (!result ||
        (result->code == ErrorCode::CertUntrusted && v.error().code != ErrorCode::CertUntrusted)) {
      result = std::move(v).error();
    }
  }
  return *result;
}

class SevSnpVerifier final : public Verifier {
 public:
  std::string_view name() const override { return "sev-snp"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeSnpReport)};
  }

  Result<void> check_trust_section(const nlohmann::json& trust) const override {
    ATLS_TRY(internal::only_keys(trust, {"ask_ark", "vcek"}, "the sev-snp trust section"));
    if (trust.contains("ask_ark")) {
      ATLS_TRY(internal::check_file_list(trust["ask_ark"], "ask_ark",
                                         "a PEM file (ASK then ARK) or a list of them"));
    }
    if (trust.contains("vcek") && !trust["vcek"].is_string()) {
      return Error{ErrorCode::PolicyInvalid, "\"vcek\" must be a certificate file"};
    }
    return ok();
  }

  Result<EvidenceClaims> verify(const Evidence& evidence, const VerifyContext& ctx) const override {
    const EvidenceRecord* rec = evidence.find(kMediaTypeSnpReport);
    if (rec == nullptr) {
      return Error{ErrorCode::UnsupportedMediaType,
                   "no application/vnd.atls.sev-snp-report record"};
    }
    if (ctx.clock == nullptr) {
      return Error{ErrorCode::Internal, "VerifyContext has no clock"};
    }
    ATLS_ASSIGN_OR_RETURN(const SnpReport r, parse_snp_report(rec->value));
    if (r.signing_key == SnpSigningKey::None) {
      return Error{ErrorCode::SnpBadSignature, "the report is unsigned (SIGNING_KEY = none)"};
    }
    if (r.signing_key == SnpSigningKey::Vlek) {
      return Error{ErrorCode::KeyUntrusted, "VLEK-signed reports (ASVK chain) are not supported"};
    }

    // Integrity: VCEK <- ASK <- ARK (trusted), the VCEK is this chip's at
    // this TCB, and the VCEK signed the report.
    ATLS_ASSIGN_OR_RETURN(const auto candidates, vcek_candidates(evidence, ctx, m_caches));
    ATLS_ASSIGN_OR_RETURN(X509* const vcek, select_vcek(candidates, r));
    ATLS_ASSIGN_OR_RETURN(const auto chains, trusted_chains(ctx, m_caches));
    ATLS_TRY(verify_against(vcek, chains, ctx.clock->now()));
    ossl::UniquePtr<EVP_PKEY> key(::X509_get_pubkey(vcek));
    if (!key) {
      return Error{ErrorCode::CertMalformed, "VCEK public key: " + ossl::drain_errors()};
    }
    ATLS_TRY(verify_snp_report_signature(r, key.get()));

    EvidenceClaims out;
    const ByteView report_data(r.report_data.data(), r.report_data.size());
    out.nonce.assign(report_data.begin(), report_data.end());
    if (ctx.expected_nonce) {
      // docs/wire-profile.md §1.5: REPORT_DATA is the binder zero-padded to 64 bytes. A
      // mismatch is NonceMismatch, as for every other plug-in.
      const Bytes& n = *ctx.expected_nonce;
      if (n.size() > r.report_data.size()) {
        return Error{ErrorCode::NonceMismatch,
                     "the expected nonce is longer than REPORT_DATA (64 bytes)"};
      }
      Bytes padded(r.report_data.size(), 0);
      std::copy(n.begin(), n.end(), padded.begin());
      if (!constant_time_equal(padded, report_data)) {
        return Error{ErrorCode::NonceMismatch,
                     "REPORT_DATA is not the expected binder zero-padded to 64 bytes"};
      }
      out.nonce = n;
      out.nonce_verified = true;
    }
    out.claims = snp_report_to_json(r);
    if (!r.mask_chip_key) {
      out.machine_id = "snp-chip-id:" + to_hex(ByteView(r.chip_id.data(), r.chip_id.size()));
    }
    out.hardware_rooted = true;
    // No issued_at: an ATTESTATION_REPORT carries no time; freshness comes
    // from the nonce alone.
    return out;
  }

 private:
  // Thread-safe; verify is const and may run on many threads.
  TrustCaches m_caches;
};

// --- appraisal ---------------------------------------------------------------

constexpr const char* kTcbParts[] = {"fmc", "bootloader", "tee", "snp", "microcode"};

Result<void> check_hex(const nlohmann::json& ref, const char* key, std::size_t len) {
  if (!ref.contains(key)) {
    return ok();
  }
  const auto& v = ref[key];
  if (!v.is_string()) {
    return Error{ErrorCode::PolicyInvalid, std::string("\"") + key + "\" must be a hex string"};
  }
  auto b = from_hex(v.get<std::string>());
  if (!b || b->size() != len) {
    return Error{ErrorCode::PolicyInvalid,
                 std::string("\"") + key + "\" must be " + std::to_string(len) + " bytes of hex"};
  }
  return ok();
}

// Names the TCB components of |tcb| (a claims TCB object) below |minimum|.
std::string tcb_below(const nlohmann::json& tcb, const nlohmann::json& minimum) {
  std::string below;
  for (const char* part : kTcbParts) {
    if (!minimum.contains(part)) {
      continue;
    }
    // A component the layout lacks (fmc before Turin) counts as 0.
    const std::int64_t have = tcb.is_object() && tcb.contains(part) && tcb[part].is_number_integer()
                                  ? tcb[part].get<std::int64_t>()
                                  : 0;
    const std::int64_t want = minimum[part].get<std::int64_t>();
    if (have < want) {
      below += std::string(below.empty() ? "" : ", ") + part + " " + std::to_string(have) + " < " +
               std::to_string(want);
    }
  }
  return below;
}

class SevSnpAppraiser final : public Appraiser {
 public:
  std::string_view name() const override { return "sev-snp"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeSnpReport)};
  }

  Result<void> check_reference_section(const nlohmann::json& ref) const override {
    ATLS_TRY(internal::only_keys(
        ref,
        {"measurements", "allow_debug", "minimum_tcb", "host_data", "id_key_digest", "family_id",
         "image_id", "vmpl", "policy_id", std::string(internal::kDangerousAnyMeasurement)},
        "the sev-snp reference section"));
    if (ref.contains("measurements")) {
      const auto& m = ref["measurements"];
      if (!m.is_array() || m.empty()) {
        return Error{ErrorCode::PolicyInvalid,
                     "\"measurements\" must be a non-empty list of hex digests"};
      }
      for (const auto& d : m) {
        auto b = internal::json_hex(d);
        if (!b || b->size() != 48) {
          return Error{ErrorCode::PolicyInvalid, "each measurement must be 48 bytes of hex"};
        }
      }
    }
    ATLS_TRY(internal::check_boolean(ref, "allow_debug"));
    if (ref.contains("minimum_tcb")) {
      const auto& t = ref["minimum_tcb"];
      ATLS_TRY(internal::only_keys(t, {"fmc", "bootloader", "tee", "snp", "microcode"},
                                   "\"minimum_tcb\""));
      for (const auto& [k, v] : t.items()) {
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 255) {
          return Error{ErrorCode::PolicyInvalid, "minimum_tcb." + k + " must be an integer 0..255"};
        }
      }
    }
    ATLS_TRY(check_hex(ref, "host_data", 32));
    ATLS_TRY(check_hex(ref, "id_key_digest", 48));
    ATLS_TRY(check_hex(ref, "family_id", 16));
    ATLS_TRY(check_hex(ref, "image_id", 16));
    if (ref.contains("vmpl")) {
      const auto& v = ref["vmpl"];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 3) {
        return Error{ErrorCode::PolicyInvalid,
                     "\"vmpl\" must be an integer 0..3 (the highest VMPL allowed)"};
      }
    }
    // family_id and image_id are chosen by whoever signs the ID block, so
    // only the launch digest or the ID key identify the workload.
    ATLS_TRY(internal::require_reference_values(
        ref, ref.contains("measurements") || ref.contains("id_key_digest"),
        "measurements or id_key_digest"));
    return internal::check_string(ref, "policy_id");
  }

  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& ev,
                                                const nlohmann::json& ref) const override {
    const nlohmann::json& c = ev.claims().claims;
    SubmodAppraisal s;
    s.name = "sev-snp";
    s.policy_id = ref.value("policy_id", "atls:sev-snp/default");
    auto& tv = s.trust_vector.claims;
    // The chip key chains to AMD's ARK, which the relying party trusts, and
    // the report comes from genuine AMD hardware; guest memory is encrypted.
    tv[TrustVector::kInstanceIdentity] = 2;
    tv[TrustVector::kHardware] = 2;
    tv[TrustVector::kRuntimeOpaque] = 2;

    std::vector<Finding> exec_findings;
    std::vector<Finding> config_findings;

    // Executables: the launch digest and the ID block that signed it.
    bool exec_checked = false;
    if (ref.contains("measurements")) {
      exec_checked = true;
      bool found = false;
      for (const auto& want : ref["measurements"]) {
        found = internal::hex_equal(c.value("measurement", nlohmann::json()), want) || found;
      }
      if (!found) {
        exec_findings.push_back({ErrorCode::MeasurementMismatch,
                                 "MEASUREMENT " + c.value("measurement", std::string("?")) +
                                     " is not a reference value"});
      }
    }
    for (const char* key : {"id_key_digest", "family_id", "image_id"}) {
      if (ref.contains(key)) {
        exec_checked = true;
        if (!internal::hex_equal(c.value(key, nlohmann::json()), ref[key])) {
          exec_findings.push_back({ErrorCode::MeasurementMismatch,
                                   std::string(key) + " " + c.value(key, std::string("?")) +
                                       " is not the reference value"});
        }
      }
    }
    if (exec_checked) {
      tv[TrustVector::kExecutables] = exec_findings.empty() ? 2 : 96;
    }
    if (!ref.contains("measurements") && !ref.contains("id_key_digest") && exec_findings.empty()) {
      // No reference value for the workload ("dangerous_any_measurement" or
      // no policy section): any guest of a genuine chip would pass.
      tv[TrustVector::kExecutables] = internal::kExecutablesUnrecognized;
    }

    // Configuration: always appraised, since the debug rule applies by default.
    const bool debug =
        c.contains("policy") && c["policy"].is_object() && c["policy"].value("debug", false);
    if (debug && !ref.value("allow_debug", false)) {
      config_findings.push_back(
          {ErrorCode::DebugEnabled,
           "guest POLICY allows debugging (bit 19) and allow_debug is false"});
    }
    if (ref.contains("minimum_tcb")) {
      // REPORTED_TCB is the TCB the VCEK (hence the signature) is bound to;
      // COMMITTED_TCB is the firmware the platform can no longer roll back below.
      for (const char* which : {"reported_tcb", "committed_tcb"}) {
        const std::string below = tcb_below(c.value(which, nlohmann::json()), ref["minimum_tcb"]);
        if (!below.empty()) {
          config_findings.push_back(
              {ErrorCode::TcbTooLow, std::string(which) + " below minimum: " + below});
        }
      }
    }
    if (ref.contains("host_data") &&
        !internal::hex_equal(c.value("host_data", nlohmann::json()), ref["host_data"])) {
      config_findings.push_back(
          {ErrorCode::MeasurementMismatch,
           "HOST_DATA " + c.value("host_data", std::string("?")) + " is not the reference value"});
    }
    if (ref.contains("vmpl")) {
      const std::int64_t have = c.value("vmpl", std::int64_t{4});
      const std::int64_t max = ref["vmpl"].get<std::int64_t>();
      if (have > max) {
        config_findings.push_back({ErrorCode::TierInsufficient,
                                   "the report was requested at VMPL " + std::to_string(have) +
                                       "; the policy allows at most " + std::to_string(max)});
      }
    }
    tv[TrustVector::kConfiguration] = config_findings.empty() ? 2 : 96;

    // All findings are contraindications; executables first, then configuration.
    s.findings = std::move(exec_findings);
    s.findings.insert(s.findings.end(), config_findings.begin(), config_findings.end());
    return std::vector<SubmodAppraisal>{std::move(s)};
  }
};

}  // namespace

std::unique_ptr<Verifier> make_sevsnp_verifier() {
  return std::make_unique<SevSnpVerifier>();
}
std::unique_ptr<Appraiser> make_sevsnp_appraiser() {
  return std::make_unique<SevSnpAppraiser>();
}

}  // namespace atls
