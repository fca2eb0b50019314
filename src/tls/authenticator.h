#pragma once

// RFC 9261 Exported Authenticators, built and validated outside the TLS stack
// (RFC 9261 §7 allows this), with the cmw_attestation extension of
// draft-fossati-seat-expat. The request an authenticator answers is
// src/tls/auth_request.h; the wire profile is docs/wire-profile.md
// §1.3-§1.6.
//
// This header is pure: it never sees an SSL object. The keys come from
// src/tls/exporter.h (authenticator_keys), the bytes travel in atls frames
// (src/tls/frame.h). An authenticator is parsed once (parse_authenticator)
// and the parsed value is validated (validate_authenticator). What this
// header does NOT do, and the caller must:
//   * certificate-chain policy (WebPKI chain, pinned key, attestation-only
//     identity) on ValidatedAuthenticator::chain_der / leaf;
//   * context bookkeeping: find the request by ParsedAuthenticator::context,
//     check that the context was issued by this RP on this connection and not
//     yet used (EaUnknownContext / EaContextReused for an unknown or replayed
//     context are the caller's checks; the check here is only that the
//     Certificate echoes the request it is validated against);
//   * CMW extraction, binder comparison and appraisal (src/attestation/).

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/crypto.h"
#include "src/ossl/ossl.h"
#include "src/ossl/x509.h"
#include "src/tls/auth_request.h"
#include "src/tls/extensions.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace atls::tls {

// ---------------------------------------------------------------------------
// Authenticators (RFC 9261 §5): Certificate ‖ CertificateVerify ‖ Finished,
// each a full handshake message, or Finished alone (empty authenticator).

// EaKeys are the two exporter values of one sender role (RFC 9261 §5.1):
// Handshake Context and Finished MAC Key, each Hash.length bytes, taken with
// the labels of the role that SENDS the authenticator. A sender builds with
// its own role's keys; a receiver validates with the peer role's keys.
// Obtain them with authenticator_keys() in src/tls/exporter.h. The finished
// key is secret: do not log it.
// Both values are secret: they are wiped (OPENSSL_cleanse) when the keys
// are destroyed or overwritten.
struct EaKeys {
  ossl::HashAlg hash = ossl::HashAlg::Sha256;  // the cipher suite's hash
  Bytes handshake_context;
  Bytes finished_key;

  EaKeys() = default;
  EaKeys(const EaKeys&) = default;
  EaKeys(EaKeys&&) noexcept = default;
  EaKeys& operator=(const EaKeys& other);
  EaKeys& operator=(EaKeys&& other) noexcept;
  ~EaKeys();
};

// build_authenticator returns Certificate ‖ CertificateVerify ‖ Finished:
//   Certificate       = context ‖ one CertificateEntry per |chain_der|
//                       element (leaf first); the leaf carries
//                       |leaf_extensions|, the others none;
//   CertificateVerify = scheme ‖ Sign(key, 0x20 x 64 ‖ "Exported Authenticator"
//                       ‖ 0x00 ‖ Hash(HandshakeContext ‖ request ‖ Certificate));
//   Finished          = HMAC(FinishedKey, Hash(HandshakeContext ‖ request ‖
//                       Certificate ‖ CertificateVerify)).
// |request| is the request being answered; nullptr means a spontaneous
// (server-only) authenticator, whose request part is empty. |context| is
// written into the Certificate as given: pass request->context when
// answering a request (RFC 9261 §5.2.1: it is copied from the request), or
// a fresh unpredictable value for a spontaneous one.
// The scheme is the first of the request's signature_algorithms (the
// requester's order) that we support and |key| can produce; for a
// spontaneous authenticator, the first of |spontaneous_schemes| (the
// ClientHello's signature_algorithms; empty means our supported list). No
// match fails with EaSignatureSchemeUnsupported. RFC 9261 §5.2.1 lets the
// Certificate carry only extensions the request carried: any leaf extension
// type absent from the request fails with InvalidArgument (for a spontaneous
// authenticator the caller vouches for them). An empty |chain_der|, a
// context over 255 bytes or oversized fields fail with InvalidArgument.
// |key| is borrowed; it must be the private key of chain_der[0].
Result<Bytes> build_authenticator(const EaKeys& own, const AuthRequest* request, ByteView context,
                                  std::span<const Bytes> chain_der,
                                  std::span<const Extension> leaf_extensions, EVP_PKEY* key,
                                  std::span<const std::uint16_t> spontaneous_schemes = {});

// build_empty_authenticator returns the refusal: a Finished message alone,
//   HMAC(FinishedKey, Hash(HandshakeContext ‖ request ‖ Certificate)),
// where Certificate has request.context and an empty certificate_list
// (RFC 9261 §5.2.3).
Result<Bytes> build_empty_authenticator(const EaKeys& own, const AuthRequest& request);

// cmw_extension returns the leaf's cmw_attestation extension for |cmw|:
// extension_data = uint16 len ‖ CMW (draft-fossati-seat-expat:
// `opaque cmw_data<1..2^16-1>`). Fails with InvalidArgument on an empty CMW
// or one over 65533 bytes (the outer extension_data has a 16-bit length too).
Result<Extension> cmw_extension(ByteView cmw, const ExtensionCodepoints& codepoints);

