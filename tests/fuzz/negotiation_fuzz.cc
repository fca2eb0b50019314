// Fuzz target: the atls_negotiation offer and answer (docs/wire-profile.md §1.7) and
// AttestationScheme lists. The first byte selects the codec. Whatever
// parses must encode back to the same bytes (the encodings are canonical).

#include "src/tls/negotiation.h"

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

}  // namespace

ATLS_FUZZ_TARGET(fuzz_negotiation) {
  if (data.empty()) {
    return;
  }
  const atls::ByteView body = data.subspan(1);
  switch (data[0] % 3) {
    case 0: {
      auto offer = atls::tls::parse_offer(body);
      if (offer) {
        auto enc = atls::tls::encode_offer(*offer);
        check(enc.has_value() && same(*enc, body));
        auto theirs = offer->server_attester_schemes;
        (void)atls::tls::choose_scheme(offer->client_attester_schemes, theirs);
      } else {
        check(offer.error().code == atls::ErrorCode::NegotiationMalformed);
      }
      break;
    }
    case 1: {
      auto answer = atls::tls::parse_answer(body);
      if (answer) {
        auto enc = atls::tls::encode_answer(*answer);
        check(enc.has_value() && same(*enc, body));
      } else {
        check(answer.error().code == atls::ErrorCode::NegotiationMalformed);
      }
      break;
    }
    default: {
      auto list =
          atls::tls::parse_attestation_scheme_list(body, atls::ErrorCode::NegotiationMalformed);
      if (list) {
        auto enc = atls::tls::encode_attestation_schemes(*list);
        check(enc.has_value() && same(*enc, body));
      }
      break;
    }
  }
}
