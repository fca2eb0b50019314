// TPM 2.0 structures: the pure parsers of src/formats/tpm (TPMS_ATTEST,
// TPMT_SIGNATURE, TPMT_PUBLIC, the tpm2-tools PCR file, the evidence map).
// The tpm2 verifier, appraiser and attester are in tpm2_plugin_test.cc.

#include "src/formats/tpm/tpm.h"

#include "src/core/encoding.h"
#include "src/formats/cbor/cbor.h"
#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/verify.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include "tests/testlib/test_data.h"
#include "tests/testlib/tpm_vectors.h"

#include <gtest/gtest.h>

namespace atls {
namespace {

using test::gce;
using test::gce_ak_spki;
using test::gce_evidence;
using test::GceParts;
using test::hex;
using test::kNonce9009;
using test::with_field;

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
  // docs/wire-profile.md 1.5: extraData = binder, also a SHA-384 suite's 48 bytes.
  EXPECT_EQ(*tpm_qualifying_data(Bytes(48, 7)), Bytes(48, 7));
  EXPECT_EQ(*tpm_qualifying_data(Bytes(64, 7)), Bytes(64, 7));
  EXPECT_EQ(*tpm_qualifying_data(Bytes(65, 7)), *ossl::digest(ossl::HashAlg::Sha256, Bytes(65, 7)));
  // A TPM too small for the nonce quotes SHA-256(nonce); verifiers accept
  // that form only for nonces longer than every TPM takes whole.
  const Bytes h48 = *ossl::digest(ossl::HashAlg::Sha256, Bytes(48, 7));
  EXPECT_TRUE(*tpm_extra_data_matches(Bytes(48, 7), Bytes(48, 7)));
  EXPECT_TRUE(*tpm_extra_data_matches(h48, Bytes(48, 7)));
  EXPECT_FALSE(*tpm_extra_data_matches(Bytes(48, 8), Bytes(48, 7)));
  EXPECT_FALSE(
      *tpm_extra_data_matches(*ossl::digest(ossl::HashAlg::Sha256, Bytes(32, 7)), Bytes(32, 7)));
  EXPECT_FALSE(*tpm_extra_data_matches(Bytes(32, 7), Bytes(48, 7)));
}

}  // namespace
}  // namespace atls
