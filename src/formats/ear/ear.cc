#include "src/formats/ear/ear.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/formats/jwt/jws.h"

#include <algorithm>
#include <limits>

namespace atls {
namespace {

// A claim with its two JSON spellings: draft-fv-rats-ear / ietf-rats-ear
// -00..-02 (also veraison/ear) and draft-ietf-rats-ear-03.
struct Spelling {
  const char* legacy;
  const char* current;
};

constexpr Spelling kProfile{"eat_profile", "eat_profile"};
constexpr Spelling kIat{"iat", "iat"};
constexpr Spelling kExp{"exp", "exp"};
constexpr Spelling kNonce{"eat_nonce", "eat_nonce"};
// The -03 top-level prose writes "ear.status"; the CDDL says ear_status.
constexpr Spelling kStatus{"ear.status", "ear_status"};
constexpr Spelling kVerifierId{"ear.verifier-id", "ear_verifier_id"};
constexpr Spelling kRawEvidence{"ear.raw-evidence", "ear_raw_evidence"};
constexpr Spelling kSubmods{"submods", "submods"};
constexpr Spelling kTrustVector{"ear.trustworthiness-vector", "ear_trustworthiness_vector"};
constexpr Spelling kPolicyId{"ear.appraisal-policy-id", "ear_appraisal_policy_ids"};

constexpr std::array<Spelling, 8> kTopLevel{kProfile, kIat,        kExp,         kNonce,
                                            kStatus,  kVerifierId, kRawEvidence, kSubmods};
constexpr std::array<Spelling, 5> kSubmodLevel{kProfile, kNonce, kStatus, kTrustVector, kPolicyId};

// find_claim returns the member under either spelling (nullptr if absent).
Result<const nlohmann::json*> find_claim(const nlohmann::json& obj, const Spelling& s,
                                         const std::string& where) {
  const auto a = obj.find(s.legacy);
  const auto b = obj.find(s.current);
  if (a != obj.end() && b != obj.end() && std::string_view(s.legacy) != s.current) {
    return Error{ErrorCode::EarMalformed,
                 where + "'" + s.legacy + "' and '" + s.current + "' both present"};
  }
  if (a != obj.end()) {
    return &*a;
  }
  if (b != obj.end()) {
    return &*b;
  }
  return static_cast<const nlohmann::json*>(nullptr);
}

template <std::size_t N>
nlohmann::json unknown_members(const nlohmann::json& obj, const std::array<Spelling, N>& known) {
  nlohmann::json out = nlohmann::json::object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const bool is_known = std::any_of(known.begin(), known.end(), [&](const Spelling& s) {
      return it.key() == s.legacy || it.key() == s.current;
    });
    if (!is_known) {
      out[it.key()] = it.value();
    }
  }
  return out;
}

Result<std::int64_t> int64_claim(const nlohmann::json& v, const std::string& name) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Error{ErrorCode::EarMalformed, name + " out of range"};
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) {
    return v.get<std::int64_t>();
  }
  return Error{ErrorCode::EarMalformed, name + " is not an integer"};
}

Result<std::string> text_claim(const nlohmann::json& v, const std::string& name) {
  if (!v.is_string()) {
    return Error{ErrorCode::EarMalformed, name + " is not a string"};
  }
  return v.get<std::string>();
}

Result<Bytes> b64_claim(const nlohmann::json& v, const std::string& name) {
  ATLS_ASSIGN_OR_RETURN(const std::string s, text_claim(v, name));
  auto b = base64url_decode(s);
  if (!b) {
    return Error{ErrorCode::EarMalformed, name + " is not base64url: " + b.error().to_string()};
  }
  return std::move(*b);
}

Result<Bytes> nonce_claim(const nlohmann::json& v, const std::string& name) {
  ATLS_ASSIGN_OR_RETURN(Bytes n, b64_claim(v, name));
  // draft-ietf-rats-ear: the EAR nonce is 8..64 bytes.
  if (n.size() < 8 || n.size() > 64) {
    return Error{ErrorCode::EarMalformed,
                 name + " of " + std::to_string(n.size()) + " bytes (must be 8..64)"};
  }
  return n;
}

