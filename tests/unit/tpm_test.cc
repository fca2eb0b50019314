// TPM 2.0 quotes: the pure parsers (TPMS_ATTEST, TPMT_SIGNATURE,
// TPMT_PUBLIC, the tpm2-tools PCR file, the evidence map), the tpm2
// verifier and appraiser on real GCE vTPM quotes and tpm2-tools quotes,
// and the attester against a private swtpm, with interop both ways through
// tpm2-tools (tpm2_quote -> our verifier; our attester -> tpm2_checkquote).

#include "src/formats/tpm/tpm.h"
#include "src/attestation/evidence_cmw.h"
#include "src/attestation/relying_party.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/json/json.h"
#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/verify.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/plugins/tpm2/tpm2.h"

#include "tools/swtpm_process.h"
#include "tests/testlib/rp_outcome.h"
#include "tests/testlib/test_data.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace atls {
namespace {

using test::hex;

// 2024-01-01T00:00:00Z: inside the validity of the GCE AK chain.
constexpr std::int64_t k20240101 = 1704067200;

const Bytes kNonce9009 = {0x90, 0x09};

std::string gce(const std::string& dir, const std::string& file) {
  return "tpm/" + dir + "/" + file;
}

// PCR values of one bank from the vectors' pcrs_<bank>.json.
TpmPcrValues gce_pcrs(const std::string& dir, const std::string& bank) {
  auto doc = parse_json(test::read_text(gce(dir, "pcrs_" + bank + ".json")));
  EXPECT_TRUE(doc);
  TpmPcrValues out;
  TpmPcrBank b;
  b.hash = *tpm_hash_from_name(bank);
  for (const auto& [index, value] : (*doc)["pcrs"].items()) {
    b.values[static_cast<std::uint32_t>(std::stoul(index))] = test::hex(value.get<std::string>());
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

Evidence gce_evidence(const GceParts& p) {
  Tpm2QuoteEvidence ev;
  ev.attest = test::read_data(gce(p.attest_dir, "quote_" + p.bank + ".tpms_attest.bin"));
  ev.signature = test::read_data(gce(p.sig_dir, "quote_" + p.bank + ".tpmt_signature.bin"));
  ev.pcrs = gce_pcrs(p.attest_dir, p.bank);
  if (p.with_ak_pub) {
    ev.ak_pub = test::read_data(gce(p.attest_dir, "ak_pub.tpmt_public.bin"));
  }
  if (p.with_cert) {
    ev.ak_cert = test::read_data(gce(p.attest_dir, "ak_cert.der"));
  }
  EvidenceRecord rec{"", std::string(kMediaTypeTpmQuote), encode_tpm2_quote_evidence(ev),
                     kIndEvidence};
  auto e = evidence_from_records({std::move(rec)});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

Evidence gce_evidence(const std::string& dir, const std::string& bank = "sha256") {
  return gce_evidence(GceParts{dir, dir, bank});
}

// The AK's public key as SPKI DER, taken from the AK certificate (not from
// our TPMT_PUBLIC parser).
Bytes gce_ak_spki() {
  auto key = ossl::parse_public_key(test::read_data(gce("gce_cos85_nonce9009", "ak_cert.der")));
  EXPECT_TRUE(key);
  return *ossl::spki_der(key->get());
}

Bytes fresh_p256_spki() {
  auto k = ossl::generate_key(ossl::KeyType::EcP256);
  return *ossl::spki_der(k->get());
}

Result<EvidenceClaims> verify_with(const Evidence& e, std::optional<Bytes> nonce,
                                   std::vector<Bytes> anchors, std::vector<Bytes> certs = {},
                                   std::int64_t at = k20240101) {
  FixedClock clock(at);
  VerifyContext ctx;
  ctx.clock = &clock;
  ctx.expected_nonce = std::move(nonce);
  ctx.trust_anchors = std::move(anchors);
  ctx.certificates = std::move(certs);
  return make_tpm2_verifier()->verify(e, ctx);
}

ErrorCode code_of(const Result<EvidenceClaims>& r) {
  return r ? ErrorCode::Ok : r.error().code;
}

// Replaces one field of the evidence map of |e|.
Evidence with_field(const Evidence& e, const char* key, CborValue value) {
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

Bytes field_bytes(const Evidence& e, const char* key) {
  auto root = cbor_decode(e.records.front().value);
  return root->find(key)->raw_bytes();
}

// Runs the pipeline (verify -> appraise -> check) with a tpm2 policy.
using Outcome = test::RpOutcome;

Outcome run_pipeline(const Evidence& e, const nlohmann::json& trust,
                     const nlohmann::json& reference, std::optional<Bytes> nonce,
                     std::vector<Bytes> anchors = {}, std::int64_t at = k20240101) {
  Registry reg;
  reg.add_verifier(make_tpm2_verifier());
  reg.add_appraiser(make_tpm2_appraiser());
  nlohmann::json doc = {
      {"schemes",
       {{std::string(kMediaTypeTpmQuote), {{"trust", trust}, {"reference", reference}}}}}};
  auto policy = parse_policy(doc.dump(), reg, test::data_path("tpm"));
  EXPECT_TRUE(policy) << policy.error().to_string();
  if (!policy) {
    return Outcome{};
  }
  FixedClock clock(at);
  internal::Expectation expect;
  expect.context.expected_nonce = std::move(nonce);
  expect.context.trust_anchors = std::move(anchors);
  return test::rp_outcome(internal::RelyingParty(reg, clock, *policy).appraise(e, std::move(expect)));
}

std::optional<std::int8_t> claim(const AttestationResult& r, TrustVector::Claim c) {
  return r.submods().at(0).trust_vector.claims[c];
}

// --- TPMS_ATTEST ---------------------------------------------------------------

TEST(TpmAttest, ParsesGceQuote) {
  const Bytes raw = test::read_data(gce("gce_cos85_nonce9009", "quote_sha256.tpms_attest.bin"));
  auto a = parse_tpm_attest(raw);
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->magic, kTpmGeneratedValue);
  EXPECT_EQ(a->type, kTpmStAttestQuote);
  EXPECT_EQ(a->extra_data, kNonce9009);
  EXPECT_EQ(a->qualified_signer.size(), 34U);
  EXPECT_EQ(a->qualified_signer[0], 0x00);
  EXPECT_EQ(a->qualified_signer[1], 0x0b);
  ASSERT_TRUE(a->quote);
  ASSERT_EQ(a->quote->pcr_select.size(), 1U);
  EXPECT_EQ(a->quote->pcr_select[0].hash, kTpmAlgSha256);
  EXPECT_EQ(a->quote->pcr_select[0].select, hex("ffffff"));
  EXPECT_EQ(a->quote->pcr_select[0].indices().size(), 24U);
  EXPECT_EQ(a->quote->pcr_digest.size(), 32U);
  EXPECT_TRUE(a->clock_info.safe);

  auto empty =
      parse_tpm_attest(test::read_data(gce("gce_cos85_nononce", "quote_sha256.tpms_attest.bin")));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->extra_data.empty());
}

TEST(TpmAttest, EveryTruncationIsMalformed) {
  const Bytes raw = test::read_data(gce("gce_cos85_nonce9009", "quote_sha1.tpms_attest.bin"));
  for (std::size_t n = 0; n < raw.size(); ++n) {
    auto a = parse_tpm_attest(ByteView(raw.data(), n));
    ASSERT_FALSE(a) << n;
    EXPECT_EQ(a.error().code, ErrorCode::TpmMalformed) << n;
  }
}

TEST(TpmAttest, RejectsTrailingBadMagicAndOversizeFields) {
  const Bytes raw = test::read_data(gce("gce_cos85_nonce9009", "quote_sha256.tpms_attest.bin"));
  Bytes trailing = raw;
  trailing.push_back(0);
  EXPECT_EQ(parse_tpm_attest(trailing).error().code, ErrorCode::TpmMalformed);

  Bytes magic = raw;
  magic[3] ^= 1;
  EXPECT_EQ(parse_tpm_attest(magic).error().code, ErrorCode::TpmBadMagic);

  // qualifiedSigner size 0xffff.
  Bytes big_name = raw;
  big_name[6] = 0xff;
  big_name[7] = 0xff;
  EXPECT_EQ(parse_tpm_attest(big_name).error().code, ErrorCode::TpmMalformed);

  // extraData (at 6 + 2 + 34) larger than a TPMT_HA.
  Bytes big_extra = raw;
  big_extra[42] = 0x00;
  big_extra[43] = 0x43;
  EXPECT_EQ(parse_tpm_attest(big_extra).error().code, ErrorCode::TpmMalformed);

  // TPML_PCR_SELECTION.count = 17 (after clockInfo 17 bytes, firmwareVersion 8).
  const std::size_t count_at = 6 + 2 + 34 + 2 + 2 + 17 + 8;
  Bytes banks = raw;
  banks[count_at + 3] = 17;
  EXPECT_EQ(parse_tpm_attest(banks).error().code, ErrorCode::TpmMalformed);
  // sizeofSelect = 5.
  Bytes select = raw;
  select[count_at + 6] = 5;
  EXPECT_EQ(parse_tpm_attest(select).error().code, ErrorCode::TpmMalformed);
  // clockInfo.safe = 2.
  Bytes safe = raw;
  safe[6 + 2 + 34 + 2 + 2 + 16] = 2;
  EXPECT_EQ(parse_tpm_attest(safe).error().code, ErrorCode::TpmMalformed);
}

TEST(TpmAttest, OtherTypesKeepTheirBody) {
  Bytes raw = test::read_data(gce("gce_cos85_nonce9009", "quote_sha256.tpms_attest.bin"));
  raw[5] = 0x17;  // TPM_ST_ATTEST_CERTIFY
  auto a = parse_tpm_attest(raw);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->quote);
  EXPECT_FALSE(a->attested.empty());
}

// --- TPMT_SIGNATURE ------------------------------------------------------------

TEST(TpmSignature, ParsesRsassaAndEcdsaAndRsapss) {
  auto rsa = parse_tpm_signature(
      test::read_data(gce("gce_cos85_nonce9009", "quote_sha256.tpmt_signature.bin")));
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->sig_alg, kTpmAlgRsassa);
  EXPECT_EQ(rsa->hash, kTpmAlgSha256);
  EXPECT_EQ(rsa->sig.size(), 256U);

  auto ec = parse_tpm_signature(test::read_data("tpm/tools_ecc/sig"));
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->sig_alg, kTpmAlgEcdsa);
  EXPECT_EQ(ec->hash, kTpmAlgSha256);
  EXPECT_EQ(ec->r.size(), 32U);
  EXPECT_EQ(ec->s.size(), 32U);

