#include "src/tls/signature_scheme.h"

#include "src/core/byte_reader.h"
#include "src/tls/extensions.h"

#include <array>

namespace atls::tls {
namespace {

constexpr std::array<std::uint16_t, 5> kSupportedSchemes = {
    kEcdsaSecp256r1Sha256, kEcdsaSecp384r1Sha384, kEd25519, kRsaPssRsaeSha256, kRsaPssRsaeSha384,
};

struct SchemeInfo {
  ossl::SignatureAlg alg;
  ossl::KeyType key;
};

std::optional<SchemeInfo> scheme_info(std::uint16_t scheme) {
  switch (scheme) {
    case kEcdsaSecp256r1Sha256:
      return SchemeInfo{ossl::SignatureAlg::EcdsaSha256, ossl::KeyType::EcP256};
    case kEcdsaSecp384r1Sha384:
      return SchemeInfo{ossl::SignatureAlg::EcdsaSha384, ossl::KeyType::EcP384};
    case kEd25519:
      return SchemeInfo{ossl::SignatureAlg::Ed25519, ossl::KeyType::Ed25519};
    case kRsaPssRsaeSha256:
      return SchemeInfo{ossl::SignatureAlg::RsaPssSha256, ossl::KeyType::Rsa};
    case kRsaPssRsaeSha384:
      return SchemeInfo{ossl::SignatureAlg::RsaPssSha384, ossl::KeyType::Rsa};
    default:
      return std::nullopt;
  }
}

}  // namespace

std::span<const std::uint16_t> supported_signature_schemes() {
  return kSupportedSchemes;
}

bool is_supported_signature_scheme(std::uint16_t scheme) {
  return scheme_info(scheme).has_value();
}

std::optional<ossl::SignatureAlg> signature_scheme_alg(std::uint16_t scheme) {
  const auto info = scheme_info(scheme);
  if (!info) {
    return std::nullopt;
  }
  return info->alg;
}

bool signature_scheme_matches_key(std::uint16_t scheme, const EVP_PKEY* key) {
  const auto info = scheme_info(scheme);
  return info && key != nullptr && ossl::key_type(key) == info->key;
}

std::optional<std::uint16_t> select_signature_scheme(std::span<const std::uint16_t> offered,
                                                     const EVP_PKEY* key) {
  for (const std::uint16_t s : offered) {
    if (signature_scheme_matches_key(s, key)) {
      return s;
    }
  }
  return std::nullopt;
}

Result<Bytes> encode_signature_algorithms(std::span<const std::uint16_t> schemes) {
  if (schemes.empty() || schemes.size() > 0x7fff) {
    return Error{ErrorCode::InvalidArgument, "signature_algorithms needs 1..32767 schemes"};
  }
  ByteWriter w;
  const std::size_t h = w.begin_vector(2);
  for (const std::uint16_t s : schemes) {
    w.u16(s);
  }
  ATLS_TRY(w.end_vector(h));
  return w.take();
}

Result<std::vector<std::uint16_t>> parse_signature_algorithms(ByteView data) {
  ByteReader r(data);
  ATLS_RELABEL(const ByteView list, r.vector16(2, 0xfffe), ErrorCode::EaRequestMalformed,
               "signature_algorithms");
  if (!r.empty() || list.size() % 2 != 0) {
    return Error{ErrorCode::EaRequestMalformed, "signature_algorithms has a partial entry"};
  }
  std::vector<std::uint16_t> out;
  out.reserve(list.size() / 2);
  for (std::size_t i = 0; i < list.size(); i += 2) {
    out.push_back(static_cast<std::uint16_t>((list[i] << 8) | list[i + 1]));
  }
  return out;
}

}  // namespace atls::tls
