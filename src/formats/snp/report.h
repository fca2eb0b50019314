#pragma once

// AMD SEV-SNP ATTESTATION_REPORT: a pure parser (no I/O, no OpenSSL) and a
// JSON rendering for `atls inspect`. Field names follow AMD's SEV Secure
// Nested Paging Firmware ABI Specification (56860), Table "ATTESTATION_REPORT
// Structure". Signature verification lives in src/formats/snp/verify.h.

#include <atls/bytes.h>
#include <atls/result.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace atls {

// kSnpReportSize is the size of an ATTESTATION_REPORT (0x4A0 bytes).
inline constexpr std::size_t kSnpReportSize = 0x4A0;
// kSnpSignedSize is the length of the signed prefix: bytes [0, 0x2A0).
inline constexpr std::size_t kSnpSignedSize = 0x2A0;
// kSnpSignatureAlgoEcdsaP384Sha384 is SIGNATURE_ALGO 1 (ECDSA P-384 with SHA-384).
inline constexpr std::uint32_t kSnpSignatureAlgoEcdsaP384Sha384 = 1;
// Report versions this parser knows (2 up to and including 5).
inline constexpr std::uint32_t kSnpMinReportVersion = 2;
inline constexpr std::uint32_t kSnpMaxReportVersion = 5;

// SnpTcbLayout says how the 64-bit TCB_VERSION is split into SPL bytes.
enum class SnpTcbLayout : std::uint8_t {
  // Milan and Genoa (family 19h): BOOT_LOADER, TEE, 4 reserved, SNP, MICROCODE.
  MilanGenoa,
  // Turin (family 1Ah): FMC, BOOT_LOADER, TEE, SNP, 3 reserved, MICROCODE.
  Turin,
};

// SnpTcb is one decoded TCB_VERSION. |raw| is the little-endian 64-bit value
// exactly as in the report; the SPL bytes are decoded according to |layout|
// (fmc is 0 for the Milan/Genoa layout, which has no FMC byte).
struct SnpTcb {
  std::uint64_t raw = 0;
  SnpTcbLayout layout = SnpTcbLayout::MilanGenoa;
  std::uint8_t fmc = 0;
  std::uint8_t bootloader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
};

// decode_snp_tcb splits |raw| into SPL bytes according to |layout|. Never fails.
SnpTcb decode_snp_tcb(std::uint64_t raw, SnpTcbLayout layout);

// SnpPolicy is the guest POLICY (bits 7:0 ABI_MINOR, 15:8 ABI_MAJOR, 16 SMT,
// 17 reserved (must be 1), 18 MIGRATE_MA, 19 DEBUG, 20 SINGLE_SOCKET,
// 21 CXL_ALLOW, 22 MEM_AES_256_XTS, 23 RAPL_DIS, 24 CIPHERTEXT_HIDING,
// 25 PAGE_SWAP_DISABLE, 63:26 reserved (must be zero)).
struct SnpPolicy {
  std::uint64_t raw = 0;
  std::uint8_t abi_minor = 0;
  std::uint8_t abi_major = 0;

  bool smt_allowed() const { return bit(16); }
  bool migrate_ma_allowed() const { return bit(18); }
  bool debug_allowed() const { return bit(19); }
  bool single_socket() const { return bit(20); }
  bool cxl_allowed() const { return bit(21); }
  bool mem_aes_256_xts() const { return bit(22); }
  bool rapl_dis() const { return bit(23); }
  bool ciphertext_hiding() const { return bit(24); }
  bool page_swap_disable() const { return bit(25); }

 private:
  bool bit(unsigned n) const { return ((raw >> n) & 1U) != 0; }
};

// SnpPlatformInfo is PLATFORM_INFO (bit 0 SMT_EN, 1 TSME_EN, 2 ECC_EN,
// 3 RAPL_DIS, 4 CIPHERTEXT_HIDING_EN, 5 ALIAS_CHECK_COMPLETE). Bits above 5
// are kept in |raw| and not interpreted (newer firmware defines more).
struct SnpPlatformInfo {
  std::uint64_t raw = 0;

  bool smt_en() const { return bit(0); }
  bool tsme_en() const { return bit(1); }
  bool ecc_en() const { return bit(2); }
  bool rapl_dis() const { return bit(3); }
  bool ciphertext_hiding_en() const { return bit(4); }
  bool alias_check_complete() const { return bit(5); }

 private:
  bool bit(unsigned n) const { return ((raw >> n) & 1U) != 0; }
};

// SnpSigningKey is the SIGNING_KEY field (bits 4:2 at offset 0x48).
enum class SnpSigningKey : std::uint8_t { Vcek = 0, Vlek = 1, None = 7 };