  auto pss = parse_tpm_signature(test::read_data("tpm/tools_rsapss/sig"));
  ASSERT_TRUE(pss);
  EXPECT_EQ(pss->sig_alg, kTpmAlgRsapss);
  EXPECT_EQ(pss->sig.size(), 256U);
}

TEST(TpmSignature, MalformedInputs) {
  for (const char* path : {"tpm/tools_ecc/sig", "tpm/tools_rsapss/sig"}) {
    const Bytes raw = test::read_data(path);
    for (std::size_t n = 0; n < raw.size(); ++n) {
      auto s = parse_tpm_signature(ByteView(raw.data(), n));
      ASSERT_FALSE(s) << path << " " << n;
      EXPECT_EQ(s.error().code, ErrorCode::TpmMalformed) << path << " " << n;
    }
    Bytes trailing = raw;
    trailing.push_back(0);
    EXPECT_EQ(parse_tpm_signature(trailing).error().code, ErrorCode::TpmMalformed);
  }
  EXPECT_EQ(parse_tpm_signature(hex("001400")).error().code, ErrorCode::TpmMalformed);
  // An HMAC signature (sigAlg 0x0005) is not a quote signature scheme.
  EXPECT_EQ(parse_tpm_signature(hex("0005000b0000")).error().code, ErrorCode::UnsupportedAlgorithm);
  // ECDSA r larger than any curve.
  Bytes big_r = hex("0018000b0043");
  big_r.resize(big_r.size() + 0x43, 1);
  big_r.insert(big_r.end(), {0x00, 0x01, 0x01});
  EXPECT_EQ(parse_tpm_signature(big_r).error().code, ErrorCode::TpmMalformed);
}

// --- TPMT_PUBLIC -----------------------------------------------------------------

