#pragma once

// The sev-snp plug-in: Evidence is an AMD SEV-SNP ATTESTATION_REPORT, media
// type application/vnd.atls.sev-snp-report (docs/wire-profile.md §4), with
// REPORT_DATA = the binder (nonce) zero-padded to 64 bytes. When the attester
// has the VCEK (configfs-tsm auxblob), the Evidence is a CMW collection
// {"report": report, "vcek": VCEK DER}. Profile: docs/evidence-profiles.md.

#include <atls/attester.h>
#include <atls/verifier.h>

#include "src/plugins/tsm/tsm.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace atls {

// GUIDs of the GHCB certificate table (AMD 56421, MSG_REPORT_REQ), in the
// byte order in which they appear in the table (RFC 4122 order, as libuuid's
// uuid_parse writes them). VCEK: 63da758d-e664-4564-adc5-f4b93be8accd.
inline constexpr std::array<std::uint8_t, 16> kSnpVcekGuid = {
    0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};

// Labels of the Evidence collection.
inline constexpr std::string_view kSnpReportLabel = "report";
inline constexpr std::string_view kSnpVcekLabel = "vcek";
// The VCEK record's CMW indicator: 2, "endorsements" (draft-ietf-rats-msg-wrap).
inline constexpr std::uint32_t kSnpVcekIndicator = 2;

// SnpCertTableEntry is one entry of a GHCB certificate table; |data| is a
// copy of the bytes the entry's offset and length designate.
struct SnpCertTableEntry {
  std::array<std::uint8_t, 16> guid{};
  Bytes data;
};

// parse_snp_cert_table parses a certificate table as the sev_guest provider
// returns it in auxblob: 24-byte entries (GUID, offset u32 LE, length u32 LE,
// offsets relative to the table start) ended by an all-zero entry. A pure
// parser with no I/O. Fails with SnpMalformed when the terminator is missing
// or an entry points outside the table.
Result<std::vector<SnpCertTableEntry>> parse_snp_cert_table(ByteView table);

// snp_cert_table_find returns the first entry with |guid|, or nullptr.
const SnpCertTableEntry* snp_cert_table_find(const std::vector<SnpCertTableEntry>& entries,
                                             const std::array<std::uint8_t, 16>& guid);

struct SevSnpAttesterConfig {
  // Where the report comes from; tsm.privlevel is the VMPL to request.
  TsmConfig tsm;
  // Add the VCEK from auxblob to the Evidence when the host provides it.
  bool include_vcek = true;
};

// make_sevsnp_attester builds the attester; it touches no file until
// attest(). attest() fails with InvalidArgument (nonce empty or longer than
// 64 bytes), the TSM client's codes, AttesterFailure (the provider is not
// "sev_guest", or the report does not carry the requested REPORT_DATA; a
// VCEK in auxblob that does not parse), SnpMalformed (a malformed report or
// certificate table).
Result<std::unique_ptr<Attester>> make_sevsnp_attester(SevSnpAttesterConfig config);

// make_sevsnp_verifier checks the report: VCEK <- ASK <- ARK at the context's
// time, the VCEK against CHIP_ID and REPORTED_TCB, the signature, and
// REPORT_DATA against the expected nonce. Trust section keys: "ask_ark" (a
// file, or list of files, each ASK then ARK PEM) and "vcek" (a file).
std::unique_ptr<Verifier> make_sevsnp_verifier();

// make_sevsnp_appraiser compares the claims with the reference section:
// "measurements", "allow_debug", "minimum_tcb", "host_data", "id_key_digest",
// "family_id", "image_id", "vmpl", "policy_id" (docs/evidence-profiles.md).
std::unique_ptr<Appraiser> make_sevsnp_appraiser();

}  // namespace atls
