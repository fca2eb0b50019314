// `atls verify`: appraise Evidence (a CMW, a native blob, tpm2-tools files) or
// an EAR and print the result.

#include "tools/commands.h"
#include "tools/common.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/pipeline.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/plugins/tpm2/tpm2.h"
#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/attestation/registry.h"
#include "src/plugins/tpm2/tpm2.h"

#include <iostream>
#include <memory>

namespace atls::tools {
namespace {

struct VerifyArgs {
  std::string evidence;
  std::string policy;
  std::string nonce;
  std::string at;
  std::vector<std::string> trust;
  std::vector<std::string> certs;
  std::string media_type;
  std::string ear_out;
  std::string tpm_quote, tpm_signature, tpm_pcrs;
  bool json = false;
};

void print_result(const AttestationResult& r, const Policy* policy, const Result<void>& verdict) {
  std::cout << "media type:  " << r.media_type() << "\n";
  std::cout << "machine id:  " << (r.machine_id().empty() ? "(none)" : r.machine_id()) << "\n";
  std::cout << "root:        " << (r.hardware_rooted() ? "hardware" : "software (not hardware-backed)") << "\n";
  std::cout << "status:      " << tier_name(r.status()) << "\n";
  std::cout << "valid until: " << ossl::format_time(r.valid_until()) << "\n";
  for (const auto& s : r.submods()) {
    std::cout << "submodule " << s.name << ": " << tier_name(s.status) << "\n";
    for (std::size_t i = 0; i < TrustVector::kSize; ++i) {
      if (s.trust_vector.claims[i]) {
        const int v = *s.trust_vector.claims[i];
        std::cout << "  " << TrustVector::claim_name(i) << ": " << v << " ("
                  << tier_name(tier_of_claim_value(static_cast<std::int8_t>(v))) << ")\n";
      }
    }
    for (const auto& f : s.findings) {
      std::cout << "  ! " << error_name(f.code) << ": " << f.detail << "\n";
    }
  }
  std::cout << "claims:\n" << json_dump(r.claims(), 2) << "\n";
  if (policy != nullptr) {
    std::cout << "policy:      required tier " << tier_name(policy->required_tier) << ": "
              << (verdict ? "ACCEPTED" : "REJECTED (" + std::string(verdict.error().name()) + ": " +
                                             verdict.error().to_string() + ")")
              << "\n";
  } else {
    std::cout << "integrity:   OK (no policy: reference values not checked)\n";
  }
}

Result<std::int64_t> parse_time(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    return static_cast<std::int64_t>(std::stoll(s));
  }
  struct tm tm {};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != 0) {
    tm = {};
    end = ::strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (end == nullptr || *end != 0) {
    return Error{ErrorCode::InvalidArgument, "--at takes Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"};
  }
  return static_cast<std::int64_t>(::timegm(&tm));
}

Result<Evidence> load_evidence(const VerifyArgs& a) {
  if (!a.tpm_quote.empty() || !a.tpm_signature.empty() || !a.tpm_pcrs.empty()) {
    if (a.tpm_quote.empty() || a.tpm_signature.empty() || a.tpm_pcrs.empty()) {
      return Error{ErrorCode::InvalidArgument, "--tpm-quote, --tpm-signature and --tpm-pcrs go together"};
    }
    ATLS_ASSIGN_OR_RETURN(const Bytes msg, read_input(a.tpm_quote));
    ATLS_ASSIGN_OR_RETURN(const Bytes sig, read_input(a.tpm_signature));
    ATLS_ASSIGN_OR_RETURN(const Bytes pcrs, read_input(a.tpm_pcrs));
    return evidence_from_tpm2_tools(msg, sig, pcrs);
  }
  if (a.evidence.empty()) {
    return Error{ErrorCode::InvalidArgument, "EVIDENCE (or the three --tpm-* files) is required"};
  }
  ATLS_ASSIGN_OR_RETURN(Bytes data, read_input(a.evidence));
  if (!a.media_type.empty()) {
    EvidenceRecord rec;
    rec.media_type = a.media_type;
    rec.value = std::move(data);
    rec.ind = a.media_type == kMediaTypeEar ? kIndAttestationResult : kIndEvidence;
    return evidence_from_records({std::move(rec)});
  }
  return evidence_from_cmw(data);
}

void run_verify(const VerifyArgs& a) {
  const Registry registry = builtin_registry();
  std::unique_ptr<Clock> clock;
  if (!a.at.empty()) {
    auto t = parse_time(a.at);
    if (!t) {
      fail("verify", t.error());
      return;
    }
    clock = std::make_unique<FixedClock>(*t);
  } else {
    clock = std::make_unique<SystemClock>();
  }
  std::unique_ptr<Policy> policy;
  if (!a.policy.empty()) {
    auto p = load_policy_file(a.policy, registry);
    if (!p) {
      fail("verify", p.error());
      return;
    }
    policy = std::make_unique<Policy>(std::move(*p));
  }
  auto evidence = load_evidence(a);
  if (!evidence) {
    fail("verify", evidence.error(), a.evidence);
    return;
  }
  VerifyContext ctx;
  if (!a.nonce.empty()) {
    auto n = from_hex(a.nonce);
    if (!n) {
      fail("verify", Error{ErrorCode::InvalidArgument, "--nonce: " + n.error().to_string()});
      return;
    }
    ctx.expected_nonce = std::move(*n);
  }
  for (const auto& f : a.trust) {
    auto b = read_input(f);
    if (!b) {
      fail("verify", b.error());
      return;
    }
    ctx.trust_anchors.push_back(std::move(*b));
  }
  for (const auto& f : a.certs) {
    auto b = read_input(f);
    if (!b) {
      fail("verify", b.error());
      return;
    }
    ctx.certificates.push_back(std::move(*b));
  }
  const internal::Pipeline pipeline(registry, *clock);
  auto verified = pipeline.verify(*evidence, std::move(ctx), policy.get());
  if (!verified) {
    if (a.json) {
      std::cout << json_dump({{"verified", false},
                              {"error", std::string(verified.error().name())},
                              {"detail", verified.error().to_string()}},
                             2)
                << "\n";
    }
    fail("verify", verified.error(), a.evidence);
    return;
  }
  ossl::UniquePtr<EVP_PKEY> ear_key;
  if (policy && !policy->ear.signing_key.empty()) {
    auto pem = load_reference(policy->base_dir, policy->ear.signing_key);
    if (!pem) {
      fail("verify", pem.error());
      return;
    }
    auto k = ossl::parse_private_key(*pem);
    if (!k) {
      fail("verify", k.error());
      return;
    }
    ear_key = std::move(*k);
  }
  auto result = pipeline.appraise(*verified, policy.get(), ear_key.get());
  if (!result) {
    fail("verify", result.error(), a.evidence);
    return;
  }
  Result<void> verdict = policy ? internal::Pipeline::check(*result, *policy) : ok();
  if (a.json) {
    nlohmann::json j = result->to_json();
    j["verified"] = true;
    if (policy) {
      j["accepted"] = static_cast<bool>(verdict);
      j["required_tier"] = std::string(tier_name(policy->required_tier));
      if (!verdict) {
        j["error"] = std::string(verdict.error().name());
        j["detail"] = verdict.error().to_string();
      }
    }
    std::cout << json_dump(j, 2) << "\n";
  } else {
    print_result(*result, policy.get(), verdict);
  }
  if (!a.ear_out.empty()) {
    if (result->ear().empty()) {
      fail("verify", Error{ErrorCode::InvalidArgument, "--ear-out needs a policy with ear.signing_key"});
      return;
    }
    auto w = write_output(a.ear_out, to_bytes(result->ear()));
    if (!w) {
      fail("verify", w.error());
      return;
    }
  }
  if (!verdict) {
    std::cerr << "atls verify: " << verdict.error().name() << ": " << verdict.error().to_string() << "\n";
    set_exit_code(1);
  }
}

}  // namespace