TEST(TpmPublic, ParsesGceRsaAk) {
  const Bytes raw = test::read_data(gce("gce_cos85_nonce9009", "ak_pub.tpmt_public.bin"));
  auto p = parse_tpm_public(raw);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->type, kTpmAlgRsa);
  EXPECT_EQ(p->name_alg, kTpmAlgSha256);
  EXPECT_EQ(p->object_attributes, 0x00050072U);
  EXPECT_TRUE(p->is_restricted_signing_key());
  EXPECT_EQ(p->symmetric, kTpmAlgNull);
  EXPECT_EQ(p->scheme, kTpmAlgRsassa);
  EXPECT_EQ(p->scheme_hash, kTpmAlgSha256);
  EXPECT_EQ(p->rsa_bits, 2048);
  EXPECT_EQ(p->rsa_modulus.size(), 256U);
  EXPECT_EQ(p->raw, raw);
  // The key equals the one in the AK certificate.
  auto key = tpm_public_key(*p);
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(*ossl::spki_der(key->get()), gce_ak_spki());
  // Name = nameAlg || SHA-256(TPMT_PUBLIC).
  auto name = tpm_object_name(*p);
  ASSERT_TRUE(name);
  Bytes want = hex("000b");
  const Bytes h = *ossl::digest(ossl::HashAlg::Sha256, raw);
  want.insert(want.end(), h.begin(), h.end());
  EXPECT_EQ(*name, want);
}

TEST(TpmPublic, ParsesToolsEccAkFromTpm2bAndMatchesItsPem) {
  for (const char* dir : {"tpm/tools_ecc", "tpm/tools_rsapss"}) {
    auto p = parse_tpm2b_public(test::read_data(std::string(dir) + "/ak.pub"));
    ASSERT_TRUE(p) << dir << ": " << p.error().to_string();
    EXPECT_TRUE(p->is_restricted_signing_key());
    auto key = tpm_public_key(*p);
    ASSERT_TRUE(key);
    auto pem = ossl::parse_public_key(test::read_data(std::string(dir) + "/ak.pem"));
    ASSERT_TRUE(pem);
    EXPECT_TRUE(ossl::public_keys_equal(key->get(), pem->get())) << dir;
  }
  auto ecc = parse_tpm2b_public(test::read_data("tpm/tools_ecc/ak.pub"));
  EXPECT_EQ(ecc->type, kTpmAlgEcc);
  EXPECT_EQ(ecc->ecc_curve, kTpmEccNistP256);
  EXPECT_EQ(ecc->scheme, kTpmAlgEcdsa);
}

TEST(TpmPublic, MalformedInputs) {
  const Bytes raw = test::read_data(gce("gce_cos85_nonce9009", "ak_pub.tpmt_public.bin"));
  for (std::size_t n = 0; n < raw.size(); ++n) {
    auto p = parse_tpm_public(ByteView(raw.data(), n));
    ASSERT_FALSE(p) << n;
    EXPECT_EQ(p.error().code, ErrorCode::TpmMalformed) << n;
  }
  Bytes trailing = raw;
  trailing.push_back(0);
  EXPECT_EQ(parse_tpm_public(trailing).error().code, ErrorCode::TpmMalformed);
  Bytes keyed_hash = raw;
  keyed_hash[1] = 0x08;
  EXPECT_EQ(parse_tpm_public(keyed_hash).error().code, ErrorCode::UnsupportedAlgorithm);
  Bytes bad_name_alg = raw;
  bad_name_alg[3] = 0x99;
  EXPECT_EQ(parse_tpm_public(bad_name_alg).error().code, ErrorCode::UnsupportedAlgorithm);
  // The modulus size field claims more than an RSA-16384 key.
  Bytes big = raw;
  big[0x16] = 0x09;
  EXPECT_EQ(parse_tpm_public(big).error().code, ErrorCode::TpmMalformed);
  // TPM2B_PUBLIC whose size disagrees with its contents.
  Bytes b2 = hex("0119");
  b2.insert(b2.end(), raw.begin(), raw.end());
  EXPECT_EQ(parse_tpm2b_public(b2).error().code, ErrorCode::TpmMalformed);
}

// --- the tpm2-tools PCR file -----------------------------------------------------

TEST(TpmPcrsFile, ParsesTwoBankToolsFile) {
  const Bytes raw = test::read_data("tpm/tools_ecc/pcrs");
  auto v = parse_tpm_pcrs_file(raw);
  ASSERT_TRUE(v) << v.error().to_string();
  ASSERT_EQ(v->banks.size(), 2U);
  EXPECT_EQ(v->banks[0].hash, kTpmAlgSha256);
  EXPECT_EQ(v->banks[1].hash, kTpmAlgSha1);
  EXPECT_EQ(v->banks[0].values.size(), 4U);
  EXPECT_EQ(v->banks[1].values.size(), 2U);
  // PCR1 untouched; PCR0 = SHA-256(0^32 || SHA-256("a")) (one extend).
  EXPECT_EQ(v->banks[0].values.at(1), Bytes(32, 0));
  Bytes ext(32, 0);
  const Bytes a = *ossl::digest(ossl::HashAlg::Sha256, to_bytes("a"));
  ext.insert(ext.end(), a.begin(), a.end());
  EXPECT_EQ(v->banks[0].values.at(0), *ossl::digest(ossl::HashAlg::Sha256, ext));
  // The writer reproduces the tools' file byte for byte.
  auto again = encode_tpm_pcrs_file(*v);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, raw);
}

TEST(TpmPcrsFile, MatchesTheToolsQuote) {
  for (const char* dir : {"tpm/tools_ecc", "tpm/tools_rsapss"}) {
    auto v = parse_tpm_pcrs_file(test::read_data(std::string(dir) + "/pcrs"));
    auto a = parse_tpm_attest(test::read_data(std::string(dir) + "/msg"));
    ASSERT_TRUE(v && a && a->quote);
    EXPECT_TRUE(check_tpm_quote_pcrs(*a->quote, kTpmAlgSha256, *v)) << dir;
    EXPECT_EQ(a->extra_data, hex("00112233445566778899aabbccddeeff"));
  }
}

TEST(TpmPcrsFile, MalformedInputs) {
  const Bytes raw = test::read_data("tpm/tools_ecc/pcrs");
  for (std::size_t n = 0; n < raw.size(); n += (n < 140 ? 1 : 7)) {
    auto v = parse_tpm_pcrs_file(ByteView(raw.data(), n));
    ASSERT_FALSE(v) << n;
    EXPECT_EQ(v.error().code, ErrorCode::TpmMalformed) << n;
  }
  Bytes trailing = raw;
  trailing.push_back(0);
  EXPECT_EQ(parse_tpm_pcrs_file(trailing).error().code, ErrorCode::TpmMalformed);
  Bytes banks = raw;
  banks[0] = 17;
  EXPECT_EQ(parse_tpm_pcrs_file(banks).error().code, ErrorCode::TpmMalformed);
  Bytes lists = raw;
  lists[132] = 33;
  EXPECT_EQ(parse_tpm_pcrs_file(lists).error().code, ErrorCode::TpmMalformed);
  Bytes per_list = raw;
  per_list[136] = 9;
  EXPECT_EQ(parse_tpm_pcrs_file(per_list).error().code, ErrorCode::TpmMalformed);
  Bytes digest_size = raw;
  digest_size[140] = 65;
  EXPECT_EQ(parse_tpm_pcrs_file(digest_size).error().code, ErrorCode::TpmMalformed);
  Bytes wrong_size = raw;
  wrong_size[140] = 20;  // a SHA-1-sized value in the SHA-256 bank
  EXPECT_EQ(parse_tpm_pcrs_file(wrong_size).error().code, ErrorCode::TpmMalformed);
  Bytes fewer = raw;
  fewer[136] = 5;  // 5 values for 6 selected PCRs
  EXPECT_EQ(parse_tpm_pcrs_file(fewer).error().code, ErrorCode::TpmMalformed);
  Bytes select_size = raw;
  select_size[6] = 5;
  EXPECT_EQ(parse_tpm_pcrs_file(select_size).error().code, ErrorCode::TpmMalformed);
}

