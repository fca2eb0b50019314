#pragma once

// Interop surface: attach attestation to a caller-owned OpenSSL SSL_CTX and
// SSL. Everything here borrows: the caller keeps ownership of its SSL_CTX*
// and SSL*, and must keep them alive for as long as the returned
// Connection exists. The Connection never frees them.
//
//   SSL_CTX* ctx = ...;                        // the application's own
//   atls::prepare_ssl_ctx(ctx, *config, atls::Role::Server);
//   SSL* ssl = SSL_new(ctx);  SSL_set_fd(ssl, fd);
//   auto conn = atls::attach_ssl(ssl, config, atls::Role::Server);
//   conn->handshake();                         // runs SSL_accept itself
//
// Do not call SSL_read/SSL_write on an attached SSL: after the handshake
// the stream carries atls frames, and Connection::read/write translate.

#include <atls/config.h>
#include <atls/connection.h>
#include <atls/export.h>
#include <atls/result.h>

#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;  // NOLINT: OpenSSL's own typedefs
typedef struct ssl_st SSL;          // NOLINT

namespace atls {

// Role is the TLS role of an endpoint.
enum class Role : std::uint8_t { Client, Server };

// prepare_ssl_ctx configures |ctx| (borrowed) for attested connections in
// |role|: TLS 1.3 only, no session tickets or session cache, no early
// data, and the atls_negotiation extension when |config| has negotiation
// on. A server |ctx| must already hold its certificate and key, or |config|
// must provide them (they are then installed). It replaces the ctx's
// message callback and (server) ClientHello callback, and sets the peer
// verification of a client ctx from the config's certificate policy. Call
// it once per ctx. Fails with InvalidArgument (null ctx) or Internal
// (OpenSSL refused a setting, e.g. the extension was already registered;
// detail says which).
ATLS_API Result<void> prepare_ssl_ctx(SSL_CTX* ctx, const Config& config, Role role);

// attach_ssl attaches attestation to |ssl| (borrowed), which must come from
// a prepared SSL_CTX, have its BIO or fd set, and not have started its
// handshake. |host| is the SNI and WebPKI name of a client; a client whose
// certificate policy is WebPki must give one (an empty |host| fails with
// InvalidArgument instead of skipping the host-name check). The returned
// Connection runs the handshake itself (Connection::handshake) and is
// non-blocking or blocking as the BIO is. Fails with InvalidArgument.
ATLS_API Result<Connection> attach_ssl(SSL* ssl, std::shared_ptr<const Config> config, Role role,
                                       const std::string& host = {});

}  // namespace atls
