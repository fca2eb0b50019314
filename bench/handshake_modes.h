#pragma once

// The benchmark modes and their measurement: the one home of the mode set-up
// (configs, attesters, servers), shared by atls_handshake_bench,
// atls_rtt_bench (the same connections through a delaying relay) and
// atls_sidecar_bench (which compares the sidecar pair with the library's own
// attested handshake rate measured in the same run).
//
// Each mode is N sequential full TLS 1.3 connections over loopback, client
// and server in one process (the server on a thread), one shared context per
// side, P-256 certificates made at start, X25519, no resumption. Each
// connection: connect(), handshake, the client writes one byte, the server
// echoes it; the time measured runs from connect() to the first verified
// application byte back at the client. Bytes are the TCP payload counted by
// the kernel (TCP_INFO) on the client socket, both directions, for the whole
// connection (close_notify included). The modes run in alternating rounds,
// so that a change in machine load during the run affects every row alike.

#include <atls/result.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace atls::bench {

struct HandshakeSample {
  double ms = 0;  // connect() to the first echoed byte
  std::uint64_t bytes = 0;
};

// ExtraPkOps counts the public-key operations a mode needs per connection
// beyond what plain TLS does (the header of bench/handshake_bench.cc says
// where each comes from): the mode's CPU floor is plain libssl's CPU plus
// these at their P-256 cost.
struct ExtraPkOps {
  bool known = true;  // false: no floor is given (tpm2: the quote is signed by the TPM)
  int signs = 0;
  int verifies = 0;
  // cacheable_verifies: of |verifies|, those a relying party that caches
  // verified results (the EAR of a passport) would not repeat.
  int cacheable_verifies = 0;
};

// HandshakeRow is what one mode measured.
struct HandshakeRow {
  std::string key;   // "plain", "software", ...
  std::string mode;  // the row's label
  ExtraPkOps extra_ops;
  std::vector<HandshakeSample> samples;
  double seconds = 0;      // wall time of the measured connections
  double cpu_seconds = 0;  // CPU time of this process meanwhile (client + server)
  std::string error;       // why the mode stopped early ("" when it did not)
};

// HandshakeStats summarises a row (all zero when it has no samples).
struct HandshakeStats {
  std::size_t n = 0;
  double rate = 0;  // handshakes per second, wall clock
  double median_ms = 0;
  double p99_ms = 0;
  std::uint64_t bytes_per_connection = 0;
  double cpu_ms = 0;  // process CPU time per connection, both sides
};
HandshakeStats handshake_stats(const HandshakeRow& row);

// exit_status is a mode benchmark's exit code: 1 when any row stopped with
// an error, else 0.
int exit_status(const std::vector<HandshakeRow>& rows);

// handshake_mode_keys lists the modes: plain (libssl, the baseline), off
// (atls, attestation off), software (server attests, software attester,
// background check), passport, mutual and tpm2 (a private swtpm). The atls
// modes are one table in bench/handshake_modes.cc (atls_modes()).
std::vector<std::string> handshake_mode_keys();

// default_handshake_mode_keys is handshake_mode_keys() without tpm2 when
// swtpm is not installed (said on stderr).
std::vector<std::string> default_handshake_mode_keys();

struct HandshakeRunOptions {
  int n = 500;                     // measured connections per mode
  int warmup = 20;                 // unmeasured connections per mode first
  int rounds = 10;                 // the n connections are split into this many rounds
  double max_seconds = 60;         // a mode stops after this much measured time
  std::vector<std::string> modes;  // keys; "plain" is always added, first
  bool progress = true;            // print progress lines on stderr
  // via maps a mode's server port to the port its measured connections go
  // to (a relay in front of the server); unset: the server's own port.
  // Warm-up connections always go to the server directly.
  using Via = std::function<Result<std::uint16_t>(std::uint16_t server_port)>;
  Via via;
  // each_round, if set, runs once per round after the modes' connections:
  // a measurement that should alternate with the modes as they alternate
  // with each other (the handshake bench's signature costs).
  std::function<void()> each_round;
};

// parse_run_option consumes one of the options every mode benchmark shares
// (--n, --warmup, --rounds, --max-seconds, --modes; |next| returns the
// option's value) into |opt|; false when |option| is not one of them.
bool parse_run_option(const std::string& option, const std::function<std::string()>& next,
                      HandshakeRunOptions& opt);

// print_usage prints "usage: PROGRAM [--n N] EXTRA [--warmup W] ..." and the
// mode keys, for --help.
void print_usage(const char* program, const char* extra);

// run_handshake_modes sets up every mode, measures them in alternating
// rounds and stops everything it started (servers, swtpm). Returns one row
// per mode, plain first; a mode that failed has its error set and the
// samples it measured. Fails with InvalidArgument for an unknown key.
Result<std::vector<HandshakeRow>> run_handshake_modes(const HandshakeRunOptions& options);

}  // namespace atls::bench