// --- the evidence map ----------------------------------------------------------------

TEST(Tpm2Evidence, RoundTripAndStrictness) {
  const Evidence e =
      gce_evidence(GceParts{"gce_cos85_nonce9009", "gce_cos85_nonce9009", "sha1", true});
  auto ev = parse_tpm2_quote_evidence(e.records.front().value);
  ASSERT_TRUE(ev) << ev.error().to_string();
  EXPECT_TRUE(ev->ak_pub && ev->ak_cert);
  EXPECT_EQ(ev->pcrs.banks.at(0).values.size(), 24U);
  EXPECT_EQ(encode_tpm2_quote_evidence(*ev), e.records.front().value);

  auto code = [](const Evidence& x) {
    auto r = parse_tpm2_quote_evidence(x.records.front().value);
    return r ? ErrorCode::Ok : r.error().code;
  };
  EXPECT_EQ(code(with_field(e, "extra", CborValue::uint(1))), ErrorCode::TpmMalformed);
  EXPECT_EQ(code(with_field(e, "attest", CborValue::text("x"))), ErrorCode::TpmMalformed);
  EXPECT_EQ(code(with_field(e, "pcrs", CborValue::map())), ErrorCode::Ok);
  CborValue bad_bank = CborValue::map();
  bad_bank.map_put(CborValue::text("md5"), CborValue::map());
  EXPECT_EQ(code(with_field(e, "pcrs", bad_bank)), ErrorCode::TpmMalformed);
  CborValue big_index = CborValue::map();
  CborValue values = CborValue::map();
  values.map_put(CborValue::uint(32), CborValue::bytes(Bytes(32, 0)));
  big_index.map_put(CborValue::text("sha256"), values);
  EXPECT_EQ(code(with_field(e, "pcrs", big_index)), ErrorCode::TpmMalformed);
  CborValue short_value = CborValue::map();
  CborValue v2 = CborValue::map();
  v2.map_put(CborValue::uint(0), CborValue::bytes(Bytes(20, 0)));
  short_value.map_put(CborValue::text("sha256"), v2);
  EXPECT_EQ(code(with_field(e, "pcrs", short_value)), ErrorCode::TpmMalformed);

  CborValue missing = CborValue::map();
  missing.map_put(CborValue::text("attest"), CborValue::bytes(Bytes{1}));
  EXPECT_EQ(parse_tpm2_quote_evidence(cbor_encode(missing)).error().code, ErrorCode::TpmMalformed);
  EXPECT_EQ(parse_tpm2_quote_evidence(cbor_encode(CborValue::array())).error().code,
            ErrorCode::TpmMalformed);
  EXPECT_EQ(parse_tpm2_quote_evidence(hex("a1")).error().code, ErrorCode::CborMalformed);
}

TEST(Tpm2Evidence, QualifyingData) {
  EXPECT_EQ(*tpm_qualifying_data(Bytes{}), Bytes{});
  EXPECT_EQ(*tpm_qualifying_data(Bytes(32, 7)), Bytes(32, 7));
  // PROTOCOL.md 1.5: extraData = binder, also a SHA-384 suite's 48 bytes.
  EXPECT_EQ(*tpm_qualifying_data(Bytes(48, 7)), Bytes(48, 7));
  EXPECT_EQ(*tpm_qualifying_data(Bytes(64, 7)), Bytes(64, 7));
  EXPECT_EQ(*tpm_qualifying_data(Bytes(65, 7)), *ossl::digest(ossl::HashAlg::Sha256, Bytes(65, 7)));
  // A TPM too small for the nonce quotes SHA-256(nonce); verifiers accept
  // that form only for nonces longer than every TPM takes whole.
  const Bytes h48 = *ossl::digest(ossl::HashAlg::Sha256, Bytes(48, 7));
  EXPECT_TRUE(*tpm_extra_data_matches(Bytes(48, 7), Bytes(48, 7)));
  EXPECT_TRUE(*tpm_extra_data_matches(h48, Bytes(48, 7)));
  EXPECT_FALSE(*tpm_extra_data_matches(Bytes(48, 8), Bytes(48, 7)));
  EXPECT_FALSE(*tpm_extra_data_matches(*ossl::digest(ossl::HashAlg::Sha256, Bytes(32, 7)), Bytes(32, 7)));
  EXPECT_FALSE(*tpm_extra_data_matches(Bytes(32, 7), Bytes(48, 7)));
}

// --- the verifier on the GCE vTPM vectors -----------------------------------------

TEST(Tpm2GceVectors, EveryBankVerifiesUnderThePinnedAk) {
  for (const char* bank : {"sha1", "sha256", "sha384"}) {
    auto c = verify_with(gce_evidence("gce_cos85_nonce9009", bank), kNonce9009, {gce_ak_spki()});
    ASSERT_TRUE(c) << bank << ": " << c.error().to_string();
    EXPECT_TRUE(c->nonce_verified);
    EXPECT_TRUE(c->hardware_rooted);
    EXPECT_EQ(c->nonce, kNonce9009);
    EXPECT_EQ(c->claims["ak_trust"], "pinned-key");
    EXPECT_EQ(c->machine_id.rfind("tpm-ak-name:000b", 0), 0U) << c->machine_id;
    EXPECT_EQ(c->machine_id.size(), std::string("tpm-ak-name:").size() + 68);
    EXPECT_EQ(c->claims["pcrs"][bank].size(), 24U);

    auto none = verify_with(gce_evidence("gce_cos85_nononce", bank), Bytes{}, {gce_ak_spki()});
    ASSERT_TRUE(none) << bank << ": " << none.error().to_string();
    EXPECT_TRUE(none->nonce_verified);
  }
}

