// Fuzz target: the Verifier service's replies as the remote Verifier client
// reads them (src/remote/replies.h): the first line of the input is the
// Location header, the rest the body, read as a session, a completed session
// and problem details.

#include "src/remote/replies.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>
#include <string_view>

ATLS_FUZZ_TARGET(fuzz_verifier_reply) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  const auto nl = text.find('\n');
  const std::string_view location = nl == std::string_view::npos ? text : text.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  if (auto s = atls::remote::parse_session(location, body)) {
    // A session always has a session path and a nonce of 8..64 bytes.
    if (s->nonce.size() < 8 || s->nonce.size() > 64 ||
        !s->path.starts_with("/challenge-response/v1/session/")) {
      std::abort();
    }
  }
  (void)atls::remote::parse_completed(body);
  const atls::Error e = atls::remote::problem_error(422, body);
  if (e.code == atls::ErrorCode::Ok) {
    std::abort();
  }
}
