#include "src/formats/snp/report.h"

#include "src/core/encoding.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace atls {
namespace {

// The report has a fixed layout, so fields are read at their specification
// offsets. Every caller has already checked data.size() == kSnpReportSize and
// every offset below is a constant inside it.

//= https://www.amd.com/system/files/TechDocs/56860.pdf#ATTESTATION_REPORT Structure
//# All fields are little-endian.
std::uint64_t le(ByteView data, std::size_t off, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v |= static_cast<std::uint64_t>(data[off + i]) << (8 * i);
  }
  return v;
}

std::uint32_t le32(ByteView data, std::size_t off) {
  return static_cast<std::uint32_t>(le(data, off, 4));
}

std::uint64_t le64(ByteView data, std::size_t off) {
  return le(data, off, 8);
}

template <std::size_t N>
std::array<std::uint8_t, N> copy_array(ByteView data, std::size_t off) {
  std::array<std::uint8_t, N> out{};
  std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(off), N, out.begin());
  return out;
}

std::string hex_offset(std::size_t off) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%zX", off);
  return buf;
}

// mbz checks that the reserved range [lo, hi) is all zero.
Result<void> mbz(ByteView data, std::size_t lo, std::size_t hi) {
  for (std::size_t i = lo; i < hi; ++i) {
    if (data[i] != 0) {
      return Error{ErrorCode::SnpMalformed, "reserved byte at " + hex_offset(i) + " (range " +
                                                hex_offset(lo) + ".." + hex_offset(hi) +
                                                ") is not zero"};
    }
  }
  return ok();
}

// le_scalar_to_be converts a 72-byte little-endian signature component to a
// 48-byte big-endian P-384 scalar. The upper 24 bytes must be zero.
Result<Bytes> le_scalar_to_be(ByteView data, std::size_t off, const char* name) {
  constexpr std::size_t kWidth = 72;
  constexpr std::size_t kScalar = 48;
  for (std::size_t i = kScalar; i < kWidth; ++i) {
    if (data[off + i] != 0) {
      return Error{ErrorCode::SnpMalformed,
                   std::string("signature ") + name + " is wider than 384 bits"};
    }
  }
  Bytes out(kScalar);
  for (std::size_t i = 0; i < kScalar; ++i) {
    out[i] = data[off + kScalar - 1 - i];
  }
  return out;
}

bool all_zero(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

// tcb_layout_for decides how the TCB fields are split.
SnpTcbLayout tcb_layout_for(ByteView data, std::uint32_t version) {
  // Version 3 and later carry CPUID_FAM_ID; family 1Ah (Zen 5, Turin) uses
  // the Turin TCB_VERSION layout, family 19h (Milan, Genoa) the older one.
  if (version >= 3) {
    return data[0x188] >= 0x1A ? SnpTcbLayout::Turin : SnpTcbLayout::MilanGenoa;
  }
  // Version 2 has no CPUID fields. Turin firmware fills only the first 8
  // bytes of CHIP_ID (the rest is zero), while a Milan/Genoa CHIP_ID is 64
  // bytes of key material; a masked CHIP_ID (all zero) tells nothing and is
  // read with the Milan/Genoa layout.
  const ByteView chip_id = data.subspan(0x1A0, 64);
  if (!all_zero(chip_id.first(8)) && all_zero(chip_id.subspan(8))) {
    return SnpTcbLayout::Turin;
  }
  return SnpTcbLayout::MilanGenoa;
}

nlohmann::json tcb_json(const SnpTcb& t) {
  nlohmann::json j = nlohmann::json::object();
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(t.raw));
  j["raw"] = t.raw;
  j["raw_hex"] = buf;
  j["layout"] = snp_tcb_layout_name(t.layout);
  if (t.layout == SnpTcbLayout::Turin) {
    j["fmc"] = t.fmc;
  }
  j["bootloader"] = t.bootloader;
  j["tee"] = t.tee;
  j["snp"] = t.snp;
  j["microcode"] = t.microcode;
  return j;
}

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& a) {
  return to_hex(ByteView(a.data(), a.size()));
}

std::string_view signing_key_name(SnpSigningKey k) {
  switch (k) {
    case SnpSigningKey::Vcek:
      return "vcek";
    case SnpSigningKey::Vlek:
      return "vlek";
    case SnpSigningKey::None:
      return "none";
  }
  return "unknown";
}

}  // namespace

SnpTcb decode_snp_tcb(std::uint64_t raw, SnpTcbLayout layout) {
  SnpTcb t;
  t.raw = raw;
  t.layout = layout;
  auto byte = [raw](unsigned i) { return static_cast<std::uint8_t>((raw >> (8 * i)) & 0xFF); };
  if (layout == SnpTcbLayout::Turin) {
    // FMC, BOOT_LOADER, TEE, SNP, reserved[3], MICROCODE.
    t.fmc = byte(0);
    t.bootloader = byte(1);
    t.tee = byte(2);
    t.snp = byte(3);
  } else {
    // BOOT_LOADER, TEE, reserved[4], SNP, MICROCODE.
    t.bootloader = byte(0);
    t.tee = byte(1);
    t.snp = byte(6);
  }
  t.microcode = byte(7);
  return t;
}

