// Fuzz target: RFC 9261 authenticator requests (CertificateRequest /
// ClientCertificateRequest as full handshake messages) and the atls
// extensions inside them. A parsed request keeps its exact bytes, and
// rebuilding it from its parts with the same extension order reproduces
// them.

#include "src/tls/auth_request.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
#include <cstdlib>

namespace {

void check(bool c) {
  if (!c) {
    std::abort();
  }
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_auth_request) {
  auto req = atls::tls::parse_auth_request(data);
  if (!req) {
    check(req.error().code == atls::ErrorCode::EaRequestMalformed);
    return;
  }
  check(req->raw.size() == data.size() &&
        std::equal(req->raw.begin(), req->raw.end(), data.begin()));
  check(!req->signature_schemes.empty());
  check(req->context.size() <= 255);

  // Rebuild: signature_algorithms first is the only order encode_auth_request
  // writes, so compare only when the input has that shape.
  const atls::tls::ExtensionCodepoints cp;
  (void)atls::tls::requested_attestation(*req, cp);
  if (req->extensions.front().type == atls::tls::kExtSignatureAlgorithms) {
    atls::tls::AuthRequestOptions o;
    o.msg_type = req->msg_type;
    o.context = req->context;
    o.signature_schemes = req->signature_schemes;
    o.request_attestation = false;
    o.extra_extensions.assign(req->extensions.begin() + 1, req->extensions.end());
    auto again = atls::tls::encode_auth_request(o, cp);
    check(again.has_value());
    // Equal unless signature_algorithms had a non-canonical form, which the
    // parser rejects; so always equal.
    check(again->raw == req->raw);
  }
}
