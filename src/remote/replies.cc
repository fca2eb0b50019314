#include "src/remote/replies.h"

#include "src/core/encoding.h"
#include "src/core/error_names.h"
#include "src/formats/json/json.h"
#include "src/remote/api.h"

namespace atls::remote {
namespace {

// The largest reply body read (an EAR with many submodules).
constexpr std::size_t kMaxReply = 256 * 1024;

JsonLimits reply_limits() {
  JsonLimits l;
  l.max_size = kMaxReply;
  return l;
}

std::string text_member(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Error problem_error(int status, std::string_view body) {
  std::string detail = "HTTP " + std::to_string(status);
  if (auto j = parse_json(body, reply_limits()); j && j->is_object()) {
    std::string what = text_member(*j, "detail");
    if (what.empty()) {
      what = text_member(*j, "title");
    }
    if (!what.empty()) {
      detail += ": " + what.substr(0, 512);
    }
    const auto code = error_code_from_name(text_member(*j, "code"));
    if (code && *code != ErrorCode::Ok) {
      return Error{*code, "the Verifier says: " + detail};
    }
  }
  return Error{ErrorCode::VerifierRejected, detail};
}

Result<Session> parse_session(std::string_view location, std::string_view body) {
  auto j = parse_json(body, reply_limits());
  if (!j || !j->is_object()) {
    return Error{ErrorCode::VerifierRejected, "the session reply is not a JSON object"};
  }
  Session s;
  s.path = std::string(location);
  // A Location may be absolute (Veraison writes scheme://host/path).
  if (const auto p = s.path.find("://"); p != std::string::npos) {
    const auto slash = s.path.find('/', p + 3);
    s.path = slash == std::string::npos ? std::string("/") : s.path.substr(slash);
  }
  if (!s.path.starts_with(kSessionPathPrefix) || s.path.size() == kSessionPathPrefix.size() ||
      s.path.find_first_of("?#") != std::string::npos) {
    return Error{ErrorCode::VerifierRejected, "the session location is not a session path"};
  }
  auto n = base64_decode_lenient(text_member(*j, "nonce"));
  if (!n || n->size() < kMinNonceSize || n->size() > kMaxNonceSize) {
    return Error{ErrorCode::VerifierRejected, "the session nonce is not 8..64 bytes of base64"};
  }
  s.nonce = std::move(*n);
  if (const auto acc = j->find("accept"); acc != j->end() && acc->is_array()) {
    for (const auto& a : *acc) {
      if (a.is_string()) {
        s.accept.push_back(a.get<std::string>());
      }
    }
  }
  return s;
}

Result<std::string> parse_completed(std::string_view body) {
  auto j = parse_json(body, reply_limits());
  if (!j || !j->is_object()) {
    return Error{ErrorCode::VerifierRejected, "the Verifier's reply is not a JSON object"};
  }
  const auto status = j->find("status");
  const auto result = j->find("result");
  if (status == j->end() || *status != "complete" || result == j->end() || !result->is_string()) {
    return Error{ErrorCode::VerifierRejected, "the session did not complete with a result"};
  }
  return result->get<std::string>();
}

}  // namespace atls::remote