std::string_view snp_tcb_layout_name(SnpTcbLayout layout) {
  return layout == SnpTcbLayout::Turin ? "turin" : "milan-genoa";
}

Result<SnpReport> parse_snp_report(ByteView data) {
  if (data.size() != kSnpReportSize) {
    return Error{ErrorCode::SnpMalformed, "report is " + std::to_string(data.size()) +
                                              " bytes, expected " + std::to_string(kSnpReportSize)};
  }
  SnpReport r;
  r.version = le32(data, 0x000);
  if (r.version < kSnpMinReportVersion || r.version > kSnpMaxReportVersion) {
    return Error{ErrorCode::SnpUnsupportedVersion, "VERSION " + std::to_string(r.version)};
  }
  r.signature_algo = le32(data, 0x034);
  if (r.signature_algo != kSnpSignatureAlgoEcdsaP384Sha384) {
    return Error{ErrorCode::UnsupportedAlgorithm,
                 "SIGNATURE_ALGO " + std::to_string(r.signature_algo)};
  }

  r.guest_svn = le32(data, 0x004);
  r.policy.raw = le64(data, 0x008);
  r.policy.abi_minor = static_cast<std::uint8_t>(r.policy.raw & 0xFF);
  r.policy.abi_major = static_cast<std::uint8_t>((r.policy.raw >> 8) & 0xFF);
  //= https://www.amd.com/system/files/TechDocs/56860.pdf#Guest Policy Structure
  //# 17 - Reserved. Must be one.
  if (((r.policy.raw >> 17) & 1U) == 0) {
    return Error{ErrorCode::SnpMalformed, "POLICY bit 17 (reserved, must be one) is zero"};
  }
  //# 63:26 - Reserved. MBZ.
  if ((r.policy.raw >> 26) != 0) {
    return Error{ErrorCode::SnpMalformed, "POLICY reserved bits 63:26 are not zero"};
  }
  r.family_id = copy_array<16>(data, 0x010);
  r.image_id = copy_array<16>(data, 0x020);
  r.vmpl = le32(data, 0x030);
  r.tcb_layout = tcb_layout_for(data, r.version);
  r.current_tcb = decode_snp_tcb(le64(data, 0x038), r.tcb_layout);
  r.platform_info.raw = le64(data, 0x040);

  // 0x048: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY,
  // bits 31:5 reserved (MBZ); 0x04C..0x050 reserved (MBZ).
  const std::uint32_t key_info = le32(data, 0x048);
  if ((key_info >> 5) != 0) {
    return Error{ErrorCode::SnpMalformed, "reserved bits 31:5 at 0x48 are not zero"};
  }
  r.author_key_en = (key_info & 1U) != 0;
  r.mask_chip_key = (key_info & 2U) != 0;
  const std::uint32_t signing_key = (key_info >> 2) & 7U;
  //# SIGNING_KEY: 0 = VCEK, 1 = VLEK, 2-6 = Reserved, 7 = None.
  if (signing_key != 0 && signing_key != 1 && signing_key != 7) {
    return Error{ErrorCode::SnpMalformed,
                 "SIGNING_KEY " + std::to_string(signing_key) + " is reserved"};
  }
  r.signing_key = static_cast<SnpSigningKey>(signing_key);
  ATLS_TRY(mbz(data, 0x04C, 0x050));

  r.report_data = copy_array<64>(data, 0x050);
  r.measurement = copy_array<48>(data, 0x090);
  r.host_data = copy_array<32>(data, 0x0C0);
  r.id_key_digest = copy_array<48>(data, 0x0E0);
  r.author_key_digest = copy_array<48>(data, 0x110);
  r.report_id = copy_array<32>(data, 0x140);
  r.report_id_ma = copy_array<32>(data, 0x160);
  r.reported_tcb = decode_snp_tcb(le64(data, 0x180), r.tcb_layout);

  std::size_t reserved1 = 0x188;
  if (r.version >= 3) {
    r.cpuid_fam_id = data[0x188];
    r.cpuid_mod_id = data[0x189];
    r.cpuid_step = data[0x18A];
    reserved1 = 0x18B;
  }
  ATLS_TRY(mbz(data, reserved1, 0x1A0));

  r.chip_id = copy_array<64>(data, 0x1A0);
  r.committed_tcb = decode_snp_tcb(le64(data, 0x1E0), r.tcb_layout);
  r.current_build = data[0x1E8];
  r.current_minor = data[0x1E9];
  r.current_major = data[0x1EA];
  ATLS_TRY(mbz(data, 0x1EB, 0x1EC));
  r.committed_build = data[0x1EC];
  r.committed_minor = data[0x1ED];
  r.committed_major = data[0x1EE];
  ATLS_TRY(mbz(data, 0x1EF, 0x1F0));
  r.launch_tcb = decode_snp_tcb(le64(data, 0x1F0), r.tcb_layout);

  std::size_t reserved2 = 0x1F8;
  if (r.version >= 5) {
    r.launch_mit_vector = le64(data, 0x1F8);
    r.current_mit_vector = le64(data, 0x200);
    reserved2 = 0x208;
  }
  ATLS_TRY(mbz(data, reserved2, kSnpSignedSize));

  // SIGNATURE (ECDSA P-384 with SHA-384): R at 0x00, S at 0x48 of the
  // signature area, 72 bytes each, little-endian; the rest is reserved. The
  // reserved tail is not signed, so it is held to zero to keep one byte
  // string per valid report.
  ATLS_ASSIGN_OR_RETURN(r.signature_r, le_scalar_to_be(data, 0x2A0, "R"));
  ATLS_ASSIGN_OR_RETURN(r.signature_s, le_scalar_to_be(data, 0x2E8, "S"));
  ATLS_TRY(mbz(data, 0x330, kSnpReportSize));

  r.signed_bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(kSnpSignedSize));
  return r;
}

