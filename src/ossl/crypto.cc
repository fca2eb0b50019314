#include "src/ossl/crypto.h"

#include "src/core/byte_reader.h"
#include "src/ossl/sign_template.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace atls::ossl {

std::size_t hash_size(HashAlg alg) {
  switch (alg) {
    case HashAlg::Sha1:
      return 20;
    case HashAlg::Sha256:
      return 32;
    case HashAlg::Sha384:
      return 48;
    case HashAlg::Sha512:
      return 64;
  }
  return 0;
}

const EVP_MD* hash_md(HashAlg alg) {
  switch (alg) {
    case HashAlg::Sha1:
      return ::EVP_sha1();
    case HashAlg::Sha256:
      return ::EVP_sha256();
    case HashAlg::Sha384:
      return ::EVP_sha384();
    case HashAlg::Sha512:
      return ::EVP_sha512();
  }
  return nullptr;
}

namespace {

EVP_MD* fetch_md_quietly(const char* name) {
  // A failed fetch (SHA-1 under a FIPS configuration) leaves the caller's
  // error queue as it was.
  ::ERR_set_mark();
  EVP_MD* md = ::EVP_MD_fetch(nullptr, name, nullptr);
  ::ERR_pop_to_mark();
  return md;
}

// fetched_md returns the provider implementation of |alg|, fetched once.
// Given a legacy EVP_MD such as EVP_sha256(), OpenSSL 3 looks the
// implementation up in the method store again on every EVP_DigestInit_ex
// and EVP_DigestSignInit/VerifyInit: a few thousand instructions each time,
// several times per connection. The fetched digests live as long as the
// process (never freed, so that no use during static destruction can follow
// a free); should a fetch fail, the legacy EVP_MD is used as before.
const EVP_MD* fetched_md(HashAlg alg) {
  static const std::array<EVP_MD*, 4> kFetched = {
      fetch_md_quietly("SHA1"),
      fetch_md_quietly("SHA256"),
      fetch_md_quietly("SHA384"),
      fetch_md_quietly("SHA512"),
  };
  const EVP_MD* md = nullptr;
  switch (alg) {
    case HashAlg::Sha1:
      md = kFetched[0];
      break;
    case HashAlg::Sha256:
      md = kFetched[1];
      break;
    case HashAlg::Sha384:
      md = kFetched[2];
      break;
    case HashAlg::Sha512:
      md = kFetched[3];
      break;
  }
  return md != nullptr ? md : hash_md(alg);
}

// fetched_hmac returns the HMAC implementation, fetched once (null if the
// fetch failed; hmac() then fetches per call and reports the failure).
EVP_MAC* fetched_hmac() {
  static EVP_MAC* const kHmac = [] {
    ::ERR_set_mark();
    EVP_MAC* mac = ::EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ::ERR_pop_to_mark();
    return mac;
  }();
  return kHmac;
}

}  // namespace

Result<HashAlg> hash_alg_from_md(const EVP_MD* md) {
  if (md == nullptr) {
    return Error{ErrorCode::UnsupportedAlgorithm, "no digest"};
  }
  switch (::EVP_MD_get_type(md)) {
    case NID_sha256:
      return HashAlg::Sha256;
    case NID_sha384:
      return HashAlg::Sha384;
    case NID_sha512:
      return HashAlg::Sha512;
    default:
      return Error{ErrorCode::UnsupportedAlgorithm, ::EVP_MD_get0_name(md)};
  }
}

Result<Hasher> Hasher::create(HashAlg alg) {
  UniquePtr<EVP_MD_CTX> ctx(::EVP_MD_CTX_new());
  if (!ctx || ::EVP_DigestInit_ex(ctx.get(), fetched_md(alg), nullptr) != 1) {
    return failure(ErrorCode::CryptoFailure, "EVP_DigestInit_ex");
  }
  return Hasher(std::move(ctx));
}

