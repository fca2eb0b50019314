#include "src/service/metrics.h"

#include "src/remote/api.h"

#include <cstdio>

namespace atls::service {
namespace {

// label escapes a label value (backslash, double quote, line feed).
std::string label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

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
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++m_bucket_counts[i];
      break;
    }
  }
  ++m_count;
  m_sum += seconds;
}

std::string Metrics::render() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  std::string out;
  out += "# HELP atls_verifier_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE atls_verifier_requests_total counter\n";
  for (const auto& [k, n] : m_requests) {
    out += "atls_verifier_requests_total{route=\"" + label(k.first) + "\",status=\"" +
           std::to_string(k.second) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP atls_verifier_verifications_total Evidence submitted, by media type and "
      "outcome (EAR status or error code).\n";
  out += "# TYPE atls_verifier_verifications_total counter\n";
  for (const auto& [k, n] : m_verifications) {
    out += "atls_verifier_verifications_total{media_type=\"" + label(k.first) + "\",outcome=\"" +
           label(k.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP atls_verifier_verification_seconds Time to appraise submitted Evidence.\n";
  out += "# TYPE atls_verifier_verification_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += m_bucket_counts[i];
    out += "atls_verifier_verification_seconds_bucket{le=\"" + number(kBuckets[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "atls_verifier_verification_seconds_bucket{le=\"+Inf\"} " + std::to_string(m_count) + "\n";
  out += "atls_verifier_verification_seconds_sum " + number(m_sum) + "\n";
  out += "atls_verifier_verification_seconds_count " + std::to_string(m_count) + "\n";
  return out;
}

}  // namespace atls::service
