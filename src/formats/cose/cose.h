#pragma once

// COSE_Sign1 (RFC 9052 §4.2, §4.4) with the ECDSA and EdDSA algorithms of
// RFC 9053: parsing, Sig_structure, verification and signing. Pure apart from
// the signature primitives in src/ossl/.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/cbor/cbor.h"

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace atls {

// COSE algorithm identifiers (RFC 9053 §2.1, §2.2; IANA "COSE Algorithms").
inline constexpr std::int64_t kCoseAlgEs256 = -7;   // ECDSA P-256 with SHA-256
inline constexpr std::int64_t kCoseAlgEs384 = -35;  // ECDSA P-384 with SHA-384
inline constexpr std::int64_t kCoseAlgEs512 = -36;  // ECDSA P-521 with SHA-512
inline constexpr std::int64_t kCoseAlgEdDsa = -8;   // EdDSA (only Ed25519 keys here)

// COSE common header parameter labels (RFC 9052 §3.1).
inline constexpr std::int64_t kCoseHeaderAlg = 1;
inline constexpr std::int64_t kCoseHeaderCrit = 2;
inline constexpr std::int64_t kCoseHeaderContentType = 3;
inline constexpr std::int64_t kCoseHeaderKid = 4;

// CBOR tags: COSE_Sign1 (RFC 9052 §2) and CWT (RFC 8392 §6).
inline constexpr std::uint64_t kCoseSign1Tag = 18;
inline constexpr std::uint64_t kCwtTag = 61;

// CoseSign1 is a parsed (not yet verified) COSE_Sign1 message. Construct one
// with parse_cose_sign1 or cose_sign1_from_cbor, then check it with
// verify_cose_sign1 before trusting the payload.
struct CoseSign1 {
  Bytes protected_bytes;  // exact protected-header bstr contents as transmitted
  CborValue protected_header = CborValue::map();    // decoded map ({} if protected_bytes is empty)
  CborValue unprotected_header = CborValue::map();  // map
  std::optional<Bytes> payload;                     // nullopt = detached (nil)
  Bytes signature;
  // 18, or 61 when CWT-tagged (61(18(...))); nullopt when untagged.
  std::optional<std::uint64_t> outer_tag;

  // alg returns the integer algorithm of the protected header (label 1), or
  // nullopt if absent there or not an integer. An alg in the unprotected
  // header is ignored: it is not covered by the signature.
  std::optional<std::int64_t> alg() const;
  // kid returns the key identifier (label 4) from either bucket, or nullopt.
  std::optional<Bytes> kid() const;
  // content_type returns label 3 (uint or tstr) from either bucket, or nullopt.
  std::optional<CborValue> content_type() const;
};

// parse_cose_sign1 decodes a tagged (18, or 61 wrapping 18) or untagged
// COSE_Sign1 occupying all of |data|. It checks the structure only: the
// signature is not verified. Every failure is CoseMalformed (undecodable or
// truncated CBOR, trailing bytes, duplicate map keys, a wrong type in any
// position, a protected header that is not a map, a wrong tag, ill-typed
// alg/crit/content type/kid, a label in both buckets); the detail names the
// cause.
Result<CoseSign1> parse_cose_sign1(ByteView data, const CborLimits& limits = {});

// cose_sign1_from_cbor is parse_cose_sign1 for an already decoded item (for
// example one embedded in a larger CBOR structure). Fails like
// parse_cose_sign1.
Result<CoseSign1> cose_sign1_from_cbor(const CborValue& v);

// cose_sig_structure returns ToBeSigned for COSE_Sign1 (RFC 9052 §4.4):
// the encoding of ["Signature1", protected, external_aad, payload].
Bytes cose_sig_structure(ByteView protected_bytes, ByteView external_aad, ByteView payload);

// verify_cose_sign1 checks |msg|'s signature with the public key |key|
// (borrowed). |detached_payload| must be given exactly when the message
// payload is nil. Fails with CoseMissingAlgorithm (no alg in the protected
// header), CoseUnknownCritical (crit lists a label other than 1-4),
// UnsupportedAlgorithm (alg other than ES256/ES384/ES512/EdDSA),
// KeyTypeMismatch (key does not fit alg), CoseBadSignature (wrong signature
// length or a signature that does not verify), CoseMalformed (payload
// detached but none supplied) or InvalidArgument (detached payload supplied
// for a message that carries one; null key).
Result<void> verify_cose_sign1(const CoseSign1& msg, EVP_PKEY* key, ByteView external_aad = {},
                               std::optional<ByteView> detached_payload = std::nullopt);

// CoseSignOptions controls sign_cose_sign1.
struct CoseSignOptions {
  // Protected header entries beyond alg (which is always first and derived
  // from the key).
  std::vector<std::pair<CborValue, CborValue>> protected_extra;
  std::vector<std::pair<CborValue, CborValue>> unprotected;
  bool tagged = true;       // emit tag 18
  bool cwt_tagged = false;  // emit 61(18(...)) (implies tagged)
  Bytes external_aad;
};

// sign_cose_sign1 signs |payload| with the private key |key| (borrowed) and
// returns the encoded COSE_Sign1. The algorithm follows the key: P-256 →
// ES256, P-384 → ES384, P-521 → ES512, Ed25519 → EdDSA. Fails with
// UnsupportedAlgorithm for other keys, InvalidArgument if the options repeat
// alg or put a label in both buckets, CryptoFailure if signing fails.
Result<Bytes> sign_cose_sign1(EVP_PKEY* key, ByteView payload, const CoseSignOptions& opts = {});

}  // namespace atls
