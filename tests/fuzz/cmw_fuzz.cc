// CMW parsing (auto-detected JSON or CBOR, and the X.509 extension value) on
// arbitrary input. Whatever parses must re-encode, and the re-encoding must
// parse back to an equal value. Nothing here may crash, leak or hang.

#include "tests/fuzz/fuzz.h"

#include "src/formats/cmw/cmw.h"
#include "src/formats/cmw/cmw_x509.h"

#include <cstdlib>

namespace {

// check_round_trip aborts (a finding) if |cmw| does not survive its own
// encoder and parser.
void check_round_trip(const atls::Cmw& cmw) {
  auto enc = atls::encode_cmw(cmw);
  if (!enc) {
    // Only JSON records with an empty value are refused by the encoder, and
    // the parser never yields them.
    std::abort();
  }
  auto back = atls::parse_cmw(*enc);
  if (!back || !(*back == cmw)) {
    std::abort();
  }
  // CBOR carries everything JSON can.
  (void)atls::encode_cmw_cbor(cmw);
  (void)atls::encode_cmw_json(cmw);
  (void)atls::find_record(cmw, "application/eat+cwt");
  if (cmw.record.ind) {
    (void)atls::cmw_indicator_names(*cmw.record.ind);
  }
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_cmw) {
  atls::CmwLimits limits;
  limits.max_size = 64 * 1024;
  auto cmw = atls::parse_cmw(data, limits);
  if (cmw) {
    check_round_trip(*cmw);
  }
  auto ext = atls::cmw_from_extension_value(data, limits);
  if (ext) {
    auto der = atls::cmw_extension_value(*ext);
    if (!der) {
      std::abort();
    }
  }
}
