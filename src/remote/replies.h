#pragma once

// The Verifier service's replies as its client reads them
// (docs/verifier-service.md): the session resource, the completed session
// and RFC 9457 problem details. Pure: text in, typed values out.

#include <atls/bytes.h>
#include <atls/result.h>

#include <string>
#include <string_view>
#include <vector>

namespace atls::remote {

// Session is an open challenge-response session.
struct Session {
  std::string path;  // the Location: /challenge-response/v1/session/{id}
  Bytes nonce;
  std::vector<std::string> accept;
};

// parse_session reads a newSession reply: |location| (absolute or a path)
// must lead to a session path, and |body| must hold a base64 nonce of 8..64
// bytes. Fails with VerifierRejected.
Result<Session> parse_session(std::string_view location, std::string_view body);

// parse_completed reads the reply to an Evidence POST and returns its
// result (the EAR). Fails with VerifierRejected unless the session is
// "complete" with a string result.
Result<std::string> parse_completed(std::string_view body);

// problem_error turns an error reply (|status| >= 400) into the code the
// Verifier names in its problem details ("code"), with its detail; a reply
// without a known code is VerifierRejected.
Error problem_error(int status, std::string_view body);

}  // namespace atls::remote
