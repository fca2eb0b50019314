// Fuzz target: the GHCB certificate table of the sev_guest configfs-tsm
// auxblob. Every entry that parses must lie inside the input.

#include "src/plugins/sevsnp/sevsnp.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_snp_cert_table) {
  auto entries = atls::parse_snp_cert_table(data);
  if (!entries) {
    return;
  }
  for (const auto& e : *entries) {
    if (e.data.size() > data.size()) {
      std::abort();
    }
  }
  if (entries->size() * 24 + 24 > data.size()) {
    std::abort();
  }
  (void)atls::snp_cert_table_find(*entries, atls::kSnpVcekGuid);
}
