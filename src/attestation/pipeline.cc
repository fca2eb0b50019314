#include "src/attestation/pipeline.h"

#include "src/attestation/ear_issuer.h"

#include <algorithm>
#include <exception>

namespace atls {

nlohmann::json AttestationResult::to_json() const {
  nlohmann::json j;
  j["status"] = std::string(tier_name(m_status));
  j["media_type"] = m_media_type;
  j["machine_id"] = m_machine_id;
  j["hardware_rooted"] = m_hardware_rooted;
  j["verified_at"] = m_verified_at;
  j["valid_until"] = m_valid_until;
  nlohmann::json subs = nlohmann::json::object();
  for (const auto& s : m_submods) {
    nlohmann::json sj;
    sj["status"] = std::string(tier_name(s.status));
    nlohmann::json tv = nlohmann::json::object();
    for (std::size_t i = 0; i < TrustVector::kSize; ++i) {
      if (s.trust_vector.claims[i]) {
        tv[std::string(TrustVector::claim_name(i))] = static_cast<int>(*s.trust_vector.claims[i]);
      }
    }
    sj["trust_vector"] = std::move(tv);
    if (!s.policy_id.empty()) {
      sj["policy_id"] = s.policy_id;
    }
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : s.findings) {
      findings.push_back({{"code", std::string(error_name(f.code))}, {"detail", f.detail}});
    }
    if (!findings.empty()) {
      sj["findings"] = std::move(findings);
    }
    subs[s.name] = std::move(sj);
  }
  j["submods"] = std::move(subs);
  j["claims"] = m_claims;
  if (!m_ear.empty()) {
    j["ear"] = m_ear;
  }
  return j;
}

namespace internal {

Result<VerifiedEvidence> Pipeline::verify(const Evidence& evidence, VerifyContext ctx,
                                          const Policy& policy) const {
  const std::string media_type(evidence.media_type());
  const Verifier* v = m_registry.verifier_for(media_type);
  if (v == nullptr) {
    return Error{ErrorCode::UnsupportedMediaType, "\"" + media_type + "\""};
  }
  ctx.clock = &m_clock;
  if (const SchemePolicy* sp = policy.scheme(media_type)) {
    ctx.trust = sp->trust;
  }
  if (!ctx.load) {
    if (policy.files) {
      // |ctx| and so the loader live only for this call, inside the
      // policy's lifetime.
      ctx.load = [&policy](const std::string& ref) {
        return policy.files->load(policy.base_dir, ref);
      };
    } else {
      ctx.load = [base_dir = policy.base_dir](const std::string& ref) {
        return load_reference(base_dir, ref);
      };
    }
  }
  Result<EvidenceClaims> claims = Error{ErrorCode::Internal, "verifier did not run"};
  try {
    claims = v->verify(evidence, ctx);
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string(v->name()) + " verifier: " + e.what()};
  }
  if (!claims) {
    return std::move(claims).error();
  }
  const std::int64_t now = m_clock.now();
  if (policy.max_evidence_age > 0 && claims->issued_at) {
    if (now - *claims->issued_at > policy.max_evidence_age) {
      return Error{ErrorCode::EvidenceStale, "evidence is " +
                                                 std::to_string(now - *claims->issued_at) +
                                                 " s old; the policy allows " +
                                                 std::to_string(policy.max_evidence_age) + " s"};
    }
  }
  if (claims->expires_at && now > *claims->expires_at) {
    return Error{ErrorCode::EvidenceStale, "expired at " + std::to_string(*claims->expires_at)};
  }
  VerifiedEvidence out;
  out.m_media_type = media_type;
  out.m_verifier = std::string(v->name());
  out.m_claims = std::move(*claims);
  out.m_verified_at = now;
  return out;
}

