#include "src/service/prometheus.h"

#include <cstdio>

namespace atls::service {

std::string label_value(std::string_view v) {
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

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void append_counter_family(std::string& out, std::string_view name, std::string_view help,
                           std::string_view label,
                           const std::map<std::string, std::uint64_t>& values) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" counter\n");
  for (const auto& [k, n] : values) {
    out.append(name)
        .append("{")
        .append(label)
        .append("=\"")
        .append(label_value(k))
        .append("\"} ")
        .append(std::to_string(n))
        .append("\n");
  }
}

void append_gauge(std::string& out, std::string_view name, std::string_view help, double value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" gauge\n");
  out.append(name).append(" ").append(format_number(value)).append("\n");
}

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++m_bucket_counts[i];
      break;
    }
  }
  ++m_count;
  m_sum += seconds;
}

void Histogram::append(std::string& out, std::string_view name, std::string_view help) const {
  const std::string n(name);
  out += "# HELP " + n + " " + std::string(help) + "\n";
  out += "# TYPE " + n + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += m_bucket_counts[i];
    out += n + "_bucket{le=\"" + format_number(kBuckets[i]) + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  out += n + "_bucket{le=\"+Inf\"} " + std::to_string(m_count) + "\n";
  out += n + "_sum " + format_number(m_sum) + "\n";
  out += n + "_count " + std::to_string(m_count) + "\n";
}

}  // namespace atls::service
