#pragma once

// The Verifier service over HTTP(S) (docs/verifier-service.md): cpp-httplib
// routes in front of VerifierService, problem details for every error the
// HTTP layer finds itself (unknown path, oversize body, an exception), a
// bounded worker pool, body and time limits, and the metrics.

#include <atls/clock.h>
#include <atls/result.h>

#include "src/service/metrics.h"
#include "src/service/verifier_service.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace atls::service {

struct HttpOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  // HTTPS when both are set (PEM files).
  std::string tls_cert;
  std::string tls_key;
  // Plain HTTP on a non-loopback address; dangerous: sessions, nonces and
  // EARs travel in the clear and can be altered on the way.
  bool dangerous_insecure_http = false;
  std::size_t workers = 2;
  std::size_t max_body = 64 * 1024;
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  int keep_alive_timeout_s = 2;
};

// HttpServer serves one VerifierService. Borrowed objects must outlive it.
class HttpServer {
 public:
  using Log = std::function<void(const std::string&)>;

  // create checks |opts| and sets the server up. Fails with InvalidArgument
  // (plain HTTP on a non-loopback address without the dangerous flag, one
  // of --tls-cert/--tls-key without the other, zero workers or body size)
  // or IoError (the certificate or key does not load).
  static Result<std::unique_ptr<HttpServer>> create(VerifierService& service, Metrics& metrics,
                                                    Rng& rng, HttpOptions opts, Log log);
  // Built only by create (the passkey is private).
  struct Passkey {
   private:
    friend class HttpServer;
    Passkey() = default;
  };
  explicit HttpServer(Passkey);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // bind binds the listening socket and returns its port. Fails with IoError.
  Result<std::uint16_t> bind();
  // run serves until stop() (call bind first); returns false on a failure.
  bool run();
  // stop ends run(); thread-safe.
  void stop();
  bool is_https() const { return m_https; }

 private:
  void install_routes();

  VerifierService* m_service = nullptr;
  Metrics* m_metrics = nullptr;
  Rng* m_rng = nullptr;
  HttpOptions m_opts;
  Log m_log;
  bool m_https = false;
  std::unique_ptr<httplib::Server> m_server;
};

}  // namespace atls::service