Result<TrustTier> status_claim(const nlohmann::json& v, const std::string& name) {
  if (!v.is_string()) {
    return Error{ErrorCode::EarBadStatus, name + " is not a tier name"};
  }
  auto t = tier_from_name(v.get_ref<const std::string&>());
  if (!t) {
    return Error{ErrorCode::EarBadStatus, name + ": " + t.error().detail};
  }
  return *t;
}

Result<TrustVector> trust_vector_claim(const nlohmann::json& v, const std::string& name) {
  if (!v.is_object()) {
    return Error{ErrorCode::EarBadTrustVector, name + " is not an object"};
  }
  TrustVector tv;
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::size_t slot = 0;
    while (slot < TrustVector::kSize && TrustVector::claim_name(slot) != it.key()) {
      ++slot;
    }
    if (slot == TrustVector::kSize) {
      return Error{ErrorCode::EarBadTrustVector, name + ": unknown claim '" + it.key() + "'"};
    }
    // draft-ietf-rats-ar4si: a trustworthiness claim is a signed 8-bit integer.
    const nlohmann::json& c = it.value();
    std::int64_t value = 0;
    if (c.is_number_unsigned()) {
      value =
          c.get<std::uint64_t>() > 127 ? 128 : static_cast<std::int64_t>(c.get<std::uint64_t>());
    } else if (c.is_number_integer()) {
      value = c.get<std::int64_t>();
    } else {
      return Error{ErrorCode::EarBadTrustVector, name + "." + it.key() + " is not an integer"};
    }
    if (value < -128 || value > 127) {
      return Error{ErrorCode::EarBadTrustVector, name + "." + it.key() + " out of -128..127"};
    }
    tv.claims[slot] = static_cast<std::int8_t>(value);
  }
  return tv;
}

// better_than: "better" and "worse" follow the tier values (veraison/ear
// compares them numerically), so None counts as the best tier.
bool better_than(TrustTier a, TrustTier b) {
  return static_cast<int>(a) < static_cast<int>(b);
}

Result<EarSubmod> parse_submod(const std::string& name, const nlohmann::json& obj) {
  const std::string where = "submods['" + name + "'].";
  if (!obj.is_object()) {
    return Error{ErrorCode::EarMalformed, where.substr(0, where.size() - 1) + " is not an object"};
  }
  EarSubmod sm;
  sm.name = name;
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* status, find_claim(obj, kStatus, where));
  if (status == nullptr) {
    return Error{ErrorCode::EarMissingClaim, where + "ear_status"};
  }
  ATLS_ASSIGN_OR_RETURN(sm.status, status_claim(*status, where + "ear_status"));
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* tv, find_claim(obj, kTrustVector, where));
  if (tv != nullptr) {
    ATLS_ASSIGN_OR_RETURN(sm.trust_vector, trust_vector_claim(*tv, where + "trust vector"));
    // draft-ietf-rats-ear: a submod's status must be no better than the
    // worst claim of its trustworthiness vector.
    const TrustTier worst = sm.trust_vector->worst();
    if (better_than(sm.status, worst)) {
      return Error{ErrorCode::EarBadStatus, where + "ear_status '" +
                                                std::string(tier_name(sm.status)) +
                                                "' is better than its trust vector ('" +
                                                std::string(tier_name(worst)) + "')"};
    }
  }
  if (const auto legacy = obj.find(kPolicyId.legacy), current = obj.find(kPolicyId.current);
      legacy != obj.end() && current != obj.end()) {
    return Error{ErrorCode::EarMalformed, where + "both appraisal policy id spellings present"};
  } else if (legacy != obj.end()) {
    ATLS_ASSIGN_OR_RETURN(std::string id, text_claim(*legacy, where + kPolicyId.legacy));
    sm.policy_ids.push_back(std::move(id));
  } else if (current != obj.end()) {
    // draft-ietf-rats-ear-03: a non-empty array of policy ids, applied in order.
    if (!current->is_array() || current->empty()) {
      return Error{ErrorCode::EarMalformed,
                   where + "ear_appraisal_policy_ids is not a non-empty array"};
    }
    for (const auto& id : *current) {
      ATLS_ASSIGN_OR_RETURN(std::string s, text_claim(id, where + "ear_appraisal_policy_ids[]"));
      sm.policy_ids.push_back(std::move(s));
    }
  }
  if (const auto p = obj.find(kProfile.current); p != obj.end()) {
    ATLS_ASSIGN_OR_RETURN(sm.profile, text_claim(*p, where + "eat_profile"));
  }
  if (const auto n = obj.find(kNonce.current); n != obj.end()) {
    ATLS_ASSIGN_OR_RETURN(sm.nonce, nonce_claim(*n, where + "eat_nonce"));
  }
  sm.extensions = unknown_members(obj, kSubmodLevel);
  return sm;
}

