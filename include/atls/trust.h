#pragma once

// AR4SI trust tiers and trustworthiness vectors (draft-ietf-rats-ar4si), the
// vocabulary of attestation results.

#include <atls/export.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace atls {

// TrustTier is an AR4SI trust tier; the numeric values are the CBOR
// encoding, and a higher value is a worse tier.
enum class TrustTier : std::int8_t { None = 0, Affirming = 2, Warning = 32, Contraindicated = 96 };

// tier_name returns the JSON name of |t|: "none", "affirming", "warning" or
// "contraindicated".
ATLS_API std::string_view tier_name(TrustTier t);

// tier_of_claim_value maps a trustworthiness claim value to its tier
// (AR4SI): -1..1 none; 2..31 and -2..-32 affirming; 32..95 and -33..-96
// warning; 96..127 and -97..-128 contraindicated.
ATLS_API TrustTier tier_of_claim_value(std::int8_t v);

// tier_meets reports whether |tier| is at least as good as |required|:
// Affirming meets everything; Warning meets Warning and None; None meets
// None; Contraindicated meets only Contraindicated.
ATLS_API bool tier_meets(TrustTier tier, TrustTier required);

// TrustVector holds the eight AR4SI trustworthiness claims; an empty slot
// is an absent claim.
struct ATLS_API TrustVector {
  static constexpr std::size_t kSize = 8;
  enum Claim : std::size_t {
    kInstanceIdentity = 0,
    kConfiguration = 1,
    kExecutables = 2,
    kFileSystem = 3,
    kHardware = 4,
    kRuntimeOpaque = 5,
    kStorageOpaque = 6,
    kSourcedData = 7,
  };
  // claims in AR4SI order: instance-identity, configuration, executables,
  // file-system, hardware, runtime-opaque, storage-opaque, sourced-data.
  std::array<std::optional<std::int8_t>, kSize> claims;

  // worst returns the worst tier among the present claims (None if none).
  TrustTier worst() const;
  // claim_name returns the JSON key of slot |i| ("" if i >= kSize).
  static std::string_view claim_name(std::size_t i);
};

}  // namespace atls
