#include "tests/testlib/verifier_service.h"

#include <atls/clock.h>

#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/remote/api.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <regex>
#include <thread>

namespace atls::test {

bool VerifierService::available() {
#ifdef ATLS_CLI_PATH
  return true;
#else
  return false;
#endif
}

std::unique_ptr<VerifierService> VerifierService::start(const VerifierServiceOptions& options) {
#ifndef ATLS_CLI_PATH
  (void)options;
  ADD_FAILURE() << "this build has no atls command";
  return nullptr;
#else
  auto svc = std::unique_ptr<VerifierService>(new VerifierService());
  svc->m_dir = std::make_unique<TempDir>();
  const TempDir& dir = *svc->m_dir;
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  EXPECT_TRUE(key);
  if (!key) {
    return nullptr;
  }
  svc->m_ear_public_pem = ossl::public_key_pem(key->get()).value();
  std::string session_key = options.session_key_hex;
  if (session_key.empty()) {
    Bytes k(32);
    atls::SystemRng().fill(k);
    session_key = to_hex(k);
  }
  EXPECT_TRUE(write_text_file(dir.file("ear-key.pem"), ossl::private_key_pem(key->get()).value()));
  EXPECT_TRUE(write_text_file(dir.file("policy.json"), options.policy_json));
  EXPECT_TRUE(write_text_file(dir.file("session.key"), session_key + "\n"));
  ProcessOptions po;
  po.argv = {ATLS_CLI_PATH,   "verifier",
             "--listen",      "127.0.0.1:0",
             "--policy",      dir.file("policy.json"),
             "--ear-key",     dir.file("ear-key.pem"),
             "--session-key", dir.file("session.key")};
  po.argv.insert(po.argv.end(), options.extra_args.begin(), options.extra_args.end());
  po.output_file = dir.file("verifier.log");
  auto child = ChildProcess::start(po);
  EXPECT_TRUE(child) << child.error().to_string();
  if (!child) {
    return nullptr;
  }
  svc->m_process = std::move(*child);
  // The service prints the address it listens on first.
  const std::regex address(R"(127\.0\.0\.1:([0-9]+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string out = svc->m_process->output();
    if (std::regex_search(out, m, address) && std::stoi(m[1]) != 0) {
      svc->m_port = static_cast<std::uint16_t>(std::stoi(m[1]));
      svc->m_url = "http://127.0.0.1:" + std::to_string(svc->m_port);
      return svc;
    }
    if (!svc->m_process->is_running()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "atls verifier did not start: " << svc->m_process->output();
  return nullptr;
#endif
}

VerifierService::~VerifierService() = default;

std::string VerifierService::log() const {
  return m_process ? m_process->output() : std::string();
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
