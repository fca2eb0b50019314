#pragma once

// Fixtures for the Exported Authenticator tests (authenticator, request,
// scheme and exporter tests): fresh keys and certificates, a TLS 1.3
// connection between two SSL objects over a BIO pair, and byte helpers to
// assemble wire structures by hand, independently of src/tls.

#include <atls/bytes.h>

#include "src/ossl/crypto.h"
#include "src/ossl/ssl_ptr.h"

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace atls::test {

// Identity is a key and a certificate for it.
struct Identity {
  ossl::UniquePtr<EVP_PKEY> key;
  ossl::UniquePtr<X509> cert;
  Bytes der;
};

// make_key returns a fresh key of |type| (RSA: 2048 bits).
ossl::UniquePtr<EVP_PKEY> make_key(ossl::KeyType type);

// make_identity returns a certificate for a fresh key of |type|, signed by
// |issuer| (self-signed when null).
Identity make_identity(ossl::KeyType type, const char* cn, const Identity* issuer = nullptr);

// TlsPair is a connected client and server.
struct TlsPair {
  ossl::UniquePtr<SSL_CTX> client_ctx;
  ossl::UniquePtr<SSL_CTX> server_ctx;
  ossl::UniquePtr<SSL> client;
  ossl::UniquePtr<SSL> server;
};

// connect_pair runs a handshake of |version| (and TLS 1.3 |suites|, if not
// null) between two SSL objects over a BIO pair; the server presents
// |server_id|. A handshake that does not complete is a test failure.
TlsPair connect_pair(const Identity& server_id, int version = TLS1_3_VERSION,
                     const char* suites = nullptr);

// Byte helpers. They go through ByteWriter: g++ 12 reports false
// -Warray-bounds on vector::insert after small initializer-list vectors.
// hs_msg returns uint8 type ‖ uint24 length ‖ body.
Bytes hs_msg(std::uint8_t type, ByteView body);
void append(Bytes& b, ByteView v);
void put16(Bytes& b, std::size_t v);
void put24(Bytes& b, std::size_t v);
Bytes concat(std::initializer_list<ByteView> parts);

}  // namespace atls::test
