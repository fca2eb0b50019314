// Fuzz target: CBOR diagnostic notation. Whatever parses must encode to CBOR
// that decodes again to an equal value.

#include "src/formats/cbor/edn.h"

#include "tests/fuzz/fuzz.h"

#include <cmath>
#include <cstdlib>
#include <string_view>

namespace {

bool has_nan(const atls::CborValue& v) {
  if (v.is_float()) {
    return std::isnan(v.raw_float());
  }
  for (const auto& item : v.items()) {
    if (has_nan(item)) {
      return true;
    }
  }
  return false;
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_edn) {
  atls::CborLimits limits;
  limits.max_size = 64 * 1024;
  limits.max_depth = 32;
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  auto v = atls::cbor_from_diag(text, limits);
  if (!v) {
    return;
  }
  const atls::Bytes wire = atls::cbor_encode(*v);
  atls::CborLimits again_limits;
  again_limits.max_depth = limits.max_depth;
  auto again = atls::cbor_decode(wire, again_limits);
  // NaN never compares equal to itself, so values holding one are only
  // required to decode.
  if (!again || (!has_nan(*v) && !(*again == *v))) {
    std::abort();
  }
}
