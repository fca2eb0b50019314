#pragma once

// Plumbing of `atls connect` (stdin/stdout) and the demo: a stop flag set by
// SIGINT/SIGTERM, the poll loop that drives a Relay (tools/relay.h) between an
// attested Connection and a plain descriptor, and readable/JSON renderings
// of an appraisal (never raw evidence or secrets).

#include <atls/connection.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace atls::tools {

// StopSignal turns SIGINT/SIGTERM into a flag and a readable descriptor
// (a self-pipe), so poll loops wake up at once. One per process; the
// previous handlers are restored by the destructor. SIGPIPE is ignored
// while it exists (a peer that goes away is an error return, not a death).
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  bool stopped() const;
  // request sets the flag as a signal would.
  void request();
  // fd is readable once stopped.
  int fd() const;
};

// PumpOptions: what pump() connects the Connection to.
struct PumpOptions {
  // Plain side: a descriptor read from and one written to (the same socket
  // for a backend or a tunnel; stdin/stdout for `atls connect`). -1: none.
  int plain_in = -1;
  int plain_out = -1;
  // Echo the peer's bytes back instead (serve without a backend).
  bool echo = false;
  // After the plain side ended (and close_notify went out), the longest
  // wait for the peer to end its direction too: a last resort, since the
  // peer's close_notify normally ends the session first.
  std::chrono::milliseconds linger{30000};
  // Application-driven re-attestation: call Connection::reattest() every
  // |reattest_every| (0: never).
  std::chrono::milliseconds reattest_every{0};
  const StopSignal* stop = nullptr;
};

struct PumpStats {
  std::uint64_t from_peer = 0;
  std::uint64_t to_peer = 0;
};

// drive_handshake completes Connection::handshake() of a non-blocking
// connection within |deadline|. Fails with the handshake's error, or
// AttestationTimeout when the deadline passes first.
Result<void> drive_handshake(Connection& conn, std::chrono::milliseconds deadline,
                             const StopSignal* stop);

// pump moves bytes until both sides are done, an error, or a stop request.
// The Connection must be non-blocking and past its handshake.
Result<void> pump(Connection& conn, const PumpOptions& options, PumpStats& stats);

// describe_result renders an appraisal in a few readable lines.
std::string describe_result(const AttestationResult& r);
// result_summary is a one-line version for logs.
std::string result_summary(const Connection& conn);
// result_json renders the appraisal for --json (no raw evidence).
nlohmann::json result_json(const Connection& conn);
// error_json renders a failure: {"error": name, "detail": ..., "alert": ...}.
nlohmann::json error_json(const Error& e, const Connection* conn);

}  // namespace atls::tools