Result<AttestationResult> Pipeline::appraise(const VerifiedEvidence& evidence, const Policy& policy,
                                             EVP_PKEY* ear_key,
                                             const Bytes* attested_key_spki) const {
  const Appraiser* a = m_registry.appraiser_for(evidence.media_type());
  if (a == nullptr) {
    return Error{ErrorCode::UnsupportedMediaType,
                 "no appraiser for \"" + evidence.media_type() + "\""};
  }
  // The policy's reference section is borrowed, not copied: appraisal runs
  // once per connection.
  static const nlohmann::json kNoReference = nlohmann::json::object();
  const nlohmann::json* reference = &kNoReference;
  if (const SchemePolicy* sp = policy.scheme(evidence.media_type())) {
    reference = &sp->reference;
  }
  Result<std::vector<SubmodAppraisal>> subs = Error{ErrorCode::Internal, "appraiser did not run"};
  try {
    subs = a->appraise(evidence, *reference);
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string(a->name()) + " appraiser: " + e.what()};
  }
  if (!subs) {
    return std::move(subs).error();
  }
  if (subs->empty()) {
    return Error{ErrorCode::Internal, std::string(a->name()) + " appraiser returned no submodule"};
  }
  AttestationResult r;
  r.m_media_type = evidence.media_type();
  r.m_machine_id = evidence.claims().machine_id;
  r.m_claims = evidence.claims().claims;
  r.m_hardware_rooted = evidence.claims().hardware_rooted;
  r.m_verified_at = evidence.verified_at();
  r.m_status = TrustTier::Affirming;
  for (auto& s : *subs) {
    SubmodResult sr;
    sr.name = std::move(s.name);
    sr.trust_vector = s.trust_vector;
    sr.status = s.trust_vector.worst();
    sr.policy_id = std::move(s.policy_id);
    sr.findings = std::move(s.findings);
    if (tier_rank(sr.status) > tier_rank(r.m_status)) {
      r.m_status = sr.status;
    }
    r.m_submods.push_back(std::move(sr));
  }
  std::int64_t valid_until = r.m_verified_at + policy.reattest_interval;
  const auto& c = evidence.claims();
  if (policy.max_evidence_age > 0 && c.issued_at) {
    valid_until = std::min(valid_until, *c.issued_at + policy.max_evidence_age);
  }
  if (c.expires_at) {
    valid_until = std::min(valid_until, *c.expires_at);
  }
  if (ear_key != nullptr) {
    EarIssue issue;
    issue.key = ear_key;
    issue.iat = r.m_verified_at;
    issue.exp = std::min(r.m_verified_at + policy.ear.lifetime, valid_until);
    if (c.nonce.size() >= 8 && c.nonce.size() <= 64) {
      issue.nonce = c.nonce;
    }
    if (attested_key_spki != nullptr) {
      issue.attested_key_spki = *attested_key_spki;
    }
    issue.developer = policy.ear.developer;
    issue.build = policy.ear.build;
    ATLS_ASSIGN_OR_RETURN(r.m_ear, issue_ear(r, c, issue));
    valid_until = issue.exp;
  }
  r.m_valid_until = valid_until;
  return r;
}

ResultParts ResultParts::of(const AttestationResult& r) {
  ResultParts p;
  p.status = r.status();
  p.hardware_rooted = r.hardware_rooted();
  p.verified_at = r.verified_at();
  p.valid_until = r.valid_until();
  p.media_type = r.media_type();
  p.machine_id = r.machine_id();
  p.submods = r.submods();
  return p;
}

AttestationResult Pipeline::restore(ResultParts parts) {
  AttestationResult r;
  r.m_status = parts.status;
  r.m_hardware_rooted = parts.hardware_rooted;
  r.m_verified_at = parts.verified_at;
  r.m_valid_until = parts.valid_until;
  r.m_media_type = std::move(parts.media_type);
  r.m_machine_id = std::move(parts.machine_id);
  r.m_submods = std::move(parts.submods);
  r.m_claims = nlohmann::json::object();
  return r;
}

Result<void> Pipeline::check(const AttestationResult& result, const Policy& policy) {
  if (!policy.machine_ids.empty() && std::find(policy.machine_ids.begin(), policy.machine_ids.end(),
                                               result.machine_id()) == policy.machine_ids.end()) {
    return Error{ErrorCode::MachineIdMismatch, "\"" + result.machine_id() + "\" is not pinned"};
  }
  if (tier_meets(result.status(), policy.required_tier)) {
    return ok();
  }
  for (const auto& s : result.submods()) {
    if (tier_meets(s.status, policy.required_tier)) {
      continue;
    }
    if (!s.findings.empty()) {
      const Finding& f = s.findings.front();
      return Error{f.code, s.name + ": " + f.detail};
    }
  }
  return Error{ErrorCode::TierInsufficient, std::string(tier_name(result.status())) +
                                                " < required " +
                                                std::string(tier_name(policy.required_tier))};
}

}  // namespace internal
}  // namespace atls
