// Sidecar benchmark: the `atls connect --listen` -> `atls serve --backend`
// pair against a plain TLS tunnel of two stunnel4 processes set up the same
// way, in the same run, on loopback.
//
// Topology (both tunnels): load client -> plain listener of the client side
// -> TLS 1.3 -> server side -> an echo backend in this process (one poll
// thread). atls: `atls serve --attester software` (background check) and
// `atls connect --policy` with the policy serve wrote. stunnel4: a server
// with a self-signed P-256 certificate made at start and a client that
// verifies it; both TLS 1.3 only, no session resumption (every attested
// connection is a full handshake, docs/wire-profile.md §1.1), TCP_NODELAY on
// every socket as the atls pair has it. Every process logs one line per
// connection (atls --json, stunnel at its default level) to a file.
//
// Rows:
//   - load: --n connections at --concurrency, each connect(), write 1 KiB,
//     read the 1 KiB echo, close; the time to first byte (TTFB) runs from
//     connect() to the first echoed byte. Connections/s is the connections
//     over the wall time of their rounds; "cpu ms" is what the two tunnel
//     processes used per connection (from /proc). Then --serial-n more, one
//     at a time: the TTFB without queueing ("c=1"). atls and stunnel
//     alternate in --rounds rounds, so a change in machine load affects both.
//   - bulk: one connection per tunnel; the client writes --bulk-mib MiB
//     while a second thread reads the echo back (the backend echoes, so
//     each byte crosses the tunnel twice, once each way); MiB/s is the MiB
//     over the time from connect() to the last echoed byte. A transfer still
//     running after --bulk-max-seconds stops there and reports what it did.
//   - the library's own handshakes in the same run (bench/handshake_modes.h:
//     plain libssl and server software/background, sequential, client and
//     server in this process): the goals are taken against them.
// Goals (issue 10): connection rate >= 0.8 x the attested handshake rate;
// p50 TTFB added over stunnel <= the attested handshake's CPU time per
// connection over plain libssl + 1 ms (shown at --concurrency and at 1);
// bulk >= 0.9 x stunnel. Exit status 1 when a connection failed or a part
// could not run; unmet goals are reported, not an error.
//
//   atls_sidecar_bench [--n N] [--concurrency C] [--serial-n S] [--rounds R]
//                      [--warmup W] [--bulk-mib M] [--bulk-max-seconds T]
//                      [--handshakes H] [--atls PATH] [--stunnel PATH]

#include "bench/bench_util.h"
#include "bench/handshake_modes.h"
#include "bench/sidecar_tunnels.h"
#include "tools/net.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace atls::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using tools::Fd;

constexpr std::size_t kRequestBytes = 1024;

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

