#include "src/service/http_server.h"

#include "src/remote/api.h"
#include "src/remote/loopback.h"

#include <httplib.h>

#include <chrono>
#include <exception>

namespace atls::service {
namespace {

void send(httplib::Response& res, const Reply& r) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) {
    res.set_header(k, v);
  }
  if (!r.body.empty()) {
    res.set_content(r.body, r.content_type);
  }
}

// http_problem is the problem the HTTP layer reports for a status it set
// itself (no handler ran, or one threw).
Reply http_problem(int status) {
  switch (status) {
    case 413:
      return problem(413, Error{ErrorCode::PayloadTooLarge, "the body exceeds the size limit"});
    case 404:
      return problem(404, Error{ErrorCode::InvalidArgument, "no such resource"});
    default:
      break;
  }
  if (status >= 500) {
    return problem(status, Error{ErrorCode::Internal, ""});
  }
  return problem(status, Error{ErrorCode::InvalidArgument, "the request was not understood"});
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::create(VerifierService& service, Metrics& metrics,
                                                       Rng& rng, HttpOptions opts, Log log) {
  if (opts.tls_cert.empty() != opts.tls_key.empty()) {
    return Error{ErrorCode::InvalidArgument, "--tls-cert and --tls-key go together"};
  }
  const bool https = !opts.tls_cert.empty();
  if (!https && !remote::is_loopback_host(opts.host) && !opts.dangerous_insecure_http) {
    return Error{ErrorCode::InvalidArgument,
                 "plain HTTP only on a loopback address: give --tls-cert/--tls-key, or "
                 "--insecure-http (dangerous: sessions and EARs travel in the clear)"};
  }
  if (opts.workers == 0 || opts.max_body == 0) {
    return Error{ErrorCode::InvalidArgument, "--workers and --max-body must be positive"};
  }
  auto s = std::make_unique<HttpServer>(Passkey{});
  s->m_service = &service;
  s->m_metrics = &metrics;
  s->m_rng = &rng;
  s->m_opts = std::move(opts);
  s->m_log = std::move(log);
  s->m_https = https;
  if (https) {
    auto ssl =
        std::make_unique<httplib::SSLServer>(s->m_opts.tls_cert.c_str(), s->m_opts.tls_key.c_str());
    if (!ssl->is_valid()) {
      return Error{ErrorCode::IoError, "the TLS certificate or key does not load: " +
                                           s->m_opts.tls_cert + ", " + s->m_opts.tls_key};
    }
    s->m_server = std::move(ssl);
  } else {
    s->m_server = std::make_unique<httplib::Server>();
  }
  s->install_routes();
  return s;
}

HttpServer::HttpServer(Passkey) {}
HttpServer::~HttpServer() = default;

void HttpServer::install_routes() {
  httplib::Server& svr = *m_server;
  const std::size_t workers = m_opts.workers;
  // A fixed pool of |workers| threads; cpp-httplib takes ownership of the
  // queue it is handed (its API returns a raw pointer).
  svr.new_task_queue = [workers] {
    return std::make_unique<httplib::ThreadPool>(workers).release();
  };
  svr.set_payload_max_length(m_opts.max_body);
  svr.set_read_timeout(m_opts.read_timeout_s, 0);
  svr.set_write_timeout(m_opts.write_timeout_s, 0);
  // An idle keep-alive connection holds a worker: keep that short.
  svr.set_keep_alive_timeout(m_opts.keep_alive_timeout_s);
  svr.set_keep_alive_max_count(100);
  // Replies go out in two writes (headers, body): without TCP_NODELAY the
  // body waits for the client's delayed ACK (~40 ms) on a kept-alive
  // connection.
  svr.set_tcp_nodelay(true);

  svr.Post(std::string(remote::kNewSessionPath),
           [this](const httplib::Request& req, httplib::Response& res) {
             send(res, m_service->new_session(req.params, *m_rng));
           });
  const std::string session = std::string(remote::kSessionPathPrefix) + "(.*)";
  svr.Post(session, [this](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string& body = req.body;
    const Reply r = m_service->submit(
        req.matches[1].str(), req.get_header_value("Content-Type"),
        ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    if (!r.verification_outcome.empty()) {
      m_metrics->count_verification(r.verified_media_type, r.verification_outcome, dt.count());
    }
    send(res, r);
  });
  svr.Get(session, [this](const httplib::Request& req, httplib::Response& res) {
    send(res, m_service->get(req.matches[1].str()));
  });
  svr.Delete(session, [this](const httplib::Request& req, httplib::Response& res) {
    send(res, m_service->remove(req.matches[1].str()));
  });
  svr.Get(std::string(remote::kWellKnownPath),
          [this](const httplib::Request&, httplib::Response& res) {
            send(res, m_service->well_known());
          });
  svr.Get(std::string(remote::kMetricsPath),
          [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(m_metrics->render(), "text/plain; version=0.0.4");
          });

  // cpp-httplib calls this for every reply with status >= 400, including
  // the handlers' own problems (which have a body and are left alone).
  svr.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        send(res, http_problem(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) {
            std::rethrow_exception(ep);
          }
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        m_log(req.method + " " + std::string(Metrics::route_of(req.path)) + ": " + what);
        res.body.clear();
        send(res, http_problem(500));
      });
  // Counted before the reply is written (a logger runs after it, so a
  // client could read /metrics before its own request was counted).
  svr.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    m_metrics->count_request(Metrics::route_of(req.path), res.status);
  });
}

Result<std::uint16_t> HttpServer::bind() {
  if (m_opts.port == 0) {
    const int port = m_server->bind_to_any_port(m_opts.host);
    if (port <= 0) {
      return Error{ErrorCode::IoError, "cannot listen on " + m_opts.host};
    }
    return static_cast<std::uint16_t>(port);
  }
  if (!m_server->bind_to_port(m_opts.host, m_opts.port)) {
    return Error{ErrorCode::IoError,
                 "cannot listen on " + m_opts.host + ":" + std::to_string(m_opts.port)};
  }
  return m_opts.port;
}

bool HttpServer::run() {
  return m_server->listen_after_bind();
}

void HttpServer::stop() {
  m_server->stop();
}

}  // namespace atls::service
