#include "src/remote/verifier_client.h"

#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/remote/api.h"
#include "src/remote/loopback.h"
#include "src/remote/replies.h"

#include <httplib.h>

#include <chrono>
#include <exception>

namespace atls::remote {
namespace {

// The largest reply taken from a Verifier (src/remote/replies.cc bounds its JSON).
constexpr std::size_t kMaxReply = 256 * 1024;

struct Call {
  std::string method;
  std::string path;
  std::string content_type;
  std::string body;
};

// Reply is an HTTP reply whose status was read.
struct Reply {
  int status = 0;
  std::string location;
  std::string body;
};

}  // namespace

Result<std::shared_ptr<VerifierClient>> VerifierClient::create(ClientOptions options) {
  const std::string url = options.url;
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) {
    return Error{ErrorCode::InvalidArgument,
                 "the Verifier URL must start with http:// or https://: \"" + url + "\""};
  }
  const std::size_t host_at = https ? 8 : 7;
  const std::size_t slash = url.find('/', host_at);
  const std::string authority = url.substr(host_at, slash - host_at);
  std::string host = authority;
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  if (host.empty()) {
    return Error{ErrorCode::InvalidArgument, "the Verifier URL has no host: \"" + url + "\""};
  }
  if (!https && !options.allow_insecure_http && !is_loopback_host(host)) {
    return Error{ErrorCode::InvalidArgument,
                 "plain http:// to a Verifier is allowed on loopback only; use https://"};
  }
  if (options.timeout.count() <= 0) {
    return Error{ErrorCode::InvalidArgument, "the Verifier timeout must be positive"};
  }
  auto c = std::shared_ptr<VerifierClient>(new VerifierClient(std::move(options)));
  c->m_origin = url.substr(0, slash);
  if (slash != std::string::npos) {
    c->m_prefix = url.substr(slash);
    while (c->m_prefix.ends_with('/')) {
      c->m_prefix.pop_back();
    }
  }
  return c;
}

namespace {

Result<Reply> perform(const ClientOptions& o, const std::string& origin, const Call& call) {
  try {
    httplib::Client cli(origin);
    if (!o.ca_file.empty()) {
      cli.set_ca_cert_path(o.ca_file);
    }
    cli.enable_server_certificate_verification(true);
    const auto t = std::chrono::duration_cast<std::chrono::microseconds>(o.timeout);
    cli.set_connection_timeout(t);
    cli.set_read_timeout(t);
    cli.set_write_timeout(t);
    cli.set_keep_alive(false);
    cli.set_tcp_nodelay(true);
    cli.set_follow_location(false);
    httplib::Headers headers = {{"Accept", "application/json, " + std::string(kSessionMediaType) +
                                               ", " + std::string(kProblemMediaType)}};
    const auto start = std::chrono::steady_clock::now();
    httplib::Result res = call.method == "GET" ? cli.Get(call.path, headers)
                          : call.method == "DELETE"
                              ? cli.Delete(call.path, headers)
                              : cli.Post(call.path, headers, call.body, call.content_type);
    if (!res) {
      const auto err = res.error();
      const bool slow = std::chrono::steady_clock::now() - start >= o.timeout * 9 / 10;
      if (err == httplib::Error::ConnectionTimeout ||
          (slow && (err == httplib::Error::Read || err == httplib::Error::Write))) {
        return Error{ErrorCode::VerifierTimeout,
                     o.url + " did not answer within " + std::to_string(o.timeout.count()) + " ms"};
      }
      return Error{ErrorCode::VerifierUnavailable, o.url + ": " + httplib::to_string(err)};
    }
    if (res->body.size() > kMaxReply) {
      return Error{ErrorCode::VerifierRejected, "the Verifier's reply is too large"};
    }
    Reply r;
    r.status = res->status;
    r.location = res->get_header_value("Location");
    r.body = std::move(res->body);
    return r;
  } catch (const std::exception& e) {
    return Error{ErrorCode::VerifierUnavailable, o.url + ": " + e.what()};
  }
}

}  // namespace

Result<Session> VerifierClient::new_session(std::string_view binding, ByteView akpub,
                                            std::size_t nonce_size, ByteView nonce) const {
  std::string path = m_prefix + std::string(kNewSessionPath) + "?";
  if (nonce.empty()) {
    path += std::string(kParamNonceSize) + "=" + std::to_string(nonce_size);
  } else {
    path += std::string(kParamNonce) + "=" + base64url_encode(nonce);
  }
  if (!binding.empty() && binding != kBindingNonce) {
    path += "&" + std::string(kParamBinding) + "=" + std::string(binding);
  }
  if (!akpub.empty()) {
    path += "&" + std::string(kParamAkpub) + "=" + base64url_encode(akpub);
  }
  ATLS_ASSIGN_OR_RETURN(const Reply r, perform(m_options, m_origin, Call{"POST", path, "", ""}));
  if (r.status != 201 && r.status != 200) {
    return problem_error(r.status, r.body);
  }
  ATLS_ASSIGN_OR_RETURN(Session s, parse_session(r.location, r.body));
  if (!nonce.empty() && s.nonce != Bytes(nonce.begin(), nonce.end())) {
    return Error{ErrorCode::VerifierRejected, "the Verifier answered with another nonce"};
  }
  // The Location is relative to the origin; keep the prefix.
  if (!m_prefix.empty() && !s.path.starts_with(m_prefix)) {
    s.path = m_prefix + s.path;
  }
  return s;
}

Result<std::string> VerifierClient::submit(const Session& session, ByteView cmw) const {
  // A JSON CMW starts with '[' or '{'; a CBOR one with an array or tag.
  const bool json = !cmw.empty() && (cmw[0] == '[' || cmw[0] == '{');
  return submit_as(session, json ? kMediaTypeCmwJson : kMediaTypeCmwCbor, cmw);
}

Result<std::string> VerifierClient::submit_as(const Session& session, std::string_view media_type,
                                              ByteView body) const {
  ATLS_ASSIGN_OR_RETURN(const Reply r, perform(m_options, m_origin,
                                               Call{"POST", session.path, std::string(media_type),
                                                    std::string(as_string_view(body))}));
  if (r.status != 200) {
    return problem_error(r.status, r.body);
  }
  return parse_completed(r.body);
}

Result<nlohmann::json> VerifierClient::discovery() const {
  ATLS_ASSIGN_OR_RETURN(
      const Reply r,
      perform(m_options, m_origin, Call{"GET", m_prefix + std::string(kWellKnownPath), "", ""}));
  if (r.status != 200) {
    return problem_error(r.status, r.body);
  }
  auto j = parse_json(r.body, JsonLimits{});
  if (!j || !j->is_object()) {
    return Error{ErrorCode::VerifierRejected, "the well-known document is not a JSON object"};
  }
  return std::move(*j);
}

Result<Bytes> VerifierClient::ear_key(bool refresh) const {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!refresh && !m_key.empty()) {
      return m_key;
    }
  }
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json doc, discovery());
  const auto key = doc.find("ear-verification-key");
  if (key == doc.end() || !key->is_object()) {
    return Error{ErrorCode::VerifierRejected,
                 "the well-known document has no ear-verification-key"};
  }
  Bytes jwk = to_bytes(key->dump());
  std::lock_guard<std::mutex> lock(m_mutex);
  m_key = jwk;
  return jwk;
}

}  // namespace atls::remote
