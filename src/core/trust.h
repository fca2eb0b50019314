#pragma once

// Internal helpers over the AR4SI vocabulary of <atls/trust.h>, which is
// implemented with them in src/core/trust.cc.

#include <atls/trust.h>

namespace atls::internal {

// tier_rank orders tiers from best (0, affirming) to worst (3,
// contraindicated), as a relying party judges them: a result with no
// claims (none) is worse than one with a warning.
int tier_rank(TrustTier t);

}  // namespace atls::internal
