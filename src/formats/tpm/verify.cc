#include "src/formats/tpm/verify.h"

#include "src/core/encoding.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <set>
#include <string>
#include <utility>

namespace atls {
namespace {

Result<ossl::HashAlg> hash_alg(std::uint16_t alg) {
  switch (alg) {
    case kTpmAlgSha1:
      return ossl::HashAlg::Sha1;
    case kTpmAlgSha256:
      return ossl::HashAlg::Sha256;
    case kTpmAlgSha384:
      return ossl::HashAlg::Sha384;
    case kTpmAlgSha512:
      return ossl::HashAlg::Sha512;
    default:
      return Error{ErrorCode::UnsupportedAlgorithm, "TPM hash algorithm " + std::to_string(alg)};
  }
}

Result<ossl::UniquePtr<EVP_PKEY>> rsa_public_key(const TpmPublic& pub) {
  if (pub.rsa_modulus.empty() || pub.rsa_bits == 0 || pub.rsa_modulus.size() * 8 != pub.rsa_bits) {
    return Error{ErrorCode::KeyInvalid, "RSA modulus size does not match keyBits"};
  }
  //= https://trustedcomputinggroup.org/resource/tpm-library-specification/ Part 2 §12.2.3.5
  //# When zero, indicates that the exponent is the default of 2^16 + 1
  const std::uint32_t e = pub.rsa_exponent == 0 ? 65537U : pub.rsa_exponent;
  const std::uint8_t e_bytes[4] = {static_cast<std::uint8_t>(e >> 24),
                                   static_cast<std::uint8_t>(e >> 16),
                                   static_cast<std::uint8_t>(e >> 8), static_cast<std::uint8_t>(e)};
  ossl::UniquePtr<BIGNUM> n(
      ::BN_bin2bn(pub.rsa_modulus.data(), static_cast<int>(pub.rsa_modulus.size()), nullptr));
  ossl::UniquePtr<BIGNUM> bn_e(::BN_bin2bn(e_bytes, 4, nullptr));
  ossl::UniquePtr<OSSL_PARAM_BLD> bld(::OSSL_PARAM_BLD_new());
  if (!n || !bn_e || !bld ||
      ::OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      ::OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "OSSL_PARAM_BLD (RSA)");
  }
  ossl::UniquePtr<OSSL_PARAM> params(::OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::UniquePtr<EVP_PKEY_CTX> ctx(::EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || ::EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      ::EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return ossl::failure(ErrorCode::KeyInvalid, "RSA public key");
  }
  return ossl::UniquePtr<EVP_PKEY>(raw);
}

Result<void> verify_pss(EVP_PKEY* key, ossl::HashAlg h, ByteView msg, ByteView sig) {
  ossl::UniquePtr<EVP_MD_CTX> ctx(::EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || ::EVP_DigestVerifyInit(ctx.get(), &pctx, ossl::hash_md(h), nullptr, key) != 1 ||
      ::EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      ::EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, ossl::hash_md(h)) != 1 ||
      // TPMs differ: current ones use a salt of the digest size, older
      // ones the largest that fits; accept any (RFC 8017 §9.1.2 recovers it).
      ::EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) {
    return ossl::failure(ErrorCode::CryptoFailure, "RSA-PSS verify setup");
  }
  static const std::uint8_t kEmpty = 0;
  const int rc = ::EVP_DigestVerify(ctx.get(), sig.empty() ? &kEmpty : sig.data(), sig.size(),
                                    msg.empty() ? &kEmpty : msg.data(), msg.size());
  ossl::drain_errors();
  if (rc != 1) {
    return Error{ErrorCode::TpmBadSignature, "RSA-PSS signature does not verify"};
  }
  return ok();
}

}  // namespace

Result<ossl::UniquePtr<EVP_PKEY>> tpm_public_key(const TpmPublic& pub) {
  if (pub.type == kTpmAlgRsa) {
    return rsa_public_key(pub);
  }
  if (pub.type != kTpmAlgEcc) {
    return Error{ErrorCode::UnsupportedAlgorithm, "TPMT_PUBLIC.type is not RSA or ECC"};
  }
  ossl::KeyType curve = ossl::KeyType::Other;
  switch (pub.ecc_curve) {
    case kTpmEccNistP256:
      curve = ossl::KeyType::EcP256;
      break;
    case kTpmEccNistP384:
      curve = ossl::KeyType::EcP384;
      break;
    case kTpmEccNistP521:
      curve = ossl::KeyType::EcP521;
      break;
    default:
      return Error{ErrorCode::UnsupportedAlgorithm, "ECC curve " + std::to_string(pub.ecc_curve)};
  }
  // TPM2B_ECC_PARAMETER may drop leading zero bytes; pad to the field size.
  const std::size_t n = ossl::ec_field_len(curve);
  if (pub.ecc_x.size() > n || pub.ecc_y.size() > n) {
    return Error{ErrorCode::KeyInvalid, "ECC coordinate longer than the field"};
  }
  Bytes x(n - pub.ecc_x.size(), 0);
  Bytes y(n - pub.ecc_y.size(), 0);
  x.insert(x.end(), pub.ecc_x.begin(), pub.ecc_x.end());
  y.insert(y.end(), pub.ecc_y.begin(), pub.ecc_y.end());
  return ossl::ec_public_from_xy(curve, x, y);
}

