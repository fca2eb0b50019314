// Fuzz target: the TPM 2.0 parsers. The first input byte picks the parser
// (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC / TPM2B_PUBLIC, the tpm2-tools
// PCR file, the tpm2 evidence map); the rest is its input. Whatever parses
// is pushed through the follow-on code (key construction, Name, selection
// indices, PCR digest, re-encoding) and must round-trip where the format
// is canonical.

#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/tpm.h"
#include "src/formats/tpm/verify.h"

#include "tests/fuzz/fuzz.h"

#include <cstdlib>

ATLS_FUZZ_TARGET(fuzz_tpm) {
  if (data.empty()) {
    return;
  }
  const std::uint8_t which = data[0] % 5;
  const atls::ByteView in = data.subspan(1);
  switch (which) {
    case 0: {
      auto a = atls::parse_tpm_attest(in);
      if (a && a->quote) {
        for (const auto& s : a->quote->pcr_select) {
          (void)s.indices();
        }
        (void)atls::tpm_pcr_digest(atls::kTpmAlgSha256, a->quote->pcr_select, atls::TpmPcrValues{});
      }
      break;
    }
    case 1: {
      auto s = atls::parse_tpm_signature(in);
      (void)s;
      break;
    }
    case 2: {
      auto p = atls::parse_tpm_public(in);
      if (!p) {
        p = atls::parse_tpm2b_public(in);
      }
      if (p) {
        (void)atls::tpm_object_name(*p);
        (void)atls::tpm_public_key(*p);
      }
      break;
    }
    case 3: {
      auto v = atls::parse_tpm_pcrs_file(in);
      if (v) {
        auto again = atls::encode_tpm_pcrs_file(*v);
        if (!again) {
          std::abort();
        }
        auto back = atls::parse_tpm_pcrs_file(*again);
        if (!back || back->banks.size() != v->banks.size()) {
          std::abort();
        }
      }
      break;
    }
    default: {
      auto ev = atls::parse_tpm2_quote_evidence(in);
      if (ev) {
        auto back = atls::parse_tpm2_quote_evidence(atls::encode_tpm2_quote_evidence(*ev));
        if (!back || back->attest != ev->attest || back->signature != ev->signature) {
          std::abort();
        }
        (void)atls::parse_tpm_attest(ev->attest);
        (void)atls::parse_tpm_signature(ev->signature);
      }
      break;
    }
  }
}