bool known_profile(std::string_view p) {
  return p == kEarProfileVeraison || p == kEarProfileIetf02 || p == kEarProfileIetf03 ||
         p == kEarProfileTrustee;
}

Result<Ear> decode_claims_of(const Jws& jws) {
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json claims, jwt_claims(jws));
  return ear_from_claims(claims);
}

}  // namespace

Result<TrustTier> tier_from_name(std::string_view name) {
  for (const TrustTier t :
       {TrustTier::None, TrustTier::Affirming, TrustTier::Warning, TrustTier::Contraindicated}) {
    if (tier_name(t) == name) {
      return t;
    }
  }
  return Error{ErrorCode::EarBadStatus, "unknown trust tier \"" + std::string(name) + "\""};
}

Result<Ear> ear_from_claims(const nlohmann::json& claims) {
  if (!claims.is_object()) {
    return Error{ErrorCode::EarMalformed, "EAR claims set is not a JSON object"};
  }
  Ear ear;
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* profile, find_claim(claims, kProfile, ""));
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* iat, find_claim(claims, kIat, ""));
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* vid, find_claim(claims, kVerifierId, ""));
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* submods, find_claim(claims, kSubmods, ""));

  // Spelling: from the verifier id if present, else from the profile.
  if (vid != nullptr) {
    ear.legacy_names = claims.contains(kVerifierId.legacy);
  } else {
    ear.legacy_names = !(profile != nullptr && *profile == kEarProfileIetf03);
  }

  // draft-ietf-rats-ear: eat_profile, iat, the verifier id and submods
  // (with at least one entry) are mandatory. Report all that are missing.
  std::vector<std::string> missing;
  if (profile == nullptr) {
    missing.emplace_back("'eat_profile'");
  }
  if (iat == nullptr) {
    missing.emplace_back("'iat'");
  }
  if (vid == nullptr) {
    missing.emplace_back(std::string("'") +
                         (ear.legacy_names ? kVerifierId.legacy : kVerifierId.current) + "'");
  }
  if (submods == nullptr || (submods->is_object() && submods->empty())) {
    missing.emplace_back("'submods'");
  }
  if (!missing.empty()) {
    std::string detail = "missing mandatory ";
    for (std::size_t i = 0; i < missing.size(); ++i) {
      detail += (i == 0 ? "" : ", ") + missing[i];
    }
    return Error{ErrorCode::EarMissingClaim, detail};
  }

  ATLS_ASSIGN_OR_RETURN(ear.profile, text_claim(*profile, "eat_profile"));
  if (!known_profile(ear.profile)) {
    return Error{ErrorCode::EarBadProfile, "eat_profile \"" + ear.profile + "\""};
  }
  ATLS_ASSIGN_OR_RETURN(ear.iat, int64_claim(*iat, "iat"));
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* exp, find_claim(claims, kExp, ""));
  if (exp != nullptr) {
    ATLS_ASSIGN_OR_RETURN(ear.exp, int64_claim(*exp, "exp"));
  }

  // draft-ietf-rats-ear: the verifier id is { developer: text, build: text }.
  if (!vid->is_object()) {
    return Error{ErrorCode::EarMalformed, "verifier id is not an object"};
  }
  const auto dev = vid->find("developer");
  const auto build = vid->find("build");
  if (dev == vid->end() || build == vid->end()) {
    return Error{ErrorCode::EarMissingClaim, std::string("verifier id lacks ") +
                                                 (dev == vid->end() ? "'developer'" : "'build'")};
  }
  ATLS_ASSIGN_OR_RETURN(ear.verifier_id.developer, text_claim(*dev, "verifier id developer"));
  ATLS_ASSIGN_OR_RETURN(ear.verifier_id.build, text_claim(*build, "verifier id build"));

  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* raw, find_claim(claims, kRawEvidence, ""));
  if (raw != nullptr) {
    ATLS_ASSIGN_OR_RETURN(ear.raw_evidence, b64_claim(*raw, "raw evidence"));
  }
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* nonce, find_claim(claims, kNonce, ""));
  if (nonce != nullptr) {
    ATLS_ASSIGN_OR_RETURN(ear.nonce, nonce_claim(*nonce, "eat_nonce"));
  }

  if (!submods->is_object()) {
    return Error{ErrorCode::EarMalformed, "submods is not an object"};
  }
  TrustTier worst_submod = TrustTier::None;
  for (auto it = submods->begin(); it != submods->end(); ++it) {
    ATLS_ASSIGN_OR_RETURN(EarSubmod sm, parse_submod(it.key(), it.value()));
    if (better_than(worst_submod, sm.status)) {
      worst_submod = sm.status;
    }
    ear.submods.push_back(std::move(sm));
  }

  ATLS_ASSIGN_OR_RETURN(const nlohmann::json* status, find_claim(claims, kStatus, ""));
  if (status != nullptr) {
    ATLS_ASSIGN_OR_RETURN(ear.status, status_claim(*status, "ear_status"));
    // draft-ietf-rats-ear-03: the overall status must be no better than the
    // worst submod status.
    if (better_than(*ear.status, worst_submod)) {
      return Error{ErrorCode::EarBadStatus, "ear_status '" + std::string(tier_name(*ear.status)) +
                                                "' is better than a submod ('" +
                                                std::string(tier_name(worst_submod)) + "')"};
    }
  }
  ear.extensions = unknown_members(claims, kTopLevel);
  return ear;
}

