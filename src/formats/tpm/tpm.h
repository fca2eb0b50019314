#pragma once

// TPM 2.0 structures used for quotes: a pure parser (no I/O, no OpenSSL, no
// TSS) for TPMS_ATTEST, TPMT_SIGNATURE and TPMT_PUBLIC in the TPM's
// big-endian marshalling (TPM 2.0 Library Part 2), and the reader and writer
// of the PCR file that tpm2-tools 5.x writes with `tpm2_quote -o` /
// `tpm2_pcrread -o` (the "serialized" format). Key construction, Names and
// signature checks live in src/formats/tpm/verify.h.

#include <atls/bytes.h>
#include <atls/result.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace atls {

//= https://trustedcomputinggroup.org/resource/tpm-library-specification/ Part 2 §6.2
//# TPM_GENERATED_VALUE 0xff544347 0x means "TCG" (FF 54 43 47)
inline constexpr std::uint32_t kTpmGeneratedValue = 0xFF544347;
// TPM_ST structure tags of TPMS_ATTEST (Part 2 §6.9).
inline constexpr std::uint16_t kTpmStAttestCertify = 0x8017;
inline constexpr std::uint16_t kTpmStAttestQuote = 0x8018;

// TPM_ALG_ID values (TCG Algorithm Registry), in registry order.
inline constexpr std::uint16_t kTpmAlgRsa = 0x0001;
inline constexpr std::uint16_t kTpmAlgSha1 = 0x0004;
inline constexpr std::uint16_t kTpmAlgKeyedHash = 0x0008;
inline constexpr std::uint16_t kTpmAlgSha256 = 0x000B;
inline constexpr std::uint16_t kTpmAlgSha384 = 0x000C;
inline constexpr std::uint16_t kTpmAlgSha512 = 0x000D;
inline constexpr std::uint16_t kTpmAlgNull = 0x0010;
inline constexpr std::uint16_t kTpmAlgRsassa = 0x0014;
inline constexpr std::uint16_t kTpmAlgRsaes = 0x0015;
inline constexpr std::uint16_t kTpmAlgRsapss = 0x0016;
inline constexpr std::uint16_t kTpmAlgOaep = 0x0017;
inline constexpr std::uint16_t kTpmAlgEcdsa = 0x0018;
inline constexpr std::uint16_t kTpmAlgEcdaa = 0x001A;
inline constexpr std::uint16_t kTpmAlgSymCipher = 0x0025;
inline constexpr std::uint16_t kTpmAlgEcc = 0x0023;

// TPM_ECC_CURVE values.
inline constexpr std::uint16_t kTpmEccNistP256 = 0x0003;
inline constexpr std::uint16_t kTpmEccNistP384 = 0x0004;
inline constexpr std::uint16_t kTpmEccNistP521 = 0x0005;

// TPMA_OBJECT bits (Part 2 §8.3).
inline constexpr std::uint32_t kTpmaFixedTpm = 1U << 1;
inline constexpr std::uint32_t kTpmaFixedParent = 1U << 4;
inline constexpr std::uint32_t kTpmaSensitiveDataOrigin = 1U << 5;
inline constexpr std::uint32_t kTpmaUserWithAuth = 1U << 6;
inline constexpr std::uint32_t kTpmaRestricted = 1U << 16;
inline constexpr std::uint32_t kTpmaDecrypt = 1U << 17;
inline constexpr std::uint32_t kTpmaSign = 1U << 18;

// Bounds of the structures (reference implementation values): PCR_SELECT_MAX
// is 4 bytes in tpm2-tss (32 PCRs), TPM2_NUM_PCR_BANKS 16, and no digest is
// longer than SHA-512.
inline constexpr std::size_t kTpmPcrSelectMax = 4;
inline constexpr std::size_t kTpmMaxPcrBanks = 16;
inline constexpr std::size_t kTpmMaxDigestSize = 64;

// tpm_hash_size returns the digest size of a TPM hash algorithm (SHA-1,
// SHA-256, SHA-384, SHA-512), or 0 for any other id.
std::size_t tpm_hash_size(std::uint16_t alg);

// tpm_hash_name returns "sha1", "sha256", "sha384", "sha512", or "" for any
// other id; tpm_hash_from_name is its inverse (nullopt if unknown).
std::string_view tpm_hash_name(std::uint16_t alg);
std::optional<std::uint16_t> tpm_hash_from_name(std::string_view name);

// TpmPcrSelection is one TPMS_PCR_SELECTION: a bank and a bitmap in which
// bit (i % 8) of byte (i / 8) selects PCR i.
struct TpmPcrSelection {
  std::uint16_t hash = 0;
  Bytes select;  // sizeofSelect bytes (at most kTpmPcrSelectMax)

  // indices lists the selected PCR numbers in ascending order.
  std::vector<std::uint32_t> indices() const;
};

// TpmClockInfo is TPMS_CLOCK_INFO.
struct TpmClockInfo {
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  bool safe = false;
};

// TpmQuoteInfo is TPMS_QUOTE_INFO.
struct TpmQuoteInfo {
  std::vector<TpmPcrSelection> pcr_select;
  Bytes pcr_digest;
};

// TpmAttest is a parsed TPMS_ATTEST. |quote| is set for type
// TPM_ST_ATTEST_QUOTE; for any other type the TPMU_ATTEST bytes are kept
// uninterpreted in |attested|.
struct TpmAttest {
  std::uint32_t magic = 0;
  std::uint16_t type = 0;
  Bytes qualified_signer;  // TPM2B_NAME contents
  Bytes extra_data;        // TPM2B_DATA contents: the qualifyingData (nonce)
  TpmClockInfo clock_info;
  std::uint64_t firmware_version = 0;
  std::optional<TpmQuoteInfo> quote;
  Bytes attested;
};

