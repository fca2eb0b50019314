// Round-trip benchmark: the connections of atls_handshake_bench (the same
// modes, bench/handshake_modes.h), made through a relay on loopback that
// delays each direction by --delay-ms (default 25 ms, a 50 ms round trip;
// bench/delay_relay.h: the kernel's netem is not available everywhere).
// Each connection: connect() to the relay, handshake, the client writes one
// byte, the server echoes it; the time runs from connect() to the first
// verified echoed byte. The table prints, per mode, the median of --n
// connections in ms and in round trips (ms / (2 x delay)), with the fastest
// and slowest connection.
//
// TCP's own handshake is not in the count: the relay accepts locally, so
// connect() returns at once. Plain TLS 1.3 then needs 2 round trips: one
// for ClientHello -> ServerHello..Finished, one for the client's Finished
// and its byte -> the echo. Each round trip atls adds shows as one more.
// Goal (issue 11): server attestation and mutual attestation at plain's
// count, the request mode (the authenticator requested after the handshake)
// at most one more. A goal for this benchmark, never a test.
//
// Warm-up connections go to the server directly; the modes run in
// alternating rounds as in the handshake benchmark. A mode added to
// atls_modes() (bench/handshake_modes.cc) appears here too.
//
//   atls_rtt_bench [--n N] [--delay-ms D] [--modes plain,software,...]
//                  [--rounds R] [--warmup W] [--max-seconds S]

#include "bench/bench_util.h"
#include "bench/delay_relay.h"
#include "bench/handshake_modes.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace atls::bench {
namespace {

void print_table(const std::vector<HandshakeRow>& rows, double delay_ms) {
  const double rtt_ms = 2 * delay_ms;
  std::printf(
      "relay: %.1f ms each way, one round trip = %.1f ms; time from connect() to the "
      "first verified echoed byte\n",
      delay_ms, rtt_ms);
  std::printf("%-42s %10s %12s %8s %8s %11s %4s\n", "mode", "median ms", "round trips", "min ms",
              "max ms", "bytes/conn", "n");
  for (const HandshakeRow& r : rows) {
    if (r.samples.empty()) {
      std::printf("%-42s %s\n", r.mode.c_str(), ("failed: " + r.error).c_str());
      continue;
    }
    const HandshakeStats st = handshake_stats(r);
    std::vector<double> ms;
    for (const HandshakeSample& s : r.samples) {
      ms.push_back(s.ms);
    }
    std::printf("%-42s %10.1f %12.1f %8.1f %8.1f %11llu %4zu%s\n", r.mode.c_str(), st.median_ms,
                st.median_ms / rtt_ms, *std::min_element(ms.begin(), ms.end()),
                *std::max_element(ms.begin(), ms.end()),
                static_cast<unsigned long long>(st.bytes_per_connection), st.n,
                r.error.empty() ? "" : ("  (stopped: " + r.error + ")").c_str());
  }
  std::printf(
      "plain TLS 1.3: 2 round trips (handshake, then the echo; TCP's handshake is not "
      "delayed). Goal: attested modes at plain's count, request mode at most one more\n");
}

int run(int argc, char** argv) {
  HandshakeRunOptions opt;
  opt.n = 20;
  opt.rounds = 4;
  opt.warmup = 3;
  double delay_ms = 25;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (parse_run_option(a, next, opt)) {
      continue;
    }
    if (a == "--delay-ms") {
      delay_ms = std::max(1.0, std::atof(next().c_str()));
    } else if (a == "--help" || a == "-h") {
      print_usage(argv[0], "[--delay-ms D] ");
      return 0;
    } else {
      std::fprintf(stderr, "unknown option %s (try --help)\n", a.c_str());
      return 2;
    }
  }
  if (opt.modes.empty()) {
    opt.modes = default_handshake_mode_keys();
  }
  // One relay per mode, in front of its server, alive until the rows are in.
  std::vector<std::unique_ptr<DelayRelay>> relays;
  const auto one_way = std::chrono::microseconds(static_cast<long long>(delay_ms * 1000));
  opt.via = [&](std::uint16_t server_port) -> Result<std::uint16_t> {
    ATLS_ASSIGN_OR_RETURN(std::unique_ptr<DelayRelay> relay,
                          DelayRelay::start(server_port, one_way));
    relays.push_back(std::move(relay));
    return relays.back()->port();
  };
  auto rows = run_handshake_modes(opt);
  relays.clear();
  if (!rows) {
    std::fprintf(stderr, "%s (try --help)\n", rows.error().to_string().c_str());
    return 2;
  }
  print_table(*rows, delay_ms);
  return exit_status(*rows);
}

}  // namespace
}  // namespace atls::bench

int main(int argc, char** argv) {
  return atls::bench::run(argc, argv);
}
