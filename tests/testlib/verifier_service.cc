#include "tests/testlib/verifier_service.h"

#include "src/remote/api.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>

namespace atls::test {

bool verifier_service_available() {
#ifdef ATLS_CLI_PATH
  return true;
#else
  return false;
#endif
}

std::unique_ptr<tools::VerifierProcess> start_verifier_service(
    const VerifierServiceOptions& options) {
#ifdef ATLS_CLI_PATH
  tools::VerifierProcessOptions o;
  o.executable = ATLS_CLI_PATH;
  o.policy_json = options.policy_json;
  o.extra_args = options.extra_args;
  auto p = tools::VerifierProcess::start(o);
  EXPECT_TRUE(p) << p.error().to_string();
  return p ? std::move(*p) : nullptr;
#else
  (void)options;
  ADD_FAILURE() << "this build has no atls command";
  return nullptr;
#endif
}

TamperProxy::TamperProxy(std::string upstream, Hooks hooks)
    : m_upstream(std::move(upstream)),
      m_hooks(std::move(hooks)),
      m_server(std::make_unique<httplib::Server>()) {
  auto relay = [this](const httplib::Request& req, httplib::Response& res) {
    const bool submit = req.method == "POST" && req.path.starts_with(remote::kSessionPathPrefix);
    if (submit) {
      ++m_submissions;
      if (m_hooks.submit_delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(m_hooks.submit_delay_ms));
      }
    }
    if (m_hooks.reply_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(m_hooks.reply_delay_ms));
    }
    httplib::Client up(m_upstream);
    std::string target = req.path;
    if (!req.params.empty()) {
      target += "?" + httplib::detail::params_to_query_str(req.params);
    }
    std::string type = req.get_header_value("Content-Type");
    if (submit && !m_hooks.content_type.empty()) {
      type = m_hooks.content_type;
    }
    httplib::Result r = req.method == "GET"      ? up.Get(target)
                        : req.method == "DELETE" ? up.Delete(target)
                                                 : up.Post(target, req.body, type);
    if (!r) {
      res.status = 502;
      return;
    }
    res.status = r->status;
    res.body = r->body;
    for (const auto& [k, v] : r->headers) {
      if (k == "Location" && m_hooks.location) {
        res.set_header(k, m_hooks.location(v));
      } else if (k == "Content-Type" || k == "Location") {
        res.set_header(k, v);
      }
    }
  };
  m_server->Get(".*", relay);
  m_server->Post(".*", relay);
  m_server->Delete(".*", relay);
  m_port = m_server->bind_to_any_port("127.0.0.1");
  m_thread = std::thread([this] { m_server->listen_after_bind(); });
  while (!m_server->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TamperProxy::~TamperProxy() {
  m_server->stop();
  m_thread.join();
}

}  // namespace atls::test
