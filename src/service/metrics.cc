#include "src/service/metrics.h"

#include "src/remote/api.h"
#include "src/service/prometheus.h"

namespace atls::service {

std::string_view Metrics::route_of(std::string_view path) {
  if (path == remote::kNewSessionPath) {
    return "newSession";
  }
  if (path.starts_with(remote::kSessionPathPrefix)) {
    return "session";
  }
  if (path == remote::kWellKnownPath) {
    return "well-known";
  }
  if (path == remote::kMetricsPath) {
    return "metrics";
  }
  return "other";
}

void Metrics::count_request(std::string_view route, int status) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  ++m_requests[{std::string(route), status}];
}

void Metrics::count_verification(std::string_view media_type, std::string_view outcome,
                                 double seconds) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  ++m_verifications[{std::string(media_type), std::string(outcome)}];
  m_latency.observe(seconds);
}

std::string Metrics::render() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  std::string out;
  out += "# HELP atls_verifier_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE atls_verifier_requests_total counter\n";
  for (const auto& [k, n] : m_requests) {
    out += "atls_verifier_requests_total{route=\"" + label_value(k.first) + "\",status=\"" +
           std::to_string(k.second) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP atls_verifier_verifications_total Evidence submitted, by media type and "
      "outcome (EAR status or error code).\n";
  out += "# TYPE atls_verifier_verifications_total counter\n";
  for (const auto& [k, n] : m_verifications) {
    out += "atls_verifier_verifications_total{media_type=\"" + label_value(k.first) +
           "\",outcome=\"" + label_value(k.second) + "\"} " + std::to_string(n) + "\n";
  }
  m_latency.append(out, "atls_verifier_verification_seconds",
                   "Time to appraise submitted Evidence.");
  return out;
}

}  // namespace atls::service
