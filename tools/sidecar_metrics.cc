#include "tools/sidecar_metrics.h"

#include "tools/net.h"

#include <httplib.h>

namespace atls::tools {

void SidecarMetrics::connection_finished(std::string_view result, std::uint64_t from_peer,
                                         std::uint64_t to_peer) {
  const std::lock_guard<std::mutex> lock(m_mu);
  ++m_connections[std::string(result)];
  m_bytes["from_peer"] += from_peer;
  m_bytes["to_peer"] += to_peer;
}

void SidecarMetrics::attestation(std::string_view outcome) {
  const std::lock_guard<std::mutex> lock(m_mu);
  ++m_attestations[std::string(outcome)];
}

void SidecarMetrics::handshake_seconds(double s) {
  const std::lock_guard<std::mutex> lock(m_mu);
  m_handshake.observe(s);
}

void SidecarMetrics::attestation_seconds(double s) {
  const std::lock_guard<std::mutex> lock(m_mu);
  m_attestation.observe(s);
}

void SidecarMetrics::reload(bool ok) {
  const std::lock_guard<std::mutex> lock(m_mu);
  ++m_reloads[ok ? "ok" : "failed"];
}

void SidecarMetrics::set_open(std::size_t open, std::size_t handshaking) {
  const std::lock_guard<std::mutex> lock(m_mu);
  m_open = open;
  m_handshaking = handshaking;
}

std::string SidecarMetrics::render() const {
  const std::lock_guard<std::mutex> lock(m_mu);
  std::string out;
  service::append_counter_family(out, "atls_sidecar_connections_total",
                                 "Finished connections, by result (ok or the error name).",
                                 "result", m_connections);
  service::append_gauge(out, "atls_sidecar_connections_open",
                        "Connections open now (in handshake or established).",
                        static_cast<double>(m_open));
  service::append_gauge(out, "atls_sidecar_handshakes_in_progress",
                        "Connections still in their handshake and first attestation.",
                        static_cast<double>(m_handshaking));
  service::append_counter_family(
      out, "atls_sidecar_attestations_total",
      "Handshake and first-attestation outcomes, by result (ok or the error name).", "outcome",
      m_attestations);
  m_handshake.append(out, "atls_sidecar_handshake_seconds",
                     "From accept to an established connection (TLS handshake and attestation).");
  m_attestation.append(out, "atls_sidecar_attestation_seconds",
                       "Attestation work on the worker pool (Evidence, appraisal, Verifier).");
  service::append_counter_family(out, "atls_sidecar_bytes_total",
                                 "Application bytes, from the attested peer and to it.",
                                 "direction", m_bytes);
  service::append_counter_family(out, "atls_sidecar_reloads_total",
                                 "Configuration reloads (SIGHUP), by result.", "result", m_reloads);
  return out;
}

struct MetricsEndpoint::Impl {
  httplib::Server http;
  std::thread thread;
};

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<Impl> impl, std::uint16_t port)
    : m_impl(std::move(impl)), m_port(port) {}

MetricsEndpoint::~MetricsEndpoint() {
  m_impl->http.stop();
  if (m_impl->thread.joinable()) {
    m_impl->thread.join();
  }
}

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(const std::string& address,
                                                                const SidecarMetrics& metrics) {
  ATLS_ASSIGN_OR_RETURN(const HostPort hp, parse_host_port(address));
  auto impl = std::make_unique<Impl>();
  impl->http.new_task_queue = [] { return new httplib::ThreadPool(1); };
  impl->http.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4");
  });
  int port = hp.port;
  if (port == 0) {
    port = impl->http.bind_to_any_port(hp.host);
  } else if (!impl->http.bind_to_port(hp.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return Error{ErrorCode::IoError, "--metrics: cannot listen on " + hp.to_string()};
  }
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  return std::make_unique<MetricsEndpoint>(std::move(impl), static_cast<std::uint16_t>(port));
}

}  // namespace atls::tools
