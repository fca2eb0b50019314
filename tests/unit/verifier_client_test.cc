// The remote Verifier client (src/remote/verifier_client.h) and the remote
// passport attester, against a scripted HTTP Verifier on loopback: error
// mapping (down, slow, problem details), session parsing, and EAR renewal.

#include "src/remote/verifier_client.h"
#include "src/core/encoding.h"
#include "src/formats/ear/ear.h"
#include "src/ossl/keys.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/remote/api.h"
#include "tests/testlib/fake_plugins.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace atls {
namespace {

using remote::ClientOptions;
using remote::VerifierClient;

// ScriptedVerifier answers newSession with a fixed nonce and session POSTs
// with whatever |on_submit| says; it records the last submission.
class ScriptedVerifier {
 public:
  ScriptedVerifier() {
    m_server.Post(std::string(remote::kNewSessionPath),
                  [this](const httplib::Request& req, httplib::Response& res) {
                    std::lock_guard<std::mutex> lock(m_mu);
                    m_last_query = req.params;
                    if (m_on_new_session) {
                      m_on_new_session(req, res);
                      return;
                    }
                    res.status = 201;
                    res.set_header("Location", std::string(remote::kSessionPathPrefix) + "abc");
                    res.set_content(R"({"nonce":")" + base64_encode(m_nonce) +
                                        R"(","expiry":"2030-01-01T00:00:00Z","accept":["a/b"],)"
                                        R"("status":"waiting"})",
                                    std::string(remote::kSessionMediaType));
                  });
    m_server.Post(std::string(remote::kSessionPathPrefix) + "abc",
                  [this](const httplib::Request& req, httplib::Response& res) {
                    std::lock_guard<std::mutex> lock(m_mu);
                    m_last_type = req.get_header_value("Content-Type");
                    m_last_body = req.body;
                    m_on_submit(req, res);
                  });
    m_server.Get(std::string(remote::kWellKnownPath),
                 [this](const httplib::Request&, httplib::Response& res) {
                   std::lock_guard<std::mutex> lock(m_mu);
                   ++m_key_fetches;
                   res.set_content(R"({"ear-verification-key":{"kty":"EC","crv":"P-256","x":")" +
                                       m_key_x + R"(","y":"AA"}})",
                                   "application/json");
                 });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~ScriptedVerifier() {
    m_server.stop();
    m_thread.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::shared_ptr<const VerifierClient> client(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) const {
    ClientOptions o;
    o.url = url();
    o.timeout = timeout;
    auto c = VerifierClient::create(o);
    EXPECT_TRUE(c) << c.error().to_string();
    return *c;
  }
  void on_submit(std::function<void(const httplib::Request&, httplib::Response&)> f) {
    std::lock_guard<std::mutex> lock(m_mu);
    m_on_submit = std::move(f);
  }
  void on_new_session(std::function<void(const httplib::Request&, httplib::Response&)> f) {
    std::lock_guard<std::mutex> lock(m_mu);
    m_on_new_session = std::move(f);
  }
  void set_key_x(std::string x) {
    std::lock_guard<std::mutex> lock(m_mu);
    m_key_x = std::move(x);
  }
  std::string last_type() {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_last_type;
  }
  httplib::Params last_query() {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_last_query;
  }
  int key_fetches() {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_key_fetches;
  }
  const Bytes& nonce() const { return m_nonce; }

 private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mu;
  Bytes m_nonce = Bytes(32, 0x5a);
  std::string m_key_x = "k1";
  std::string m_last_type, m_last_body;
  httplib::Params m_last_query;
  int m_key_fetches = 0;
  std::function<void(const httplib::Request&, httplib::Response&)> m_on_submit =
      [](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"status":"complete","result":"e.y.s"})", "application/json");
      };
  std::function<void(const httplib::Request&, httplib::Response&)> m_on_new_session;
};

void problem(httplib::Response& res, int status, const std::string& code) {
  res.status = status;
  res.set_content(R"({"type":"x","title":"t","status":)" + std::to_string(status) +
                      R"(,"detail":"why","code":")" + code + R"("})",
                  std::string(remote::kProblemMediaType));
}

