#pragma once

// Verifier and Appraiser plug-in interfaces, and the proof types they feed:
// a Verifier checks integrity (signatures, chains, the nonce) and extracts
// claims; an Appraiser compares claims with reference values. Only the
// verification pipeline constructs VerifiedEvidence and AttestationResult, so
// "evidence that was never checked" cannot reach a relying party.

#include <atls/bytes.h>
#include <atls/clock.h>
#include <atls/evidence.h>
#include <atls/export.h>
#include <atls/result.h>
#include <atls/trust.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atls {

namespace internal {
class Pipeline;
}

// VerifyContext carries everything a Verifier may use; it performs no I/O
// of its own except through |load|.
struct VerifyContext {
  // The time source (never null).
  const Clock* clock = nullptr;
  // The nonce (binder) the Evidence must carry. Always set in attested TLS;
  // when unset (`atls verify` without --nonce) the nonce is only reported.
  std::optional<Bytes> expected_nonce;
  // The scheme's "trust" section of the policy (already validated by the
  // plug-in's check_trust_section), or an empty object.
  nlohmann::json trust = nlohmann::json::object();
  // Trust anchors given directly (`--trust`): PEM or DER keys/certificates.
  std::vector<Bytes> trust_anchors;
  // Additional certificates the Evidence needs and does not carry (`--cert`).
  std::vector<Bytes> certificates;
  // DER SubjectPublicKeyInfo of the TLS authenticator's leaf key. A passport
  // EAR must name it (ear.veraison.key-attestation "akpub", docs/wire-profile.md
  // §1.5); unset: no key binding is checked.
  std::optional<Bytes> attested_key_spki;
  // Resolves a file reference of the policy (paths are relative to the
  // policy file). Unset: file references fail with FileNotFound.
  std::function<Result<Bytes>(const std::string&)> load;
};

// EvidenceClaims is what a Verifier extracts from Evidence it has checked.
struct EvidenceClaims {
  // Claims in JSON form (bytes as lower-case hex), for appraisal and display.
  nlohmann::json claims = nlohmann::json::object();
  // The machine identifier ("<kind>:<hex>", e.g. "snp-chip-id:3ac3...",
  // "ueid:01...", "tpm-ak-name:000b...") that a relying party can pin.
  std::string machine_id;
  // When the Evidence was produced, if the Evidence says so.
  std::optional<std::int64_t> issued_at;
  // When the Evidence (e.g. a passport EAR) stops being valid, if it says so.
  std::optional<std::int64_t> expires_at;
  // Set by the Verifier when it compared the Evidence's nonce with
  // VerifyContext::expected_nonce (and they matched).
  bool nonce_verified = false;
  // The nonce found in the Evidence.
  Bytes nonce;
  // True when a hardware root of trust signed the Evidence.
  bool hardware_rooted = false;
};

// Verifier checks the integrity of one kind of Evidence. It makes no policy
// decision. Implementations must be thread-safe (verify is const). An
// application registers its own, with the Appraiser for the same media
// types, through Config::Builder::add_verifier.
class ATLS_API Verifier {
 public:
  virtual ~Verifier() = default;
  virtual std::string_view name() const = 0;
  // accepted_types lists the primary media types this Verifier handles.
  virtual std::vector<std::string> accepted_types() const = 0;
  // verify checks signatures, chains to the trust anchors and the nonce.
  // Fails with a BadEvidence code (SignatureInvalid, CertUntrusted,
  // NonceMismatch, ...).
  virtual Result<EvidenceClaims> verify(const Evidence& evidence,
                                        const VerifyContext& ctx) const = 0;
  // check_trust_section validates the scheme's "trust" policy section;
  // unknown keys are an error (PolicyInvalid).
  virtual Result<void> check_trust_section(const nlohmann::json& trust) const = 0;
};

// VerifiedEvidence is Evidence whose integrity a Verifier has established.
class ATLS_API VerifiedEvidence {
 public:
  const std::string& media_type() const { return m_media_type; }
  const std::string& verifier() const { return m_verifier; }
  const EvidenceClaims& claims() const { return m_claims; }
  std::int64_t verified_at() const { return m_verified_at; }
  // nonce_bound is true when the nonce was checked against the expected one.
  bool nonce_bound() const { return m_claims.nonce_verified; }

 private:
  friend class internal::Pipeline;
  VerifiedEvidence() = default;
  std::string m_media_type;
  std::string m_verifier;
  EvidenceClaims m_claims;
  std::int64_t m_verified_at = 0;
};

// Finding explains one trustworthiness claim below affirming, with the
// error code a relying party reports when it rejects the result for it
// (e.g. MeasurementMismatch, DebugEnabled, TcbTooLow).
struct Finding {
  ErrorCode code = ErrorCode::Ok;
  std::string detail;
};

// SubmodAppraisal is an Appraiser's judgement of one attesting submodule.
struct SubmodAppraisal {
  std::string name;
  TrustVector trust_vector;
  std::string policy_id;
  std::vector<Finding> findings;
};

// Appraiser compares verified claims with reference values. Registered with
// its Verifier (Config::Builder::add_verifier); thread-safe like it.
class ATLS_API Appraiser {
 public:
  virtual ~Appraiser() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<std::string> accepted_types() const = 0;
  // appraise assigns AR4SI claims. |reference| is the scheme's "reference"
  // policy section (validated by check_reference_section), or an empty
  // object when no policy was given.
  virtual Result<std::vector<SubmodAppraisal>> appraise(const VerifiedEvidence& evidence,
                                                        const nlohmann::json& reference) const = 0;
  // check_reference_section validates the "reference" section; unknown keys
  // are an error (PolicyInvalid).
  virtual Result<void> check_reference_section(const nlohmann::json& reference) const = 0;
};

// SubmodResult is the appraisal of one submodule with its status.
struct SubmodResult {
  std::string name;
  TrustTier status = TrustTier::None;
  TrustVector trust_vector;
  std::string policy_id;
  std::vector<Finding> findings;
};

// AttestationResult is an appraised attestation: what a relying party acts
// on. It serialises to a signed EAR when the pipeline has a signing key.
class ATLS_API AttestationResult {
 public:
  // status is the overall tier: the worst submodule status.
  TrustTier status() const { return m_status; }
  const std::vector<SubmodResult>& submods() const { return m_submods; }
  const std::string& media_type() const { return m_media_type; }
  const std::string& machine_id() const { return m_machine_id; }
  const nlohmann::json& claims() const { return m_claims; }
  bool hardware_rooted() const { return m_hardware_rooted; }
  std::int64_t verified_at() const { return m_verified_at; }
  // valid_until: the earliest of the EAR's exp, evidence time +
  // max_evidence_age, and verification time + reattest_interval.
  std::int64_t valid_until() const { return m_valid_until; }
  // ear is the signed EAR (JWT), or "" when no signing key was configured.
  const std::string& ear() const { return m_ear; }
  // to_json renders the result for display (`atls verify --json`).
  nlohmann::json to_json() const;

 private:
  friend class internal::Pipeline;
  AttestationResult() = default;
  TrustTier m_status = TrustTier::None;
  std::vector<SubmodResult> m_submods;
  std::string m_media_type;
  std::string m_machine_id;
  nlohmann::json m_claims;
  bool m_hardware_rooted = false;
  std::int64_t m_verified_at = 0;
  std::int64_t m_valid_until = 0;
  std::string m_ear;
};

}  // namespace atls
