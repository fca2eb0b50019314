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
// swtpm (started here, stopped at the end); the table of modes is
// atls_modes() in bench/handshake_modes.cc. The modes run in alternating
// rounds. The table prints handshakes/s and its ratio to plain libssl in
// the same run, median and p99 milliseconds, bytes per connection, the
// process CPU time per connection with its ratio to plain libssl (stable
// on a loaded machine, where wall-clock rates are not), the mode's CPU
// floor and atls's overhead beyond it. Every socket call has a 15 s timeout
// and each mode stops after --max-seconds.
//
// The floor of a mode is plain libssl's CPU per connection in this run plus
// the public-key operations the mode needs beyond plain TLS, each at the
// cost of a P-256 ECDSA signature or verification measured in this process
// in this run (bench/signature_cost.h, alternating with the rounds). Every
// such operation in these modes is ES256 / ecdsa_secp256r1_sha256 on a
// P-256 key. Per connection, both sides together:
// - off: none.
// - software (background-check): 2 signs + 2 verifies. The attester signs
//   its Evidence, a COSE_Sign1 EAT (src/plugins/software/attester.cc), and
//   the client verifies it (src/plugins/software/verifier.cc); the server
//   signs its authenticator's CertificateVerify and the client verifies it
//   (build_authenticator and validate_authenticator, src/tls/authenticator.cc).
//   The authenticator's certificate is the TLS certificate, already
//   verified by the handshake, so its chain is not verified again
//   (RelyingPartySide::check_peer_chain).
// - passport: 1 sign + 2 verifies. The server signs its authenticator's
//   CertificateVerify and the client verifies it; the client verifies the
//   EAR's JWS signature (src/plugins/ear/verifier.cc). The EAR is issued
//   once per attested key and cached by the attester
//   (src/plugins/ear/passport.cc), so its Evidence signature, the
//   Verifier's check of it and the EAR signature are amortised and not
//   counted. A relying party that caches verified EARs would save the EAR
//   verify too: the note under the table gives that floor.
// - mutual: 4 signs + 4 verifies: the software rows both ways (the client's
//   authenticator is signed with its attestation-only identity key, made
//   once per Config; the server does not verify its chain, policy
//   AttestationOnly). No TLS client certificate is used.
// - tpm2: no floor ('-'): the quote is signed by the TPM (swtpm, another
//   process, whose CPU is not in this process's time) and verified with the
//   AK's own key type, so P-256 costs do not describe it.
// - early-attestation: 1 sign + 1 verify: the Evidence in the server's
//   leaf CertificateEntry, signed by the attester and verified by the
//   client; the handshake's own CertificateVerify is plain TLS's.
// - ratls-certificate: 2 signs + 2 verifies: the Evidence and the minted
//   certificate's self-signature, each signed by the server and verified
//   by the client; the fresh P-256 key per connection is not in the floor.
// - gateway-token: no floor ('-'): a PSK handshake makes no signature at
//   all, fewer than plain TLS; the client was appraised once, at the
//   gateway, outside the measurement.
// These counts were checked by counting the calls of EVP_DigestSign and
// EVP_DigestVerify per connection in each mode (plain libssl makes 1 and 1:
// the server's CertificateVerify; atls with attestation off the same).
// Overhead beyond the floor, as a percentage of a whole plain handshake:
// (cpu_mode - floor_mode) / cpu_plain x 100. Goal (issue 11): at most 10 %
// in every software mode. A goal for this benchmark, never a test.
//
//   atls_handshake_bench [--n N] [--modes plain,off,software,passport,mutual,tpm2]
//                        [--rounds R] [--warmup W] [--max-seconds S]

#include "bench/handshake_modes.h"

