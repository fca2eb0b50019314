#include "src/tls/exporter.h"

#include "src/ossl/secret.h"

#include "src/ossl/ssl_ptr.h"

#include <string_view>

namespace atls::tls {
namespace {

Result<void> check_tls13(const SSL* ssl) {
  if (ssl == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no SSL object"};
  }
  if (::SSL_version(ssl) != TLS1_3_VERSION) {
    return Error{ErrorCode::TlsVersionUnsupported,
                 std::string("negotiated ") + ::SSL_get_version(ssl)};
  }
  return ok();
}

// check_exportable: the exporter master secret exists. That is after the
// handshake, and on a server already right after its own Finished, while it
// waits for the client's (docs/wire-profile.md §1.9: SSL_read_early_data
// returned SSL_READ_EARLY_DATA_FINISH, libssl's TLS_ST_EARLY_DATA).
Result<void> check_exportable(SSL* ssl) {
  ATLS_TRY(check_tls13(ssl));
  const bool first_flight = ::SSL_is_server(ssl) == 1 && ::SSL_get_state(ssl) == TLS_ST_EARLY_DATA;
  if (::SSL_is_init_finished(ssl) != 1 && !first_flight) {
    return Error{ErrorCode::InvalidArgument, "the handshake has not finished"};
  }
  return ok();
}

// export_value runs the RFC 8446 §7.5 exporter on exporter_master_secret
// (never the early exporter). In TLS 1.3 an absent and an empty context give
// the same value; we always pass a context (use_context = 1).
Result<Bytes> export_value(SSL* ssl, std::string_view label, ByteView context, std::size_t length) {
  Bytes out(length);
  if (::SSL_export_keying_material(ssl, out.data(), out.size(), label.data(), label.size(),
                                   context.data(), context.size(), 1) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure,
                         "SSL_export_keying_material(" + std::string(label) + ")");
  }
  return out;
}

}  // namespace

Result<ossl::HashAlg> connection_hash(const SSL* ssl) {
  ATLS_TRY(check_tls13(ssl));
  const SSL_CIPHER* cipher = ::SSL_get_current_cipher(ssl);  // borrowed from ssl
  if (cipher == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no cipher negotiated yet"};
  }
  const EVP_MD* md = ::SSL_CIPHER_get_handshake_digest(cipher);  // static, not owned
  if (md == nullptr) {
    return ossl::failure(ErrorCode::CryptoFailure, "cipher suite has no handshake digest");
  }
  return ossl::hash_alg_from_md(md);
}

// RFC 9261 §5.1: the Handshake Context and Finished MAC Key are TLS exporter values with
// the labels of the authenticator's sender, an empty context and
// Hash.length bytes.
Result<EaKeys> authenticator_keys(SSL* ssl, bool sender_is_server) {
  ATLS_TRY(check_exportable(ssl));
  ATLS_ASSIGN_OR_RETURN(const ossl::HashAlg hash, connection_hash(ssl));
  const std::size_t n = ossl::hash_size(hash);
  const std::string_view hc_label = sender_is_server
                                        ? "EXPORTER-server authenticator handshake context"
                                        : "EXPORTER-client authenticator handshake context";
  const std::string_view fk_label = sender_is_server ? "EXPORTER-server authenticator finished key"
                                                     : "EXPORTER-client authenticator finished key";
  EaKeys keys;
  keys.hash = hash;
  ATLS_ASSIGN_OR_RETURN(keys.handshake_context, export_value(ssl, hc_label, {}, n));
  ATLS_ASSIGN_OR_RETURN(keys.finished_key, export_value(ssl, fk_label, {}, n));
  return keys;
}

// draft-fossati-seat-expat, binding: exported_value =
// TLS-Exporter(label, certificate_request_context, 32).
Result<Bytes> attestation_exporter(SSL* ssl, ExporterLabel label, ByteView context) {
  ATLS_TRY(check_exportable(ssl));
  return export_value(ssl, exporter_label_name(label), context, 32);
}

// draft-fossati-seat-expat, binding: binding_value = Hash(public_key ||
// exported_value), public_key being the leaf's DER SPKI (docs/wire-profile.md §1.5).
Result<Bytes> compute_binder(ossl::HashAlg hash, ByteView spki_der, ByteView exported) {
  if (spki_der.empty() || exported.empty()) {
    return Error{ErrorCode::InvalidArgument, "binder needs a key and an exporter value"};
  }
  ATLS_ASSIGN_OR_RETURN(ossl::Hasher h, ossl::Hasher::create(hash));
  ATLS_TRY(h.update(spki_der));
  ATLS_TRY(h.update(exported));
  return h.finish();
}

Result<Bytes> connection_binder(SSL* ssl, ExporterLabel label, ByteView context, ByteView spki_der,
                                ByteView exported) {
  ATLS_ASSIGN_OR_RETURN(const ossl::HashAlg hash, connection_hash(ssl));
  if (!exported.empty()) {
    return compute_binder(hash, spki_der, exported);
  }
  ATLS_ASSIGN_OR_RETURN(Bytes fresh, attestation_exporter(ssl, label, context));
  auto binder = compute_binder(hash, spki_der, fresh);
  ossl::cleanse(fresh);
  return binder;
}

}  // namespace atls::tls
