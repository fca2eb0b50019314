#pragma once

// The Verifier service's core (docs/verifier-service.md), independent of
// HTTP: each handler takes what the request says and returns the reply to
// send (status, content type, headers, body). src/service/http_server.h
// puts it behind cpp-httplib; the unit tests call it directly.
//
// The service keeps no per-session state: a session lives in its id
// (src/service/session_token.h), and the EAR for a session is a function of
// the id, the Evidence and the policy.

#include <atls/bytes.h>
#include <atls/clock.h>
#include <atls/result.h>

#include "src/attestation/ear_issuer.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/ossl/ossl.h"
#include "src/ossl/secret.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace atls::service {

// ServiceState is everything a reload replaces, built whole before it is
// installed. Immutable once built; shared by the requests that use it.
struct ServiceState {
  Policy policy;
  ossl::UniquePtr<EVP_PKEY> ear_key;
  std::string ear_kid;              // RFC 7638 thumbprint of ear_key
  nlohmann::json ear_jwk;           // its public JWK with alg and kid
  ossl::SecretBytes session_key;    // kSessionKeySize bytes
  bool session_key_shared = false;  // read from a file (else drawn at start)
  internal::EarProfile ear_profile = internal::EarProfile::Ietf;
  std::int64_t session_ttl = 0;  // seconds
};

// StateFiles names what a ServiceState is built from.
struct StateFiles {
  std::string policy;       // policy file (docs/policy.md)
  std::string ear_key;      // EAR signing key: P-256 private key, PEM or DER
  std::string session_key;  // 32 bytes, raw or hex; "" = draw a random one
  internal::EarProfile ear_profile = internal::EarProfile::Ietf;
  std::int64_t session_ttl = 300;
};

// load_session_key reads a session key file: exactly 32 raw bytes, or 64
// hex digits (surrounding white space ignored). Fails with the file codes
// or InvalidArgument.
Result<ossl::SecretBytes> load_session_key(const std::string& path);

// build_state loads |files| into a new state. |previous_session_key|, when
// given and no session key file is named, is kept (a reload of a service
// with an ephemeral key keeps its open sessions valid); otherwise a random
// key is drawn from |rng|. Fails with the policy codes (PolicyInvalid, JSON
// codes, file codes), KeyInvalid or UnsupportedAlgorithm (the EAR key is not
// a P-256 private key), InvalidArgument (session key, ttl).
Result<std::shared_ptr<const ServiceState>> build_state(
    const StateFiles& files, const Registry& registry, Rng& rng,
    const ossl::SecretBytes* previous_session_key = nullptr);

// Reply is what a handler answers.
struct Reply {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For metrics, set by submit: the Evidence media type (one of `accept`,
  // or "other") and the outcome (the EAR status, or the error code name).
  std::string verified_media_type;
  std::string verification_outcome;
};

// problem renders |e| as RFC 9457 problem details with |status|.
Reply problem(int status, const Error& e);

// status_for maps an error of the Verifier to an HTTP status (the table of
// docs/verifier-service.md).
int status_for(ErrorCode code);

// Query holds a request's query parameters (cpp-httplib's Params).
using Query = std::multimap<std::string, std::string>;

// VerifierService answers the API's requests. Thread-safe: each request
// takes the current state once and uses it throughout, so a reload never
// changes the state under a request in flight.
class VerifierService {
 public:
  // |registry| and |clock| are borrowed and must outlive the service.
  VerifierService(const Registry& registry, const Clock& clock,
                  std::shared_ptr<const ServiceState> state);

  // POST newSession: 201 with Location and the session, or 400.
  Reply new_session(const Query& query, Rng& rng) const;
  // POST session/{id}: appraise the Evidence, 200 with the EAR, or 404,
  // 410, 415, 422, 500.
  Reply submit(std::string_view id, std::string_view content_type, ByteView body) const;
  // GET session/{id}: 200 (waiting), or 404, 410.
  Reply get(std::string_view id) const;
  // DELETE session/{id}: 204, or 404, 410.
  Reply remove(std::string_view id) const;
  // GET the well-known discovery document.
  Reply well_known() const;

  // accept lists the Evidence media types the service takes.
  const std::vector<std::string>& accept() const { return m_accept; }

  // state returns the current state; install replaces it (requests that
  // already took the old one finish with it).
  std::shared_ptr<const ServiceState> state() const;
  void install(std::shared_ptr<const ServiceState> state);

 private:
  const Registry& m_registry;
  const Clock& m_clock;
  std::vector<std::string> m_accept;
  mutable std::mutex m_mutex;
  std::shared_ptr<const ServiceState> m_state;
};

}  // namespace atls::service
