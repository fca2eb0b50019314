// The GHCB certificate table (auxblob of the sev_guest configfs-tsm provider).
// A pure parser: no I/O, so it can be fuzzed directly.

#include "src/plugins/sevsnp/sevsnp.h"

#include <algorithm>

namespace atls {
namespace {

constexpr std::size_t kEntrySize = 24;

std::uint32_t le32(ByteView b) {
  return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
         static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
}

}  // namespace

Result<std::vector<SnpCertTableEntry>> parse_snp_cert_table(ByteView table) {
  // GHCB specification (AMD 56421) §4.1.8.1 MSG_REPORT_REQ: the table is an array of
  // {GUID (16 bytes), offset (u32), length (u32)} entries whose offsets count from the
  // start of the table, terminated by an entry of all zeroes.
  std::vector<SnpCertTableEntry> out;
  for (std::size_t pos = 0;; pos += kEntrySize) {
    if (table.size() - pos < kEntrySize) {
      return Error{ErrorCode::SnpMalformed, "certificate table has no all-zero terminator"};
    }
    const ByteView e = table.subspan(pos, kEntrySize);
    if (std::all_of(e.begin(), e.end(), [](std::uint8_t b) { return b == 0; })) {
      return out;
    }
    const std::uint64_t offset = le32(e.subspan(16, 4));
    const std::uint64_t length = le32(e.subspan(20, 4));
    if (offset > table.size() || length > table.size() - offset) {
      return Error{ErrorCode::SnpMalformed, "certificate table entry " +
                                                std::to_string(pos / kEntrySize) +
                                                " points outside the table"};
    }
    SnpCertTableEntry entry;
    std::copy(e.begin(), e.begin() + 16, entry.guid.begin());
    const ByteView data =
        table.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
    entry.data.assign(data.begin(), data.end());
    out.push_back(std::move(entry));
  }
}

const SnpCertTableEntry* snp_cert_table_find(const std::vector<SnpCertTableEntry>& entries,
                                             const std::array<std::uint8_t, 16>& guid) {
  for (const auto& e : entries) {
    if (e.guid == guid) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace atls
