// Fuzz target: bounded JSON parsing. Whatever parses must dump and parse
// again to an equal value.

#include "src/core/encoding.h"
#include "src/formats/json/json.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_json) {
  atls::JsonLimits limits;
  limits.max_size = 64 * 1024;
  limits.max_depth = 32;
  auto j = atls::parse_json(atls::as_string_view(data), limits);
  if (!j) {
    return;
  }
  const std::string text = atls::json_dump(*j);
  auto again = atls::parse_json(text, limits);
  // Numbers may change form (1.0 -> 1.0, 1e2 -> 100.0) but not value; NaN
  // cannot occur in parsed JSON, so == is exact.
  if (!again || !(*again == *j)) {
    std::abort();
  }
}
