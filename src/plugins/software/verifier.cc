#include "src/attestation/policy_sections.h"
#include "src/core/encoding.h"
#include "src/core/parse_cache.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/cose/cose.h"
#include "src/formats/eat/eat.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/plugins/software/software.h"

#include <memory>

namespace atls {
namespace {

using KeyCache = internal::ParseCache<ossl::UniquePtr<EVP_PKEY>>;
using SharedKey = std::shared_ptr<const ossl::UniquePtr<EVP_PKEY>>;

Result<SharedKey> cached_key(const KeyCache& cache, ByteView data) {
  return cache.get(data, [](ByteView d) { return ossl::parse_public_key(d); });
}

// Collects the candidate signing keys: the policy's "keys" and --trust,
// each parsed once per distinct content (|cache|).
Result<std::vector<SharedKey>> trusted_keys(const VerifyContext& ctx, const KeyCache& cache) {
  std::vector<SharedKey> keys;
  if (ctx.trust.contains("keys")) {
    for (const auto& ref : ctx.trust["keys"]) {
      ATLS_ASSIGN_OR_RETURN(const Bytes pem, ctx.load(ref.get<std::string>()));
      ATLS_ASSIGN_OR_RETURN(auto k, cached_key(cache, pem));
      keys.push_back(std::move(k));
    }
  }
  for (const auto& anchor : ctx.trust_anchors) {
    ATLS_ASSIGN_OR_RETURN(auto k, cached_key(cache, anchor));
    keys.push_back(std::move(k));
  }
  return keys;
}

class SoftwareVerifier final : public Verifier {
 public:
  std::string_view name() const override { return "software"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeEatCwt)};
  }

  Result<void> check_trust_section(const nlohmann::json& trust) const override {
    ATLS_TRY(internal::only_keys(trust, {"keys"}));
    return internal::check_string_array(trust, "keys", "an array of PEM files");
  }

  Result<EvidenceClaims> verify(const Evidence& evidence, const VerifyContext& ctx) const override {
    const EvidenceRecord* rec = evidence.find(kMediaTypeEatCwt);
    if (rec == nullptr) {
      return Error{ErrorCode::UnsupportedMediaType, "no application/eat+cwt record"};
    }
    ATLS_ASSIGN_OR_RETURN(const CoseSign1 msg, parse_cose_sign1(rec->value));
    if (!msg.payload) {
      return Error{ErrorCode::CoseMalformed, "detached payload"};
    }
    ATLS_ASSIGN_OR_RETURN(const auto keys, trusted_keys(ctx, m_keys));
    if (keys.empty()) {
      return Error{ErrorCode::KeyUntrusted,
                   "no trusted software attester key (policy trust.keys or --trust)"};
    }
    // Integrity first: the signature must verify under one trusted key.
    bool signed_by_trusted = false;
    Error last{ErrorCode::KeyUntrusted, "the evidence is not signed by a trusted key"};
    for (const auto& k : keys) {
      auto v = verify_cose_sign1(msg, k->get());
      if (v) {
        signed_by_trusted = true;
        break;
      }
      if (v.error().code != ErrorCode::CoseBadSignature &&
          v.error().code != ErrorCode::KeyTypeMismatch) {
        return std::move(v).error();
      }
    }
    if (!signed_by_trusted) {
      return last;
    }
    ATLS_ASSIGN_OR_RETURN(const EatClaims claims, parse_eat_claims(*msg.payload));
    EvidenceClaims out;
    out.claims = eat_claims_to_json(claims);
    // The profile's measurement entries, decoded: {name: hex SHA-256}.
    nlohmann::json measured = nlohmann::json::object();
    for (const auto& m : claims.measurements) {
      if (m.content_type != kSoftwareMeasurementContentType) {
        continue;
      }
      auto v = cbor_decode(m.value);
      if (v && v->is_array() && v->items().size() == 3 && v->items()[0].is_text() &&
          v->items()[2].is_bytes()) {
        measured[std::string(v->items()[0].raw_text())] = to_hex(v->items()[2].raw_bytes());
      }
    }
    out.claims["measured"] = std::move(measured);
    out.hardware_rooted = false;
    out.issued_at = claims.iat;
    if (claims.ueid) {
      out.machine_id = "ueid:" + to_hex(*claims.ueid);
    }
    if (!claims.nonces.empty()) {
      out.nonce = claims.nonces.front();
    }
    if (ctx.expected_nonce) {
      bool match = false;
      for (const auto& n : claims.nonces) {
        match = constant_time_equal(n, *ctx.expected_nonce) || match;
      }
      if (!match) {
        return Error{ErrorCode::NonceMismatch, "eat_nonce is not the expected binder"};
      }
      out.nonce = *ctx.expected_nonce;
      out.nonce_verified = true;
    }
    return out;
  }

