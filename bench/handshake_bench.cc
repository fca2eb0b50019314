// Handshake-rate benchmark: N sequential full TLS 1.3 connections over
// loopback, client and server in one process (the server on a thread), one
// shared context per side, P-256 certificates made at start, X25519, no
// resumption. Each connection: connect(), handshake, the client writes one
// byte, the server echoes it; the time measured runs from connect() to the
// first verified application byte back at the client. Bytes are the TCP
// payload counted by the kernel (TCP_INFO) on the client socket, both
// directions, for the whole connection (close_notify included).
//
// Modes: plain libssl (the baseline), then the atls rows: attestation off
// (the plumbing alone), server attestation software/background-check,
// software/passport, mutual (software both ways) and tpm2 on a private
// swtpm (started here, stopped at the end). The modes run in alternating
// rounds. The table prints handshakes/s and its ratio to plain libssl in
// the same run, median and p99 milliseconds, bytes per connection, and the
// process CPU time per connection with its ratio to plain libssl (stable
// on a loaded machine, where wall-clock rates are not). Every socket call
// has a 15 s timeout and each mode stops after --max-seconds.
//
//   atls_handshake_bench [--n N] [--modes plain,off,software,passport,mutual,tpm2]
//                        [--rounds R] [--warmup W] [--max-seconds S]

#include "bench/handshake_modes.h"

#include "bench/bench_util.h"
#include "tools/swtpm_process.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace atls::bench {
namespace {

// print_table prints one row per mode. "ratio" is handshakes/s over the
// plain libssl row of the same run (wall clock: sensitive to other load on
// the machine); "cpu ms" is the process CPU time per connection, both sides,
// and "cpu ratio" plain's CPU time over the row's (insensitive to load).
void print_table(const std::vector<HandshakeRow>& rows) {
  double base_rate = 0;
  double base_cpu = 0;
  std::printf("%-34s %12s %7s %10s %8s %11s %8s %9s %6s\n", "mode", "handshakes/s", "ratio",
              "median ms", "p99 ms", "bytes/conn", "cpu ms", "cpu ratio", "n");
  for (const HandshakeRow& r : rows) {
    if (r.samples.empty()) {
      std::printf("%-34s %s\n", r.mode.c_str(), ("failed: " + r.error).c_str());
      continue;
    }
    const HandshakeStats st = handshake_stats(r);
    if (base_rate == 0) {
      base_rate = st.rate;
      base_cpu = st.cpu_ms;
    }
    std::printf("%-34s %12.1f %7.3f %10.3f %8.3f %11llu %8.3f %9.3f %6zu%s\n", r.mode.c_str(),
                st.rate, st.rate / base_rate, st.median_ms, st.p99_ms,
                static_cast<unsigned long long>(st.bytes_per_connection), st.cpu_ms,
                st.cpu_ms > 0 ? base_cpu / st.cpu_ms : 0.0, st.n,
                r.error.empty() ? "" : ("  (stopped: " + r.error + ")").c_str());
  }
}

int run(int argc, char** argv) {
  HandshakeRunOptions opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--n") {
      opt.n = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--warmup") {
      opt.warmup = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--rounds") {
      opt.rounds = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--max-seconds") {
      opt.max_seconds = std::max(1.0, std::atof(next().c_str()));
    } else if (a == "--modes") {
      opt.modes = split(next());
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: %s [--n N] [--warmup W] [--rounds R] [--max-seconds S] [--modes a,b,...]\nmodes:",
          argv[0]);
      for (const auto& key : handshake_mode_keys()) {
        std::printf(" %s", key.c_str());
      }
      std::printf("\n");
      return 0;
    } else {
      std::fprintf(stderr, "unknown option %s (try --help)\n", a.c_str());
      return 2;
    }
  }
  if (opt.modes.empty()) {
    for (const auto& key : handshake_mode_keys()) {
      if (key == "tpm2" && !tools::SwtpmProcess::available()) {
        std::fprintf(stderr, "swtpm is not installed: skipping the tpm2 row\n");
        continue;
      }
      opt.modes.push_back(key);
    }
  }
  auto rows = run_handshake_modes(opt);
  if (!rows) {
    std::fprintf(stderr, "%s (try --help)\n", rows.error().to_string().c_str());
    return 2;
  }
  print_table(*rows);
  for (const HandshakeRow& r : *rows) {
    if (!r.error.empty()) {
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace atls::bench

int main(int argc, char** argv) {
  return atls::bench::run(argc, argv);
}