TEST(Tpm2GceVectors, AkCertificateChain) {
  const Bytes root = test::read_data("tpm/gce_tpm_ek_root_1.cer");
  const Bytes inter = test::read_data("tpm/gce_tpm_ek_intermediate_2.crt");
  for (const char* dir : {"gce_cos85_nonce9009", "gce_cos85_nononce"}) {
    const Bytes nonce = std::string(dir) == "gce_cos85_nonce9009" ? kNonce9009 : Bytes{};
    for (const char* bank : {"sha1", "sha256", "sha384"}) {
      const Evidence e = gce_evidence(GceParts{dir, dir, bank, true});
      auto c = verify_with(e, nonce, {root}, {inter});
      ASSERT_TRUE(c) << dir << " " << bank << ": " << c.error().to_string();
      EXPECT_EQ(c->claims["ak_trust"], "certificate");
      // Without the intermediate the AK certificate does not chain.
      EXPECT_EQ(code_of(verify_with(e, nonce, {root})), ErrorCode::CertUntrusted) << dir << bank;
    }
  }
  // The chain through the policy's trust section.
  const Evidence e =
      gce_evidence(GceParts{"gce_cos85_nonce9009", "gce_cos85_nonce9009", "sha256", true});
  const nlohmann::json trust = {{"roots", {"gce_tpm_ek_root_1.cer"}},
                                {"intermediates", {"gce_tpm_ek_intermediate_2.crt"}}};
  Outcome o = run_pipeline(e, trust, nlohmann::json::object(), kNonce9009);
  ASSERT_TRUE(o.verified) << o.verified.error().to_string();
  ASSERT_TRUE(o.result);
  EXPECT_EQ(claim(*o.result, TrustVector::kHardware), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kInstanceIdentity), 2);
  EXPECT_FALSE(claim(*o.result, TrustVector::kExecutables));
  EXPECT_EQ(o.result->machine_id().rfind("tpm-ak-name:", 0), 0U);
}

TEST(Tpm2GceVectors, CrossCombinationsFail) {
  const std::vector<Bytes> pinned = {gce_ak_spki()};
  EXPECT_EQ(code_of(verify_with(gce_evidence("gce_cos85_nononce"), kNonce9009, pinned)),
            ErrorCode::NonceMismatch);
  EXPECT_EQ(code_of(verify_with(gce_evidence("gce_cos85_nonce9009"), Bytes{}, pinned)),
            ErrorCode::NonceMismatch);
  EXPECT_EQ(code_of(verify_with(gce_evidence("gce_cos85_nonce9009"), Bytes{0x90, 0x10}, pinned)),
            ErrorCode::NonceMismatch);
  for (const char* bank : {"sha1", "sha256", "sha384"}) {
    EXPECT_EQ(code_of(verify_with(
                  gce_evidence(GceParts{"gce_cos85_nonce9009", "gce_cos85_nononce", bank}),
                  kNonce9009, pinned)),
              ErrorCode::TpmBadSignature)
        << bank;
    EXPECT_EQ(code_of(verify_with(
                  gce_evidence(GceParts{"gce_cos85_nononce", "gce_cos85_nonce9009", bank}), Bytes{},
                  pinned)),
              ErrorCode::TpmBadSignature)
        << bank;
  }
}

TEST(Tpm2GceVectors, UntrustedAkAndPcrTampering) {
  const Evidence e = gce_evidence("gce_cos85_nonce9009");
  EXPECT_EQ(code_of(verify_with(e, kNonce9009, {fresh_p256_spki()})), ErrorCode::KeyUntrusted);
  EXPECT_EQ(code_of(verify_with(e, kNonce9009, {})), ErrorCode::KeyUntrusted);

  // One PCR value changed: the recomputed pcrDigest differs.
  TpmPcrValues pcrs = gce_pcrs("gce_cos85_nonce9009", "sha256");
  pcrs.banks[0].values[7][0] ^= 1;
  Tpm2QuoteEvidence ev = *parse_tpm2_quote_evidence(e.records.front().value);
  ev.pcrs = pcrs;
  EvidenceRecord rec{"", std::string(kMediaTypeTpmQuote), encode_tpm2_quote_evidence(ev),
                     kIndEvidence};
  EXPECT_EQ(code_of(verify_with(*evidence_from_records({rec}), kNonce9009, {gce_ak_spki()})),
            ErrorCode::TpmPcrDigestMismatch);
  // One PCR missing: the selection differs.
  ev.pcrs = gce_pcrs("gce_cos85_nonce9009", "sha256");
  ev.pcrs.banks[0].values.erase(23);
  rec.value = encode_tpm2_quote_evidence(ev);
  EXPECT_EQ(code_of(verify_with(*evidence_from_records({rec}), kNonce9009, {gce_ak_spki()})),
            ErrorCode::TpmPcrSelectionMismatch);
  // Another bank's values.
  ev.pcrs = gce_pcrs("gce_cos85_nonce9009", "sha1");
  rec.value = encode_tpm2_quote_evidence(ev);
  EXPECT_EQ(code_of(verify_with(*evidence_from_records({rec}), kNonce9009, {gce_ak_spki()})),
            ErrorCode::TpmPcrSelectionMismatch);
  // Truncated attest inside the map.
  Bytes attest = field_bytes(e, "attest");
  attest.pop_back();
  EXPECT_EQ(code_of(verify_with(with_field(e, "attest", CborValue::bytes(attest)), kNonce9009,
                                {gce_ak_spki()})),
            ErrorCode::TpmMalformed);
}