Result<void> Hasher::update(ByteView data) {
  if (!data.empty() && ::EVP_DigestUpdate(m_ctx.get(), data.data(), data.size()) != 1) {
    return failure(ErrorCode::CryptoFailure, "EVP_DigestUpdate");
  }
  return ok();
}

Result<Bytes> Hasher::finish() {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  if (::EVP_DigestFinal_ex(m_ctx.get(), out.data(), &n) != 1) {
    return failure(ErrorCode::CryptoFailure, "EVP_DigestFinal_ex");
  }
  out.resize(n);
  return out;
}

Result<Bytes> digest(HashAlg alg, ByteView data) {
  Bytes out(hash_size(alg));
  unsigned int n = 0;
  if (::EVP_Digest(data.data(), data.size(), out.data(), &n, fetched_md(alg), nullptr) != 1) {
    return failure(ErrorCode::CryptoFailure, "EVP_Digest");
  }
  out.resize(n);
  return out;
}

Result<Bytes> digest_file(HashAlg alg, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Error{errno == ENOENT ? ErrorCode::FileNotFound : ErrorCode::IoError, path};
  }
  auto h = Hasher::create(alg);
  if (!h) {
    std::fclose(f);
    return std::move(h).error();
  }
  std::uint8_t buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (auto r = h->update(ByteView(buf, n)); !r) {
      std::fclose(f);
      return std::move(r).error();
    }
  }
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) {
    return Error{ErrorCode::IoError, path + ": read error"};
  }
  return h->finish();
}

namespace {

const char* md_name(HashAlg alg) {
  switch (alg) {
    case HashAlg::Sha1:
      return "SHA1";
    case HashAlg::Sha256:
      return "SHA256";
    case HashAlg::Sha384:
      return "SHA384";
    case HashAlg::Sha512:
      return "SHA512";
  }
  return "SHA256";
}

}  // namespace

Result<Bytes> hmac(HashAlg alg, ByteView key, ByteView data) {
  EVP_MAC* mac = fetched_hmac();
  UniquePtr<EVP_MAC> owned;
  if (mac == nullptr) {
    owned.reset(::EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    mac = owned.get();
  }
  if (mac == nullptr) {
    return failure(ErrorCode::CryptoFailure, "EVP_MAC_fetch(HMAC)");
  }
  UniquePtr<EVP_MAC_CTX> ctx(::EVP_MAC_CTX_new(mac));
  char name[16];
  std::strncpy(name, md_name(alg), sizeof name - 1);
  name[sizeof name - 1] = 0;
  const OSSL_PARAM params[] = {
      ::OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
      ::OSSL_PARAM_construct_end(),
  };
  static const std::uint8_t kEmpty = 0;
  const std::uint8_t* k = key.empty() ? &kEmpty : key.data();
  if (!ctx || ::EVP_MAC_init(ctx.get(), k, key.size(), params) != 1 ||
      ::EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) {
    return failure(ErrorCode::CryptoFailure, "HMAC");
  }
  Bytes out(EVP_MAX_MD_SIZE);
  std::size_t n = 0;
  if (::EVP_MAC_final(ctx.get(), out.data(), &n, out.size()) != 1) {
    return failure(ErrorCode::CryptoFailure, "EVP_MAC_final");
  }
  out.resize(n);
  return out;
}

namespace {

Result<Bytes> hkdf(HashAlg alg, int mode, ByteView salt, ByteView key, ByteView info,
                   std::size_t length) {
  UniquePtr<EVP_KDF> kdf(::EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) {
    return failure(ErrorCode::CryptoFailure, "EVP_KDF_fetch(HKDF)");
  }
  UniquePtr<EVP_KDF_CTX> ctx(::EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) {
    return failure(ErrorCode::CryptoFailure, "EVP_KDF_CTX_new");
  }
  char name[16];
  std::strncpy(name, md_name(alg), sizeof name - 1);
  name[sizeof name - 1] = 0;
  static std::uint8_t kZero = 0;
  auto ptr = [](ByteView b) { return const_cast<std::uint8_t*>(b.empty() ? &kZero : b.data()); };
  OSSL_PARAM params[6];
  int i = 0;
  params[i++] = ::OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[i++] = ::OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, name, 0);
  params[i++] = ::OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ptr(key), key.size());
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
    params[i++] = ::OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, ptr(salt), salt.size());
  } else {
    params[i++] = ::OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ptr(info), info.size());
  }
  params[i] = ::OSSL_PARAM_construct_end();
  Bytes out(length);
  if (::EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return failure(ErrorCode::CryptoFailure, "HKDF");
  }
  return out;
}

}  // namespace