TEST(VerifierClient, UrlRules) {
  const auto make = [](std::string url) {
    ClientOptions o;
    o.url = std::move(url);
    return VerifierClient::create(o);
  };
  EXPECT_EQ(make("ftp://127.0.0.1:1").error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(make("http://").error().code, ErrorCode::InvalidArgument);
  // Plain HTTP would let an on-path attacker answer for the Verifier.
  EXPECT_EQ(make("http://verifier.example:8080").error().code, ErrorCode::InvalidArgument);
  // A name that only looks like a loopback address is not one.
  EXPECT_EQ(make("http://127.0.0.1.example.com:8080").error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(make("http://127.example:8080").error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(make("https://verifier.example:8443/prefix/"));
  EXPECT_TRUE(make("http://127.0.0.1:8080"));
  EXPECT_TRUE(make("http://127.1.2.3:8080"));
  EXPECT_TRUE(make("http://[::1]:8080"));
  EXPECT_TRUE(make("http://localhost:8080"));
  ClientOptions o;
  o.url = "http://verifier.example:8080";
  o.allow_insecure_http = true;
  EXPECT_TRUE(VerifierClient::create(o));
  o.timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(VerifierClient::create(o).error().code, ErrorCode::InvalidArgument);
}

TEST(VerifierClient, DownIsUnavailable) {
  std::string url;
  {
    ScriptedVerifier v;
    url = v.url();
  }  // stopped: nothing listens on the port now
  ClientOptions o;
  o.url = url;
  auto c = VerifierClient::create(o);
  ASSERT_TRUE(c);
  auto s = (*c)->new_session(remote::kBindingTls);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::VerifierUnavailable) << s.error().to_string();
}

TEST(VerifierClient, SlowIsTimeout) {
  ScriptedVerifier v;
  v.on_new_session([](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.status = 500;
  });
  const auto start = std::chrono::steady_clock::now();
  auto s = v.client(std::chrono::milliseconds(300))->new_session(remote::kBindingTls);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::VerifierTimeout) << s.error().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1400));
}

TEST(VerifierClient, SessionIsParsed) {
  ScriptedVerifier v;
  auto s = v.client()->new_session(remote::kBindingKey, Bytes{1, 2, 3});
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->nonce, v.nonce());
  EXPECT_EQ(s->path, std::string(remote::kSessionPathPrefix) + "abc");
  EXPECT_EQ(s->accept, std::vector<std::string>{"a/b"});
  const auto q = v.last_query();
  EXPECT_EQ(q.find("binding")->second, "key");
  EXPECT_EQ(q.find("akpub")->second, base64url_encode(Bytes{1, 2, 3}));
  EXPECT_EQ(q.find("nonceSize")->second, "32");
}

TEST(VerifierClient, AbsoluteLocationBecomesAPath) {
  ScriptedVerifier v;
  v.on_new_session([&](const httplib::Request&, httplib::Response& res) {
    res.status = 201;
    res.set_header("Location", "https://elsewhere.example/challenge-response/v1/session/abc");
    res.set_content(R"({"nonce":")" + base64_encode(Bytes(16, 7)) + R"(","status":"waiting"})",
                    "application/json");
  });
  auto s = v.client()->new_session(remote::kBindingNonce);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->path, std::string(remote::kSessionPathPrefix) + "abc");
}

TEST(VerifierClient, MalformedSessionsAreRejected) {
  ScriptedVerifier v;
  for (const std::string& body : {std::string("not json"), std::string(R"({"status":"waiting"})"),
                                  R"({"nonce":")" + base64_encode(Bytes(4, 1)) + R"("})",
                                  R"({"nonce":")" + base64_encode(Bytes(65, 1)) + R"("})"}) {
    v.on_new_session([&](const httplib::Request&, httplib::Response& res) {
      res.status = 201;
      res.set_header("Location", std::string(remote::kSessionPathPrefix) + "abc");
      res.set_content(body, "application/json");
    });
    auto s = v.client()->new_session(remote::kBindingNonce);
    ASSERT_FALSE(s) << body;
    EXPECT_EQ(s.error().code, ErrorCode::VerifierRejected) << body;
  }
  // A session somewhere else than the session path is not followed.
  v.on_new_session([&](const httplib::Request&, httplib::Response& res) {
    res.status = 201;
    res.set_header("Location", "/admin");
    res.set_content(R"({"nonce":")" + base64_encode(Bytes(32, 1)) + R"("})", "application/json");
  });
  EXPECT_EQ(v.client()->new_session(remote::kBindingNonce).error().code,
            ErrorCode::VerifierRejected);
  // A Verifier that ignores the client's own nonce is caught.
  v.on_new_session(nullptr);
  EXPECT_EQ(v.client()->new_session(remote::kBindingNonce, {}, 32, Bytes(32, 1)).error().code,
            ErrorCode::VerifierRejected);
}

