#include "src/tls/ratls.h"

#include "src/attestation/evidence_cmw.h"
#include "src/core/encoding.h"
#include "src/formats/cmw/cmw.h"
#include "src/formats/cmw/cmw_x509.h"
#include "src/formats/ratls/dice_evidence.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/tls/config.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <utility>

namespace atls::internal {
namespace {

// --- minting -------------------------------------------------------------

// add_cmw_extension adds a non-critical id-pe-cmw extension holding |der|
// (the DER CMW CHOICE) to |cert| (borrowed).
Result<void> add_cmw_extension(X509* cert, ByteView der) {
  ossl::UniquePtr<ASN1_OBJECT> oid(::OBJ_txt2obj(std::string(kOidPeCmw).c_str(), 1));
  ossl::UniquePtr<ASN1_OCTET_STRING> value(::ASN1_OCTET_STRING_new());
  if (!oid || !value ||
      ::ASN1_OCTET_STRING_set(value.get(), der.data(), static_cast<int>(der.size())) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "id-pe-cmw extension value");
  }
  ossl::UniquePtr<X509_EXTENSION> ext(
      ::X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
  if (!ext || ::X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "X509_add_ext id-pe-cmw");
  }
  return ok();
}

// --- verification ----------------------------------------------------------

// check_self_signed checks that |cert| is valid at |at| and verifies under
// its own key, which is all a self-signed RA-TLS certificate can offer:
// trust comes from the Evidence, not from an issuer. (Not OpenSSL's path
// building: it refuses a self-signed leaf whose keyUsage lacks keyCertSign.)
Result<void> check_self_signed(X509* cert, std::int64_t at) {
  const time_t t = static_cast<time_t>(at);
  const ASN1_TIME* not_before = ::X509_get0_notBefore(cert);  // borrowed from cert
  const ASN1_TIME* not_after = ::X509_get0_notAfter(cert);    // borrowed from cert
  if (not_before == nullptr || not_after == nullptr) {
    return Error{ErrorCode::CertMalformed, "certificate without validity"};
  }
  const int before = ::ASN1_TIME_cmp_time_t(not_before, t);
  const int after = ::ASN1_TIME_cmp_time_t(not_after, t);
  if (before == -2 || after == -2) {
    (void)ossl::drain_errors();
    return Error{ErrorCode::CertMalformed, "certificate validity does not parse"};
  }
  if (before > 0) {
    return Error{ErrorCode::CertNotYetValid,
                 "RA-TLS certificate is not valid before " + ossl::format_time(at)};
  }
  if (after < 0) {
    return Error{ErrorCode::CertExpired,
                 "RA-TLS certificate expired before " + ossl::format_time(at)};
  }
  EVP_PKEY* key = ::X509_get0_pubkey(cert);  // borrowed from cert
  if (key == nullptr || ::X509_verify(cert, key) != 1) {
    (void)ossl::drain_errors();
    return Error{ErrorCode::CertChainInvalid, "RA-TLS certificate is not signed by its own key"};
  }
  return ok();
}

// The Evidence and what it must be bound to, read from the certificate.
struct CertEvidence {
  RatlsExtension extension = RatlsExtension::Cmw;
  Evidence evidence;
  Bytes expected_nonce;
  nlohmann::json dice_claims;
};

Result<CertEvidence> cmw_evidence(X509* cert, ByteView spki, const RatlsVerifyOptions& opts) {
  ATLS_ASSIGN_OR_RETURN(const Cmw cmw, cmw_from_certificate(cert));
  Bytes wire;
  if (cmw.format == Cmw::Format::Json) {
    ATLS_ASSIGN_OR_RETURN(const std::string json, encode_cmw_json(cmw));
    wire = to_bytes(json);
  } else {
    ATLS_ASSIGN_OR_RETURN(wire, encode_cmw_cbor(cmw));
  }
  CertEvidence out;
  out.extension = RatlsExtension::Cmw;
  ATLS_ASSIGN_OR_RETURN(out.evidence, evidence_from_cmw(wire));
  ATLS_ASSIGN_OR_RETURN(out.expected_nonce, ratls_binding_nonce(spki, opts.connection_nonce));
  return out;
}

ossl::HashAlg dice_hash(std::uint64_t alg) {
  return alg == 7   ? ossl::HashAlg::Sha384
         : alg == 8 ? ossl::HashAlg::Sha512
                    : ossl::HashAlg::Sha256;
}

Result<CertEvidence> dice_evidence(ByteView ext_value, ByteView spki,
                                   std::vector<RatlsCheck>& checks) {
  ATLS_ASSIGN_OR_RETURN(const DiceRatlsEvidence dice, parse_dice_ratls_evidence(ext_value));
  //= https://github.com/CCC-Attestation/interoperable-ra-tls (claims-buffer)
  //# "pubkey-hash": the hash of the DER-encoded SubjectPublicKeyInfo
  ATLS_ASSIGN_OR_RETURN(const Bytes spki_hash, ossl::digest(dice_hash(dice.hash_alg), spki));
  if (!constant_time_equal(spki_hash, dice.pubkey_hash)) {
    return Error{ErrorCode::RatlsKeyBindingMismatch,
                 "pubkey-hash " + to_hex(dice.pubkey_hash) +
                     " is not the hash of the certificate's SubjectPublicKeyInfo " +
                     to_hex(spki_hash)};
  }
  checks.push_back({"key binding", "claims-buffer pubkey-hash == hash(SPKI) " + to_hex(spki_hash)});
  CertEvidence out;
  out.extension = RatlsExtension::TcgDice;
  ATLS_ASSIGN_OR_RETURN(
      out.evidence,
      evidence_from_records({EvidenceRecord{"", std::string(kMediaTypeSgxQuote), dice.quote, 0}}));
  // The quote's report_data is SHA-256(claims-buffer) ‖ 32 zero bytes: the
  // SGX verifier compares it with this nonce zero-padded to 64 bytes.
  ATLS_ASSIGN_OR_RETURN(out.expected_nonce,
                        ossl::digest(ossl::HashAlg::Sha256, dice.claims_buffer));
  out.dice_claims = dice.other_claims;
  return out;
}

Result<CertEvidence> read_evidence(X509* cert, ByteView spki, const RatlsVerifyOptions& opts,
                                   std::vector<RatlsCheck>& checks) {
  ATLS_ASSIGN_OR_RETURN(const auto cmw_ext, ossl::find_extension(cert, kOidPeCmw));
  if (cmw_ext) {
    return cmw_evidence(cert, spki, opts);
  }
  ATLS_ASSIGN_OR_RETURN(const auto dice_ext, ossl::find_extension(cert, kOidTcgDiceTaggedEvidence));
  if (dice_ext) {
    return dice_evidence(dice_ext->value, spki, checks);
  }
  return Error{ErrorCode::RatlsNoEvidence,
               "neither id-pe-cmw (1.3.6.1.5.5.7.1.35) nor tcg-dice-TaggedEvidence "
               "(2.23.133.5.4.9)"};
}

}  // namespace