// CertificateEntryView is one parsed CertificateEntry; views borrow the
// authenticator bytes.
struct CertificateEntryView {
  ByteView cert_data;
  std::vector<Extension> extensions;
};

// ParsedAuthenticator is the structure of an authenticator, not yet
// authenticated: what parse_authenticator makes of it, once. The receiver
// finds the request it answers by |context| and validates this same value
// against that request; an empty authenticator names no context, and its
// Finished is checked against each outstanding request from this same value.
// Views borrow the input of parse_authenticator, which must outlive this
// value: certificate_message and certificate_verify_message are the exact
// bytes that the transcript hashes cover.
struct ParsedAuthenticator {
  bool is_empty = false;         // Finished only; then it names no context
  ByteView certificate_message;  // full handshake message; empty if is_empty
  ByteView certificate_verify_message;
  ByteView finished_message;
  ByteView context;  // the Certificate's certificate_request_context
  std::vector<CertificateEntryView> entries;
  std::uint16_t scheme = 0;  // CertificateVerify.algorithm
  ByteView signature;
  ByteView verify_data;  // Finished body
};

// parse_authenticator splits |authenticator| into its messages, structurally
// only (no keys, no crypto, no X.509 decoding). It accepts Certificate(11) ‖
// CertificateVerify(15) ‖ Finished(20) with a non-empty certificate_list, or
// Finished(20) alone. Wrong types or order, bad lengths, trailing bytes, an
// empty cert_data, a duplicate extension within one entry, an empty
// certificate_list, or an empty Finished fail with EaMalformed. The result
// borrows |authenticator|.
Result<ParsedAuthenticator> parse_authenticator(ByteView authenticator);

// ValidatedAuthenticator is what a valid authenticator proves: the sender
// holds the leaf key (CertificateVerify), over this connection and request
// (Finished). It proves nothing about the chain; apply certificate policy.
struct ValidatedAuthenticator {
  Bytes context;                 // equals the request's
  std::vector<Bytes> chain_der;  // leaf first
  ossl::UniquePtr<X509> leaf;    // decoded chain_der[0]
  Bytes leaf_spki;               // DER SubjectPublicKeyInfo, for the binder
  std::vector<Extension> leaf_extensions;
  std::optional<Bytes> cmw;  // cmw_data of the leaf's cmw_attestation
  std::uint16_t scheme = 0;  // the CertificateVerify scheme
  // decoded chain_der[1..], for the caller's certificate policy
  std::vector<ossl::UniquePtr<X509>> intermediates;
};

// CertificateReuse lets validate_authenticator take certificates that are
// already decoded instead of decoding them again. Both are optional and
// borrowed. A certificate is reused only for an entry whose cert_data is
// byte for byte its encoding, so the result is the one d2i_X509 would give;
// every check still runs on it.
struct CertificateReuse {
  // The certificate of the TLS handshake (SSL_get0_peer_certificate), which
  // the authenticator's leaf usually repeats.
  X509* handshake_certificate = nullptr;
  // Certificates decoded on earlier connections; entries decoded here are
  // added. Thread-safe.
  const ossl::CertificateCache* cache = nullptr;
};

// validate_authenticator checks |authenticator|, parsed by
// parse_authenticator (step 1: EaMalformed), as the answer to |request|,
// with |peer| = the keys of the SENDER's role (the peer's role). It never
// parses again. In the order of docs/wire-profile.md §1.6, the first failure
// ends validation:
//   2. Finished, compared in constant time       → EaBadFinished
//      (a Finished of the wrong length           → EaMalformed)
//   3. empty authenticator whose Finished verified → EaEmptyAuthenticator
//   4. X.509 decoding of every entry             → EaMalformed
//      scheme not in the request's list, or not one we support
//                                                → EaSignatureSchemeUnsupported
//      CertificateVerify with the leaf key       → EaBadCertificateVerify
//   5. Certificate context != request context    → EaUnknownContext
//   6. an extension, in any entry, of a type the request did not carry, or
//      cmw_attestation on a non-leaf entry       → EaUnsupportedExtension
//      cmw_attestation data not `uint16 len ‖ CMW` with 1 ≤ len, exact
//                                                → EaMalformed
// Keys that are not Hash.length bytes fail with InvalidArgument first; a
// non-empty value without entries (parse_authenticator never makes one)
// fails with EaMalformed.
// For an empty authenticator, steps 2-3 are all there is: the call checks
// its Finished against |request| and ends with EaEmptyAuthenticator when it
// verified, so a caller can try each outstanding request in turn.
// A missing cmw_attestation is not an error here (cmw is nullopt); the
// caller decides whether attestation was required (EaNoAttestation).
// Spontaneous authenticators (no request) are not validated here: the
// atls profile always answers a request (docs/wire-profile.md §1.3).
// |reuse| only saves decoding work; it never changes the outcome.
Result<ValidatedAuthenticator> validate_authenticator(const EaKeys& peer,
                                                      const AuthRequest& request,
                                                      const ParsedAuthenticator& authenticator,
                                                      const ExtensionCodepoints& codepoints,
                                                      const CertificateReuse& reuse = {});

}  // namespace atls::tls