 private:
  // Trust anchors and policy keys, parsed once (verify is const and may run
  // on many threads; the cache is thread-safe).
  KeyCache m_keys;
};

class SoftwareAppraiser final : public Appraiser {
 public:
  std::string_view name() const override { return "software"; }
  std::vector<std::string> accepted_types() const override {
    return {std::string(kMediaTypeEatCwt)};
  }

  Result<void> check_reference_section(const nlohmann::json& ref) const override {
    ATLS_TRY(internal::only_keys(ref, {"measurements", "allow_debug", "policy_id"}));
    if (ref.contains("measurements")) {
      if (!ref["measurements"].is_object()) {
        return Error{ErrorCode::PolicyInvalid, "\"measurements\" must map names to hex digests"};
      }
      for (const auto& [name, v] : ref["measurements"].items()) {
        const bool list = v.is_array();
        for (const auto& d : list ? v : nlohmann::json::array({v})) {
          if (!d.is_string() || !from_hex(d.get<std::string>())) {
            return Error{ErrorCode::PolicyInvalid, "measurement \"" + name + "\" must be hex"};
          }
        }
      }
    }
    ATLS_TRY(internal::check_boolean(ref, "allow_debug"));
    return internal::check_string(ref, "policy_id");
  }

  Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& ev,
                                                const nlohmann::json& ref) const override {
    SubmodAppraisal s;
    s.name = "software";
    s.policy_id = ref.value("policy_id", "atls:software/default");
    auto& tv = s.trust_vector.claims;
    // The signing key is one the relying party trusts.
    tv[TrustVector::kInstanceIdentity] = 2;
    const nlohmann::json& claims = ev.claims().claims;
    if (ref.contains("measurements")) {
      const nlohmann::json measured = claims.value("measured", nlohmann::json::object());
      std::string bad;
      for (const auto& [name, want] : ref["measurements"].items()) {
        bool found = false;
        if (measured.contains(name) && measured[name].is_string()) {
          const Bytes have = from_hex(measured[name].get<std::string>()).value_or(Bytes{});
          for (const auto& d : want.is_array() ? want : nlohmann::json::array({want})) {
            found = constant_time_equal(have, from_hex(d.get<std::string>()).value_or(Bytes{})) ||
                    found;
          }
        }
        if (!found) {
          bad += (bad.empty() ? "" : ", ") + name;
        }
      }
      if (bad.empty()) {
        tv[TrustVector::kExecutables] = 2;
      } else {
        tv[TrustVector::kExecutables] = 96;
        s.findings.push_back(
            {ErrorCode::MeasurementMismatch, "measurements not in the reference values: " + bad});
      }
    }
    if (claims.contains("dbgstat") && claims["dbgstat"] == "enabled" &&
        !ref.value("allow_debug", false)) {
      tv[TrustVector::kConfiguration] = 96;
      s.findings.insert(s.findings.begin(), {ErrorCode::DebugEnabled, "dbgstat is enabled"});
    }
    // Software-rooted: nothing vouches for the hardware.
    tv[TrustVector::kHardware] = 32;
    s.findings.push_back({ErrorCode::TierInsufficient,
                          "software-rooted evidence: hardware trust is at most warning"});
    return std::vector<SubmodAppraisal>{std::move(s)};
  }
};

}  // namespace

std::unique_ptr<Verifier> make_software_verifier() {
  return std::make_unique<SoftwareVerifier>();
}
std::unique_ptr<Appraiser> make_software_appraiser() {
  return std::make_unique<SoftwareAppraiser>();
}

}  // namespace atls
