// Fuzz target: EAT claims-set parsing, re-encoding and JSON rendering.
// Whatever parses must re-encode to a claims set that parses to the same
// value.

#include "src/formats/cbor/cbor.h"
#include "src/formats/eat/eat.h"
#include "src/formats/json/json.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_eat) {
  atls::CborLimits limits;
  limits.max_size = 64 * 1024;
  auto v = atls::cbor_decode(data, limits);
  if (!v) {
    return;
  }
  auto claims = atls::parse_eat_claims(*v);
  if (!claims) {
    return;
  }
  (void)atls::json_dump(atls::eat_claims_to_json(*claims));
  const atls::Bytes wire = atls::cbor_encode(atls::encode_eat_claims(*claims));
  auto again = atls::parse_eat_claims(atls::ByteView(wire));
  if (!again || !(*again == *claims)) {
    std::abort();
  }
}