Result<Bytes> tpm_object_name(const TpmPublic& pub) {
  ATLS_ASSIGN_OR_RETURN(const ossl::HashAlg h, hash_alg(pub.name_alg));
  ATLS_ASSIGN_OR_RETURN(const Bytes digest, ossl::digest(h, pub.raw));
  Bytes name{static_cast<std::uint8_t>(pub.name_alg >> 8), static_cast<std::uint8_t>(pub.name_alg)};
  name.insert(name.end(), digest.begin(), digest.end());
  return name;
}

Result<void> verify_tpm_signature(EVP_PKEY* key, const TpmSignature& sig, ByteView signed_bytes) {
  if (sig.hash != kTpmAlgSha256 && sig.hash != kTpmAlgSha384 && sig.hash != kTpmAlgSha512) {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 "quote signature hash must be SHA-256, SHA-384 or SHA-512"};
  }
  const ossl::KeyType kt = ossl::key_type(key);
  const bool is_ec =
      kt == ossl::KeyType::EcP256 || kt == ossl::KeyType::EcP384 || kt == ossl::KeyType::EcP521;
  const bool is_rsa = kt == ossl::KeyType::Rsa || kt == ossl::KeyType::RsaPss;
  const auto index = [](std::uint16_t h) {
    return h == kTpmAlgSha256 ? 0 : h == kTpmAlgSha384 ? 1 : 2;
  };
  Result<void> r = ok();
  if (sig.sig_alg == kTpmAlgEcdsa) {
    if (!is_ec) {
      return Error{ErrorCode::TpmBadSignature, "ECDSA signature but the AK is not an EC key"};
    }
    const std::size_t n = ossl::ec_field_len(kt);
    if (sig.r.empty() || sig.s.empty() || sig.r.size() > n || sig.s.size() > n) {
      return Error{ErrorCode::TpmBadSignature, "ECDSA r or s has the wrong size"};
    }
    Bytes raw(2 * n, 0);
    std::copy(sig.r.begin(), sig.r.end(),
              raw.begin() + static_cast<std::ptrdiff_t>(n - sig.r.size()));
    std::copy(sig.s.begin(), sig.s.end(), raw.end() - static_cast<std::ptrdiff_t>(sig.s.size()));
    ATLS_ASSIGN_OR_RETURN(const Bytes der, ossl::ecdsa_raw_to_der(raw));
    constexpr ossl::SignatureAlg kAlgs[] = {ossl::SignatureAlg::EcdsaSha256,
                                            ossl::SignatureAlg::EcdsaSha384,
                                            ossl::SignatureAlg::EcdsaSha512};
    r = ossl::verify(key, kAlgs[index(sig.hash)], signed_bytes, der);
  } else if (sig.sig_alg == kTpmAlgRsassa) {
    if (kt != ossl::KeyType::Rsa) {
      return Error{ErrorCode::TpmBadSignature, "RSASSA signature but the AK is not an RSA key"};
    }
    constexpr ossl::SignatureAlg kAlgs[] = {ossl::SignatureAlg::RsaPkcs1Sha256,
                                            ossl::SignatureAlg::RsaPkcs1Sha384,
                                            ossl::SignatureAlg::RsaPkcs1Sha512};
    r = ossl::verify(key, kAlgs[index(sig.hash)], signed_bytes, sig.sig);
  } else if (sig.sig_alg == kTpmAlgRsapss) {
    if (!is_rsa) {
      return Error{ErrorCode::TpmBadSignature, "RSAPSS signature but the AK is not an RSA key"};
    }
    ATLS_ASSIGN_OR_RETURN(const ossl::HashAlg h, hash_alg(sig.hash));
    return verify_pss(key, h, signed_bytes, sig.sig);
  } else {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 "TPM signature scheme " + std::to_string(sig.sig_alg)};
  }
  if (!r) {
    return Error{ErrorCode::TpmBadSignature, r.error().to_string()};
  }
  return ok();
}

Result<Bytes> tpm_pcr_digest(std::uint16_t hash, const std::vector<TpmPcrSelection>& selection,
                             const TpmPcrValues& values) {
  ATLS_ASSIGN_OR_RETURN(const ossl::HashAlg h, hash_alg(hash));
  ATLS_ASSIGN_OR_RETURN(ossl::Hasher hasher, ossl::Hasher::create(h));
  for (const auto& sel : selection) {
    const std::vector<std::uint32_t> indices = sel.indices();
    if (indices.empty()) {
      continue;
    }
    const TpmPcrBank* bank = values.find(sel.hash);
    for (const std::uint32_t i : indices) {
      const Bytes* value = nullptr;
      if (bank != nullptr) {
        const auto it = bank->values.find(i);
        value = it != bank->values.end() ? &it->second : nullptr;
      }
      if (value == nullptr) {
        return Error{ErrorCode::TpmPcrSelectionMismatch, "no value for quoted PCR " +
                                                             std::string(tpm_hash_name(sel.hash)) +
                                                             ":" + std::to_string(i)};
      }
      ATLS_TRY(hasher.update(*value));
    }
  }
  return hasher.finish();
}