#include "bench/bench_util.h"
#include "bench/signature_cost.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace atls::bench {
namespace {

// Floor is a mode's CPU floor per connection (bench header), in ms.
struct Floor {
  bool known = false;
  double ms = 0;
  double cached_ms = 0;  // with the cacheable verifies left out
};

Floor floor_of(const ExtraPkOps& ops, double plain_cpu_ms, const SignatureCost& cost) {
  Floor f;
  if (!ops.known || plain_cpu_ms <= 0) {
    return f;
  }
  f.known = true;
  f.ms = plain_cpu_ms + ops.signs * cost.sign_ms() + ops.verifies * cost.verify_ms();
  f.cached_ms = f.ms - ops.cacheable_verifies * cost.verify_ms();
  return f;
}

// print_table prints one row per mode. "ratio" is handshakes/s over the
// plain libssl row of the same run (wall clock: sensitive to other load on
// the machine); "cpu ms" is the process CPU time per connection, both sides,
// and "cpu ratio" plain's CPU time over the row's (insensitive to load).
// "floor ms" and "over floor" are the bench header's floor and overhead.
void print_table(const std::vector<HandshakeRow>& rows, const SignatureCost& cost) {
  double base_rate = 0;
  double base_cpu = 0;
  std::printf(
      "P-256 ECDSA/SHA-256 in this process, this run: sign %.4f ms, verify %.4f ms (%d each)\n",
      cost.sign_ms(), cost.verify_ms(), cost.count());
  std::printf("%-42s %12s %7s %10s %8s %11s %8s %9s %9s %10s %6s\n", "mode", "handshakes/s",
              "ratio", "median ms", "p99 ms", "bytes/conn", "cpu ms", "cpu ratio", "floor ms",
              "over floor", "n");
  std::vector<std::string> notes;
  std::string legend;  // "software 2+2, ..."
  for (const HandshakeRow& r : rows) {
    if (r.samples.empty()) {
      std::printf("%-42s %s\n", r.mode.c_str(), ("failed: " + r.error).c_str());
      continue;
    }
    const HandshakeStats st = handshake_stats(r);
    if (base_rate == 0) {
      base_rate = st.rate;
      base_cpu = st.cpu_ms;
    }
    const Floor f = floor_of(r.extra_ops, base_cpu, cost);
    char floor_text[32] = "-";
    char over_text[32] = "-";
    if (f.known) {
      std::snprintf(floor_text, sizeof floor_text, "%.3f", f.ms);
      std::snprintf(over_text, sizeof over_text, "%+.1f %%", (st.cpu_ms - f.ms) / base_cpu * 100);
    }
    std::printf("%-42s %12.1f %7.3f %10.3f %8.3f %11llu %8.3f %9.3f %9s %10s %6zu%s\n",
                r.mode.c_str(), st.rate, st.rate / base_rate, st.median_ms, st.p99_ms,
                static_cast<unsigned long long>(st.bytes_per_connection), st.cpu_ms,
                st.cpu_ms > 0 ? base_cpu / st.cpu_ms : 0.0, floor_text, over_text, st.n,
                r.error.empty() ? "" : ("  (stopped: " + r.error + ")").c_str());
    if (r.key != "plain") {
      legend += (legend.empty() ? "" : ", ") + r.key + " " +
                (r.extra_ops.known ? std::to_string(r.extra_ops.signs) + "+" +
                                         std::to_string(r.extra_ops.verifies)
                                   : std::string("-"));
    }
    if (f.known && r.extra_ops.cacheable_verifies > 0) {
      char note[256];
      std::snprintf(note, sizeof note,
                    "%s: the floor counts %d verify(s) a cache of verified EARs would save; "
                    "without: floor %.3f ms, over floor %+.1f %%",
                    r.mode.c_str(), r.extra_ops.cacheable_verifies, f.cached_ms,
                    (st.cpu_ms - f.cached_ms) / base_cpu * 100);
      notes.emplace_back(note);
    }
  }
  std::printf(
      "floor = plain cpu + the mode's signs and verifies beyond plain TLS (%s); "
      "over floor = (cpu - floor) / plain cpu; goal <= 10 %%\n",
      legend.c_str());
  for (const std::string& n : notes) {
    std::printf("%s\n", n.c_str());
  }
}

// kSignaturesPerRound: signatures (and verifications) measured after each
// round of connections, so that their cost is sampled across the run.
constexpr int kSignaturesPerRound = 200;

int run(int argc, char** argv) {
  HandshakeRunOptions opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (parse_run_option(a, next, opt)) {
      continue;
    }
    if (a == "--help" || a == "-h") {
      print_usage(argv[0], "");
      return 0;
    } else {
      std::fprintf(stderr, "unknown option %s (try --help)\n", a.c_str());
      return 2;
    }
  }
  if (opt.modes.empty()) {
    opt.modes = default_handshake_mode_keys();
  }
  auto cost = SignatureCost::create();
  if (!cost) {
    std::fprintf(stderr, "signature cost: %s\n", cost.error().to_string().c_str());
    return 1;
  }
  Result<void> cost_ok = ok();
  opt.each_round = [&] {
    if (cost_ok) {
      cost_ok = cost->measure(kSignaturesPerRound);
    }
  };
  auto rows = run_handshake_modes(opt);
  if (!rows) {
    std::fprintf(stderr, "%s (try --help)\n", rows.error().to_string().c_str());
    return 2;
  }
  if (!cost_ok) {
    std::fprintf(stderr, "signature cost: %s\n", cost_ok.error().to_string().c_str());
    return 1;
  }
  print_table(*rows, *cost);
  return exit_status(*rows);
}

}  // namespace
}  // namespace atls::bench

int main(int argc, char** argv) {
  return atls::bench::run(argc, argv);
}
