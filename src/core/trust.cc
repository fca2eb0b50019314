// The AR4SI vocabulary of <atls/trust.h> (draft-ietf-rats-ar4si): tier
// names, the tier of a claim value, and the order of tiers.

#include <atls/trust.h>

#include "src/core/trust.h"

#include <array>

namespace atls {
namespace {

// The AR4SI trustworthiness claims, in the order of their CBOR keys 0..7
// (draft-ietf-rats-ar4si, "Trustworthiness Vector").
constexpr std::array<std::string_view, TrustVector::kSize> kClaimNames{
    "instance-identity", "configuration",  "executables",    "file-system",
    "hardware",          "runtime-opaque", "storage-opaque", "sourced-data"};

}  // namespace

std::string_view tier_name(TrustTier t) {
  switch (t) {
    case TrustTier::None:
      return "none";
    case TrustTier::Affirming:
      return "affirming";
    case TrustTier::Warning:
      return "warning";
    case TrustTier::Contraindicated:
      return "contraindicated";
  }
  return "none";
}

TrustTier tier_of_claim_value(std::int8_t v) {
  // draft-ietf-rats-ar4si tiers (as veraison/ear implements them):
  // None -1..1; Affirming 2..31 and -2..-32; Warning 32..95 and -33..-96;
  // Contraindicated 96..127 and -97..-128.
  const int x = v;
  if (x >= -1 && x <= 1) {
    return TrustTier::None;
  }
  if ((x >= 2 && x <= 31) || (x >= -32 && x <= -2)) {
    return TrustTier::Affirming;
  }
  if ((x >= 32 && x <= 95) || (x >= -96 && x <= -33)) {
    return TrustTier::Warning;
  }
  return TrustTier::Contraindicated;
}

bool tier_meets(TrustTier tier, TrustTier required) {
  return internal::tier_rank(tier) <= internal::tier_rank(required);
}

TrustTier TrustVector::worst() const {
  // "Worse" follows the tier values, as veraison/ear compares them
  // numerically (so none counts as the best tier here).
  TrustTier w = TrustTier::None;
  for (const auto& c : claims) {
    if (c) {
      const TrustTier t = tier_of_claim_value(*c);
      if (static_cast<int>(w) < static_cast<int>(t)) {
        w = t;
      }
    }
  }
  return w;
}

std::string_view TrustVector::claim_name(std::size_t i) {
  return i < kClaimNames.size() ? kClaimNames[i] : std::string_view();
}

namespace internal {

int tier_rank(TrustTier t) {
  switch (t) {
    case TrustTier::Affirming:
      return 0;
    case TrustTier::Warning:
      return 1;
    case TrustTier::None:
      return 2;
    case TrustTier::Contraindicated:
      return 3;
  }
  return 3;
}

}  // namespace internal
}  // namespace atls
