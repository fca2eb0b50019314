#pragma once

// The GCE vTPM quote vectors (tests/data/tpm/README.md) as Evidence, shared by
// the TPM format tests (tpm_test.cc) and the tpm2 plug-in tests
// (tpm2_plugin_test.cc).

#include "src/attestation/evidence_cmw.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/json/json.h"
#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/tpm.h"
#include "src/ossl/keys.h"

#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <string>

namespace atls::test {

inline const Bytes kNonce9009 = {0x90, 0x09};

inline std::string gce(const std::string& dir, const std::string& file) {
  return "tpm/" + dir + "/" + file;
}

// PCR values of one bank from the vectors' pcrs_<bank>.json.
inline TpmPcrValues gce_pcrs(const std::string& dir, const std::string& bank) {
  auto doc = parse_json(read_text(gce(dir, "pcrs_" + bank + ".json")));
  EXPECT_TRUE(doc);
  TpmPcrValues out;
  TpmPcrBank b;
  b.hash = *tpm_hash_from_name(bank);
  for (const auto& [index, value] : (*doc)["pcrs"].items()) {
    b.values[static_cast<std::uint32_t>(std::stoul(index))] = hex(value.get<std::string>());
  }
  out.banks.push_back(std::move(b));
  return out;
}

struct GceParts {
  std::string attest_dir;
  std::string sig_dir;
  std::string bank = "sha256";
  bool with_cert = false;
  bool with_ak_pub = true;
};

inline Evidence gce_evidence(const GceParts& p) {
  Tpm2QuoteEvidence ev;
  ev.attest = read_data(gce(p.attest_dir, "quote_" + p.bank + ".tpms_attest.bin"));
  ev.signature = read_data(gce(p.sig_dir, "quote_" + p.bank + ".tpmt_signature.bin"));
  ev.pcrs = gce_pcrs(p.attest_dir, p.bank);
  if (p.with_ak_pub) {
    ev.ak_pub = read_data(gce(p.attest_dir, "ak_pub.tpmt_public.bin"));
  }
  if (p.with_cert) {
    ev.ak_cert = read_data(gce(p.attest_dir, "ak_cert.der"));
  }
  EvidenceRecord rec{"", std::string(kMediaTypeTpmQuote), encode_tpm2_quote_evidence(ev),
                     kIndEvidence};
  auto e = evidence_from_records({std::move(rec)});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

inline Evidence gce_evidence(const std::string& dir, const std::string& bank = "sha256") {
  return gce_evidence(GceParts{dir, dir, bank});
}

// The AK's public key as SPKI DER, taken from the AK certificate (not from
// our TPMT_PUBLIC parser).
inline Bytes gce_ak_spki() {
  auto key = ossl::parse_public_key(read_data(gce("gce_cos85_nonce9009", "ak_cert.der")));
  EXPECT_TRUE(key);
  return *ossl::spki_der(key->get());
}

// Replaces one field of the evidence map of |e|.
inline Evidence with_field(const Evidence& e, const char* key, CborValue value) {
  auto root = cbor_decode(e.records.front().value);
  EXPECT_TRUE(root);
  CborValue out = CborValue::map();
  bool replaced = false;
  for (std::size_t i = 0; i < root->map_size(); ++i) {
    if (root->map_key(i).raw_text() == key) {
      out.map_put(root->map_key(i), value);
      replaced = true;
    } else {
      out.map_put(root->map_key(i), root->map_value(i));
    }
  }
  if (!replaced) {
    out.map_put(CborValue::text(key), std::move(value));
  }
  EvidenceRecord rec{"", std::string(kMediaTypeTpmQuote), cbor_encode(out), kIndEvidence};
  return *evidence_from_records({std::move(rec)});
}

inline Bytes field_bytes(const Evidence& e, const char* key) {
  auto root = cbor_decode(e.records.front().value);
  return root->find(key)->raw_bytes();
}

}  // namespace atls::test