TEST(Tpm2GceVectors, AppraisalAgainstReferencePcrs) {
  const Evidence e = gce_evidence("gce_cos85_nonce9009");
  const TpmPcrValues pcrs = gce_pcrs("gce_cos85_nonce9009", "sha256");
  const std::string pcr0 = to_hex(pcrs.banks[0].values.at(0));
  const std::string pcr4 = to_hex(pcrs.banks[0].values.at(4));
  const auto quote = parse_tpm_attest(field_bytes(e, "attest"));
  const std::string digest = to_hex(quote->quote->pcr_digest);

  Outcome good =
      run_pipeline(e, nlohmann::json::object(),
                   {{"pcrs", {{"sha256", {{"0", pcr0}, {"4", {std::string(64, '0'), pcr4}}}}}},
                    {"pcr_digests", {digest}},
                    {"policy_id", "test/gce"}},
                   kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(good.result) << (good.verified ? good.result.error().to_string()
                                             : good.verified.error().to_string());
  EXPECT_EQ(claim(*good.result, TrustVector::kExecutables), 2);
  EXPECT_EQ(claim(*good.result, TrustVector::kConfiguration), 2);
  EXPECT_EQ(claim(*good.result, TrustVector::kHardware), 2);
  EXPECT_EQ(good.result->submods().at(0).policy_id, "test/gce");
  EXPECT_TRUE(good.check) << good.check.error().to_string();

  Bytes wrong = pcrs.banks[0].values.at(0);
  wrong[0] ^= 1;
  Outcome bad =
      run_pipeline(e, nlohmann::json::object(), {{"pcrs", {{"sha256", {{"0", to_hex(wrong)}}}}}},
                   kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(bad.result);
  EXPECT_EQ(claim(*bad.result, TrustVector::kExecutables), 96);
  ASSERT_FALSE(bad.check);
  EXPECT_EQ(bad.check.error().code, ErrorCode::MeasurementMismatch);
  EXPECT_EQ(bad.result->submods().at(0).findings.at(0).code, ErrorCode::MeasurementMismatch);

  // A PCR the quote does not cover is a mismatch too.
  Outcome other_bank = run_pipeline(e, nlohmann::json::object(),
                                    {{"pcrs", {{"sha1", {{"0", std::string(40, '0')}}}}}},
                                    kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(other_bank.result);
  EXPECT_EQ(claim(*other_bank.result, TrustVector::kExecutables), 96);
  Outcome bad_digest =
      run_pipeline(e, nlohmann::json::object(), {{"pcr_digests", {std::string(64, '0')}}},
                   kNonce9009, {gce_ak_spki()});
  ASSERT_TRUE(bad_digest.result);
  EXPECT_EQ(bad_digest.check.error().code, ErrorCode::MeasurementMismatch);
}

TEST(Tpm2Policy, SectionValidation) {
  auto v = make_tpm2_verifier();
  auto a = make_tpm2_appraiser();
  EXPECT_TRUE(v->check_trust_section({{"ak_keys", {"a.pem"}}, {"roots", {"r.pem"}}}));
  EXPECT_EQ(v->check_trust_section({{"keys", {"a.pem"}}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_EQ(v->check_trust_section({{"roots", "r.pem"}}).error().code, ErrorCode::PolicyInvalid);
  EXPECT_TRUE(a->check_reference_section({{"pcrs", {{"sha256", {{"0", std::string(64, 'a')}}}}}}));
  EXPECT_EQ(a->check_reference_section({{"pcrs", {{"sha256", {{"0", "abcd"}}}}}}).error().code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(
      a->check_reference_section({{"pcrs", {{"md5", nlohmann::json::object()}}}}).error().code,
      ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"pcrs", {{"sha1", {{"x", std::string(40, 'a')}}}}}})
                .error()
                .code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"pcrs", {{"sha1", {{"32", std::string(40, 'a')}}}}}})
                .error()
                .code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"pcr_digests", {"zz"}}}).error().code,
            ErrorCode::PolicyInvalid);
  EXPECT_EQ(a->check_reference_section({{"measurements", {}}}).error().code,
            ErrorCode::PolicyInvalid);
}

// --- tpm2-tools files (committed vectors) -------------------------------------------

TEST(Tpm2ToolsFiles, CommittedQuotesVerify) {
  const Bytes nonce = hex("00112233445566778899aabbccddeeff");
  for (const char* dir : {"tpm/tools_ecc", "tpm/tools_rsapss"}) {
    const std::string d = dir;
    auto e = evidence_from_tpm2_tools(test::read_data(d + "/msg"), test::read_data(d + "/sig"),
                                      test::read_data(d + "/pcrs"), test::read_data(d + "/ak.pub"));
    ASSERT_TRUE(e) << e.error().to_string();
    auto c = verify_with(*e, nonce, {test::read_data(d + "/ak.pem")});
    ASSERT_TRUE(c) << dir << ": " << c.error().to_string();
    EXPECT_EQ(c->claims["pcrs"]["sha1"].size(), 2U);
    EXPECT_EQ(c->claims["pcrs"]["sha256"].size(), 4U);
    // Without ak.pub the pinned key alone identifies the AK.
    auto bare = evidence_from_tpm2_tools(test::read_data(d + "/msg"), test::read_data(d + "/sig"),
                                         test::read_data(d + "/pcrs"));
    ASSERT_TRUE(bare);
    auto c2 = verify_with(*bare, nonce, {test::read_data(d + "/ak.pem")});
    ASSERT_TRUE(c2) << c2.error().to_string();
    EXPECT_EQ(c2->machine_id.rfind("tpm-ak-spki-sha256:", 0), 0U);
    EXPECT_EQ(code_of(verify_with(*bare, nonce, {fresh_p256_spki()})), ErrorCode::TpmBadSignature);
    // The export gives back the tools' files.
    auto files = export_tpm2_tools_files(*e);
    ASSERT_TRUE(files);
    EXPECT_EQ(files->msg, test::read_data(d + "/msg"));
    EXPECT_EQ(files->sig, test::read_data(d + "/sig"));
    EXPECT_EQ(files->pcrs, test::read_data(d + "/pcrs"));
    EXPECT_EQ(files->hash, "sha256");
    EXPECT_EQ(files->qualifying_data, nonce);
  }
  EXPECT_EQ(evidence_from_tpm2_tools(Bytes{1, 2}, Bytes{}, Bytes{}).error().code,
            ErrorCode::TpmMalformed);
}

// --- the attester against swtpm ----------------------------------------------------

bool have_tools() {
  return std::system("command -v tpm2_quote >/dev/null 2>&1") == 0;
}