void set_timeouts(int fd, int seconds) {
  timeval tv{};
  tv.tv_sec = seconds;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool send_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// ---------------------------------------------------------------------------
// Load: 1 KiB request/response connections.

struct LoadResult {
  std::vector<double> ttfb_ms;
  double seconds = 0;
  std::size_t errors = 0;
  std::string first_error;
};

// one_exchange makes one measured connection; returns the time to first
// byte in ms, or an error text.
Result<double> one_exchange(std::uint16_t port, const std::vector<std::uint8_t>& request) {
  const auto t0 = SteadyClock::now();
  ATLS_ASSIGN_OR_RETURN(Fd fd, tools::connect_tcp({"127.0.0.1", port}, 10000));
  set_timeouts(fd.get(), 15);
  if (!send_all(fd.get(), request.data(), request.size())) {
    return tools::socket_error("send");
  }
  std::vector<std::uint8_t> got(request.size());
  std::size_t have = 0;
  double ttfb = 0;
  while (have < got.size()) {
    const ssize_t n = ::recv(fd.get(), got.data() + have, got.size() - have, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n == 0 ? Error{ErrorCode::ConnectionClosed,
                            "closed after " + std::to_string(have) + " echoed bytes"}
                    : tools::socket_error("recv");
    }
    if (have == 0) {
      ttfb = ms_since(t0);
    }
    have += static_cast<std::size_t>(n);
  }
  if (got != request) {
    return Error{ErrorCode::IoError, "the echo differs from the request"};
  }
  return ttfb;
}

// run_load makes |n| connections to 127.0.0.1:|port| from |concurrency|
// threads and adds them to |out|.
void run_load(std::uint16_t port, int n, int concurrency, LoadResult& out) {
  std::vector<std::uint8_t> request(kRequestBytes);
  for (std::size_t i = 0; i < request.size(); ++i) {
    request[i] = static_cast<std::uint8_t>('a' + i % 26);
  }
  std::atomic<int> next{0};
  std::mutex mu;
  const auto t0 = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min(concurrency, n); ++t) {
    threads.emplace_back([&] {
      std::vector<double> mine;
      while (next.fetch_add(1) < n) {
        auto r = one_exchange(port, request);
        if (r) {
          mine.push_back(*r);
          continue;
        }
        const std::lock_guard<std::mutex> lock(mu);
        ++out.errors;
        if (out.first_error.empty()) {
          out.first_error = std::string(r.error().name()) + ": " + r.error().to_string();
        }
      }
      const std::lock_guard<std::mutex> lock(mu);
      out.ttfb_ms.insert(out.ttfb_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  out.seconds += ms_since(t0) / 1000.0;
}

// ---------------------------------------------------------------------------
// Bulk: one connection, |mib| MiB each way.

struct BulkResult {
  double mib_s = 0;       // echoed MiB per second
  double mib_echoed = 0;  // less than asked when the deadline came first
  bool complete = false;
};

Result<BulkResult> run_bulk(std::uint16_t port, int mib, double max_seconds) {
  constexpr std::size_t kChunk = 64 * 1024;
  std::vector<std::uint8_t> block(kChunk);
  for (std::size_t i = 0; i < block.size(); ++i) {
    block[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  }
  const std::uint64_t total = static_cast<std::uint64_t>(mib) * 1024 * 1024;
  const auto t0 = SteadyClock::now();
  const auto deadline = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(max_seconds));
  ATLS_ASSIGN_OR_RETURN(Fd fd, tools::connect_tcp({"127.0.0.1", port}, 10000));
  set_timeouts(fd.get(), 1);  // the reader looks at the deadline at least every second
  std::atomic<bool> stop{false};
  std::atomic<bool> write_failed{false};
  std::thread writer([&] {
    std::uint64_t sent = 0;
    while (sent < total && !stop) {
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(kChunk - sent % kChunk, total - sent));
      const ssize_t n = ::send(fd.get(), block.data() + sent % kChunk, want, MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;  // a one-second send timeout: look at |stop| again
      }
      if (n <= 0) {
        write_failed = true;
        return;
      }
      sent += static_cast<std::uint64_t>(n);
    }
  });
  std::vector<std::uint8_t> buf(kChunk);
  std::uint64_t got = 0;
  Result<void> read_result = ok();
  while (got < total && SteadyClock::now() < deadline) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n <= 0) {
      read_result = n == 0 ? Error{ErrorCode::ConnectionClosed,
                                   "closed after " + std::to_string(got) + " echoed bytes"}
                           : tools::socket_error("recv");
      break;
    }
    // The stream repeats |block|; check each byte where it falls in it.
    std::size_t at = static_cast<std::size_t>(got % kChunk);
    for (ssize_t i = 0; i < n;) {
      const std::size_t run = std::min(static_cast<std::size_t>(n - i), kChunk - at);
      if (std::memcmp(buf.data() + i, block.data() + at, run) != 0) {
        read_result = Error{ErrorCode::IoError, "the echo differs at byte " + std::to_string(got)};
        break;
      }
      i += static_cast<ssize_t>(run);
      at = (at + run) % kChunk;
    }
    if (!read_result) {
      break;
    }
    got += static_cast<std::uint64_t>(n);
  }
  const double seconds = ms_since(t0) / 1000.0;
  const bool complete = got == total;
  stop = true;
  writer.join();
  ATLS_TRY(read_result);
  if (write_failed && !complete) {
    return Error{ErrorCode::IoError, "send failed after the echo of " + std::to_string(got)};
  }
  BulkResult r;
  r.mib_echoed = static_cast<double>(got) / (1024.0 * 1024.0);
  r.mib_s = r.mib_echoed / seconds;
  r.complete = complete;
  return r;
}

// ---------------------------------------------------------------------------

struct Options {
  int n = 2000;
  int concurrency = 16;
  int rounds = 4;
  int warmup = 20;
  int bulk_mib = 256;
  double bulk_max_seconds = 30;
  int serial_n = 200;
  int handshakes = 300;
  std::string atls;
  std::string stunnel = "/usr/bin/stunnel4";
};

// TunnelRow is what one tunnel measured.
struct TunnelRow {
  std::string name;
  LoadResult load;         // at --concurrency
  LoadResult serial;       // one connection at a time
  double cpu_seconds = 0;  // of the two tunnel processes during the load
  BulkResult bulk;
  std::string error;
};

// bulk_note says how far a bulk transfer came that ran out of time.
std::string bulk_note(const BulkResult& b) {
  if (b.complete || b.mib_echoed == 0) {
    return "";
  }
  char text[96];
  std::snprintf(text, sizeof text, "  (bulk stopped after %.1f MiB)", b.mib_echoed);
  return text;
}

double rate(const LoadResult& r) {
  return r.seconds > 0 ? static_cast<double>(r.ttfb_ms.size()) / r.seconds : 0.0;
}

void print_report(const Options& opt, const std::vector<TunnelRow>& rows,
                  const std::vector<HandshakeRow>& handshakes) {
  std::printf(
      "sidecar: %d connections of a 1 KiB echo at concurrency %d, %d at concurrency 1; bulk %d "
      "MiB each way\n",
      opt.n, opt.concurrency, opt.serial_n, opt.bulk_mib);
  std::printf("%-26s %8s %8s %8s %6s %8s %9s %9s %10s\n", "tunnel", "conn/s", "p50 ms", "p99 ms",
              "errors", "cpu ms", "p50 c=1", "p99 c=1", "bulk MiB/s");
  for (const TunnelRow& r : rows) {
    const double n = static_cast<double>(r.load.ttfb_ms.size());
    std::printf("%-26s %8.1f %8.3f %8.3f %6zu %8.3f %9.3f %9.3f %10.1f%s%s\n", r.name.c_str(),
                rate(r.load), percentile(r.load.ttfb_ms, 0.5), percentile(r.load.ttfb_ms, 0.99),
                r.load.errors + r.serial.errors, n > 0 ? 1000.0 * r.cpu_seconds / n : 0.0,
                percentile(r.serial.ttfb_ms, 0.5), percentile(r.serial.ttfb_ms, 0.99), r.bulk.mib_s,
                r.bulk.complete || r.bulk.mib_echoed == 0 ? "" : bulk_note(r.bulk).c_str(),
                r.error.empty() ? "" : ("  (" + r.error + ")").c_str());
  }
  std::printf("(cpu ms: both tunnel processes per connection at concurrency %d)\n",
              opt.concurrency);
  std::printf("library handshakes (sequential, one process, the same run):\n");
  std::printf("%-42s %12s %10s %8s %6s\n", "mode", "handshakes/s", "median ms", "cpu ms", "n");
  for (const HandshakeRow& h : handshakes) {
    const HandshakeStats st = handshake_stats(h);
    std::printf("%-42s %12.1f %10.3f %8.3f %6zu%s\n", h.mode.c_str(), st.rate, st.median_ms,
                st.cpu_ms, st.n, h.error.empty() ? "" : ("  (" + h.error + ")").c_str());
  }
  if (rows.size() != 2 || handshakes.size() != 2 || rows[0].load.ttfb_ms.empty() ||
      rows[1].load.ttfb_ms.empty() || rows[0].serial.ttfb_ms.empty() ||
      rows[1].serial.ttfb_ms.empty() || handshakes[0].samples.empty() ||
      handshakes[1].samples.empty()) {
    std::printf("goals: not evaluated (a part did not run)\n");
    return;
  }
  const TunnelRow& a = rows[0];
  const TunnelRow& s = rows[1];
  const HandshakeStats plain = handshake_stats(handshakes[0]);
  const HandshakeStats attested = handshake_stats(handshakes[1]);
  const double extra_cpu = attested.cpu_ms - plain.cpu_ms;
  const double added_p50 = percentile(a.load.ttfb_ms, 0.5) - percentile(s.load.ttfb_ms, 0.5);
  const double added_p50_serial =
      percentile(a.serial.ttfb_ms, 0.5) - percentile(s.serial.ttfb_ms, 0.5);
  std::printf(
      "atls / stunnel: conn/s %.3f; p50 %+.3f ms, p99 %+.3f ms; at concurrency 1 p50 %+.3f ms; "
      "bulk %.3f\n",
      rate(a.load) / rate(s.load), added_p50,
      percentile(a.load.ttfb_ms, 0.99) - percentile(s.load.ttfb_ms, 0.99), added_p50_serial,
      s.bulk.mib_s > 0 ? a.bulk.mib_s / s.bulk.mib_s : 0.0);
  std::printf(
      "attested handshake: %.1f/s, extra cpu over plain libssl %.3f ms per connection "
      "(for scale: stunnel conn/s / attested handshakes/s = %.3f)\n",
      attested.rate, extra_cpu, rate(s.load) / attested.rate);
  auto goal = [](const std::string& what, double value, const char* op, double limit, bool met) {
    std::printf("goal %-54s %9.3f %s %9.3f  %s\n", what.c_str(), value, op, limit,
                met ? "met" : "UNMET");
  };
  goal("conn/s >= 0.8 x attested handshakes/s", rate(a.load), ">=", 0.8 * attested.rate,
       rate(a.load) >= 0.8 * attested.rate);
  goal("p50 ms over stunnel <= extra cpu + 1 ms (concurrency " + std::to_string(opt.concurrency) +
           ")",
       added_p50, "<=", extra_cpu + 1.0, added_p50 <= extra_cpu + 1.0);
  goal("p50 ms over stunnel <= extra cpu + 1 ms (concurrency 1)", added_p50_serial,
       "<=", extra_cpu + 1.0, added_p50_serial <= extra_cpu + 1.0);
  goal("bulk MiB/s >= 0.9 x stunnel", a.bulk.mib_s, ">=", 0.9 * s.bulk.mib_s,
       a.bulk.complete && a.bulk.mib_s >= 0.9 * s.bulk.mib_s);
}

Result<void> parse_options(int argc, char** argv, Options& opt, bool& help) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    auto number = [&](int min) { return std::max(min, std::atoi(next().c_str())); };
    if (a == "--n") {
      opt.n = number(1);
    } else if (a == "--concurrency") {
      opt.concurrency = number(1);
    } else if (a == "--rounds") {
      opt.rounds = number(1);
    } else if (a == "--warmup") {
      opt.warmup = number(0);
    } else if (a == "--bulk-mib") {
      opt.bulk_mib = number(0);
    } else if (a == "--bulk-max-seconds") {
      opt.bulk_max_seconds = std::max(1.0, std::atof(next().c_str()));
    } else if (a == "--serial-n") {
      opt.serial_n = number(1);
    } else if (a == "--handshakes") {
      opt.handshakes = number(1);
    } else if (a == "--atls") {
      opt.atls = next();
    } else if (a == "--stunnel") {
      opt.stunnel = next();
    } else if (a == "--help" || a == "-h") {
      help = true;
    } else {
      return Error{ErrorCode::InvalidArgument, "unknown option " + a + " (try --help)"};
    }
  }
  return ok();
}

