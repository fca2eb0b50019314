#pragma once

// The remote Verifier options shared by `atls serve`, `atls connect`,
// `atls attest` and `atls verify` (docs/verifier-service.md).

#include <atls/result.h>

#include "src/remote/verifier_client.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace atls::tools {

struct VerifierOptions {
  std::string url;
  std::string ca;
  int timeout_ms = 5000;

  bool given() const { return !url.empty(); }

  // client builds the Verifier client (null when no --verifier was given).
  // Fails with InvalidArgument.
  Result<std::shared_ptr<const remote::VerifierClient>> client() const {
    if (url.empty()) {
      if (!ca.empty()) {
        return Error{ErrorCode::InvalidArgument, "--verifier-ca needs --verifier URL"};
      }
      return std::shared_ptr<const remote::VerifierClient>();
    }
    remote::ClientOptions o;
    o.url = url;
    o.ca_file = ca;
    o.timeout = std::chrono::milliseconds(timeout_ms);
    ATLS_ASSIGN_OR_RETURN(auto c, remote::VerifierClient::create(std::move(o)));
    return std::shared_ptr<const remote::VerifierClient>(std::move(c));
  }
};

// add_verifier_options adds --verifier, --verifier-ca and
// --verifier-timeout-ms to |cmd|; |what| says what the Verifier does there.
inline void add_verifier_options(CLI::App* cmd, VerifierOptions* v, const std::string& what) {
  const char* group = "Remote Verifier";
  cmd->add_option("--verifier", v->url,
                  "Remote Verifier service, https://HOST:PORT (http:// on loopback only): " + what)
      ->group(group);
  cmd->add_option("--verifier-ca", v->ca,
                  "CA certificates (PEM) that authenticate the Verifier (default: system roots)")
      ->group(group);
  cmd->add_option("--verifier-timeout-ms", v->timeout_ms,
                  "Bound on each call to the Verifier; slower fails with VerifierTimeout")
      ->capture_default_str()
      ->group(group);
}

}  // namespace atls::tools
