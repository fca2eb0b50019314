// Fuzz target: the structure of RFC 9261 authenticators (Certificate ‖
// CertificateVerify ‖ Finished, or Finished alone), parsed without keys.
// The three messages must tile the input exactly, and peek_context must
// agree with the parse.

#include "src/tls/authenticator.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
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
  auto ctx = atls::tls::peek_context(data);
  if (!p) {
    check(p.error().code == atls::ErrorCode::EaMalformed);
    check(!ctx && ctx.error().code == atls::ErrorCode::EaMalformed);
    return;
  }
  const std::size_t total = p->certificate_message.size() + p->certificate_verify_message.size() +
                            p->finished_message.size();
  check(total == data.size());
  check(inside(p->finished_message, data) && !p->verify_data.empty());
  if (p->is_empty) {
    check(p->entries.empty() && p->certificate_message.empty());
    check(!ctx && ctx.error().code == atls::ErrorCode::EaEmptyAuthenticator);
    return;
  }
  check(!p->entries.empty());
  check(p->certificate_message.data() == data.data());
  check(ctx.has_value() && ctx->size() == p->context.size() &&
        std::equal(ctx->begin(), ctx->end(), p->context.begin()));
  for (const auto& e : p->entries) {
    check(!e.cert_data.empty() && inside(e.cert_data, p->certificate_message));
  }
  check(inside(p->signature, p->certificate_verify_message));
}
