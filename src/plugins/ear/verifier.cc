#include "src/attestation/policy_sections.h"
#include "src/core/encoding.h"
#include "src/core/parse_cache.h"
#include "src/core/trust.h"
#include "src/formats/ear/ear.h"
#include "src/formats/json/json.h"
#include "src/formats/jwt/jwk.h"
#include "src/formats/jwt/jws.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/plugins/ear/ear_plugin.h"

#include <algorithm>
#include <cctype>
#include <memory>

namespace atls {
namespace {

// The leeway of the lower time bounds (iat, nbf in the future). exp itself is
// checked without leeway, so that an EAR is never used after its exp.
constexpr std::int64_t kLeeway = 60;

// parse_verifier_key accepts a JWK (JSON object) or what parse_public_key
// accepts (PEM/DER public key or certificate).
Result<ossl::UniquePtr<EVP_PKEY>> parse_verifier_key(ByteView data) {
  const auto first =
      std::find_if(data.begin(), data.end(), [](std::uint8_t c) { return std::isspace(c) == 0; });
  if (first != data.end() && *first == '{') {
    ATLS_ASSIGN_OR_RETURN(const nlohmann::json jwk, parse_json(as_string_view(data)));
    return jwk_to_pkey(jwk);
  }
  return ossl::parse_public_key(data);
}

// A trusted Verifier key and the SHA-256 of its SubjectPublicKeyInfo, which
// names it in the verified-EAR cache.
struct TrustedKey {
  ossl::UniquePtr<EVP_PKEY> key;
  Bytes spki_sha256;
};

Result<TrustedKey> parse_trusted_key(ByteView data) {
  ATLS_ASSIGN_OR_RETURN(auto key, parse_verifier_key(data));
  ATLS_ASSIGN_OR_RETURN(const Bytes spki, ossl::spki_der(key.get()));
  ATLS_ASSIGN_OR_RETURN(Bytes hash, ossl::digest(ossl::HashAlg::Sha256, spki));
  return TrustedKey{std::move(key), std::move(hash)};
}

using KeyCache = internal::ParseCache<TrustedKey>;
using SharedKey = std::shared_ptr<const TrustedKey>;

// The Verifier keys the relying party trusts: the policy's "verifier_keys",
// then --trust anchors, each parsed once per distinct content (|cache|). A
// "jwk" in the EAR's header is never used.
Result<std::vector<SharedKey>> trusted_keys(const VerifyContext& ctx, const KeyCache& cache) {
  std::vector<SharedKey> keys;
  for (const auto& ref : internal::file_refs(ctx.trust, "verifier_keys")) {
    ATLS_ASSIGN_OR_RETURN(const Bytes b, internal::load_file(ctx, ref));
    ATLS_ASSIGN_OR_RETURN(auto k, cache.get(b, parse_trusted_key));
    keys.push_back(std::move(k));
  }
  for (const auto& anchor : ctx.trust_anchors) {
    ATLS_ASSIGN_OR_RETURN(auto k, cache.get(anchor, parse_trusted_key));
    keys.push_back(std::move(k));
  }
  return keys;
}

// Finds the trusted key that signed |jws|. A key whose type fits the
// algorithm but whose signature check fails is simply not the signer; when
// no key fits the algorithm at all, that error (e.g. JwsAlgorithmMismatch
// for an HS256 header) is reported instead of KeyUntrusted.
Result<const TrustedKey*> find_signer(const Jws& jws, const std::vector<SharedKey>& keys) {
  if (keys.empty()) {
    return Error{ErrorCode::KeyUntrusted,
                 "no trusted Verifier key (policy trust.verifier_keys or --trust)"};
  }
  std::optional<Error> other;
  bool some_key_fits = false;
  for (const auto& k : keys) {
    auto v = verify_jws(jws, k->key.get());
    if (v) {
      return k.get();
    }
    if (v.error().code == ErrorCode::JwsBadSignature) {
      some_key_fits = true;
    } else if (!other) {
      other = std::move(v).error();
    }
  }
  if (some_key_fits || !other) {
    return Error{ErrorCode::KeyUntrusted, "the EAR is not signed by a trusted Verifier key"};
  }
  return *other;
}

// The verified-EAR cache key: the signer's SPKI hash, then the exact token.
Bytes verified_key(const TrustedKey& signer, ByteView token) {
  Bytes key = signer.spki_sha256;
  key.insert(key.end(), token.begin(), token.end());
  return key;
}

// Finds an EAR verified before under one of |keys|, or null.
std::shared_ptr<const VerifiedEar> find_verified(const std::vector<SharedKey>& keys,
                                                 ByteView token) {
  for (const auto& k : keys) {
    if (auto hit = verified_ear_cache().find(verified_key(*k, token))) {
      return hit;
    }
  }
  return nullptr;
}

// Parses |token|, finds the trusted key that signed it and decodes it; on
// success the result is kept under that key.
Result<std::shared_ptr<const VerifiedEar>> verify_signature(const std::vector<SharedKey>& keys,
                                                            ByteView token) {
  ATLS_ASSIGN_OR_RETURN(const Jws jws, parse_jws_compact(as_string_view(token)));
  // find_signer verified the signature with the key it returns; the claims
  // are decoded from that same parsed JWS.
  ATLS_ASSIGN_OR_RETURN(const TrustedKey* const signer, find_signer(jws, keys));
  VerifiedEar v;
  ATLS_ASSIGN_OR_RETURN(v.claims, jwt_claims(jws));
  ATLS_ASSIGN_OR_RETURN(v.ear, ear_from_claims(v.claims));
  return verified_ear_cache().insert(verified_key(*signer, token), std::move(v));
}

// Checks the key binding: every submodule that names an attested key names
// |spki|, and at least one does (docs/wire-profile.md §1.5).
Result<void> check_key_binding(const Ear& ear, const Bytes& spki) {
  bool named = false;
  for (const auto& sm : ear.submods) {
    const auto it = sm.extensions.find(std::string(kEarKeyAttestation));
    if (it == sm.extensions.end()) {
      continue;
    }
    const std::string akpub_key(kEarAkpub);
    if (!it->is_object() || !it->contains(akpub_key) || !(*it)[akpub_key].is_string()) {
      return Error{
          ErrorCode::EarKeyBindingMismatch,
          "submods['" + sm.name + "']." + std::string(kEarKeyAttestation) + " has no akpub string"};
    }
    auto akpub = base64url_decode((*it)[akpub_key].get<std::string>());
    if (!akpub || !constant_time_equal(*akpub, spki)) {
      return Error{ErrorCode::EarKeyBindingMismatch,
                   "submods['" + sm.name + "'] attests a key other than the authenticator's"};
    }
    named = true;
  }
  if (!named) {
    return Error{ErrorCode::EarKeyBindingMismatch,
                 "the EAR names no attested key (ear.veraison.key-attestation)"};
  }
  return ok();
}

// The EAR's nonce: the top-level eat_nonce, else the submodules' nonces,
// which must then all be equal.
Result<std::optional<Bytes>> ear_nonce(const Ear& ear) {
  if (ear.nonce) {
    return ear.nonce;
  }
  std::optional<Bytes> n;
  for (const auto& sm : ear.submods) {
    if (!sm.nonce) {
      continue;
    }
    if (n && *n != *sm.nonce) {
      return Error{ErrorCode::NonceMismatch, "the EAR's submodules carry different nonces"};
    }
    n = sm.nonce;
  }
  return n;
}

class EarVerifier final : public Verifier {
 public:
  std::string_view name() const override { return "ear"; }
  std::vector<std::string> accepted_types() const override { return {std::string(kMediaTypeEar)}; }

