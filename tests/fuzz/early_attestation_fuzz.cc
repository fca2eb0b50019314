// Fuzz target: the remoteAttestation extension of
// draft-fossati-seat-early-attestation (src/tls/early/remote_attestation.h).
// The first byte selects the form (ClientHello, chosen scheme, cmw_payload).
// Whatever parses must encode back to the same bytes (the encodings are
// canonical); whatever fails must fail with EarlyAttestationMalformed.

#include "src/tls/early/remote_attestation.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
#include <cstdlib>

namespace {

void check(bool c) {
  if (!c) {
    std::abort();
  }
}

bool same(const atls::Bytes& a, atls::ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

template <class R>
void check_failure(const R& r) {
  check(r.error().code == atls::ErrorCode::EarlyAttestationMalformed);
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_early_attestation) {
  if (data.empty()) {
    return;
  }
  namespace early = atls::tls::early;
  const atls::ByteView body = data.subspan(1);
  switch (data[0] % 3) {
    case 0: {
      auto offer = early::parse_offer(body);
      if (offer) {
        auto enc = early::encode_offer(*offer);
        check(enc.has_value() && same(*enc, body));
      } else {
        check_failure(offer);
      }
      break;
    }
    case 1: {
      auto scheme = early::parse_chosen_scheme(body);
      if (scheme) {
        auto enc = early::encode_chosen_scheme(*scheme);
        check(enc.has_value() && same(*enc, body));
      } else {
        check_failure(scheme);
      }
      break;
    }
    default: {
      auto cmw = early::parse_cmw_payload(body);
      if (cmw) {
        auto enc = early::encode_cmw_payload(*cmw);
        check(enc.has_value() && same(*enc, body));
      } else {
        check_failure(cmw);
      }
      break;
    }
  }
}