class Tpm2Swtpm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (tools::SwtpmProcess::available()) {
      auto tpm = tools::SwtpmProcess::start();
      if (tpm) {
        s_tpm = std::move(*tpm);
      } else {
        s_error = tpm.error().detail;
      }
    } else {
      s_error = "swtpm is not installed";
    }
  }
  static void TearDownTestSuite() { s_tpm.reset(); }

  void SetUp() override {
    if (!tools::SwtpmProcess::available()) {
      GTEST_SKIP() << s_error;
    }
    ASSERT_NE(s_tpm, nullptr) << s_error;
  }

  static std::unique_ptr<Attester> attester(std::vector<std::uint32_t> pcrs = {0, 1, 2, 3, 4, 5, 6,
                                                                               7, 8, 9, 16}) {
    Tpm2AttesterConfig config;
    config.tcti = s_tpm->tcti();
    config.pcrs = std::move(pcrs);
    auto a = make_tpm2_attester(config);
    EXPECT_TRUE(a) << a.error().to_string();
    return a ? std::move(*a) : nullptr;
  }

  static Evidence attest(Attester& a, const Bytes& nonce) {
    AttestationRequest req;
    req.nonce = nonce;
    auto e = a.attest(req);
    EXPECT_TRUE(e) << e.error().to_string();
    return e ? std::move(*e) : Evidence{};
  }

  // Runs |cmd| in |dir| against the swtpm; returns its exit status and
  // prints its output on failure.
  static int tools(const std::string& dir, const std::string& cmd) {
    const std::string full = "cd '" + dir + "' && { export TPM2TOOLS_TCTI='" + s_tpm->tcti() +
                             "'; " + cmd + "; } >>tools.log 2>&1";
    const int rc = std::system(full.c_str());
    if (rc != 0) {
      std::ifstream log(dir + "/tools.log");
      ADD_FAILURE() << "command failed (" << rc << "): " << cmd << "\n" << log.rdbuf();
    }
    return rc;
  }

  static std::unique_ptr<tools::SwtpmProcess> s_tpm;
  static std::string s_error;
};

std::unique_ptr<tools::SwtpmProcess> Tpm2Swtpm::s_tpm;
std::string Tpm2Swtpm::s_error;

// A scratch directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/atls-tpm-test-XXXXXX";
    m_path = ::mkdtemp(tmpl) != nullptr ? tmpl : "";
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::string& path() const { return m_path; }
  void write(const std::string& name, ByteView data) const {
    std::ofstream out(m_path + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
  }

 private:
  std::string m_path;
};

TEST_F(Tpm2Swtpm, HappyPathAttestVerifyAppraise) {
  auto a = attester();
  ASSERT_NE(a, nullptr);
  const Bytes nonce(32, 0x5a);
  const Evidence e = attest(*a, nonce);
  ASSERT_EQ(e.media_type(), kMediaTypeTpmQuote);
  auto pem = tpm2_attester_ak_pem(*a);
  ASSERT_TRUE(pem);

  auto c = verify_with(e, nonce, {to_bytes(*pem)});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->nonce_verified);
  EXPECT_EQ(c->claims["signature_alg"], "ecdsa");
  EXPECT_EQ(c->claims["pcrs"]["sha256"].size(), 11U);
  auto pub = parse_tpm_public(*tpm2_attester_ak_public(*a));
  ASSERT_TRUE(pub);
  EXPECT_EQ(c->machine_id, "tpm-ak-name:" + to_hex(*tpm_object_name(*pub)));
  EXPECT_EQ(pub->type, kTpmAlgEcc);
  EXPECT_EQ(pub->object_attributes & 0x00070072U, 0x00050072U);

  // swtpm has no firmware: PCR 0 is all zeros.
  const nlohmann::json ref = {{"pcrs", {{"sha256", {{"0", std::string(64, '0')}}}}}};
  Outcome o = run_pipeline(e, nlohmann::json::object(), ref, nonce, {to_bytes(*pem)});
  ASSERT_TRUE(o.result) << (o.verified ? o.result.error().to_string()
                                       : o.verified.error().to_string());
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kHardware), 2);
  EXPECT_EQ(claim(*o.result, TrustVector::kInstanceIdentity), 2);
  EXPECT_EQ(o.result->status(), TrustTier::Affirming);
  EXPECT_TRUE(o.check);

  // The CMW wire form round-trips.
  auto wire = evidence_from_cmw(e.cmw);
  ASSERT_TRUE(wire);
  EXPECT_TRUE(verify_with(*wire, nonce, {to_bytes(*pem)}));
}

TEST_F(Tpm2Swtpm, PersistentAkIsReusedAndNoncesUpTo64BytesGoInWhole) {
  Bytes first;
  {
    auto a = attester();
    ASSERT_NE(a, nullptr);
    first = *tpm2_attester_ak_public(*a);
  }
  auto a = attester({7});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*tpm2_attester_ak_public(*a), first);
  const std::string pem = *tpm2_attester_ak_pem(*a);
  for (const std::size_t n : {0U, 1U, 32U, 33U, 48U, 64U, 65U, 100U}) {
    const Bytes nonce(n, 0xa5);
    const Evidence e = attest(*a, nonce);
    auto c = verify_with(e, nonce, {to_bytes(pem)});
    ASSERT_TRUE(c) << n << ": " << c.error().to_string();
    auto attest_bytes = parse_tpm_attest(field_bytes(e, "attest"));
    EXPECT_EQ(attest_bytes->extra_data, *tpm_qualifying_data(nonce)) << n;
  }
  AttestationRequest huge;
  huge.nonce.assign(2000, 1);
  EXPECT_EQ(a->attest(huge).error().code, ErrorCode::InvalidArgument);
}

TEST_F(Tpm2Swtpm, NegativeCases) {
  auto a = attester();
  ASSERT_NE(a, nullptr);
  const Bytes nonce(32, 0x11);
  const Evidence e = attest(*a, nonce);
  const Bytes pem = to_bytes(*tpm2_attester_ak_pem(*a));

  // Wrong nonce.
  EXPECT_EQ(code_of(verify_with(e, Bytes(32, 0x12), {pem})), ErrorCode::NonceMismatch);
  // Tampered signature (last byte of s).
  Bytes sig = field_bytes(e, "signature");
  sig.back() ^= 1;
  EXPECT_EQ(code_of(verify_with(with_field(e, "signature", CborValue::bytes(sig)), nonce, {pem})),
            ErrorCode::TpmBadSignature);
  // Tampered attest (a byte of clockInfo).
  Bytes att = field_bytes(e, "attest");
  att[50] ^= 1;
  EXPECT_EQ(code_of(verify_with(with_field(e, "attest", CborValue::bytes(att)), nonce, {pem})),
            ErrorCode::TpmBadSignature);
  // Untrusted AK.
  EXPECT_EQ(code_of(verify_with(e, nonce, {fresh_p256_spki()})), ErrorCode::KeyUntrusted);
  // ak_pub swapped for another (trusted) key: the signature no longer verifies.
  Bytes gce_pub = test::read_data(gce("gce_cos85_nonce9009", "ak_pub.tpmt_public.bin"));
  EXPECT_EQ(code_of(verify_with(with_field(e, "ak_pub", CborValue::bytes(gce_pub)), nonce,
                                {gce_ak_spki()})),
            ErrorCode::TpmBadSignature);
  // Wrong PCR reference value.
  const nlohmann::json ref = {{"pcrs", {{"sha256", {{"0", std::string(64, 'f')}}}}}};
  Outcome o = run_pipeline(e, nlohmann::json::object(), ref, nonce, {pem});
  ASSERT_TRUE(o.result);
  EXPECT_EQ(claim(*o.result, TrustVector::kExecutables), 96);
  EXPECT_EQ(o.check.error().code, ErrorCode::MeasurementMismatch);
  // Truncated and oversize inputs.
  Bytes short_attest = field_bytes(e, "attest");
  short_attest.resize(short_attest.size() - 3);
  EXPECT_EQ(
      code_of(verify_with(with_field(e, "attest", CborValue::bytes(short_attest)), nonce, {pem})),
      ErrorCode::TpmMalformed);
  Bytes long_sig = field_bytes(e, "signature");
  long_sig.resize(long_sig.size() + 4096, 0);
  EXPECT_EQ(
      code_of(verify_with(with_field(e, "signature", CborValue::bytes(long_sig)), nonce, {pem})),
      ErrorCode::TpmMalformed);
  Bytes long_pub = *tpm2_attester_ak_public(*a);
  long_pub.push_back(0);
  EXPECT_EQ(code_of(verify_with(with_field(e, "ak_pub", CborValue::bytes(long_pub)), nonce, {pem})),
            ErrorCode::TpmMalformed);
}

