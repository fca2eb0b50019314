#include "src/formats/tpm/tpm.h"

#include "src/core/byte_reader.h"

#include <string>

namespace atls {
namespace {

// Sizes of the in-memory structures tpm2-tools writes (x86-64 and every ABI
// tpm2-tss supports: TPMS_PCR_SELECTION is 7 bytes padded to 8).
constexpr std::size_t kToolsSelectionSlot = 8;
constexpr std::size_t kToolsDigestsPerList = 8;
// tpm2-tools' tpm2_pcrs holds at most TPM2_MAX_PCRS (32) digest lists.
constexpr std::size_t kToolsMaxDigestLists = 32;
// RSA keys above 16384 bits are not TPM keys.
constexpr std::size_t kMaxRsaModulus = 2048;
// The largest ECC coordinate (P-521) is 66 bytes.
constexpr std::size_t kMaxEccCoordinate = 66;

Error malformed(std::string what) {
  return Error{ErrorCode::TpmMalformed, std::move(what)};
}

// Maps ByteReader failures (Truncated, LengthOverflow, TrailingData) to the
// TPM parser's single code, keeping the position in the detail.
template <class T>
Result<T> tpm_read(Result<T> r, const char* field) {
  if (!r) {
    return malformed(std::string(field) + ": " + r.error().to_string());
  }
  return r;
}

#define TPM_READ(decl, expr, field) ATLS_ASSIGN_OR_RETURN(decl, tpm_read((expr), field))

Result<Bytes> tpm2b(ByteReader& r, std::size_t max, const char* field) {
  TPM_READ(const ByteView v, r.vector16(0, max), field);
  return Bytes(v.begin(), v.end());
}

Result<TpmPcrSelection> parse_selection(ByteReader& r) {
  TpmPcrSelection s;
  TPM_READ(s.hash, r.u16(), "TPMS_PCR_SELECTION.hash");
  TPM_READ(const ByteView sel, r.vector8(0, kTpmPcrSelectMax), "TPMS_PCR_SELECTION.pcrSelect");
  s.select.assign(sel.begin(), sel.end());
  return s;
}

Result<std::vector<TpmPcrSelection>> parse_selection_list(ByteReader& r) {
  TPM_READ(const std::uint32_t count, r.u32(), "TPML_PCR_SELECTION.count");
  if (count > kTpmMaxPcrBanks) {
    return malformed("TPML_PCR_SELECTION.count " + std::to_string(count) + " exceeds 16");
  }
  std::vector<TpmPcrSelection> out;
  for (std::uint32_t i = 0; i < count; ++i) {
    ATLS_ASSIGN_OR_RETURN(TpmPcrSelection s, parse_selection(r));
    out.push_back(std::move(s));
  }
  return out;
}

// A scheme (TPMT_*_SCHEME / TPMT_KDF_SCHEME): the algorithm and, unless it
// is NULL or a scheme without details, its hash (ECDAA adds a UINT16 count).
Result<void> parse_scheme(ByteReader& r, std::uint16_t& scheme, std::uint16_t& hash) {
  TPM_READ(scheme, r.u16(), "scheme");
  hash = 0;
  if (scheme == kTpmAlgNull || scheme == kTpmAlgRsaes) {
    return ok();
  }
  TPM_READ(hash, r.u16(), "scheme.hashAlg");
  if (scheme == kTpmAlgEcdaa) {
    TPM_READ(const std::uint16_t count, r.u16(), "scheme.count");
    (void)count;
  }
  return ok();
}

}  // namespace

std::size_t tpm_hash_size(std::uint16_t alg) {
  switch (alg) {
    case kTpmAlgSha1:
      return 20;
    case kTpmAlgSha256:
      return 32;
    case kTpmAlgSha384:
      return 48;
    case kTpmAlgSha512:
      return 64;
    default:
      return 0;
  }
}

std::string_view tpm_hash_name(std::uint16_t alg) {
  switch (alg) {
    case kTpmAlgSha1:
      return "sha1";
    case kTpmAlgSha256:
      return "sha256";
    case kTpmAlgSha384:
      return "sha384";
    case kTpmAlgSha512:
      return "sha512";
    default:
      return "";
  }
}

std::optional<std::uint16_t> tpm_hash_from_name(std::string_view name) {
  for (const std::uint16_t alg : {kTpmAlgSha1, kTpmAlgSha256, kTpmAlgSha384, kTpmAlgSha512}) {
    if (tpm_hash_name(alg) == name) {
      return alg;
    }
  }
  return std::nullopt;
}

std::vector<std::uint32_t> TpmPcrSelection::indices() const {
  std::vector<std::uint32_t> out;
  for (std::size_t byte = 0; byte < select.size(); ++byte) {
    for (std::uint32_t bit = 0; bit < 8; ++bit) {
      if ((select[byte] >> bit) & 1U) {
        out.push_back(static_cast<std::uint32_t>(byte * 8 + bit));
      }
    }
  }
  return out;
}

Result<TpmAttest> parse_tpm_attest(ByteView data) {
  ByteReader r(data);
  TpmAttest a;
  TPM_READ(a.magic, r.u32(), "TPMS_ATTEST.magic");
  if (a.magic != kTpmGeneratedValue) {
    return Error{ErrorCode::TpmBadMagic, "magic is not 0xff544347"};
  }
  TPM_READ(a.type, r.u16(), "TPMS_ATTEST.type");
  // TPM2B_NAME holds a TPMU_NAME: a handle or TPMT_HA (at most 2 + 64 bytes).
  ATLS_ASSIGN_OR_RETURN(a.qualified_signer, tpm2b(r, 2 + kTpmMaxDigestSize, "qualifiedSigner"));
  ATLS_ASSIGN_OR_RETURN(a.extra_data, tpm2b(r, 2 + kTpmMaxDigestSize, "extraData"));
  TPM_READ(a.clock_info.clock, r.u64(), "clockInfo.clock");
  TPM_READ(a.clock_info.reset_count, r.u32(), "clockInfo.resetCount");
  TPM_READ(a.clock_info.restart_count, r.u32(), "clockInfo.restartCount");
  TPM_READ(const std::uint8_t safe, r.u8(), "clockInfo.safe");
  if (safe > 1) {
    return malformed("clockInfo.safe is not a TPMI_YES_NO");
  }
  a.clock_info.safe = safe == 1;
  TPM_READ(a.firmware_version, r.u64(), "firmwareVersion");
  if (a.type != kTpmStAttestQuote) {
    const ByteView rest = r.rest();
    a.attested.assign(rest.begin(), rest.end());
    return a;
  }
  TpmQuoteInfo q;
  ATLS_ASSIGN_OR_RETURN(q.pcr_select, parse_selection_list(r));
  ATLS_ASSIGN_OR_RETURN(q.pcr_digest, tpm2b(r, kTpmMaxDigestSize, "pcrDigest"));
  ATLS_TRY(tpm_read(r.expect_end(), "TPMS_QUOTE_INFO"));
  a.quote = std::move(q);
  return a;
}

Result<TpmSignature> parse_tpm_signature(ByteView data) {
  ByteReader r(data);
  TpmSignature s;
  TPM_READ(s.sig_alg, r.u16(), "TPMT_SIGNATURE.sigAlg");
  switch (s.sig_alg) {
    case kTpmAlgEcdsa: {
      TPM_READ(s.hash, r.u16(), "TPMS_SIGNATURE_ECC.hash");
      ATLS_ASSIGN_OR_RETURN(s.r, tpm2b(r, kMaxEccCoordinate, "signatureR"));
      ATLS_ASSIGN_OR_RETURN(s.s, tpm2b(r, kMaxEccCoordinate, "signatureS"));
      break;
    }
    case kTpmAlgRsassa:
    case kTpmAlgRsapss: {
      TPM_READ(s.hash, r.u16(), "TPMS_SIGNATURE_RSA.hash");
      ATLS_ASSIGN_OR_RETURN(s.sig, tpm2b(r, kMaxRsaModulus, "TPMS_SIGNATURE_RSA.sig"));
      break;
    }
    default:
      return Error{
          ErrorCode::UnsupportedAlgorithm,
          "TPMT_SIGNATURE.sigAlg " + std::to_string(s.sig_alg) + " is not ECDSA, RSASSA or RSAPSS"};
  }
  ATLS_TRY(tpm_read(r.expect_end(), "TPMT_SIGNATURE"));
  return s;
}

Result<TpmPublic> parse_tpm_public(ByteView data) {
  ByteReader r(data);
  TpmPublic p;
  TPM_READ(p.type, r.u16(), "TPMT_PUBLIC.type");
  if (p.type != kTpmAlgRsa && p.type != kTpmAlgEcc) {
    return Error{ErrorCode::UnsupportedAlgorithm, "TPMT_PUBLIC.type is not RSA or ECC"};
  }
  TPM_READ(p.name_alg, r.u16(), "TPMT_PUBLIC.nameAlg");
  if (tpm_hash_size(p.name_alg) == 0) {
    return Error{ErrorCode::UnsupportedAlgorithm, "TPMT_PUBLIC.nameAlg is not a known hash"};
  }
  TPM_READ(p.object_attributes, r.u32(), "TPMT_PUBLIC.objectAttributes");
  ATLS_ASSIGN_OR_RETURN(p.auth_policy, tpm2b(r, kTpmMaxDigestSize, "authPolicy"));
  TPM_READ(p.symmetric, r.u16(), "symmetric.algorithm");
  if (p.symmetric != kTpmAlgNull) {
    TPM_READ(p.symmetric_bits, r.u16(), "symmetric.keyBits");
    TPM_READ(p.symmetric_mode, r.u16(), "symmetric.mode");
  }
  ATLS_TRY(parse_scheme(r, p.scheme, p.scheme_hash));
  if (p.type == kTpmAlgRsa) {
    TPM_READ(p.rsa_bits, r.u16(), "TPMS_RSA_PARMS.keyBits");
    TPM_READ(p.rsa_exponent, r.u32(), "TPMS_RSA_PARMS.exponent");
    ATLS_ASSIGN_OR_RETURN(p.rsa_modulus, tpm2b(r, kMaxRsaModulus, "unique.rsa"));
  } else {
    TPM_READ(p.ecc_curve, r.u16(), "TPMS_ECC_PARMS.curveID");
    std::uint16_t kdf_hash = 0;
    ATLS_TRY(parse_scheme(r, p.ecc_kdf, kdf_hash));
    ATLS_ASSIGN_OR_RETURN(p.ecc_x, tpm2b(r, kMaxEccCoordinate, "unique.ecc.x"));
    ATLS_ASSIGN_OR_RETURN(p.ecc_y, tpm2b(r, kMaxEccCoordinate, "unique.ecc.y"));
  }
  ATLS_TRY(tpm_read(r.expect_end(), "TPMT_PUBLIC"));
  p.raw.assign(data.begin(), data.end());
  return p;
}

Result<TpmPublic> parse_tpm2b_public(ByteView data) {
  ByteReader r(data);
  TPM_READ(const ByteView inner, r.vector16(1), "TPM2B_PUBLIC.size");
  ATLS_TRY(tpm_read(r.expect_end(), "TPM2B_PUBLIC"));
  return parse_tpm_public(inner);
}

std::vector<TpmPcrSelection> TpmPcrValues::selection() const {
  std::vector<TpmPcrSelection> out;
  for (const auto& bank : banks) {
    TpmPcrSelection s;
    s.hash = bank.hash;
    s.select.assign(3, 0);
    for (const auto& [index, value] : bank.values) {
      (void)value;
      const std::size_t byte = index / 8;
      if (byte >= kTpmPcrSelectMax) {
        continue;  // not representable; encode_tpm_pcrs_file rejects it
      }
      if (byte >= s.select.size()) {
        s.select.resize(byte + 1, 0);
      }
      s.select[byte] = static_cast<std::uint8_t>(s.select[byte] | (1U << (index % 8)));
    }
    out.push_back(std::move(s));
  }
  return out;
}

const TpmPcrBank* TpmPcrValues::find(std::uint16_t hash) const {
  for (const auto& b : banks) {
    if (b.hash == hash) {
      return &b;
    }
  }
  return nullptr;
}

Result<TpmPcrValues> parse_tpm_pcrs_file(ByteView data) {
  ByteReader r(data);
  TPM_READ(const std::uint32_t bank_count, r.u32_le(), "pcrs file: selection count");
  if (bank_count > kTpmMaxPcrBanks) {
    return malformed("pcrs file: more than 16 banks");
  }
  std::vector<TpmPcrSelection> selection;
  for (std::size_t i = 0; i < kTpmMaxPcrBanks; ++i) {
    TPM_READ(const std::uint16_t hash, r.u16_le(), "pcrs file: selection hash");
    TPM_READ(const std::uint8_t size, r.u8(), "pcrs file: sizeofSelect");
    TPM_READ(const ByteView bits, r.bytes(kTpmPcrSelectMax), "pcrs file: pcrSelect");
    // The last byte is struct padding; its value is whatever was in memory.
    ATLS_TRY(tpm_read(r.skip(kToolsSelectionSlot - 3 - kTpmPcrSelectMax), "pcrs file"));
    if (i >= bank_count) {
      continue;  // unused slots are not interpreted
    }
    if (size > kTpmPcrSelectMax) {
      return malformed("pcrs file: sizeofSelect above 4");
    }
    if (tpm_hash_size(hash) == 0) {
      return malformed("pcrs file: unknown bank hash " + std::to_string(hash));
    }
    selection.push_back(TpmPcrSelection{hash, Bytes(bits.begin(), bits.begin() + size)});
  }
  TPM_READ(const std::uint32_t list_count, r.u32_le(), "pcrs file: digest list count");
  if (list_count > kToolsMaxDigestLists) {
    return malformed("pcrs file: more than 32 digest lists");
  }
  std::vector<Bytes> digests;
  for (std::uint32_t l = 0; l < list_count; ++l) {
    TPM_READ(const std::uint32_t count, r.u32_le(), "pcrs file: TPML_DIGEST.count");
    if (count > kToolsDigestsPerList) {
      return malformed("pcrs file: TPML_DIGEST.count above 8");
    }
    for (std::size_t d = 0; d < kToolsDigestsPerList; ++d) {
      TPM_READ(const std::uint16_t size, r.u16_le(), "pcrs file: TPM2B_DIGEST.size");
      TPM_READ(const ByteView buffer, r.bytes(kTpmMaxDigestSize), "pcrs file: TPM2B_DIGEST.buffer");
      if (d >= count) {
        continue;
      }
      if (size > kTpmMaxDigestSize) {
        return malformed("pcrs file: TPM2B_DIGEST.size above 64");
      }
      digests.emplace_back(buffer.begin(), buffer.begin() + size);
    }
  }
  ATLS_TRY(tpm_read(r.expect_end(), "pcrs file"));

  TpmPcrValues out;
  std::size_t next = 0;
  for (const auto& sel : selection) {
    TpmPcrBank* bank = nullptr;
    for (auto& b : out.banks) {
      bank = b.hash == sel.hash ? &b : bank;
    }
    if (bank == nullptr) {
      out.banks.push_back(TpmPcrBank{sel.hash, {}});
      bank = &out.banks.back();
    }
    for (const std::uint32_t index : sel.indices()) {
      if (next >= digests.size()) {
        return malformed("pcrs file: fewer values than selected PCRs");
      }
      if (digests[next].size() != tpm_hash_size(sel.hash)) {
        return malformed("pcrs file: value size does not match its bank");
      }
      if (!bank->values.emplace(index, std::move(digests[next])).second) {
        return malformed("pcrs file: PCR selected twice");
      }
      ++next;
    }
  }
  if (next != digests.size()) {
    return malformed("pcrs file: more values than selected PCRs");
  }
  return out;
}

Result<Bytes> encode_tpm_pcrs_file(const TpmPcrValues& pcrs) {
  if (pcrs.banks.size() > kTpmMaxPcrBanks) {
    return Error{ErrorCode::InvalidArgument, "more than 16 PCR banks"};
  }
  std::vector<Bytes> digests;
  for (const auto& bank : pcrs.banks) {
    const std::size_t n = tpm_hash_size(bank.hash);
    if (n == 0) {
      return Error{ErrorCode::InvalidArgument, "unknown PCR bank hash"};
    }
    for (const auto& [index, value] : bank.values) {
      if (index >= kTpmPcrSelectMax * 8) {
        return Error{ErrorCode::InvalidArgument, "PCR index above 31"};
      }
      if (value.size() != n) {
        return Error{ErrorCode::InvalidArgument, "PCR value size does not match its bank"};
      }
      digests.push_back(value);
    }
  }
  const std::vector<TpmPcrSelection> selection = pcrs.selection();
  Bytes out;
  auto le = [&out](std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  };
  le(selection.size(), 4);
  for (std::size_t i = 0; i < kTpmMaxPcrBanks; ++i) {
    Bytes bits(kTpmPcrSelectMax, 0);
    std::uint16_t hash = 0;
    std::size_t size = 0;
    if (i < selection.size()) {
      hash = selection[i].hash;
      size = selection[i].select.size();
      std::copy(selection[i].select.begin(), selection[i].select.end(), bits.begin());
    }
    le(hash, 2);
    le(size, 1);
    out.insert(out.end(), bits.begin(), bits.end());
    le(0, kToolsSelectionSlot - 3 - kTpmPcrSelectMax);
  }
  const std::size_t lists = (digests.size() + kToolsDigestsPerList - 1) / kToolsDigestsPerList;
  if (lists > kToolsMaxDigestLists) {
    return Error{ErrorCode::InvalidArgument, "too many PCR values"};
  }
  le(lists, 4);
  for (std::size_t l = 0; l < lists; ++l) {
    const std::size_t first = l * kToolsDigestsPerList;
    const std::size_t count = std::min(kToolsDigestsPerList, digests.size() - first);
    le(count, 4);
    for (std::size_t d = 0; d < kToolsDigestsPerList; ++d) {
      Bytes buffer(kTpmMaxDigestSize, 0);
      std::size_t size = 0;
      if (d < count) {
        const Bytes& v = digests[first + d];
        size = v.size();
        std::copy(v.begin(), v.end(), buffer.begin());
      }
      le(size, 2);
      out.insert(out.end(), buffer.begin(), buffer.end());
    }
  }
  return out;
}

}  // namespace atls