namespace {

// A set of (bank, index) pairs as one 64-bit mask per bank, for the common
// case where every index is below 64 (a TPM selects at most 32 PCRs).
struct BankMask {
  std::uint16_t hash = 0;
  std::uint64_t mask = 0;
};

// Adds |bit| of bank |hash|; false when |bit| does not fit the mask.
bool add_bit(std::vector<BankMask>& to, std::uint16_t hash, std::uint64_t bit) {
  if (bit >= 64) {
    return false;
  }
  for (auto& b : to) {
    if (b.hash == hash) {
      b.mask |= std::uint64_t{1} << bit;
      return true;
    }
  }
  to.push_back({hash, std::uint64_t{1} << bit});
  return true;
}

// The (bank, index) pairs of the quote's selection and of the supplied
// values.
struct PcrSets {
  std::vector<BankMask> quoted;
  std::vector<BankMask> supplied;
};

// pcr_masks returns both sets as masks, or nullopt when one of them does
// not fit (then the caller compares sets) or, with |duplicate| set, when the
// quote selects one bank twice.
std::optional<PcrSets> pcr_masks(const TpmQuoteInfo& quote, const TpmPcrValues& values,
                                 bool& duplicate) {
  PcrSets out;
  for (const auto& sel : quote.pcr_select) {
    std::uint64_t mask = 0;
    for (std::size_t byte = 0; byte < sel.select.size(); ++byte) {
      if (sel.select[byte] == 0) {
        continue;
      }
      if (byte >= 8) {
        return std::nullopt;
      }
      mask |= std::uint64_t{sel.select[byte]} << (8 * byte);
    }
    if (mask == 0) {
      continue;
    }
    for (const auto& b : out.quoted) {
      if (b.hash == sel.hash) {
        duplicate = true;
        return std::nullopt;
      }
    }
    out.quoted.push_back({sel.hash, mask});
  }
  for (const auto& bank : values.banks) {
    for (const auto& entry : bank.values) {
      if (!add_bit(out.supplied, bank.hash, entry.first)) {
        return std::nullopt;
      }
    }
  }
  return out;
}

// Whether two lists of distinct banks hold the same pairs.
bool same_pairs(const std::vector<BankMask>& a, const std::vector<BankMask>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (const auto& x : a) {
    bool found = false;
    for (const auto& y : b) {
      found = found || (x.hash == y.hash && x.mask == y.mask);
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

// The same comparison over sets of pairs, for indices beyond the masks.
Result<bool> same_pcr_sets(const TpmQuoteInfo& quote, const TpmPcrValues& values) {
  std::set<std::pair<std::uint16_t, std::uint32_t>> quoted;
  std::set<std::uint16_t> banks;
  for (const auto& sel : quote.pcr_select) {
    const std::vector<std::uint32_t> indices = sel.indices();
    if (indices.empty()) {
      continue;
    }
    if (!banks.insert(sel.hash).second) {
      return Error{ErrorCode::TpmPcrSelectionMismatch, "the quote selects one bank twice"};
    }
    for (const std::uint32_t i : indices) {
      quoted.emplace(sel.hash, i);
    }
  }
  std::set<std::pair<std::uint16_t, std::uint32_t>> supplied;
  for (const auto& bank : values.banks) {
    for (const auto& [i, v] : bank.values) {
      (void)v;
      supplied.emplace(bank.hash, i);
    }
  }
  return quoted == supplied;
}

}  // namespace

Result<void> check_tpm_quote_pcrs(const TpmQuoteInfo& quote, std::uint16_t sig_hash,
                                  const TpmPcrValues& values) {
  // The (bank, index) pairs the quote covers must be exactly those supplied.
  bool duplicate = false;
  const std::optional<PcrSets> masks = pcr_masks(quote, values, duplicate);
  if (duplicate) {
    return Error{ErrorCode::TpmPcrSelectionMismatch, "the quote selects one bank twice"};
  }
  bool same = false;
  if (masks) {
    same = same_pairs(masks->quoted, masks->supplied);
  } else {
    ATLS_ASSIGN_OR_RETURN(same, same_pcr_sets(quote, values));
  }
  if (!same) {
    return Error{ErrorCode::TpmPcrSelectionMismatch,
                 "the PCR values do not match the quoted PCR selection"};
  }
  //= https://trustedcomputinggroup.org/resource/tpm-library-specification/ Part 3 §18.4.1
  //# The digest is computed using the hash of the signing scheme.
  ATLS_ASSIGN_OR_RETURN(const Bytes digest, tpm_pcr_digest(sig_hash, quote.pcr_select, values));
  if (!constant_time_equal(digest, quote.pcr_digest)) {
    return Error{ErrorCode::TpmPcrDigestMismatch,
                 "pcrDigest differs from the hash of the PCR values"};
  }
  return ok();
}

}  // namespace atls