  Result<void> check_trust_section(const nlohmann::json& trust) const override {
    if (!trust.is_object()) {
      return Error{ErrorCode::PolicyInvalid, "the ear trust section must be an object"};
    }
    // Key by key (not internal::only_keys first): of two faults, the first
    // in key order is the one reported.
    for (const auto& [k, v] : trust.items()) {
      if (k != "verifier_keys") {
        return Error{ErrorCode::PolicyInvalid,
                     "unknown key \"" + k + "\" in the ear trust section"};
      }
      ATLS_TRY(internal::check_file_list(v, "verifier_keys", "a key file or a list of key files"));
    }
    return ok();
  }

  Result<EvidenceClaims> verify(const Evidence& evidence, const VerifyContext& ctx) const override {
    const EvidenceRecord* rec = evidence.find(kMediaTypeEar);
    if (rec == nullptr) {
      return Error{ErrorCode::UnsupportedMediaType, "no application/eat+jwt record"};
    }
    if (rec->ind != 0 && (rec->ind & kIndAttestationResult) == 0) {
      return Error{ErrorCode::CmwBadIndicator,
                   "an application/eat+jwt record must have ind 8 (attestation result)"};
    }
    if (ctx.clock == nullptr) {
      return Error{ErrorCode::Internal, "VerifyContext has no clock"};
    }
    // The signature is verified once per distinct EAR and Verifier key
    // (verified_ear_cache); the times and every check below run on every use.
    ATLS_ASSIGN_OR_RETURN(const auto keys, trusted_keys(ctx, m_keys));
    std::shared_ptr<const VerifiedEar> verified = find_verified(keys, rec->value);
    if (!verified) {
      ATLS_ASSIGN_OR_RETURN(verified, verify_signature(keys, rec->value));
    }
    const Ear& ear = verified->ear;
    EarVerifyOptions opts;
    opts.leeway_s = kLeeway;
    const std::int64_t now = ctx.clock->now();
    ATLS_TRY(check_ear_times(ear, verified->claims, now, opts));
    if (ear.exp && now > *ear.exp) {
      return Error{ErrorCode::EarExpired,
                   "exp " + std::to_string(*ear.exp) + ", now " + std::to_string(now)};
    }

    if (ctx.attested_key_spki) {
      ATLS_TRY(check_key_binding(ear, *ctx.attested_key_spki));
    }
    EvidenceClaims out;
    ATLS_ASSIGN_OR_RETURN(const std::optional<Bytes> nonce, ear_nonce(ear));
    if (nonce) {
      out.nonce = *nonce;
    }
    if (ctx.expected_nonce) {
      if (!nonce || !constant_time_equal(*nonce, *ctx.expected_nonce)) {
        return Error{ErrorCode::NonceMismatch, "the EAR's eat_nonce is not the expected nonce"};
      }
      out.nonce_verified = true;
    }

    // Claims: the EAR's claims set as signed (the appraiser re-reads it).
    out.claims = verified->claims;
    out.issued_at = ear.iat;
    out.expires_at = ear.exp;
    // The issuing pipeline carries the machine id in each submodule; the
    // first submodule (by name) that has one gives it.
    for (const auto& sm : ear.submods) {
      const auto it = sm.extensions.find(std::string(kEarMachineId));
      if (it != sm.extensions.end() && it->is_string() && !it->get<std::string>().empty()) {
        out.machine_id = it->get<std::string>();
        break;
      }
    }
    // Hardware-rooted when the upstream Verifier affirmed the hardware of
    // every submodule.
    out.hardware_rooted = !ear.submods.empty();
    for (const auto& sm : ear.submods) {
      const auto& hw = sm.trust_vector ? sm.trust_vector->claims[TrustVector::kHardware]
                                       : std::optional<std::int8_t>();
      out.hardware_rooted =
          out.hardware_rooted && hw.has_value() && tier_of_claim_value(*hw) == TrustTier::Affirming;
    }
    return out;
  }

