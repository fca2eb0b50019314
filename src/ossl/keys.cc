#include "src/ossl/keys.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <climits>
#include <cstring>

namespace atls::ossl {
namespace {

UniquePtr<BIO> mem_bio(ByteView data) {
  return UniquePtr<BIO>(::BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// no_passphrase refuses to decrypt. Without a callback OpenSSL falls back to
// PEM_def_callback, which prompts on the controlling terminal: an encrypted
// PEM would then block the process on a terminal read instead of failing.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

bool looks_pem(ByteView data) {
  const std::string_view s(reinterpret_cast<const char*>(data.data()), data.size());
  return s.find("-----BEGIN ") != std::string_view::npos;
}

Result<std::string> bio_string(BIO* bio) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  if (n < 0 || p == nullptr) {
    return failure(ErrorCode::CryptoFailure, "BIO_get_mem_data");
  }
  return std::string(p, static_cast<std::size_t>(n));
}

}  // namespace

Result<UniquePtr<EVP_PKEY>> parse_public_key(ByteView data) {
  if (data.empty() || data.size() > INT_MAX) {
    return Error{ErrorCode::KeyInvalid, "empty key"};
  }
  if (looks_pem(data)) {
    auto bio = mem_bio(data);
    UniquePtr<EVP_PKEY> key(::PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    if (key) {
      return key;
    }
    drain_errors();
    bio = mem_bio(data);
    UniquePtr<X509> cert(::PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (cert) {
      UniquePtr<EVP_PKEY> k(::X509_get_pubkey(cert.get()));
      if (k) {
        return k;
      }
    }
    drain_errors();
    // A private key PEM also yields its public key.
    bio = mem_bio(data);
    UniquePtr<EVP_PKEY> priv(::PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (priv) {
      return priv;
    }
    return failure(ErrorCode::KeyInvalid, "PEM holds no public key, certificate or private key");
  }
  const unsigned char* p = data.data();
  UniquePtr<EVP_PKEY> key(::d2i_PUBKEY(nullptr, &p, static_cast<long>(data.size())));
  if (!key || p != data.data() + data.size()) {
    drain_errors();
    p = data.data();
    UniquePtr<X509> cert(::d2i_X509(nullptr, &p, static_cast<long>(data.size())));
    if (cert && p == data.data() + data.size()) {
      UniquePtr<EVP_PKEY> k(::X509_get_pubkey(cert.get()));
      if (k) {
        return k;
      }
    }
    return failure(ErrorCode::KeyInvalid, "not a DER SubjectPublicKeyInfo or certificate");
  }
  return key;
}

Result<UniquePtr<EVP_PKEY>> parse_private_key(ByteView data) {
  if (data.empty() || data.size() > INT_MAX) {
    return Error{ErrorCode::KeyInvalid, "empty key"};
  }
  if (looks_pem(data)) {
    auto bio = mem_bio(data);
    UniquePtr<EVP_PKEY> key(::PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key) {
      return failure(ErrorCode::KeyInvalid, "PEM holds no private key");
    }
    return key;
  }
  const unsigned char* p = data.data();
  UniquePtr<EVP_PKEY> key(::d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(data.size())));
  if (!key) {
    return failure(ErrorCode::KeyInvalid, "not a DER private key");
  }
  return key;
}

Result<UniquePtr<EVP_PKEY>> generate_key(KeyType type) {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::EcP256:
      raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::EcP384:
      raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyType::EcP521:
      raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
      break;
    case KeyType::Ed25519:
      raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    default:
      return Error{ErrorCode::InvalidArgument, "cannot generate this key type"};
  }
  UniquePtr<EVP_PKEY> key(raw);
  if (!key) {
    return failure(ErrorCode::CryptoFailure, "EVP_PKEY_Q_keygen");
  }
  return key;
}

Result<Bytes> spki_der(const EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  const int len = ::i2d_PUBKEY(key, &buf);
  if (len <= 0) {
    return failure(ErrorCode::KeyInvalid, "i2d_PUBKEY");
  }
  Bytes out(buf, buf + len);
  ::OPENSSL_free(buf);
  return out;
}

Result<std::string> public_key_pem(const EVP_PKEY* key) {
  UniquePtr<BIO> bio(::BIO_new(::BIO_s_mem()));
  if (!bio || ::PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return failure(ErrorCode::CryptoFailure, "PEM_write_bio_PUBKEY");
  }
  return bio_string(bio.get());
}

Result<std::string> private_key_pem(const EVP_PKEY* key) {
  UniquePtr<BIO> bio(::BIO_new(::BIO_s_mem()));
  if (!bio ||
      ::PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return failure(ErrorCode::CryptoFailure, "PEM_write_bio_PrivateKey");
  }
  return bio_string(bio.get());
}

Result<UniquePtr<EVP_PKEY>> ec_public_from_xy(KeyType curve, ByteView x, ByteView y) {
  const std::size_t n = ec_field_len(curve);
  if (n == 0) {
    return Error{ErrorCode::KeyInvalid, "not an EC curve"};
  }
  if (x.size() != n || y.size() != n) {
    return Error{ErrorCode::KeyInvalid, "EC coordinate length does not match the curve"};
  }
  Bytes point;
  point.reserve(1 + 2 * n);
  point.push_back(0x04);
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  const char* group = curve == KeyType::EcP256   ? "P-256"
                      : curve == KeyType::EcP384 ? "P-384"
                                                 : "P-521";
  UniquePtr<OSSL_PARAM_BLD> bld(::OSSL_PARAM_BLD_new());
  if (!bld ||
      ::OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      ::OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
    return failure(ErrorCode::CryptoFailure, "OSSL_PARAM_BLD");
  }
  UniquePtr<OSSL_PARAM> params(::OSSL_PARAM_BLD_to_param(bld.get()));
  UniquePtr<EVP_PKEY_CTX> ctx(::EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || ::EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      ::EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return failure(ErrorCode::KeyInvalid, "EC point is not on the curve");
  }
  UniquePtr<EVP_PKEY> key(raw);
  // fromdata does not always validate the point; check it explicitly.
  UniquePtr<EVP_PKEY_CTX> check(::EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!check || ::EVP_PKEY_public_check(check.get()) != 1) {
    return failure(ErrorCode::KeyInvalid, "EC point is not on the curve");
  }
  return key;
}

Result<UniquePtr<EVP_PKEY>> ed25519_public_from_raw(ByteView raw) {
  if (raw.size() != 32) {
    return Error{ErrorCode::KeyInvalid, "Ed25519 public key must be 32 bytes"};
  }
  UniquePtr<EVP_PKEY> key(
      ::EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (!key) {
    return failure(ErrorCode::KeyInvalid, "Ed25519 public key");
  }
  return key;
}

Result<EcPoint> ec_public_xy(const EVP_PKEY* key) {
  const std::size_t n = ec_field_len(key_type(key));
  if (n == 0) {
    return Error{ErrorCode::KeyTypeMismatch, "not an EC key"};
  }
  Bytes point(1 + 2 * n);
  std::size_t len = 0;
  if (::EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                        point.size(), &len) != 1 ||
      len != point.size() || point[0] != 0x04) {
    return failure(ErrorCode::KeyInvalid, "EC public point");
  }
  return EcPoint{Bytes(point.begin() + 1, point.begin() + 1 + static_cast<long>(n)),
                 Bytes(point.begin() + 1 + static_cast<long>(n), point.end())};
}

Result<Bytes> raw_public_key(const EVP_PKEY* key) {
  std::size_t len = 0;
  if (::EVP_PKEY_get_raw_public_key(key, nullptr, &len) != 1) {
    return failure(ErrorCode::KeyTypeMismatch, "no raw public key");
  }
  Bytes out(len);
  if (::EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1) {
    return failure(ErrorCode::KeyInvalid, "EVP_PKEY_get_raw_public_key");
  }
  out.resize(len);
  return out;
}

bool public_keys_equal(const EVP_PKEY* a, const EVP_PKEY* b) {
  const int rc = ::EVP_PKEY_eq(a, b);
  drain_errors();
  return rc == 1;
}

}  // namespace atls::ossl