const char* ratls_extension_name(RatlsExtension e) {
  return e == RatlsExtension::Cmw ? "id-pe-cmw" : "tcg-dice-tagged-evidence";
}

Result<Bytes> ratls_binding_nonce(ByteView spki_der, ByteView connection_nonce) {
  // docs/protocol-choices.md "Intra-handshake: RA-TLS certificates".
  ATLS_ASSIGN_OR_RETURN(auto hasher, ossl::Hasher::create(ossl::HashAlg::Sha256));
  ATLS_TRY(hasher.update(spki_der));
  ATLS_TRY(hasher.update(connection_nonce));
  return hasher.finish();
}

Result<RatlsCertificate> mint_ratls_certificate(Attester& attester, const RatlsMintOptions& opts) {
  RatlsCertificate out;
  ATLS_ASSIGN_OR_RETURN(out.key, ossl::generate_key(ossl::KeyType::EcP256));
  ATLS_ASSIGN_OR_RETURN(const Bytes spki, ossl::spki_der(out.key.get()));
  ATLS_ASSIGN_OR_RETURN(out.nonce, ratls_binding_nonce(spki, opts.connection_nonce));
  AttestationRequest request;
  request.nonce = out.nonce;
  request.media_types = opts.media_types;
  request.key_spki = spki;
  ATLS_ASSIGN_OR_RETURN(const Evidence evidence, attester.attest(request));
  if (evidence.cmw.empty()) {
    return Error{ErrorCode::AttesterFailure, "the attester returned no CMW"};
  }
  ATLS_ASSIGN_OR_RETURN(const Cmw cmw, parse_cmw(evidence.cmw));
  ATLS_ASSIGN_OR_RETURN(const Bytes ext_value, cmw_extension_value(cmw));

  CertificateSpec spec;
  spec.common_name = opts.common_name;
  spec.not_before = opts.not_before;
  spec.not_after = opts.not_after;
  ATLS_ASSIGN_OR_RETURN(out.cert, make_certificate(spec, out.key.get(), nullptr, nullptr));
  ATLS_TRY(add_cmw_extension(out.cert.get(), ext_value));
  // make_certificate signed before the extension was added: sign again so
  // that the signature covers it.
  if (::X509_sign(out.cert.get(), out.key.get(), ::EVP_sha256()) <= 0) {
    return ossl::failure(ErrorCode::CryptoFailure, "X509_sign");
  }
  return out;
}