void register_verify(CLI::App& app) {
  auto a = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify",
      "Verify and appraise Evidence or an EAR. Without --policy only integrity is checked\n"
      "(signatures, chain to --trust anchors, the nonce, validity at --at) and the claims are\n"
      "printed; with --policy the result must also reach the policy's required tier.\n"
      "Exit code: 0 accepted, 1 rejected or invalid, 2 usage error.");
  cmd->add_option("evidence", a->evidence, "Evidence file: a CMW, or a native blob with --media-type");
  cmd->add_option("--policy", a->policy, "Appraisal policy (JSON; see docs/policy.md)");
  cmd->add_option("--nonce", a->nonce, "Expected nonce (hex); evidence with another nonce is rejected");
  cmd->add_option("--at", a->at, "Verification time: Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  cmd->add_option("--trust", a->trust, "Trust anchor (PEM/DER key or certificate); repeatable");
  cmd->add_option("--cert", a->certs, "Certificate the evidence needs but does not carry; repeatable");
  cmd->add_option("--media-type", a->media_type,
                  "Media type of a bare native blob, e.g. application/vnd.atls.sev-snp-report");
  cmd->add_option("--ear-out", a->ear_out, "Write the signed EAR (needs ear.signing_key in the policy)");
  cmd->add_option("--tpm-quote", a->tpm_quote, "tpm2_quote -m output (TPMS_ATTEST)");
  cmd->add_option("--tpm-signature", a->tpm_signature, "tpm2_quote -s output (TPMT_SIGNATURE)");
  cmd->add_option("--tpm-pcrs", a->tpm_pcrs, "tpm2_quote -o output (PCR values)");
  cmd->add_flag("--json", a->json, "Print the result as JSON");
  cmd->callback([a] { run_verify(*a); });
}

}  // namespace atls::tools