namespace {

Result<void> check_aead_sizes(ByteView key, ByteView nonce) {
  if (key.size() != kAeadKeySize || nonce.size() != kAeadNonceSize) {
    return Error{ErrorCode::InvalidArgument, "AES-256-GCM needs a 32-byte key and a 12-byte nonce"};
  }
  return ok();
}

int to_int(std::size_t n) {
  return n > static_cast<std::size_t>(INT_MAX) ? -1 : static_cast<int>(n);
}

}  // namespace

Result<Bytes> aead_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
  ATLS_TRY(check_aead_sizes(key, nonce));
  if (to_int(aad.size()) < 0 || to_int(plaintext.size()) < 0) {
    return Error{ErrorCode::InvalidArgument, "AEAD input too large"};
  }
  UniquePtr<EVP_CIPHER_CTX> ctx(::EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + kAeadTagSize);
  int n = 0;
  int fin = 0;
  if (!ctx ||
      ::EVP_EncryptInit_ex2(ctx.get(), ::EVP_aes_256_gcm(), key.data(), nonce.data(), nullptr) !=
          1 ||
      ::EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), to_int(aad.size())) != 1 ||
      ::EVP_EncryptUpdate(ctx.get(), out.data(), &n, plaintext.data(), to_int(plaintext.size())) !=
          1 ||
      ::EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &fin) != 1 ||
      static_cast<std::size_t>(n + fin) != plaintext.size() ||
      ::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagSize),
                            out.data() + plaintext.size()) != 1) {
    return failure(ErrorCode::CryptoFailure, "AES-256-GCM seal");
  }
  return out;
}

Result<Bytes> aead_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  ATLS_TRY(check_aead_sizes(key, nonce));
  if (sealed.size() < kAeadTagSize) {
    return Error{ErrorCode::SignatureInvalid, "sealed data shorter than its tag"};
  }
  if (to_int(aad.size()) < 0 || to_int(sealed.size()) < 0) {
    return Error{ErrorCode::InvalidArgument, "AEAD input too large"};
  }
  const std::size_t len = sealed.size() - kAeadTagSize;
  std::array<std::uint8_t, kAeadTagSize> tag{};
  std::memcpy(tag.data(), sealed.data() + len, kAeadTagSize);
  UniquePtr<EVP_CIPHER_CTX> ctx(::EVP_CIPHER_CTX_new());
  Bytes out(len);
  int n = 0;
  if (!ctx ||
      ::EVP_DecryptInit_ex2(ctx.get(), ::EVP_aes_256_gcm(), key.data(), nonce.data(), nullptr) !=
          1 ||
      ::EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), to_int(aad.size())) != 1 ||
      ::EVP_DecryptUpdate(ctx.get(), out.data(), &n, sealed.data(), to_int(len)) != 1 ||
      ::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagSize),
                            tag.data()) != 1) {
    return failure(ErrorCode::CryptoFailure, "AES-256-GCM open");
  }
  int fin = 0;
  // The tag is compared by OpenSSL in constant time (CRYPTO_memcmp).
  if (::EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &fin) != 1) {
    ::ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return Error{ErrorCode::SignatureInvalid, "AES-256-GCM tag does not verify"};
  }
  return out;
}

