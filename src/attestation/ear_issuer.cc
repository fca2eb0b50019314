#include "src/attestation/ear_issuer.h"

#include "src/core/encoding.h"
#include "src/formats/ear/ear.h"
#include "src/formats/jwt/jwk.h"

#include <algorithm>
#include <utility>

namespace atls::internal {

Result<std::string> issue_ear(const AttestationResult& result, const EvidenceClaims& claims,
                              const EarIssue& opts) {
  if (opts.key == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no EAR signing key"};
  }
  if (opts.exp < opts.iat) {
    return Error{ErrorCode::InvalidArgument, "EAR exp " + std::to_string(opts.exp) +
                                                 " is before its iat " + std::to_string(opts.iat)};
  }
  Ear ear;
  if (opts.profile == EarProfile::Veraison) {
    ear.profile = std::string(kEarProfileVeraison);
    ear.legacy_names = true;
  } else {
    ear.profile = std::string(kEarProfileIetf03);
  }
  ear.iat = opts.iat;
  ear.exp = opts.exp;
  ear.status = result.status();
  ear.verifier_id.developer = opts.developer;
  ear.verifier_id.build = opts.build;
  ear.nonce = opts.nonce;
  for (const auto& s : result.submods()) {
    EarSubmod es;
    es.name = s.name;
    es.status = s.status;
    es.trust_vector = s.trust_vector;
    if (!s.policy_id.empty()) {
      es.policy_ids.push_back(s.policy_id);
    }
    es.extensions["atls.media-type"] = result.media_type();
    if (!claims.machine_id.empty()) {
      es.extensions["atls.machine-id"] = claims.machine_id;
    }
    if (opts.attested_key_spki) {
      //= docs/wire-profile.md §1.5: the submodule's ear.veraison.key-attestation
      //= object with akpub = base64url(DER SPKI).
      es.extensions["ear.veraison.key-attestation"] = {
          {"akpub", base64url_encode(*opts.attested_key_spki)}};
    }
    ear.submods.push_back(std::move(es));
  }
  std::sort(ear.submods.begin(), ear.submods.end(),
            [](const EarSubmod& x, const EarSubmod& y) { return x.name < y.name; });
  std::string kid = opts.kid;
  if (kid.empty()) {
    ATLS_ASSIGN_OR_RETURN(kid, jwk_thumbprint(opts.key));
  }
  return sign_ear_jwt(ear, opts.key, kid);
}

}  // namespace atls::internal