int run(int argc, char** argv) {
  Options opt;
  bool help = false;
  if (auto r = parse_options(argc, argv, opt, help); !r) {
    std::fprintf(stderr, "%s\n", r.error().detail.c_str());
    return 2;
  }
  if (help) {
    std::printf(
        "usage: %s [--n N] [--concurrency C] [--serial-n S] [--rounds R] [--warmup W]\n"
        "          [--bulk-mib M] [--bulk-max-seconds T] [--handshakes H]\n"
        "          [--atls PATH] [--stunnel PATH]\n",
        argv[0]);
    return 0;
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (opt.atls.empty()) {
    opt.atls = default_atls_path();
  }

  // The library's own handshake rate first, before any tunnel runs.
  HandshakeRunOptions hs;
  hs.n = opt.handshakes;
  hs.rounds = 5;
  hs.modes = {"software"};
  hs.progress = false;
  std::fprintf(stderr, "measuring the library's handshakes (%d each)...\n", hs.n);
  auto handshakes = run_handshake_modes(hs);
  if (!handshakes) {
    std::fprintf(stderr, "handshakes: %s\n", handshakes.error().to_string().c_str());
    return 1;
  }

  std::vector<TunnelRow> rows(2);
  rows[0].name = "atls connect -> serve";
  rows[1].name = "stunnel4 client -> server";
  EchoServer echo;
  auto echo_port = echo.start();
  if (!echo_port) {
    std::fprintf(stderr, "echo backend: %s\n", echo_port.error().to_string().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Tunnel>> tunnels(2);
  {
    auto a = start_atls_pair(opt.atls, *echo_port);
    auto s = start_stunnel_pair(opt.stunnel, *echo_port);
    if (a) {
      tunnels[0] = std::move(*a);
    } else {
      rows[0].error = std::string(a.error().name()) + ": " + a.error().detail;
    }
    if (s) {
      tunnels[1] = std::move(*s);
    } else {
      rows[1].error = std::string(s.error().name()) + ": " + s.error().detail;
    }
  }
  // Warm-up connections, then the load in alternating rounds, then bulk.
  for (std::size_t t = 0; t < tunnels.size(); ++t) {
    if (tunnels[t] && opt.warmup > 0) {
      LoadResult warm;
      run_load(tunnels[t]->port, opt.warmup, std::min(opt.warmup, opt.concurrency), warm);
      if (warm.errors > 0) {
        rows[t].error = "warm-up: " + warm.first_error + tunnels[t]->describe_failure();
        tunnels[t].reset();
      }
    }
  }
  const int rounds = std::min(opt.rounds, opt.n);
  for (int round = 0; round < rounds; ++round) {
    const int count = opt.n / rounds + (round < opt.n % rounds ? 1 : 0);
    std::fprintf(stderr, "load round %d/%d (%d connections per tunnel)\n", round + 1, rounds,
                 count);
    for (std::size_t t = 0; t < tunnels.size(); ++t) {
      if (!tunnels[t]) {
        continue;
      }
      const double cpu0 = tunnels[t]->cpu_seconds();
      run_load(tunnels[t]->port, count, opt.concurrency, rows[t].load);
      rows[t].cpu_seconds += tunnels[t]->cpu_seconds() - cpu0;
      const int serial = opt.serial_n / rounds + (round < opt.serial_n % rounds ? 1 : 0);
      run_load(tunnels[t]->port, serial, 1, rows[t].serial);
    }
  }
  for (std::size_t t = 0; t < tunnels.size(); ++t) {
    if (tunnels[t] && opt.bulk_mib > 0) {
      std::fprintf(stderr, "bulk through %s...\n", rows[t].name.c_str());
      auto b = run_bulk(tunnels[t]->port, opt.bulk_mib, opt.bulk_max_seconds);
      if (b) {
        rows[t].bulk = *b;
      } else {
        rows[t].error = "bulk: " + std::string(b.error().name()) + ": " + b.error().detail;
      }
    }
    const LoadResult& failed = rows[t].load.errors > 0 ? rows[t].load : rows[t].serial;
    if (tunnels[t] && failed.errors > 0 && rows[t].error.empty()) {
      rows[t].error = failed.first_error + tunnels[t]->describe_failure();
    }
  }
  tunnels.clear();  // stops the four processes
  echo.stop();
  print_report(opt, rows, *handshakes);
  bool failed = false;
  for (const TunnelRow& r : rows) {
    failed = failed || !r.error.empty() || r.load.errors > 0 || r.serial.errors > 0;
  }
  for (const HandshakeRow& h : *handshakes) {
    failed = failed || !h.error.empty();
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace atls::bench

int main(int argc, char** argv) {
  return atls::bench::run(argc, argv);
}
