// Fuzz target: gateway tokens (src/gateway/token.h, psk_offer.h and the
// token file of <atls/gateway.h>). The first byte picks what the rest is:
//   0: a PSK identity as a client sends it;
//   1: a token plaintext, sealed here under the fixed key, so that the field
//      parser behind the AEAD tag is reached;
//   2: a ClientHello pre_shared_key extension;
//   3: a token file.
// A token that opens must seal back to the same identity (the same nonce),
// and must not open under another key.

#include <atls/gateway.h>

#include "src/gateway/psk_offer.h"
#include "src/gateway/token.h"
#include "src/ossl/crypto.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>

namespace {

const atls::Bytes kKey(32, 0x42);
const atls::Bytes kOtherKey(32, 0x24);
const atls::Bytes kNonce(12, 0x07);

atls::Bytes sealed(std::span<const std::uint8_t> plain) {
  const std::string_view prefix = atls::gateway::kTokenPrefix;
  const atls::Bytes aad(prefix.begin(), prefix.end());
  auto ct = atls::ossl::aead_seal(kKey, kNonce, aad, atls::ByteView(plain.data(), plain.size()));
  if (!ct) {
    std::abort();
  }
  atls::Bytes id = aad;
  id.insert(id.end(), kNonce.begin(), kNonce.end());
  id.insert(id.end(), ct->begin(), ct->end());
  return id;
}

void check_identity(const atls::Bytes& id) {
  auto t = atls::gateway::open_token(id, kKey);
  if (!t) {
    if (t.error().code != atls::ErrorCode::GatewayTokenInvalid) {
      std::abort();
    }
    return;
  }
  const atls::ByteView nonce = atls::ByteView(id).subspan(atls::gateway::kTokenPrefix.size(), 12);
  auto again = atls::gateway::seal_token(*t, kKey, nonce);
  if (!again || *again != id) {
    std::abort();
  }
  if (atls::gateway::open_token(id, kOtherKey)) {
    std::abort();
  }
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_gateway_token) {
  if (data.empty()) {
    return;
  }
  const auto rest = data.subspan(1);
  switch (data[0] % 4) {
    case 0:
      check_identity(atls::Bytes(rest.begin(), rest.end()));
      break;
    case 1:
      if (rest.size() <= 4000) {
        check_identity(sealed(rest));
      }
      break;
    case 2:
      (void)atls::gateway::parse_offered_psks(atls::ByteView(rest.data(), rest.size()));
      break;
    default: {
      auto t = atls::GatewayToken::from_json(
          std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
      if (!t && t.error().code != atls::ErrorCode::GatewayTokenInvalid) {
        std::abort();
      }
      if (t && (t->psk.size() != 32 || !atls::gateway::is_token_identity(t->identity))) {
        std::abort();
      }
      break;
    }
  }
}