Result<RatlsAppraisal> appraise_ratls_certificate(X509* cert, const RelyingParty& rp,
                                                  const RatlsVerifyOptions& opts) {
  if (cert == nullptr) {
    return Error{ErrorCode::InvalidArgument, "no certificate"};
  }
  std::vector<RatlsCheck> checks;
  ATLS_TRY(check_self_signed(cert, opts.at));
  checks.push_back(
      {"certificate", "valid at " + ossl::format_time(opts.at) + " and signed by its own key"});
  ATLS_ASSIGN_OR_RETURN(const Bytes spki, ossl::cert_spki_der(cert));
  ATLS_ASSIGN_OR_RETURN(CertEvidence ev, read_evidence(cert, spki, opts, checks));

  Expectation expect = Expectation::background_check(ev.expected_nonce);
  expect.context.trust_anchors = opts.trust_anchors;
  auto appraisal = rp.appraise(ev.evidence, std::move(expect));
  if (!appraisal) {
    Error e = std::move(appraisal).error();
    if (e.code == ErrorCode::NonceMismatch) {
      // Name what the nonce stands for here.
      e.code = ev.extension == RatlsExtension::Cmw ? ErrorCode::RatlsKeyBindingMismatch
                                                   : ErrorCode::RatlsReportDataMismatch;
    }
    return e;
  }
  const std::string evidence_type(ev.evidence.media_type());
  if (ev.extension == RatlsExtension::Cmw) {
    checks.push_back({"evidence", evidence_type + " verified by the " +
                                      appraisal->evidence.verifier() + " verifier"});
    checks.push_back({"key binding",
                      "evidence nonce == SHA-256(SPKI" +
                          std::string(opts.connection_nonce.empty() ? "" : " || connection nonce") +
                          ") " + to_hex(ev.expected_nonce)});
  } else {
    checks.push_back({"evidence",
                      "SGX quote: PCK chain to a trusted Intel SGX Root CA, QE report "
                      "and quote signatures, Intel's SGX QE"});
    checks.push_back({"report data", "report_data == SHA-256(claims-buffer) " +
                                         to_hex(ev.expected_nonce) + " || 32 zero bytes"});
  }
  ATLS_ASSIGN_OR_RETURN(Bytes spki_sha256, ossl::digest(ossl::HashAlg::Sha256, spki));
  return RatlsAppraisal{ev.extension,
                        std::move(spki_sha256),
                        std::move(ev.expected_nonce),
                        std::move(ev.dice_claims),
                        std::move(checks),
                        std::move(*appraisal)};
}

Result<AttestationResult> verify_ratls_certificate(X509* cert, const RelyingParty& rp,
                                                   const RatlsVerifyOptions& opts) {
  ATLS_ASSIGN_OR_RETURN(RatlsAppraisal a, appraise_ratls_certificate(cert, rp, opts));
  ATLS_TRY(std::move(a.appraisal.verdict));
  return std::move(a.appraisal.result);
}

}  // namespace atls::internal