Result<Bytes> hkdf_extract(HashAlg alg, ByteView salt, ByteView ikm) {
  if (salt.empty()) {
    // RFC 5869 §2.2: an absent salt is HashLen zero bytes.
    const Bytes zeros(hash_size(alg), 0);
    return hkdf(alg, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, zeros, ikm, {}, hash_size(alg));
  }
  return hkdf(alg, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, ikm, {}, hash_size(alg));
}

Result<Bytes> hkdf_expand(HashAlg alg, ByteView prk, ByteView info, std::size_t length) {
  if (length == 0 || length > 255 * hash_size(alg)) {
    return Error{ErrorCode::InvalidArgument, "HKDF-Expand length out of range"};
  }
  return hkdf(alg, EVP_KDF_HKDF_MODE_EXPAND_ONLY, {}, prk, info, length);
}

//= https://www.rfc-editor.org/rfc/rfc8446#section-7.1
//# struct {
//#     uint16 length = Length;
//#     opaque label<7..255> = "tls13 " + Label;
//#     opaque context<0..255> = Context;
//# } HkdfLabel;
Result<Bytes> hkdf_expand_label(HashAlg alg, ByteView secret, std::string_view label,
                                ByteView context, std::size_t length) {
  if (length > 0xffff) {
    return Error{ErrorCode::InvalidArgument, "HKDF-Expand-Label length"};
  }
  std::string full = "tls13 ";
  full += label;
  ByteWriter w;
  w.u16(static_cast<std::uint16_t>(length));
  ATLS_TRY(w.vector8({reinterpret_cast<const std::uint8_t*>(full.data()), full.size()}));
  ATLS_TRY(w.vector8(context));
  return hkdf_expand(alg, secret, w.data(), length);
}

KeyType key_type(const EVP_PKEY* key) {
  if (key == nullptr) {
    return KeyType::Other;
  }
  switch (::EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519:
      return KeyType::Ed25519;
    case EVP_PKEY_RSA:
      return KeyType::Rsa;
    case EVP_PKEY_RSA_PSS:
      return KeyType::RsaPss;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      std::size_t len = 0;
      if (::EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &len) != 1) {
        return KeyType::Other;
      }
      const std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256") {
        return KeyType::EcP256;
      }
      if (g == "secp384r1" || g == "P-384") {
        return KeyType::EcP384;
      }
      if (g == "secp521r1" || g == "P-521") {
        return KeyType::EcP521;
      }
      return KeyType::Other;
    }
    default:
      return KeyType::Other;
  }
}

std::string_view key_type_name(KeyType t) {
  switch (t) {
    case KeyType::EcP256:
      return "EC P-256";
    case KeyType::EcP384:
      return "EC P-384";
    case KeyType::EcP521:
      return "EC P-521";
    case KeyType::Ed25519:
      return "Ed25519";
    case KeyType::Rsa:
      return "RSA";
    case KeyType::RsaPss:
      return "RSA-PSS";
    case KeyType::Other:
      return "other";
  }
  return "other";
}

std::size_t ec_field_len(KeyType t) {
  switch (t) {
    case KeyType::EcP256:
      return 32;
    case KeyType::EcP384:
      return 48;
    case KeyType::EcP521:
      return 66;
    default:
      return 0;
  }
}