 private:
  // Verifier keys, parsed once per distinct content. Thread-safe; verify is
  // const and may run on many threads.
  KeyCache m_keys;
};

// The generic AR4SI value of a tier, used where a submodule's status is
// worse than its claims.
std::int8_t tier_value(TrustTier t) {
  return static_cast<std::int8_t>(t);
}

class EarAppraiser final : public Appraiser {
 public:
  std::string_view name() const override { return "ear"; }
  std::vector<std::string> accepted_types() const override { return {std::string(kMediaTypeEar)}; }

  Result<void> check_reference_section(const nlohmann::json& ref) const override {
    if (!ref.is_object() || !ref.empty()) {
      return Error{ErrorCode::PolicyInvalid,
                   "the ear reference section must be empty: the appraisal is the upstream "
                   "Verifier's (use required_tier and machine_ids)"};
    }
    return ok();
  }

  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& ev,
                                                const nlohmann::json&) const override {
    ATLS_ASSIGN_OR_RETURN(const Ear ear, ear_from_claims(ev.claims().claims));
    std::vector<SubmodAppraisal> out;
    for (const auto& sm : ear.submods) {
      SubmodAppraisal s;
      s.name = sm.name;
      if (!sm.policy_ids.empty()) {
        s.policy_id = sm.policy_ids.front();
      }
      if (sm.trust_vector) {
        s.trust_vector = *sm.trust_vector;
      } else if (sm.status == TrustTier::Contraindicated) {
        for (auto& c : s.trust_vector.claims) {
          c = tier_value(TrustTier::Contraindicated);
        }
      }
      // The result's status is its vector's worst claim; it must never be
      // better than the status the upstream Verifier gave.
      if (sm.trust_vector &&
          internal::tier_rank(sm.status) > internal::tier_rank(s.trust_vector.worst())) {
        for (auto& c : s.trust_vector.claims) {
          if (c && internal::tier_rank(tier_of_claim_value(*c)) < internal::tier_rank(sm.status)) {
            c = tier_value(sm.status);
          }
        }
      }
      if (sm.status != TrustTier::Affirming) {
        s.findings.push_back(
            {ErrorCode::TierInsufficient, "the upstream Verifier appraised this submodule as " +
                                              std::string(tier_name(sm.status))});
      }
      out.push_back(std::move(s));
    }
    if (out.empty()) {
      return Error{ErrorCode::EarMissingClaim, "the EAR has no submodule"};
    }
    return out;
  }
};

}  // namespace

const internal::ParseCache<VerifiedEar>& verified_ear_cache() {
  static const internal::ParseCache<VerifiedEar> cache;
  return cache;
}

std::unique_ptr<Verifier> make_ear_verifier() {
  return std::make_unique<EarVerifier>();
}
std::unique_ptr<Appraiser> make_ear_appraiser() {
  return std::make_unique<EarAppraiser>();
}

}  // namespace atls