namespace {

// without_known drops modelled claims, in both spellings, from an extension
// object so they can neither override nor duplicate the modelled values.
template <std::size_t N>
nlohmann::json without_known(const nlohmann::json& ext, const std::array<Spelling, N>& known) {
  if (!ext.is_object()) {
    return nlohmann::json::object();
  }
  return unknown_members(ext, known);
}

const char* pick(const Spelling& s, bool legacy) {
  return legacy ? s.legacy : s.current;
}

}  // namespace

nlohmann::json ear_to_claims(const Ear& ear) {
  const bool legacy = ear.legacy_names;
  nlohmann::json j = without_known(ear.extensions, kTopLevel);
  j[kProfile.current] = ear.profile;
  j[kIat.current] = ear.iat;
  if (ear.exp) {
    j[kExp.current] = *ear.exp;
  }
  if (ear.status) {
    j[pick(kStatus, legacy)] = tier_name(*ear.status);
  }
  j[pick(kVerifierId, legacy)] = {{"developer", ear.verifier_id.developer},
                                  {"build", ear.verifier_id.build}};
  if (ear.raw_evidence) {
    j[pick(kRawEvidence, legacy)] = base64url_encode(*ear.raw_evidence);
  }
  if (ear.nonce) {
    j[kNonce.current] = base64url_encode(*ear.nonce);
  }
  nlohmann::json subs = nlohmann::json::object();
  for (const auto& sm : ear.submods) {
    nlohmann::json s = without_known(sm.extensions, kSubmodLevel);
    s[pick(kStatus, legacy)] = tier_name(sm.status);
    if (sm.trust_vector) {
      nlohmann::json tv = nlohmann::json::object();
      for (std::size_t i = 0; i < TrustVector::kSize; ++i) {
        if (sm.trust_vector->claims[i]) {
          tv[std::string(TrustVector::claim_name(i))] =
              static_cast<int>(*sm.trust_vector->claims[i]);
        }
      }
      s[pick(kTrustVector, legacy)] = std::move(tv);
    }
    // The legacy form holds a single policy id; more than one is written
    // with the -03 array name rather than dropped.
    if (legacy && sm.policy_ids.size() == 1) {
      s[kPolicyId.legacy] = sm.policy_ids.front();
    } else if (!sm.policy_ids.empty()) {
      s[kPolicyId.current] = sm.policy_ids;
    }
    if (sm.profile) {
      s[kProfile.current] = *sm.profile;
    }
    if (sm.nonce) {
      s[kNonce.current] = base64url_encode(*sm.nonce);
    }
    subs[sm.name] = std::move(s);
  }
  j[kSubmods.current] = std::move(subs);
  return j;
}