namespace {

struct AlgInfo {
  const EVP_MD* md;  // nullptr for Ed25519
  int padding;       // 0 = not RSA
  bool ecdsa;
  bool eddsa;
};

AlgInfo alg_info(SignatureAlg alg) {
  switch (alg) {
    case SignatureAlg::EcdsaSha256:
      return {fetched_md(HashAlg::Sha256), 0, true, false};
    case SignatureAlg::EcdsaSha384:
      return {fetched_md(HashAlg::Sha384), 0, true, false};
    case SignatureAlg::EcdsaSha512:
      return {fetched_md(HashAlg::Sha512), 0, true, false};
    case SignatureAlg::Ed25519:
      return {nullptr, 0, false, true};
    case SignatureAlg::RsaPkcs1Sha256:
      return {fetched_md(HashAlg::Sha256), RSA_PKCS1_PADDING, false, false};
    case SignatureAlg::RsaPkcs1Sha384:
      return {fetched_md(HashAlg::Sha384), RSA_PKCS1_PADDING, false, false};
    case SignatureAlg::RsaPkcs1Sha512:
      return {fetched_md(HashAlg::Sha512), RSA_PKCS1_PADDING, false, false};
    case SignatureAlg::RsaPssSha256:
      return {fetched_md(HashAlg::Sha256), RSA_PKCS1_PSS_PADDING, false, false};
    case SignatureAlg::RsaPssSha384:
      return {fetched_md(HashAlg::Sha384), RSA_PKCS1_PSS_PADDING, false, false};
    case SignatureAlg::RsaPssSha512:
      return {fetched_md(HashAlg::Sha512), RSA_PKCS1_PSS_PADDING, false, false};
  }
  return {nullptr, 0, false, false};
}

Result<void> check_key(const EVP_PKEY* key, const AlgInfo& a) {
  const KeyType t = key_type(key);
  const bool fits =
      (a.ecdsa && (t == KeyType::EcP256 || t == KeyType::EcP384 || t == KeyType::EcP521)) ||
      (a.eddsa && t == KeyType::Ed25519) || (a.padding == RSA_PKCS1_PADDING && t == KeyType::Rsa) ||
      (a.padding == RSA_PKCS1_PSS_PADDING && (t == KeyType::Rsa || t == KeyType::RsaPss));
  if (!fits) {
    return Error{ErrorCode::KeyTypeMismatch, std::string(key_type_name(t)) + " key"};
  }
  return ok();
}

Result<void> set_padding(EVP_PKEY_CTX* pctx, const AlgInfo& a) {
  if (a.padding == 0) {
    return ok();
  }
  if (::EVP_PKEY_CTX_set_rsa_padding(pctx, a.padding) != 1) {
    return failure(ErrorCode::CryptoFailure, "set RSA padding");
  }
  if (a.padding == RSA_PKCS1_PSS_PADDING &&
      ::EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
    return failure(ErrorCode::CryptoFailure, "set PSS salt length");
  }
  return ok();
}

// sign_slot names the digest of an ECDSA algorithm among a key's prepared
// contexts (src/ossl/sign_template.h); other algorithms have none.
std::optional<std::size_t> sign_slot(SignatureAlg alg) {
  switch (alg) {
    case SignatureAlg::EcdsaSha256:
      return 0;
    case SignatureAlg::EcdsaSha384:
      return 1;
    case SignatureAlg::EcdsaSha512:
      return 2;
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<Bytes> sign(EVP_PKEY* key, SignatureAlg alg, ByteView msg) {
  const AlgInfo a = alg_info(alg);
  ATLS_TRY(check_key(key, a));
  UniquePtr<EVP_MD_CTX> ctx;
  if (const auto slot = sign_slot(alg)) {
    ctx = prepared_sign_ctx(key, a.md, *slot);
  }
  if (!ctx) {
    ctx.reset(::EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || ::EVP_DigestSignInit(ctx.get(), &pctx, a.md, nullptr, key) != 1) {
      return failure(ErrorCode::CryptoFailure, "EVP_DigestSignInit");
    }
    ATLS_TRY(set_padding(pctx, a));
    // One signature per context: without this flag the final step would
    // first copy the whole context.
    ::EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
  }
  // The key's maximum signature size (cached in the key; asking the
  // signature for its size would encode a dummy ECDSA signature).
  const int max_len = ::EVP_PKEY_get_size(key);
  if (max_len <= 0) {
    return failure(ErrorCode::CryptoFailure, "EVP_PKEY_get_size");
  }
  Bytes sig(static_cast<std::size_t>(max_len));
  std::size_t len = sig.size();
  if (::EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1) {
    return failure(ErrorCode::CryptoFailure, "EVP_DigestSign");
  }
  sig.resize(len);
  return sig;
}

Result<void> verify(EVP_PKEY* key, SignatureAlg alg, ByteView msg, ByteView sig) {
  const AlgInfo a = alg_info(alg);
  ATLS_TRY(check_key(key, a));
  UniquePtr<EVP_MD_CTX> ctx(::EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || ::EVP_DigestVerifyInit(ctx.get(), &pctx, a.md, nullptr, key) != 1) {
    return failure(ErrorCode::CryptoFailure, "EVP_DigestVerifyInit");
  }
  ATLS_TRY(set_padding(pctx, a));
  // One verification per context: no copy of it before the final step.
  ::EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
  static const std::uint8_t kEmpty = 0;
  const int rc = ::EVP_DigestVerify(ctx.get(), sig.empty() ? &kEmpty : sig.data(), sig.size(),
                                    msg.empty() ? &kEmpty : msg.data(), msg.size());
  // Any value other than 1 (0 = mismatch, <0 = malformed signature) is a
  // failed verification; the queue is cleared, not inspected.
  drain_errors();
  if (rc != 1) {
    return Error{ErrorCode::SignatureInvalid, {}};
  }
  return ok();
}

Result<Bytes> ecdsa_der_to_raw(ByteView der, std::size_t field_len) {
  const unsigned char* p = der.data();
  UniquePtr<ECDSA_SIG> sig(::d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) {
    drain_errors();
    return Error{ErrorCode::SignatureInvalid, "malformed ECDSA-Sig-Value"};
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ::ECDSA_SIG_get0(sig.get(), &r, &s);
  // Newer OpenSSL (3.2+) decodes these INTEGERs as signed; BN_bn2binpad would
  // write a negative value's magnitude, turning an invalid signature into a
  // different, possibly valid one. (3.0 reads them unsigned, so this is moot there.)
  if (::BN_is_negative(r) || ::BN_is_negative(s)) {
    return Error{ErrorCode::SignatureInvalid, "negative ECDSA integer"};
  }
  Bytes out(2 * field_len);
  if (::BN_bn2binpad(r, out.data(), static_cast<int>(field_len)) < 0 ||
      ::BN_bn2binpad(s, out.data() + field_len, static_cast<int>(field_len)) < 0) {
    drain_errors();
    return Error{ErrorCode::SignatureInvalid, "ECDSA integer too large for the curve"};
  }
  return out;
}

Result<Bytes> ecdsa_raw_to_der(ByteView raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 2 * 66) {
    return Error{ErrorCode::SignatureInvalid,
                 "raw ECDSA signature has length " + std::to_string(raw.size())};
  }
  const std::size_t half = raw.size() / 2;
  UniquePtr<BIGNUM> r(::BN_bin2bn(raw.data(), static_cast<int>(half), nullptr));
  UniquePtr<BIGNUM> s(::BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr));
  UniquePtr<ECDSA_SIG> sig(::ECDSA_SIG_new());
  if (!r || !s || !sig || ::ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return failure(ErrorCode::CryptoFailure, "ECDSA_SIG_set0");
  }
  // set0 took ownership of r and s.
  (void)r.release();
  (void)s.release();
  unsigned char* buf = nullptr;
  const int len = ::i2d_ECDSA_SIG(sig.get(), &buf);
  if (len <= 0) {
    return failure(ErrorCode::CryptoFailure, "i2d_ECDSA_SIG");
  }
  Bytes out(buf, buf + len);
  ::OPENSSL_free(buf);
  return out;
}

}  // namespace atls::ossl
