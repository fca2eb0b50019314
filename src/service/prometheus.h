#pragma once

// Pieces of the Prometheus text exposition format (version 0.0.4) shared by
// the Verifier service's metrics and the sidecar's: label escaping, counter
// families with one label, gauges and a fixed-bucket latency histogram.
// Not thread-safe by themselves: their owners lock.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace atls::service {

// label_value escapes a label value (backslash, double quote, line feed).
std::string label_value(std::string_view v);
// format_number renders a sample value.
std::string format_number(double v);

// append_counter_family writes "# HELP", "# TYPE ... counter" and one sample
// per entry of |values|, labelled |label|="key".
void append_counter_family(std::string& out, std::string_view name, std::string_view help,
                           std::string_view label,
                           const std::map<std::string, std::uint64_t>& values);
// append_gauge writes one unlabelled gauge.
void append_gauge(std::string& out, std::string_view name, std::string_view help, double value);

// Histogram of durations in seconds with fixed buckets.
class Histogram {
 public:
  // The upper bounds in seconds (then +Inf).
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
  void observe(double seconds);
  void append(std::string& out, std::string_view name, std::string_view help) const;
  std::uint64_t count() const { return m_count; }

 private:
  std::array<std::uint64_t, kBuckets.size()> m_bucket_counts{};  // not cumulative
  std::uint64_t m_count = 0;
  double m_sum = 0;
};

}  // namespace atls::service
