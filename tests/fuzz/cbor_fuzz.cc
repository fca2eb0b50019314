// Fuzz target: the bounded CBOR decoder. Whatever decodes must encode and
// decode again to an equal value, and diagnostic notation must not fail.

#include "src/formats/cbor/cbor.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_cbor) {
  atls::CborLimits limits;
  limits.max_size = 64 * 1024;
  limits.max_depth = 32;
  auto v = atls::cbor_decode(data, limits);
  (void)atls::cbor_decode_prefix(data, limits);
  if (!v) {
    return;
  }
  (void)atls::cbor_diag(*v);
  const atls::Bytes wire = atls::cbor_encode(*v);
  // Re-encoding may grow the input (definite lengths, floats), so the second
  // decode gets room: the depth is unchanged, the size at most ~9x.
  atls::CborLimits again_limits;
  again_limits.max_depth = limits.max_depth;
  auto again = atls::cbor_decode(wire, again_limits);
  if (!again || !(*again == *v)) {
    std::abort();
  }
  // Preferred serialization is a fixed point.
  if (atls::cbor_encode(*again) != wire) {
    std::abort();
  }
}