// parse_tpm_attest parses a marshalled TPMS_ATTEST (the `attestationData`
// of TPM2B_ATTEST, i.e. what TPM2_Quote signs). Fails with TpmBadMagic when
// magic is not TPM_GENERATED_VALUE, and TpmMalformed on truncation, trailing
// bytes after a quote, or out-of-range sizes.
Result<TpmAttest> parse_tpm_attest(ByteView data);

// TpmSignature is a parsed TPMT_SIGNATURE: ECDSA (r, s) or RSASSA/RSAPSS
// (sig), each with its hash algorithm.
struct TpmSignature {
  std::uint16_t sig_alg = 0;
  std::uint16_t hash = 0;
  Bytes r;    // ECDSA only
  Bytes s;    // ECDSA only
  Bytes sig;  // RSASSA / RSAPSS only
};

// parse_tpm_signature parses a marshalled TPMT_SIGNATURE (as TPM2_Quote
// returns it and `tpm2_quote -s` writes it). Fails with TpmMalformed on
// truncation or trailing bytes, and UnsupportedAlgorithm for signature
// schemes other than ECDSA, RSASSA and RSAPSS.
Result<TpmSignature> parse_tpm_signature(ByteView data);

// TpmPublic is a parsed TPMT_PUBLIC of an RSA or ECC key. |raw| holds the
// exact marshalled bytes (the Name is computed over them).
struct TpmPublic {
  std::uint16_t type = 0;
  std::uint16_t name_alg = 0;
  std::uint32_t object_attributes = 0;
  Bytes auth_policy;
  // TPMT_SYM_DEF_OBJECT: algorithm (TPM_ALG_NULL for signing keys), key
  // bits and mode (0 when the algorithm is NULL).
  std::uint16_t symmetric = kTpmAlgNull;
  std::uint16_t symmetric_bits = 0;
  std::uint16_t symmetric_mode = 0;
  // Scheme (TPMT_RSA_SCHEME / TPMT_ECC_SCHEME) and its hash (0 if none).
  std::uint16_t scheme = kTpmAlgNull;
  std::uint16_t scheme_hash = 0;
  // RSA parameters: key bits, exponent (0 means 65537) and modulus.
  std::uint16_t rsa_bits = 0;
  std::uint32_t rsa_exponent = 0;
  Bytes rsa_modulus;
  // ECC parameters: curve, KDF scheme and the public point.
  std::uint16_t ecc_curve = 0;
  std::uint16_t ecc_kdf = kTpmAlgNull;
  Bytes ecc_x;
  Bytes ecc_y;
  Bytes raw;

  bool is_restricted_signing_key() const {
    return (object_attributes & (kTpmaRestricted | kTpmaSign)) == (kTpmaRestricted | kTpmaSign);
  }
};

// parse_tpm_public parses a marshalled TPMT_PUBLIC (RSA or ECC). Fails with
// TpmMalformed on truncation, trailing bytes or bad sizes, and
// UnsupportedAlgorithm for other object types or an unknown name algorithm.
Result<TpmPublic> parse_tpm_public(ByteView data);

// parse_tpm2b_public parses a TPM2B_PUBLIC (UINT16 size, then TPMT_PUBLIC),
// as `tpm2_create -u` and `tpm2_readpublic -o` write it. Same failures.
Result<TpmPublic> parse_tpm2b_public(ByteView data);

// TpmPcrBank is the values of one PCR bank, by PCR index.
struct TpmPcrBank {
  std::uint16_t hash = 0;
  std::map<std::uint32_t, Bytes> values;
};

// TpmPcrValues is a set of PCR values, banks in selection order.
struct TpmPcrValues {
  std::vector<TpmPcrBank> banks;

  // selection returns the TPML_PCR_SELECTION that covers exactly these
  // values (sizeofSelect 3, or 4 when a PCR above 23 is present).
  std::vector<TpmPcrSelection> selection() const;
  // find returns the bank of |hash|, or nullptr.
  const TpmPcrBank* find(std::uint16_t hash) const;
};

// parse_tpm_pcrs_file reads the PCR file of tpm2-tools 5.x (`tpm2_quote -o`,
// default "serialized" format): the in-memory TPML_PCR_SELECTION (UINT32
// count, then 16 TPMS_PCR_SELECTION slots of 8 bytes: UINT16 hash, UINT8
// sizeofSelect, 4 select bytes, 1 padding byte), a UINT32 count of digest
// lists, then that many in-memory TPML_DIGEST (UINT32 count, 8 slots of
// UINT16 size + 64 bytes). tpm2-tools converts every integer to
// little-endian (htole) before writing. Values are assigned to the selected
// PCRs in bank order, ascending index. Fails with TpmMalformed on any size
// that is out of range, a value whose size differs from its bank's digest
// size, a count of values that differs from the number of selected PCRs,
// or trailing data.
Result<TpmPcrValues> parse_tpm_pcrs_file(ByteView data);

// encode_tpm_pcrs_file writes |pcrs| in the same format, readable by
// `tpm2_checkquote -f`. Fails with InvalidArgument on more than 16 banks, a
// PCR index above 31, an unknown bank hash or a value of the wrong size.
Result<Bytes> encode_tpm_pcrs_file(const TpmPcrValues& pcrs);

}  // namespace atls
