#pragma once

// The Verifier service's metrics in the Prometheus text exposition format
// (docs/verifier-service.md, "Metrics"): requests by route and status,
// verifications by media type and outcome, and a histogram of verification
// latency with fixed buckets. Thread-safe.

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
  // The histogram's upper bounds in seconds (then +Inf).
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

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
  std::array<std::uint64_t, kBuckets.size()> m_bucket_counts{};  // not cumulative
  std::uint64_t m_count = 0;
  double m_sum = 0;
};

}  // namespace atls::service
