#pragma once

// Building attesters and matching appraisal policies for the commands that
// make attested connections (`atls serve`, `atls connect`, `atls demo`) and
// for the handshake benchmark, which both include this header (its functions
// are inline). Policies are the JSON of docs/policy.md.

#include <atls/attester.h>
#include <atls/config.h>
#include <atls/evidence.h>
#include <atls/result.h>

#include "src/attestation/policy.h"
#include "src/ossl/keys.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/plugins/software/software.h"
#include "src/plugins/tpm2/tpm2.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace atls::tools {

// AttesterSpec says which attester an endpoint uses.
struct AttesterSpec {
  // "software", "tpm2" or "none".
  std::string kind = "none";
  // tpm2: the TCTI ("swtpm:host=127.0.0.1,port=2321", "device:/dev/tpmrm0").
  std::string tcti = "device:/dev/tpmrm0";
  // software: files to measure (empty: the running executable).
  std::vector<std::string> measured_files;
  // software: PEM signing key (empty: a fresh key per process).
  Bytes software_key_pem;
  // Wrap the attester in the in-process passport Verifier (EAR).
  bool passport = false;
  // Passport: the EAR signing key (PEM private key; empty: a fresh key).
  Bytes ear_key_pem;
  // Passport: a remote Verifier service issues the EARs instead
  // (docs/verifier-service.md); then ear_key_pem is unused.
  std::shared_ptr<const remote::VerifierClient> verifier;
};

// BuiltAttester is the attester with what a relying party needs to trust it.
struct BuiltAttester {
  std::shared_ptr<Attester> attester;  // null for kind "none"
  AttestationModel model = AttestationModel::BackgroundCheck;
  // The Evidence media type and the key that signs Evidence (software key
  // or TPM AK, PEM public key).
  std::string evidence_media_type;
  std::string evidence_key_pem;
  // Passport: the EAR Verifier's public key (PEM); empty with a remote
  // Verifier (relying parties fetch its key from its well-known endpoint).
  std::string ear_public_pem;
};

// A trust section for Evidence of |media_type| that pins |key_pem|.
inline nlohmann::json trust_section_for(const std::string& media_type, const std::string& key_pem) {
  if (media_type == kMediaTypeTpmQuote) {
    return {{"ak_keys", nlohmann::json::array({key_pem})}};
  }
  if (media_type == kMediaTypeEar) {
    return {{"verifier_keys", nlohmann::json::array({key_pem})}};
  }
  return {{"keys", nlohmann::json::array({key_pem})}};
}

// relying_party_policy returns a policy (JSON) that accepts what |built|
// produces, at |required_tier|, with optional reference values for the
// Evidence scheme (e.g. {"measurements": {...}} or {"pcrs": {...}}).
inline nlohmann::json relying_party_policy(
    const BuiltAttester& built, const std::string& required_tier = "warning",
    const nlohmann::json& reference = nlohmann::json::object()) {
  nlohmann::json p = {{"required_tier", required_tier}, {"schemes", nlohmann::json::object()}};
  if (built.model == AttestationModel::Passport && built.ear_public_pem.empty()) {
    // A remote Verifier's key: the relying party fetches it (--verifier).
  } else if (built.model == AttestationModel::Passport) {
    p["schemes"][std::string(kMediaTypeEar)] = {
        {"trust", trust_section_for(std::string(kMediaTypeEar), built.ear_public_pem)}};
  } else if (!built.evidence_media_type.empty()) {
    // Hardware Evidence without reference values says so explicitly
    // (docs/policy.md): its executables claim is then "unrecognized runtime".
    const std::string& mt = built.evidence_media_type;
    const bool any = reference.empty() && (mt == kMediaTypeTpmQuote || mt == kMediaTypeSnpReport ||
                                           mt == kMediaTypeTdxQuote);
    p["schemes"][built.evidence_media_type] = {
        {"trust", trust_section_for(built.evidence_media_type, built.evidence_key_pem)},
        {"reference", any ? nlohmann::json{{"dangerous_any_measurement", true}} : reference}};
  }
  return p;
}