Result<Ear> verify_ear_jwt(std::string_view token, EVP_PKEY* key, const Clock& clock,
                           const EarVerifyOptions& opts) {
  if (opts.leeway_s < 0 || opts.max_age_s < 0) {
    return Error{ErrorCode::InvalidArgument, "negative leeway or max age"};
  }
  ATLS_ASSIGN_OR_RETURN(const Jws jws, parse_jws_compact(token));
  ATLS_TRY(verify_jws(jws, key));
  return ear_from_verified_jws(jws, clock, opts);
}

Result<Ear> ear_from_verified_jws(const Jws& jws, const Clock& clock,
                                  const EarVerifyOptions& opts) {
  if (opts.leeway_s < 0 || opts.max_age_s < 0) {
    return Error{ErrorCode::InvalidArgument, "negative leeway or max age"};
  }
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json claims, jwt_claims(jws));
  ATLS_ASSIGN_OR_RETURN(Ear ear, ear_from_claims(claims));
  ATLS_TRY(check_ear_times(ear, claims, clock.now(), opts));
  return ear;
}

Result<void> check_ear_times(const Ear& ear, const nlohmann::json& claims, std::int64_t now,
                             const EarVerifyOptions& opts) {
  if (opts.leeway_s < 0 || opts.max_age_s < 0) {
    return Error{ErrorCode::InvalidArgument, "negative leeway or max age"};
  }
  // Saturating comparisons: the claims are attacker-chosen integers.
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const auto plus = [](std::int64_t a, std::int64_t b) {
    return (b > 0 && a > kMax - b) ? kMax : a + b;  // b >= 0 here
  };
  if (ear.exp && now > plus(*ear.exp, opts.leeway_s)) {
    return Error{ErrorCode::EarExpired,
                 "exp " + std::to_string(*ear.exp) + ", now " + std::to_string(now)};
  }
  if (ear.iat > plus(now, opts.leeway_s)) {
    return Error{
        ErrorCode::JwtNotYetValid,
        "iat " + std::to_string(ear.iat) + " is in the future (now " + std::to_string(now) + ")"};
  }
  if (opts.max_age_s > 0 && now > plus(plus(ear.iat, opts.max_age_s), opts.leeway_s)) {
    return Error{ErrorCode::EarExpired, "iat " + std::to_string(ear.iat) + " is older than " +
                                            std::to_string(opts.max_age_s) + " s"};
  }
  if (const auto nbf = claims.find("nbf"); nbf != claims.end()) {
    ATLS_TRY(check_jwt_times(nlohmann::json{{"nbf", *nbf}}, now, opts.leeway_s));
  }
  return ok();
}

Result<Ear> decode_ear_jwt_unverified(std::string_view token) {
  ATLS_ASSIGN_OR_RETURN(const Jws jws, parse_jws_compact(token));
  return decode_claims_of(jws);
}

Result<std::string> sign_ear_jwt(const Ear& ear, EVP_PKEY* key, std::string_view kid) {
  const nlohmann::json claims = ear_to_claims(ear);
  ATLS_TRY(ear_from_claims(claims));
  nlohmann::json header = {{"typ", "JWT"}};
  if (!kid.empty()) {
    header["kid"] = std::string(kid);
  }
  return sign_jws(key, to_bytes(json_dump(claims)), header);
}

}  // namespace atls
