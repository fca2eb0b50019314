#pragma once

// The client of a remote Verifier service (docs/verifier-service.md):
// challenge-response sessions in the shape of Veraison's API, Evidence in,
// EAR out, and the EAR verification key from the well-known endpoint.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/remote/replies.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace atls::remote {

struct ClientOptions {
  // http://HOST:PORT[/PREFIX] or https://HOST:PORT[/PREFIX]. Plain HTTP is
  // accepted for loopback hosts only, unless allow_insecure_http.
  std::string url;
  // PEM CA certificates for an https URL; empty: the system's roots.
  std::string ca_file;
  // Bounds connecting, sending and waiting for each reply.
  std::chrono::milliseconds timeout{5000};
  bool allow_insecure_http = false;
};

// VerifierClient talks to one Verifier service. Thread-safe: each call
// uses its own HTTP connection.
class VerifierClient {
 public:
  // create checks the URL. Fails with InvalidArgument.
  static Result<std::shared_ptr<VerifierClient>> create(ClientOptions options);

  // new_session opens a session. |binding| is a binding of src/remote/api.h;
  // |akpub| (DER SPKI) goes with binding "key"; |nonce|, when not empty, is
  // the client's own nonce instead of a drawn one of |nonce_size| bytes.
  // Fails with VerifierUnavailable, VerifierTimeout, VerifierRejected (a
  // reply that is not a session) or the code the Verifier names.
  Result<Session> new_session(std::string_view binding, ByteView akpub = {},
                              std::size_t nonce_size = 32, ByteView nonce = {}) const;

  // submit posts |cmw| (a CBOR or JSON CMW) to |session| and returns the
  // EAR (JWT). Fails as new_session does; a Verifier that refuses the
  // Evidence reports its code (NonceMismatch, SignatureInvalid,
  // VerifierSessionExpired, UnsupportedMediaType, PayloadTooLarge, ...).
  Result<std::string> submit(const Session& session, ByteView cmw) const;

  // submit_as posts |body| with the media type |media_type|.
  Result<std::string> submit_as(const Session& session, std::string_view media_type,
                                ByteView body) const;

  // discovery fetches the well-known document.
  Result<nlohmann::json> discovery() const;

  // ear_key returns the EAR verification key (JWK JSON text, as a trust
  // anchor), fetched once from the well-known endpoint and kept; with
  // |refresh| it is fetched again (after the Verifier rotated it).
  Result<Bytes> ear_key(bool refresh = false) const;

  const std::string& url() const { return m_options.url; }

 private:
  explicit VerifierClient(ClientOptions options) : m_options(std::move(options)) {}

  ClientOptions m_options;
  std::string m_origin;  // scheme://host:port
  std::string m_prefix;  // path prefix, "" or "/x"
  mutable std::mutex m_mutex;
  mutable Bytes m_key;  // guarded by m_mutex
};

}  // namespace atls::remote
