#pragma once

// The remote Verifier's HTTP API (docs/verifier-service.md), shared by the
// service (src/service) and its client (src/remote/verifier_client.h): the
// paths, media types and query parameters of Veraison's challenge-response
// API and the atls extensions to it.

#include <cstddef>
#include <string_view>

namespace atls::remote {

inline constexpr std::string_view kNewSessionPath = "/challenge-response/v1/newSession";
inline constexpr std::string_view kSessionPathPrefix = "/challenge-response/v1/session/";
inline constexpr std::string_view kWellKnownPath = "/.well-known/veraison/verification";
inline constexpr std::string_view kMetricsPath = "/metrics";

// The session resource's media type (request Accept, response Content-Type).
inline constexpr std::string_view kSessionMediaType =
    "application/vnd.veraison.challenge-response-session+json";
// The discovery document's media type.
inline constexpr std::string_view kDiscoveryMediaType = "application/vnd.veraison.discovery+json";
// RFC 9457 problem details.
inline constexpr std::string_view kProblemMediaType = "application/problem+json";
// Problem "type" URIs are this prefix followed by the atls error code name
// (e.g. "...#NonceMismatch"); the member "code" repeats the name.
inline constexpr std::string_view kProblemTypePrefix = "tag:atls.dev,2026:verifier-problem#";

// CMW media types the service takes besides the native Evidence types.
inline constexpr std::string_view kMediaTypeCmwCbor = "application/cmw+cbor";
inline constexpr std::string_view kMediaTypeCmwJson = "application/cmw+json";

// newSession query parameters.
inline constexpr std::string_view kParamNonceSize = "nonceSize";
inline constexpr std::string_view kParamNonce = "nonce";      // base64url, 8..64 bytes
inline constexpr std::string_view kParamBinding = "binding";  // nonce | key | tls
inline constexpr std::string_view kParamAkpub = "akpub";      // base64url DER SPKI (binding=key)

// binding values: how the Evidence's nonce relates to the session nonce.
// nonce: it is the session nonce (Veraison's behaviour, the default).
// key:   it is SHA-256(session nonce || SHA-256(akpub)) and the EAR names
//        akpub (remote passport, docs/wire-profile.md §1.5).
// tls:   the session nonce is a TLS certificate_request_context; the
//        Evidence's nonce is the connection's binder, which only the TLS
//        endpoints can compute: the Verifier reports it as the EAR's
//        eat_nonce and the relying party compares (remote background-check).
inline constexpr std::string_view kBindingNonce = "nonce";
inline constexpr std::string_view kBindingKey = "key";
inline constexpr std::string_view kBindingTls = "tls";

inline constexpr std::size_t kMinNonceSize = 8;
inline constexpr std::size_t kMaxNonceSize = 64;
inline constexpr std::size_t kDefaultNonceSize = 32;
// Upper bound of an akpub (a DER SPKI; RSA-4096 is 550 bytes).
inline constexpr std::size_t kMaxAkpubSize = 1024;

}  // namespace atls::remote
