// Fuzz target: the structure of RFC 9261 authenticators (Certificate ‖
// CertificateVerify ‖ Finished, or Finished alone), parsed without keys.
// The three messages must tile the input exactly, and the parsed value is
// then validated as it is, without a second parse: against a request that
// names its context and fixed keys, the Finished check ends validation
// (a fuzzer cannot forge the MAC), with the code the order of
// docs/wire-profile.md §1.6 gives.

#include "src/tls/authenticator.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>

namespace {

void check(bool c) {
  if (!c) {
    std::abort();
  }
}

bool inside(atls::ByteView part, atls::ByteView whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_authenticator) {
  auto p = atls::tls::parse_authenticator(data);
  if (!p) {
    check(p.error().code == atls::ErrorCode::EaMalformed);
    return;
  }
  const std::size_t total = p->certificate_message.size() + p->certificate_verify_message.size() +
                            p->finished_message.size();
  check(total == data.size());
  check(inside(p->finished_message, data) && !p->verify_data.empty());
  if (p->is_empty) {
    check(p->entries.empty() && p->certificate_message.empty() && p->context.empty());
  } else {
    check(!p->entries.empty());
    check(p->certificate_message.data() == data.data());
    check(inside(p->context, p->certificate_message));
    for (const auto& e : p->entries) {
      check(!e.cert_data.empty() && inside(e.cert_data, p->certificate_message));
    }
    check(inside(p->signature, p->certificate_verify_message));
  }

  // Validate the parsed value against a request for its own context.
  atls::tls::AuthRequestOptions o;
  o.context.assign(p->context.begin(), p->context.end());
  const atls::tls::ExtensionCodepoints cp;
  auto request = atls::tls::encode_auth_request(o, cp);
  check(request.has_value());
  atls::tls::EaKeys keys;
  keys.handshake_context.assign(32, 0x11);
  keys.finished_key.assign(32, 0x22);
  auto v = atls::tls::validate_authenticator(keys, *request, *p, cp);
  check(!v);
  check(v.error().code == (p->verify_data.size() == 32 ? atls::ErrorCode::EaBadFinished
                                                       : atls::ErrorCode::EaMalformed));
}