TEST(VerifierClient, ProblemCodesBecomeErrors) {
  ScriptedVerifier v;
  auto s = v.client()->new_session(remote::kBindingNonce);
  ASSERT_TRUE(s);
  const std::pair<int, std::string> cases[] = {
      {422, "NonceMismatch"},          {404, "VerifierSessionInvalid"},
      {410, "VerifierSessionExpired"}, {415, "UnsupportedMediaType"},
      {413, "PayloadTooLarge"},        {422, "SignatureInvalid"},
  };
  for (const auto& [status, code] : cases) {
    v.on_submit(
        [&](const httplib::Request&, httplib::Response& res) { problem(res, status, code); });
    auto r = v.client()->submit(*s, Bytes{0x83, 1, 2, 3});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().name(), code);
    EXPECT_NE(r.error().detail.find("why"), std::string::npos);
  }
  // Unknown codes and bodies that are no problem details are VerifierRejected.
  v.on_submit([](const httplib::Request&, httplib::Response& res) { problem(res, 422, "Bogus"); });
  EXPECT_EQ(v.client()->submit(*s, Bytes{1}).error().code, ErrorCode::VerifierRejected);
  v.on_submit([](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("oops", "text/plain");
  });
  EXPECT_EQ(v.client()->submit(*s, Bytes{1}).error().code, ErrorCode::VerifierRejected);
  // "Ok" is not an error a Verifier can report.
  v.on_submit([](const httplib::Request&, httplib::Response& res) { problem(res, 422, "Ok"); });
  EXPECT_EQ(v.client()->submit(*s, Bytes{1}).error().code, ErrorCode::VerifierRejected);
  // A 200 without a complete result is not a result.
  v.on_submit([](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"waiting"})", "application/json");
  });
  EXPECT_EQ(v.client()->submit(*s, Bytes{1}).error().code, ErrorCode::VerifierRejected);
}

