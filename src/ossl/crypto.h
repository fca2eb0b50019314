#pragma once

// Hashes, HMAC, HKDF and signatures over OpenSSL 3 EVP.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/ossl/ossl.h"

#include <string>
#include <string_view>

namespace atls::ossl {

enum class HashAlg : std::uint8_t { Sha1, Sha256, Sha384, Sha512 };

// hash_size returns the digest length of |alg| in bytes.
std::size_t hash_size(HashAlg alg);
// hash_md returns OpenSSL's static EVP_MD for |alg| (never freed).
const EVP_MD* hash_md(HashAlg alg);
// hash_alg_from_md maps an EVP_MD back (SHA-256/384/512 only).
Result<HashAlg> hash_alg_from_md(const EVP_MD* md);

// digest returns Hash(data).
Result<Bytes> digest(HashAlg alg, ByteView data);

// digest_file returns Hash(file contents), reading the file in chunks.
// Fails with FileNotFound or IoError.
Result<Bytes> digest_file(HashAlg alg, const std::string& path);

// Hasher computes a digest over several parts.
class Hasher {
 public:
  static Result<Hasher> create(HashAlg alg);
  Result<void> update(ByteView data);
  Result<Bytes> finish();

 private:
  explicit Hasher(UniquePtr<EVP_MD_CTX> ctx) : m_ctx(std::move(ctx)) {}
  UniquePtr<EVP_MD_CTX> m_ctx;
};

// hmac returns HMAC-Hash(key, data).
Result<Bytes> hmac(HashAlg alg, ByteView key, ByteView data);

// hkdf_extract returns HKDF-Extract(salt, ikm) (RFC 5869).
Result<Bytes> hkdf_extract(HashAlg alg, ByteView salt, ByteView ikm);

// hkdf_expand returns HKDF-Expand(prk, info, length) (RFC 5869).
Result<Bytes> hkdf_expand(HashAlg alg, ByteView prk, ByteView info, std::size_t length);

// hkdf_expand_label implements RFC 8446 §7.1:
//   HKDF-Expand-Label(Secret, Label, Context, Length) =
//     HKDF-Expand(Secret, HkdfLabel, Length), with HkdfLabel's label
//   "tls13 " + Label. Fails with InvalidArgument on over-long label/context.
Result<Bytes> hkdf_expand_label(HashAlg alg, ByteView secret, std::string_view label,
                                ByteView context, std::size_t length);

// AES-256-GCM (NIST SP 800-38D) with a 12-byte nonce and a 16-byte tag
// appended to the ciphertext.
inline constexpr std::size_t kAeadKeySize = 32;
inline constexpr std::size_t kAeadNonceSize = 12;
inline constexpr std::size_t kAeadTagSize = 16;

// aead_seal returns ciphertext || tag of |plaintext| under |key| and
// |nonce| with |aad| authenticated. Fails with InvalidArgument (key or
// nonce size) or CryptoFailure.
Result<Bytes> aead_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);

// aead_open checks the tag and returns the plaintext. Fails with
// InvalidArgument (key or nonce size), SignatureInvalid (the input is
// shorter than a tag, or the tag does not verify: altered, or another key),
// or CryptoFailure.
Result<Bytes> aead_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed);

// KeyType classifies a key for algorithm checks.
enum class KeyType : std::uint8_t { EcP256, EcP384, EcP521, Ed25519, Rsa, RsaPss, Other };
KeyType key_type(const EVP_PKEY* key);
std::string_view key_type_name(KeyType t);

// SignatureAlg names a signature algorithm independent of encoding.
enum class SignatureAlg : std::uint8_t {
  EcdsaSha256,
  EcdsaSha384,
  EcdsaSha512,
  Ed25519,
  RsaPkcs1Sha256,
  RsaPkcs1Sha384,
  RsaPkcs1Sha512,
  RsaPssSha256,
  RsaPssSha384,
  RsaPssSha512,
};

// sign signs |msg| (the hash is part of |alg|). ECDSA signatures are DER
// (ECDSA-Sig-Value); use ecdsa_der_to_raw for COSE/JWS.
Result<Bytes> sign(EVP_PKEY* key, SignatureAlg alg, ByteView msg);

// verify checks |sig| over |msg|. ECDSA signatures are DER. Returns
// SignatureInvalid when the signature does not verify, KeyTypeMismatch when
// the key cannot be used with |alg|.
Result<void> verify(EVP_PKEY* key, SignatureAlg alg, ByteView msg, ByteView sig);

// ecdsa_der_to_raw converts ECDSA-Sig-Value DER to r||s, each |field_len|
// bytes (32 for P-256, 48 for P-384, 66 for P-521).
Result<Bytes> ecdsa_der_to_raw(ByteView der, std::size_t field_len);

// ecdsa_raw_to_der converts r||s (two equal halves) to DER.
Result<Bytes> ecdsa_raw_to_der(ByteView raw);

// ec_field_len returns the coordinate size of an EC key (32/48/66), or 0.
std::size_t ec_field_len(KeyType t);

}  // namespace atls::ossl
