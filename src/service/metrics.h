#pragma once

// The Verifier service's metrics in the Prometheus text exposition format
// (docs/verifier-service.md, "Metrics"): requests by route and status,
// verifications by media type and outcome, and a histogram of verification
// latency with fixed buckets. Thread-safe.

#include "src/service/prometheus.h"

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace atls::service {

class Metrics {
 public:
  // count_request counts one answered request. |route| is one of a fixed
  // set (route_of), so label values stay bounded.
  void count_request(std::string_view route, int status);
  // count_verification counts one submitted Evidence and its latency.
  // |media_type| must come from a bounded set (the accepted types or
  // "other"); |outcome| is an EAR status or an error code name.
  void count_verification(std::string_view media_type, std::string_view outcome, double seconds);

  // render returns every metric in the text format (version 0.0.4).
  std::string render() const;

  // route_of names the route of a request path: "newSession", "session",
  // "well-known", "metrics" or "other".
  static std::string_view route_of(std::string_view path);

 private:
  mutable std::mutex m_mutex;
  std::map<std::pair<std::string, int>, std::uint64_t> m_requests;
  std::map<std::pair<std::string, std::string>, std::uint64_t> m_verifications;
  Histogram m_latency;
};

}  // namespace atls::service