nlohmann::json snp_report_to_json(const SnpReport& r) {
  try {
    nlohmann::json j = nlohmann::json::object();
    j["version"] = r.version;
    j["guest_svn"] = r.guest_svn;
    nlohmann::json policy = nlohmann::json::object();
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(r.policy.raw));
    policy["raw"] = r.policy.raw;
    policy["raw_hex"] = buf;
    policy["abi_minor"] = r.policy.abi_minor;
    policy["abi_major"] = r.policy.abi_major;
    policy["smt"] = r.policy.smt_allowed();
    policy["migrate_ma"] = r.policy.migrate_ma_allowed();
    policy["debug"] = r.policy.debug_allowed();
    policy["single_socket"] = r.policy.single_socket();
    policy["cxl_allow"] = r.policy.cxl_allowed();
    policy["mem_aes_256_xts"] = r.policy.mem_aes_256_xts();
    policy["rapl_dis"] = r.policy.rapl_dis();
    policy["ciphertext_hiding"] = r.policy.ciphertext_hiding();
    policy["page_swap_disable"] = r.policy.page_swap_disable();
    j["policy"] = std::move(policy);
    j["family_id"] = hex_of(r.family_id);
    j["image_id"] = hex_of(r.image_id);
    j["vmpl"] = r.vmpl;
    j["signature_algo"] = r.signature_algo;
    j["current_tcb"] = tcb_json(r.current_tcb);
    nlohmann::json pi = nlohmann::json::object();
    pi["raw"] = r.platform_info.raw;
    pi["smt_en"] = r.platform_info.smt_en();
    pi["tsme_en"] = r.platform_info.tsme_en();
    pi["ecc_en"] = r.platform_info.ecc_en();
    pi["rapl_dis"] = r.platform_info.rapl_dis();
    pi["ciphertext_hiding_en"] = r.platform_info.ciphertext_hiding_en();
    pi["alias_check_complete"] = r.platform_info.alias_check_complete();
    j["platform_info"] = std::move(pi);
    j["author_key_en"] = r.author_key_en;
    j["mask_chip_key"] = r.mask_chip_key;
    j["signing_key"] = signing_key_name(r.signing_key);
    j["report_data"] = hex_of(r.report_data);
    j["measurement"] = hex_of(r.measurement);
    j["host_data"] = hex_of(r.host_data);
    j["id_key_digest"] = hex_of(r.id_key_digest);
    j["author_key_digest"] = hex_of(r.author_key_digest);
    j["report_id"] = hex_of(r.report_id);
    j["report_id_ma"] = hex_of(r.report_id_ma);
    j["reported_tcb"] = tcb_json(r.reported_tcb);
    if (r.cpuid_fam_id && r.cpuid_mod_id && r.cpuid_step) {
      j["cpuid_fam_id"] = *r.cpuid_fam_id;
      j["cpuid_mod_id"] = *r.cpuid_mod_id;
      j["cpuid_step"] = *r.cpuid_step;
    }
    j["chip_id"] = hex_of(r.chip_id);
    j["committed_tcb"] = tcb_json(r.committed_tcb);
    j["current_build"] = r.current_build;
    j["current_minor"] = r.current_minor;
    j["current_major"] = r.current_major;
    j["committed_build"] = r.committed_build;
    j["committed_minor"] = r.committed_minor;
    j["committed_major"] = r.committed_major;
    j["launch_tcb"] = tcb_json(r.launch_tcb);
    if (r.launch_mit_vector && r.current_mit_vector) {
      j["launch_mit_vector"] = *r.launch_mit_vector;
      j["current_mit_vector"] = *r.current_mit_vector;
    }
    j["tcb_layout"] = snp_tcb_layout_name(r.tcb_layout);
    nlohmann::json sig = nlohmann::json::object();
    sig["r"] = to_hex(r.signature_r);
    sig["s"] = to_hex(r.signature_s);
    j["signature"] = std::move(sig);
    return j;
  } catch (...) {
    // Only allocation can fail here; report an empty object rather than throw.
    return nlohmann::json::object();
  }
}

}  // namespace atls
