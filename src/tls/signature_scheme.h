#pragma once

// TLS 1.3 SignatureScheme values (RFC 8446 §4.2.3) as authenticators use
// them: the schemes we can sign and verify, which key each one needs, and
// the signature_algorithms extension that carries a list of them in an
// authenticator request (RFC 9261 §4). Pure: no SSL object.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/crypto.h"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace atls::tls {

// SignatureScheme values (RFC 8446 §4.2.3) that authenticators support.
// ECDSA signatures are DER ECDSA-Sig-Value, as in TLS 1.3.
inline constexpr std::uint16_t kEcdsaSecp256r1Sha256 = 0x0403;
inline constexpr std::uint16_t kEcdsaSecp384r1Sha384 = 0x0503;
inline constexpr std::uint16_t kEd25519 = 0x0807;
inline constexpr std::uint16_t kRsaPssRsaeSha256 = 0x0804;
inline constexpr std::uint16_t kRsaPssRsaeSha384 = 0x0805;

// supported_signature_schemes returns the schemes above in our order of
// preference; it is the default signature_algorithms of a request. The span
// refers to static storage.
std::span<const std::uint16_t> supported_signature_schemes();

// is_supported_signature_scheme reports whether |scheme| is one of the above.
bool is_supported_signature_scheme(std::uint16_t scheme);

// signature_scheme_alg returns the signature algorithm of a supported
// |scheme|, or nullopt for any other value.
std::optional<ossl::SignatureAlg> signature_scheme_alg(std::uint16_t scheme);

// signature_scheme_matches_key reports whether |scheme| can be produced by
// |key| under TLS 1.3 rules (the ECDSA schemes fix the curve; rsa_pss_rsae
// needs an rsaEncryption key). A null |key| matches nothing.
bool signature_scheme_matches_key(std::uint16_t scheme, const EVP_PKEY* key);

// select_signature_scheme returns the first of |offered| (the peer's order)
// that |key| can produce, or nullopt. |key| is borrowed.
std::optional<std::uint16_t> select_signature_scheme(std::span<const std::uint16_t> offered,
                                                     const EVP_PKEY* key);

// encode_signature_algorithms returns the signature_algorithms
// extension_data (RFC 8446 §4.2.3):
//   SignatureScheme supported_signature_algorithms<2..2^16-2>;
// Fails with InvalidArgument on an empty list or more than 2^15-1 schemes.
Result<Bytes> encode_signature_algorithms(std::span<const std::uint16_t> schemes);

// parse_signature_algorithms reads that extension_data, exactly (no
// trailing bytes). A list shorter than one scheme, of odd length, or
// overrunning fails with EaRequestMalformed. Unknown schemes are kept.
Result<std::vector<std::uint16_t>> parse_signature_algorithms(ByteView data);

}  // namespace atls::tls
