#pragma once

// The built-in plug-ins, as one registry. Declared by the plug-ins layer:
// the attestation layer (src/attestation/) knows no plug-in by name.

#include "src/attestation/registry.h"

namespace atls {

// builtin_registry returns a registry with every built-in verifier and
// appraiser (software EAT, TPM 2.0 quote, SEV-SNP, TDX, EAR).
Registry builtin_registry();

}  // namespace atls