// SnpReport is a parsed ATTESTATION_REPORT. Every field is named as in the
// ABI specification; byte arrays are copied out of the report unchanged.
struct SnpReport {
  std::uint32_t version = 0;                         // 0x000 VERSION
  std::uint32_t guest_svn = 0;                       // 0x004 GUEST_SVN
  SnpPolicy policy;                                  // 0x008 POLICY
  std::array<std::uint8_t, 16> family_id{};          // 0x010 FAMILY_ID
  std::array<std::uint8_t, 16> image_id{};           // 0x020 IMAGE_ID
  std::uint32_t vmpl = 0;                            // 0x030 VMPL
  std::uint32_t signature_algo = 0;                  // 0x034 SIGNATURE_ALGO
  SnpTcb current_tcb;                                // 0x038 CURRENT_TCB
  SnpPlatformInfo platform_info;                     // 0x040 PLATFORM_INFO
  bool author_key_en = false;                        // 0x048 bit 0 AUTHOR_KEY_EN
  bool mask_chip_key = false;                        // 0x048 bit 1 MASK_CHIP_KEY
  SnpSigningKey signing_key = SnpSigningKey::Vcek;   // 0x048 bits 4:2 SIGNING_KEY
  std::array<std::uint8_t, 64> report_data{};        // 0x050 REPORT_DATA
  std::array<std::uint8_t, 48> measurement{};        // 0x090 MEASUREMENT
  std::array<std::uint8_t, 32> host_data{};          // 0x0C0 HOST_DATA
  std::array<std::uint8_t, 48> id_key_digest{};      // 0x0E0 ID_KEY_DIGEST
  std::array<std::uint8_t, 48> author_key_digest{};  // 0x110 AUTHOR_KEY_DIGEST
  std::array<std::uint8_t, 32> report_id{};          // 0x140 REPORT_ID
  std::array<std::uint8_t, 32> report_id_ma{};       // 0x160 REPORT_ID_MA
  SnpTcb reported_tcb;                               // 0x180 REPORTED_TCB
  // 0x188 CPUID_FAM_ID, 0x189 CPUID_MOD_ID, 0x18A CPUID_STEP (version 3+).
  std::optional<std::uint8_t> cpuid_fam_id;
  std::optional<std::uint8_t> cpuid_mod_id;
  std::optional<std::uint8_t> cpuid_step;
  std::array<std::uint8_t, 64> chip_id{};  // 0x1A0 CHIP_ID
  SnpTcb committed_tcb;                    // 0x1E0 COMMITTED_TCB
  std::uint8_t current_build = 0;          // 0x1E8 CURRENT_BUILD
  std::uint8_t current_minor = 0;          // 0x1E9 CURRENT_MINOR
  std::uint8_t current_major = 0;          // 0x1EA CURRENT_MAJOR
  std::uint8_t committed_build = 0;        // 0x1EC COMMITTED_BUILD
  std::uint8_t committed_minor = 0;        // 0x1ED COMMITTED_MINOR
  std::uint8_t committed_major = 0;        // 0x1EE COMMITTED_MAJOR
  SnpTcb launch_tcb;                       // 0x1F0 LAUNCH_TCB
  // 0x1F8 LAUNCH_MIT_VECTOR and 0x200 CURRENT_MIT_VECTOR (version 5+).
  std::optional<std::uint64_t> launch_mit_vector;
  std::optional<std::uint64_t> current_mit_vector;

  // The layout used to decode every TCB field above.
  SnpTcbLayout tcb_layout = SnpTcbLayout::MilanGenoa;

  // Bytes [0, 0x2A0): the message the signature covers.
  Bytes signed_bytes;
  // SIGNATURE R and S (0x2A0 and 0x2E8, 72 bytes little-endian each in the
  // report), converted to 48-byte big-endian P-384 scalars.
  Bytes signature_r;
  Bytes signature_s;
};

// parse_snp_report parses exactly kSnpReportSize bytes. It fails with
// SnpMalformed on a wrong length, a non-zero reserved (MBZ) field, POLICY bit
// 17 clear, a reserved SIGNING_KEY value, or a signature component wider than
// 384 bits; with SnpUnsupportedVersion when VERSION is outside [2, 5]; and
// with UnsupportedAlgorithm when SIGNATURE_ALGO is not 1. It does not verify
// the signature (see verify_snp_report_signature).
Result<SnpReport> parse_snp_report(ByteView data);

// snp_tcb_layout_name returns "milan-genoa" or "turin".
std::string_view snp_tcb_layout_name(SnpTcbLayout layout);

// snp_report_to_json renders every field of |r|: byte fields as lower-case
// hex, TCBs with raw value and decoded SPLs, POLICY, PLATFORM_INFO and the
// key-info bits decoded. Never throws.
nlohmann::json snp_report_to_json(const SnpReport& r);

}  // namespace atls
