#include "tools/verify_ratls.h"

#include "tools/commands.h"
#include "tools/common.h"

#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/ossl/x509.h"
#include "src/tls/ratls.h"

#include <iostream>

namespace atls::tools {

bool is_certificate_file(const std::string& file) {
  auto data = read_input(file);
  if (!data) {
    return false;
  }
  auto certs = ossl::parse_certificates(*data);
  return certs && certs->size() == 1;
}

void verify_ratls_file(const RatlsVerifyArgs& a, const Registry& registry, const Clock& clock,
                       const Policy* policy) {
  const auto bail = [&a](const Error& e, int code = 1) {
    if (a.json) {
      std::cout << json_dump({{"verified", false},
                              {"error", std::string(e.name())},
                              {"detail", e.to_string()}},
                             2)
                << "\n";
    }
    fail("verify", e, a.file);
    set_exit_code(code);
  };
  internal::RatlsVerifyOptions opts;
  opts.at = clock.now();
  auto nonce = from_hex(a.connection_nonce);
  if (!nonce) {
    bail(Error{ErrorCode::InvalidHex, "--connection-nonce: " + nonce.error().detail}, 2);
    return;
  }
  opts.connection_nonce = std::move(*nonce);
  for (const auto& f : a.trust) {
    auto b = read_input(f);
    if (!b) {
      bail(b.error(), 2);
      return;
    }
    opts.trust_anchors.push_back(std::move(*b));
  }
  auto data = read_input(a.file);
  auto cert = data ? ossl::parse_certificate(*data) : Result<ossl::UniquePtr<X509>>(data.error());
  if (!cert) {
    bail(cert.error());
    return;
  }
  // Without --policy only integrity is checked: no age limit, no verdict.
  Policy integrity_only;
  integrity_only.max_evidence_age = 0;
  const internal::RelyingParty rp(registry, clock, policy ? *policy : integrity_only);
  auto r = internal::appraise_ratls_certificate(cert->get(), rp, opts);
  if (!r) {
    bail(r.error());
    return;
  }
  const AttestationResult& result = r->appraisal.result;
  const Result<void> verdict = policy ? r->appraisal.verdict : ok();
  if (a.json) {
    nlohmann::json j = result.to_json();
    j["verified"] = true;
    j["ratls_extension"] = internal::ratls_extension_name(r->extension);
    j["spki_sha256"] = to_hex(r->spki_sha256);
    j["expected_nonce"] = to_hex(r->expected_nonce);
    j["verifier"] = r->appraisal.evidence.verifier();
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : r->checks) {
      checks.push_back({{"check", c.name}, {"detail", c.detail}});
    }
    j["checks"] = std::move(checks);
    if (!r->dice_claims.empty()) {
      j["dice_claims"] = r->dice_claims;
    }
    if (policy) {
      j["accepted"] = static_cast<bool>(verdict);
      if (!verdict) {
        j["error"] = std::string(verdict.error().name());
        j["detail"] = verdict.error().to_string();
      }
    }
    std::cout << json_dump(j, 2) << "\n";
  } else {
    std::cout << "RA-TLS certificate (" << internal::ratls_extension_name(r->extension)
              << ")\nchecked:\n";
    for (const auto& c : r->checks) {
      std::cout << "  ok  " << c.name << ": " << c.detail << "\n";
    }
    std::cout << "evidence: " << result.media_type() << " (" << r->appraisal.evidence.verifier()
              << " verifier)\n"
              << "machine id: " << result.machine_id() << "\n"
              << "status: " << tier_name(result.status()) << "\n"
              << "claims: " << json_dump(r->appraisal.evidence.claims().claims, 2) << "\n"
              << "not checked: TCB status and CRLs (no collateral); for SGX the QE's ISVSVN\n";
    if (!policy) {
      std::cout << "verdict: integrity holds (no --policy: reference values not appraised)\n";
    } else {
      std::cout << "verdict: " << (verdict ? "accepted" : "rejected") << "\n";
    }
  }
  if (!verdict) {
    std::cerr << "atls verify: " << verdict.error().name() << ": " << verdict.error().to_string()
              << "\n";
    set_exit_code(1);
  }
}

}  // namespace atls::tools
