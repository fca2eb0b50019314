#pragma once

// The sidecar's metrics (docs/sidecar.md, "Metrics") and the small HTTP
// endpoint that serves them as Prometheus text at GET /metrics. The loop
// thread records; the endpoint's thread renders. Thread-safe.

#include <atls/result.h>

#include "src/service/prometheus.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace atls::tools {

class SidecarMetrics {
 public:
  void connection_finished(std::string_view result, std::uint64_t from_peer, std::uint64_t to_peer);
  // attestation counts one outcome of a handshake's attestation ("ok" or an
  // error name).
  void attestation(std::string_view outcome);
  void handshake_seconds(double s);
  void attestation_seconds(double s);
  void reload(bool ok);
  void set_open(std::size_t open, std::size_t handshaking);
  std::string render() const;

 private:
  mutable std::mutex m_mu;
  std::map<std::string, std::uint64_t> m_connections;
  std::map<std::string, std::uint64_t> m_attestations;
  std::map<std::string, std::uint64_t> m_bytes;
  std::map<std::string, std::uint64_t> m_reloads;
  service::Histogram m_handshake;
  service::Histogram m_attestation;
  std::size_t m_open = 0;
  std::size_t m_handshaking = 0;
};

// MetricsEndpoint serves |metrics| over plain HTTP on its own thread.
class MetricsEndpoint {
 public:
  // start binds HOST:PORT (port 0: any free port). Fails with IoError or
  // InvalidArgument.
  static Result<std::unique_ptr<MetricsEndpoint>> start(const std::string& address,
                                                        const SidecarMetrics& metrics);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  std::uint16_t port() const { return m_port; }

  struct Impl;
  explicit MetricsEndpoint(std::unique_ptr<Impl> impl, std::uint16_t port);

 private:
  std::unique_ptr<Impl> m_impl;
  std::uint16_t m_port = 0;
};

}  // namespace atls::tools