// make_passport wraps |evidence| (whose Evidence of |media_type| is signed
// by |key_pem|) in the in-process passport Verifier: the Verifier trusts
// exactly that key and signs EARs with |ear_key_pem| (empty: a fresh key);
// the relying party then trusts the Verifier's key (ear_public_pem).
inline Result<BuiltAttester> make_passport(std::shared_ptr<Attester> evidence,
                                           const std::string& key_pem, const Bytes& ear_key_pem) {
  BuiltAttester out;
  out.evidence_media_type = std::string(evidence->media_type());
  out.evidence_key_pem = key_pem;
  PassportAttesterConfig pc;
  pc.policy.required_tier = TrustTier::Warning;
  pc.policy.schemes[out.evidence_media_type].trust =
      trust_section_for(out.evidence_media_type, key_pem);
  if (ear_key_pem.empty()) {
    ATLS_ASSIGN_OR_RETURN(ossl::UniquePtr<EVP_PKEY> k, ossl::generate_key(ossl::KeyType::EcP256));
    ATLS_ASSIGN_OR_RETURN(const std::string pem, ossl::private_key_pem(k.get()));
    pc.signing_key_pem.assign(pem.begin(), pem.end());
  } else {
    pc.signing_key_pem = ear_key_pem;
  }
  ATLS_ASSIGN_OR_RETURN(ossl::UniquePtr<EVP_PKEY> ear_key,
                        ossl::parse_private_key(pc.signing_key_pem));
  ATLS_ASSIGN_OR_RETURN(out.ear_public_pem, ossl::public_key_pem(ear_key.get()));
  pc.evidence_attester = std::move(evidence);
  ATLS_ASSIGN_OR_RETURN(std::unique_ptr<Attester> passport, make_passport_attester(std::move(pc)));
  out.attester = std::move(passport);
  out.model = AttestationModel::Passport;
  return out;
}

// build_attester makes the attester of |spec|. Fails with InvalidArgument
// (unknown kind), the plug-ins' codes (AttesterFailure, KeyInvalid, ...).
inline Result<BuiltAttester> build_attester(const AttesterSpec& spec) {
  BuiltAttester out;
  std::shared_ptr<Attester> evidence;
  if (spec.kind == "none" || spec.kind.empty()) {
    return out;
  }
  if (spec.kind == "software") {
    SoftwareAttesterConfig c;
    c.measured_files = spec.measured_files;
    c.signing_key_pem = spec.software_key_pem;
    ATLS_ASSIGN_OR_RETURN(std::unique_ptr<Attester> a, make_software_attester(std::move(c)));
    ATLS_ASSIGN_OR_RETURN(out.evidence_key_pem, software_attester_public_key(*a));
    evidence = std::move(a);
  } else if (spec.kind == "tpm2") {
    Tpm2AttesterConfig c;
    c.tcti = spec.tcti;
    ATLS_ASSIGN_OR_RETURN(std::unique_ptr<Attester> a, make_tpm2_attester(c));
    ATLS_ASSIGN_OR_RETURN(out.evidence_key_pem, tpm2_attester_ak_pem(*a));
    evidence = std::move(a);
  } else {
    return Error{ErrorCode::InvalidArgument,
                 "unknown attester \"" + spec.kind + "\" (software, tpm2 or none)"};
  }
  if (spec.passport && spec.verifier) {
    // The remote Verifier holds the trust anchors and signs the EARs.
    out.evidence_media_type = std::string(evidence->media_type());
    PassportAttesterConfig pc;
    pc.evidence_attester = std::move(evidence);
    pc.verifier = spec.verifier;
    ATLS_ASSIGN_OR_RETURN(std::unique_ptr<Attester> passport,
                          make_passport_attester(std::move(pc)));
    out.attester = std::move(passport);
    out.model = AttestationModel::Passport;
    return out;
  }
  if (spec.passport) {
    return make_passport(std::move(evidence), out.evidence_key_pem, spec.ear_key_pem);
  }
  out.evidence_media_type = std::string(evidence->media_type());
  out.attester = std::move(evidence);
  return out;
}

}  // namespace atls::tools