TEST_F(Tpm2Swtpm, ConcurrentAttestsShareOneContext) {
  auto a = attester({0, 1});
  ASSERT_NE(a, nullptr);
  const Bytes pem = to_bytes(*tpm2_attester_ak_pem(*a));
  std::vector<Result<Evidence>> results(4, Error{ErrorCode::Internal, "not run"});
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      AttestationRequest req;
      req.nonce = Bytes(32, static_cast<std::uint8_t>(i));
      results[i] = a->attest(req);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().to_string();
    EXPECT_TRUE(verify_with(*results[i], Bytes(32, static_cast<std::uint8_t>(i)), {pem})) << i;
  }
}

TEST_F(Tpm2Swtpm, BadConfigurations) {
  Tpm2AttesterConfig config;
  config.tcti = s_tpm->tcti();
  config.pcrs = {24};
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::InvalidArgument);
  config.pcrs = {};
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::InvalidArgument);
  config.pcrs = {0};
  config.ak_handle = 0x80000001;
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::InvalidArgument);
  config.ak_handle = 0x81010002;
  config.tcti = "swtpm:host=127.0.0.1,port=1";
  EXPECT_EQ(make_tpm2_attester(config).error().code, ErrorCode::AttesterFailure);
}

// (a) tpm2_quote (tpm2-tools) -> evidence_from_tpm2_tools -> our verifier.
TEST_F(Tpm2Swtpm, InteropToolsQuoteVerifiesWithOurVerifier) {
  if (!have_tools()) {
    GTEST_SKIP() << "tpm2-tools not installed";
  }
  TempDir dir;
  const std::string& d = dir.path();
  const char* flush = " && tpm2_flushcontext -t && tpm2_flushcontext -s";
  ASSERT_EQ(tools(d, std::string("tpm2_createprimary -C o -g sha256 -G ecc -c prim.ctx") + flush),
            0);
  ASSERT_EQ(tools(d, std::string(
                         "tpm2_create -C prim.ctx -G ecc256:ecdsa-sha256:null -a "
                         "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' "
                         "-u ak.pub -r ak.priv") +
                         flush),
            0);
  ASSERT_EQ(tools(d, std::string("tpm2_load -C prim.ctx -u ak.pub -r ak.priv -c ak.ctx") + flush),
            0);
  ASSERT_EQ(tools(d, std::string("tpm2_readpublic -c ak.ctx -f pem -o ak.pem -n ak.name") + flush),
            0);
  const std::string nonce_hex = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
  ASSERT_EQ(tools(d, "tpm2_quote -c ak.ctx -l sha256:0,1,2 -q " + nonce_hex +
                         " -m msg -s sig -o pcrs -g sha256" + flush),
            0);
  const auto rd = [&](const char* f) { return test::read_file(d + "/" + f); };
  auto e = evidence_from_tpm2_tools(rd("msg"), rd("sig"), rd("pcrs"), rd("ak.pub"));
  ASSERT_TRUE(e) << e.error().to_string();
  auto c = verify_with(*e, hex(nonce_hex), {rd("ak.pem")});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->nonce_verified);
  EXPECT_EQ(c->claims["pcrs"]["sha256"].size(), 3U);
  // Our AK Name equals the one tpm2_readpublic reports.
  EXPECT_EQ(c->machine_id, "tpm-ak-name:" + to_hex(rd("ak.name")));
  EXPECT_EQ(code_of(verify_with(*e, Bytes(32, 0), {rd("ak.pem")})), ErrorCode::NonceMismatch);
}

// (b) our attester -> export_tpm2_tools_files -> tpm2_checkquote.
TEST_F(Tpm2Swtpm, InteropOurQuoteVerifiesWithTpm2Checkquote) {
  if (!have_tools()) {
    GTEST_SKIP() << "tpm2-tools not installed";
  }
  Evidence e;
  {
    auto a = attester({0, 1, 2, 3, 10, 16});
    ASSERT_NE(a, nullptr);
    e = attest(*a, Bytes(32, 0x42));
  }  // the attester's connection is closed before the tools run
  auto files = export_tpm2_tools_files(e);
  ASSERT_TRUE(files) << files.error().to_string();
  TempDir dir;
  dir.write("msg", files->msg);
  dir.write("sig", files->sig);
  dir.write("pcrs", files->pcrs);
  dir.write("ak.pem", to_bytes(files->ak_pem));
  EXPECT_EQ(tools(dir.path(), "tpm2_checkquote -u ak.pem -m msg -s sig -f pcrs -g " + files->hash +
                                  " -q " + to_hex(files->qualifying_data)),
            0);
  // tpm2_checkquote rejects a changed PCR value and a wrong nonce.
  Bytes pcrs = files->pcrs;
  pcrs[140 + 2 + 5] ^= 1;  // first value, sixth byte
  dir.write("bad_pcrs", pcrs);
  const std::string base =
      "cd '" + dir.path() + "' && tpm2_checkquote -u ak.pem -m msg -s sig -g sha256 ";
  EXPECT_NE(
      std::system(
          (base + "-f bad_pcrs -q " + to_hex(files->qualifying_data) + " >/dev/null 2>&1").c_str()),
      0);
  EXPECT_NE(std::system((base + "-f pcrs -q " + std::string(64, '0') + " >/dev/null 2>&1").c_str()),
            0);
}

}  // namespace
}  // namespace atls
