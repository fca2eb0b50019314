#pragma once

// Small helpers shared by the benchmark programs (bench/*_bench.cc).

#include <time.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace atls::bench {

// process_cpu_seconds is the CPU time of every thread of this process: what
// a row costs regardless of other load on the machine (other processes,
// such as swtpm or a Verifier service, are not in it).
inline double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// percentile returns the |p| quantile (0..1) of |v|, nearest rank; 0 when
// |v| is empty.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

// split returns the non-empty comma-separated items of |s| (option values
// such as "software,tpm2").
inline std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto comma = s.find(',', pos);
    const std::string item =
        s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty()) {
      out.push_back(item);
    }
    if (comma == std::string::npos) {
      break;
    }
    pos = comma + 1;
  }
  return out;
}

}  // namespace atls::bench
