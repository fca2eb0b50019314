// COSE_Sign1 parse + verify with fixed keys, and COSE_Key import, on
// arbitrary input. Nothing here may crash, leak or hang.

#include "tests/fuzz/fuzz.h"

#include "src/core/encoding.h"
#include "src/formats/cose/cose.h"
#include "src/formats/cose/cose_key.h"
#include "src/ossl/keys.h"

#include <string_view>

namespace {

using atls::ossl::UniquePtr;

// Test-only public keys: tests/data/cose/generated/keys/es256.pub.test.pem,
// eddsa.pub.test.pem and tests/data/cose/vectors/tfmtools_cca_platform_pub.pem.
constexpr std::string_view kP256Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwJfe9XamGJqlXlGvHJdOEybnjsxe\n"
    "0y9H8lvkpAiO1jPM04+yCXjBD1mrcZsJQVVR74bnkieUTd2TbmSjFxvrEg==\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kEd25519Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAKay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kP384Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEIShnxS4rlQiwpCCpBWDzlNLfqiG911FP\n"
    "8akBr+fh94uxHU5m+Kijivp2r2oxxN6MhM4tr8mWQli1P61xh3T0ViDREbF26DGO\n"
    "EYfbAjWjGNN7pZf+6A4OTHYqEryz6m7U\n"
    "-----END PUBLIC KEY-----\n";

UniquePtr<EVP_PKEY> load(std::string_view pem) {
  auto k = atls::ossl::parse_public_key(atls::to_bytes(pem));
  return k ? std::move(*k) : nullptr;
}

struct Keys {
  UniquePtr<EVP_PKEY> p256 = load(kP256Pem);
  UniquePtr<EVP_PKEY> p384 = load(kP384Pem);
  UniquePtr<EVP_PKEY> ed25519 = load(kEd25519Pem);
};

const Keys& keys() {
  static const Keys k;
  return k;
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_cose) {
  const Keys& k = keys();
  auto msg = atls::parse_cose_sign1(data);
  if (msg) {
    (void)msg->alg();
    (void)msg->kid();
    (void)msg->content_type();
    static const std::uint8_t kDetached[] = {'d', 'e', 't'};
    std::optional<atls::ByteView> detached;
    if (!msg->payload) {
      detached = atls::ByteView(kDetached);
    }
    for (EVP_PKEY* key : {k.p256.get(), k.p384.get(), k.ed25519.get()}) {
      (void)atls::verify_cose_sign1(*msg, key, atls::ByteView(kDetached).first(1), detached);
      (void)atls::verify_cose_sign1(*msg, key, {}, detached);
    }
    (void)atls::cose_sig_structure(msg->protected_bytes, {},
                                   msg->payload ? *msg->payload : atls::Bytes{});
  }
  // The same bytes as a COSE_Key.
  auto v = atls::cbor_decode(data);
  if (v && v->is_map()) {
    auto key = atls::cose_key_to_pkey(*v);
    if (key) {
      (void)atls::pkey_to_cose_key(key->get());
    }
  } else if (v) {
    (void)atls::cose_sign1_from_cbor(*v);
  }
}
