#pragma once

// Plumbing shared by `atls serve` and `atls connect`: a stop flag set by
// SIGINT/SIGTERM, a bounded thread set, the pump that moves bytes between an
// attested Connection and a plain descriptor, and readable/JSON renderings
// of an appraisal (never raw evidence or secrets).

#include <atls/connection.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

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

// ThreadSet runs at most |limit| tasks at once, each on its own thread, and
// joins them all on destruction (after the caller asked them to stop).
class ThreadSet {
 public:
  explicit ThreadSet(std::size_t limit) : m_limit(limit) {}
  ~ThreadSet() { join_all(); }
  ThreadSet(const ThreadSet&) = delete;
  ThreadSet& operator=(const ThreadSet&) = delete;

  // try_spawn starts |task| unless |limit| tasks are running.
  bool try_spawn(std::function<void()> task);
  // reap joins finished tasks; running() counts the rest.
  void reap();
  std::size_t running();
  void join_all();

 private:
  struct Task {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::size_t m_limit;
  std::mutex m_mu;
  std::list<Task> m_tasks;
};

// ShutdownList remembers the sockets of live connections so that a stop
// request can shut them down and wake their threads.
class ShutdownList {
 public:
  std::uint64_t add(int fd);
  void remove(std::uint64_t id);
  void shutdown_all();

 private:
  std::mutex m_mu;
  std::uint64_t m_next = 1;
  std::list<std::pair<std::uint64_t, int>> m_fds;
};

// wait_then_shutdown gives running tasks |grace| to finish on their own
// (they watch the StopSignal), then shuts the remaining sockets down so that
// the tasks return and can be joined.
void wait_then_shutdown(ThreadSet& workers, ShutdownList& live,
                        std::chrono::milliseconds grace = std::chrono::milliseconds(1000));

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