TEST(VerifierClient, SubmitNamesTheCmwSerialization) {
  ScriptedVerifier v;
  auto s = v.client()->new_session(remote::kBindingNonce);
  ASSERT_TRUE(s);
  auto r = v.client()->submit(*s, to_bytes(R"(["a/b","AA"])"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, "e.y.s");
  EXPECT_EQ(v.last_type(), remote::kMediaTypeCmwJson);
  ASSERT_TRUE(v.client()->submit(*s, Bytes{0x82, 0x61, 0x61, 0x41, 0}));
  EXPECT_EQ(v.last_type(), remote::kMediaTypeCmwCbor);
}

TEST(VerifierClient, EarKeyIsFetchedOnceUntilRefreshed) {
  ScriptedVerifier v;
  auto c = v.client();
  auto k1 = c->ear_key();
  ASSERT_TRUE(k1) << k1.error().to_string();
  EXPECT_NE(as_string_view(*k1).find("\"k1\""), std::string_view::npos);
  v.set_key_x("k2");
  EXPECT_EQ(*c->ear_key(), *k1);
  EXPECT_EQ(v.key_fetches(), 1);
  auto k2 = c->ear_key(/*refresh=*/true);
  ASSERT_TRUE(k2);
  EXPECT_NE(as_string_view(*k2).find("\"k2\""), std::string_view::npos);
  EXPECT_EQ(v.key_fetches(), 2);
}

// --- remote passport: renewal ---------------------------------------------------

std::string signed_ear(EVP_PKEY* key, std::int64_t iat, std::int64_t exp) {
  Ear ear;
  ear.profile = std::string(kEarProfileIetf03);
  ear.iat = iat;
  ear.exp = exp;
  ear.status = TrustTier::Affirming;
  ear.verifier_id = {"test", "test"};
  EarSubmod sm;
  sm.name = "fake";
  sm.status = TrustTier::Affirming;
  ear.submods.push_back(sm);
  auto jwt = sign_ear_jwt(ear, key);
  EXPECT_TRUE(jwt) << jwt.error().to_string();
  return *jwt;
}

TEST(RemotePassport, RenewsPresentsStillValidAndExpires) {
  ScriptedVerifier v;
  auto key = ossl::generate_key(ossl::KeyType::EcP256);
  ASSERT_TRUE(key);
  FixedClock clock(1'000'000);
  std::atomic<std::int64_t> issued_exp{clock.now() + 100};
  std::atomic<bool> down{false};
  std::atomic<int> submissions{0};
  std::string last_body;
  v.on_submit([&](const httplib::Request& req, httplib::Response& res) {
    if (down) {
      res.status = 503;
      return;
    }
    ++submissions;
    last_body = req.body;
    res.set_content(R"({"status":"complete","result":")" +
                        signed_ear(key->get(), clock.now(), issued_exp) + R"("})",
                    "application/json");
  });
  std::vector<std::string> logs;
  PassportAttesterConfig pc;
  pc.evidence_attester = std::make_shared<test::FakeAttester>();
  pc.verifier = v.client();
  pc.clock = &clock;
  pc.log = [&](const std::string& l) { logs.push_back(l); };
  auto attester = make_passport_attester(std::move(pc));
  ASSERT_TRUE(attester) << attester.error().to_string();
  AttestationRequest req;
  req.key_spki = Bytes(91, 0x30);
  req.nonce = Bytes(32, 1);

  auto first = (*attester)->attest(req);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->media_type(), kMediaTypeEar);
  EXPECT_EQ(submissions, 1);
  // The session names the key, and the Evidence carries the combined nonce.
  EXPECT_EQ(v.last_query().find("binding")->second, "key");
  EXPECT_EQ(v.last_query().find("akpub")->second, base64url_encode(req.key_spki));
  auto expected_nonce = passport_evidence_nonce(v.nonce(), req.key_spki);
  ASSERT_TRUE(expected_nonce);
  EXPECT_NE(last_body.find(std::string(as_string_view(*expected_nonce))), std::string::npos);

  // Cached while not due for renewal.
  clock.set(clock.now() + 50);
  ASSERT_TRUE((*attester)->attest(req));
  EXPECT_EQ(submissions, 1);

  // Due (within refresh_margin of exp) but the Verifier is down: the still
  // valid EAR is presented, and the failure is logged.
  down = true;
  clock.set(1'000'000 + 80);
  auto stale = (*attester)->attest(req);
  ASSERT_TRUE(stale) << stale.error().to_string();
  EXPECT_EQ(stale->cmw, first->cmw);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("presenting the cached one"), std::string::npos);

  // Past exp: a specific error, never the expired EAR.
  clock.set(1'000'000 + 100);
  auto expired = (*attester)->attest(req);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::PassportExpired) << expired.error().to_string();

  // The Verifier is back: a fresh EAR.
  down = false;
  issued_exp = clock.now() + 300;
  auto renewed = (*attester)->attest(req);
  ASSERT_TRUE(renewed) << renewed.error().to_string();
  EXPECT_NE(renewed->cmw, first->cmw);
  EXPECT_EQ(submissions, 2);
}

TEST(RemotePassport, NoEarEverFailsWithTheVerifiersCode) {
  ScriptedVerifier v;
  v.on_submit(
      [](const httplib::Request&, httplib::Response& res) { problem(res, 422, "NonceMismatch"); });
  PassportAttesterConfig pc;
  pc.evidence_attester = std::make_shared<test::FakeAttester>();
  pc.verifier = v.client();
  auto attester = make_passport_attester(std::move(pc));
  ASSERT_TRUE(attester) << attester.error().to_string();
  AttestationRequest req;
  req.key_spki = Bytes(91, 0x30);
  auto r = (*attester)->attest(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::NonceMismatch);
}

}  // namespace
}  // namespace atls
