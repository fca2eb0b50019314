#pragma once

// RA-TLS certificates: the certificate-extension variant of the
// intra-handshake mode (docs/wire-profile.md §2, docs/protocol-choices.md
// "Intra-handshake: RA-TLS certificates"). A self-signed certificate carries
// Evidence bound to its own key, in one of two extensions:
//
//   - id-pe-cmw (1.3.6.1.5.5.7.1.35): a CMW of Evidence of any registered
//     type whose nonce is SHA-256(SPKI DER), or SHA-256(SPKI DER ‖ nonce)
//     for a certificate minted for one connection with a per-connection
//     nonce (e.g. the ClientHello random). This is what atls mints.
//   - tcg-dice-TaggedEvidence (2.23.133.5.4.9), Interoperable RA-TLS: an SGX
//     quote whose report_data is SHA-256(claims-buffer) ‖ 32 zero bytes, the
//     claims-buffer's "pubkey-hash" naming SHA-256(SPKI DER). Read only.
//
// Both are appraised through the relying party's pipeline
// (src/attestation/relying_party.h), so the policy, trust anchors and
// reference values are those of the post-handshake mode.
//
// Relay caveat (CVE-2026-33697): the Evidence proves that some attested
// environment holds the certificate's key, not that this TLS peer is that
// environment's only user; see docs/protocol-choices.md.
//
// Nothing here touches an SSL object: the TLS engine calls these from its
// certificate callback (server, minting) and its verify callback (client or
// server, verifying the peer's leaf).

#include <atls/attester.h>
#include <atls/bytes.h>
#include <atls/result.h>

#include "src/attestation/relying_party.h"
#include "src/ossl/ossl.h"

#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atls::internal {

// RatlsExtension says which extension carried the Evidence.
enum class RatlsExtension : std::uint8_t { Cmw, TcgDice };

// ratls_extension_name returns "id-pe-cmw" or "tcg-dice-tagged-evidence".
const char* ratls_extension_name(RatlsExtension e);

// ratls_binding_nonce is the nonce a certificate's Evidence must carry:
// SHA-256(spki_der) when |connection_nonce| is empty, else
// SHA-256(spki_der ‖ connection_nonce). Fails with CryptoFailure.
Result<Bytes> ratls_binding_nonce(ByteView spki_der, ByteView connection_nonce = {});

// RatlsMintOptions describes a certificate to mint.
struct RatlsMintOptions {
  std::string common_name = "atls RA-TLS";
  // Validity (Unix seconds), from the caller's Clock. A per-connection
  // certificate can be short-lived.
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  // Empty: a long-lived certificate (nonce SHA-256(SPKI)). Otherwise the
  // per-connection nonce (e.g. the 32-byte ClientHello random).
  Bytes connection_nonce;
  // Evidence media types the Attester may choose from (empty: its default).
  std::vector<std::string> media_types;
};

// RatlsCertificate is a minted certificate and its private key. The key
// never leaves the process; for a TEE attester it is the key generated
// inside the attested environment.
struct RatlsCertificate {
  ossl::UniquePtr<EVP_PKEY> key;  // P-256
  ossl::UniquePtr<X509> cert;     // self-signed, ECDSA-SHA256
  Bytes nonce;                    // the nonce the Evidence carries
};

// mint_ratls_certificate generates a fresh P-256 key, asks |attester| for
// Evidence whose nonce is ratls_binding_nonce(SPKI, opts.connection_nonce),
// and issues a self-signed certificate carrying it as a CBOR CMW in a
// non-critical id-pe-cmw extension. Blocks for as long as the Attester does
// (a hardware quote takes milliseconds). Fails with the Attester's codes,
// AttesterFailure when the Evidence is empty, or CryptoFailure.
Result<RatlsCertificate> mint_ratls_certificate(Attester& attester, const RatlsMintOptions& opts);

// RatlsVerifyOptions tunes verify_ratls_certificate.
struct RatlsVerifyOptions {
  // Time at which the certificate must be valid (Unix seconds; the same
  // clock as the relying party's).
  std::int64_t at = 0;
  // The per-connection nonce the certificate was minted for (id-pe-cmw
  // only); empty: a long-lived certificate.
  Bytes connection_nonce;
  // Trust anchors (e.g. the Intel SGX Root CA, PEM or DER) added to the
  // policy's for this appraisal.
  std::vector<Bytes> trust_anchors;
};

// RatlsCheck is one step of the verification, for display.
struct RatlsCheck {
  std::string name;    // e.g. "self-signature", "key binding"
  std::string detail;  // what exactly was compared
};

// RatlsAppraisal is the outcome of a verification that reached the
// appraisal: which extension, the checks passed, the binding and the
// relying party's appraisal (whose verdict may still be an error).
struct RatlsAppraisal {
  RatlsExtension extension = RatlsExtension::Cmw;
  Bytes spki_sha256;
  Bytes expected_nonce;            // what the Evidence had to carry
  nlohmann::json dice_claims;      // TcgDice: the claims-buffer's other claims
  std::vector<RatlsCheck> checks;  // in order, every one passed
  Appraisal appraisal;
};

// appraise_ratls_certificate verifies |cert| (borrowed) and appraises its
// Evidence with |rp|, in this order:
//   1. the certificate is valid at opts.at (CertExpired, CertNotYetValid)
//      and verifies under its own key (CertChainInvalid);
//   2. the Evidence extension: id-pe-cmw if present, else the TCG DICE one
//      (RatlsNoEvidence when neither is; CertMalformed for a duplicate;
//      CmwMalformed / RatlsMalformed / UnsupportedAlgorithm when unreadable);
//   3. TcgDice: pubkey-hash == Hash(SPKI) (RatlsKeyBindingMismatch);
//   4. the relying party: Evidence integrity and trust anchors (the
//      Verifier's codes, e.g. SgxBadQuoteSignature, CertUntrusted), the
//      nonce (id-pe-cmw: ratls_binding_nonce, else RatlsKeyBindingMismatch;
//      TcgDice: Hash(claims-buffer) zero-padded, else
//      RatlsReportDataMismatch), reference values.
// A failure in 1-4 is returned as the error; the policy verdict is in
// appraisal.verdict.
Result<RatlsAppraisal> appraise_ratls_certificate(X509* cert, const RelyingParty& rp,
                                                  const RatlsVerifyOptions& opts);

// verify_ratls_certificate is appraise_ratls_certificate for a relying party
// that acts on the decision (a TLS verify callback): the attestation result
// when the verdict is ok, else the first error.
Result<AttestationResult> verify_ratls_certificate(X509* cert, const RelyingParty& rp,
                                                   const RatlsVerifyOptions& opts);

}  // namespace atls::internal
