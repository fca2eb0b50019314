// Verified-result caches: certificate chains (src/ossl/chain_cache.h, used
// by the SEV-SNP, TDX and TPM verifiers) and passport EARs
// (verified_ear_cache in src/plugins/ear/ear_plugin.h), on the real vectors.
// A cache may save a signature check, never change a verdict: what changes
// with time and what the Evidence itself signs are checked on every use.

#include "src/attestation/evidence_cmw.h"
#include "src/core/encoding.h"
#include "src/core/parse_cache.h"
#include "src/formats/jwt/jws.h"
#include "src/formats/snp/verify.h"
#include "src/formats/tdx/quote.h"
#include "src/ossl/chain_cache.h"
#include "src/ossl/x509.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/plugins/sevsnp/sevsnp.h"
#include "src/plugins/tdx/tdx.h"
#include "src/plugins/tpm2/tpm2.h"

#include "tests/testlib/test_data.h"
#include "tests/testlib/tpm_vectors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace atls {
namespace {

using test::hex;
using test::read_data;

// Inside the validity of gosevguest_vcek.der and the Milan ASK/ARK.
constexpr std::int64_t k20220924 = 1664020800;  // 2022-09-24T12:00:00Z
constexpr std::int64_t k20500101 = 2524608000;  // 2050-01-01T00:00:00Z
constexpr std::int64_t k20210101 = 1609459200;  // before the VCEK's notBefore
constexpr std::int64_t k20520101 = 2587680000;  // 2052-01-01T00:00:00Z
// The TDX SPR E4 vector's time (2023-07-01) and the GCE AK chain's (2024-01-01).
constexpr std::int64_t k20230701 = 1688169600;
constexpr std::int64_t k20240101 = 1704067200;
// The EAR vectors' times (tests/data/ear/vectors/README.md).
constexpr std::int64_t kVeraisonIat = 1666091373;
constexpr std::int64_t kRealmIat = 1752059139;
constexpr std::int64_t kRealmExp = 1752059439;

ErrorCode code_of(const Result<EvidenceClaims>& r) {
  return r ? ErrorCode::Ok : r.error().code;
}
ErrorCode code_of(const Result<void>& r) {
  return r ? ErrorCode::Ok : r.error().code;
}

Result<EvidenceClaims> verify_at(const Verifier& v, const Evidence& e, std::int64_t at,
                                 std::vector<Bytes> anchors, std::vector<Bytes> certs = {},
                                 const nlohmann::json& trust = nlohmann::json::object()) {
  FixedClock clock(at);
  VerifyContext ctx;
  ctx.clock = &clock;
  ctx.trust = trust;
  ctx.trust_anchors = std::move(anchors);
  ctx.certificates = std::move(certs);
  return v.verify(e, ctx);
}

// --- ParseCache: the one bounded cache ----------------------------------------

TEST(ParseCacheBounds, CapacityIsRespected) {
  const internal::ParseCache<int> cache(2);
  for (std::uint8_t i = 0; i < 5; ++i) {
    const Bytes key{i};
    ASSERT_TRUE(cache.get(key, [&](ByteView) -> Result<int> { return int{i}; }));
  }
  EXPECT_EQ(cache.stats().size, 2U);
  EXPECT_EQ(cache.stats().misses, 5U);
  // A key larger than max_input is answered but never kept.
  const internal::ParseCache<int> small(4, 2);
  ASSERT_TRUE(small.get(Bytes(3, 1), [](ByteView) -> Result<int> { return 1; }));
  EXPECT_EQ(small.stats().size, 0U);
}

TEST(ParseCacheBounds, FailuresAreNotCached) {
  const internal::ParseCache<int> cache;
  int calls = 0;
  const auto failing = [&](ByteView) -> Result<int> {
    ++calls;
    return Error{ErrorCode::CertMalformed, "bad"};
  };
  EXPECT_EQ(cache.get(Bytes{1}, failing).error().code, ErrorCode::CertMalformed);
  EXPECT_EQ(cache.get(Bytes{1}, failing).error().code, ErrorCode::CertMalformed);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.stats().size, 0U);
  EXPECT_EQ(cache.stats().hits, 0U);
}

// --- ChainCache on the SEV-SNP chain (VCEK <- ASK <- ARK) ----------------------

struct SnpCerts {
  ossl::UniquePtr<X509> vcek = *ossl::parse_certificate(read_data("snp/gosevguest_vcek.der"));
  SnpChain milan = *parse_snp_chain(read_data("snp/ask_ark_milan.pem"));
  SnpChain turin = *parse_snp_chain(read_data("snp/ask_ark_turin.pem"));
};

TEST(ChainCache, SecondVerifyIsAHit) {
  const SnpCerts c;
  const ossl::ChainCache cache;
  ASSERT_TRUE(verify_vcek_chain(c.vcek.get(), c.milan, k20220924, &cache));
  EXPECT_EQ(cache.chain_stats().hits, 0U);
  ASSERT_TRUE(verify_vcek_chain(c.vcek.get(), c.milan, k20220924 + 86400, &cache));
  EXPECT_EQ(cache.chain_stats().hits, 1U);
  EXPECT_EQ(cache.chain_stats().size, 1U);
}

TEST(ChainCache, ValidityIsCheckedOnEveryUse) {
  const SnpCerts c;
  const ossl::ChainCache cache;
  ASSERT_TRUE(verify_vcek_chain(c.vcek.get(), c.milan, k20220924, &cache));
  // The cached verdict does not outlive the certificates, nor predate them.
  EXPECT_EQ(code_of(verify_vcek_chain(c.vcek.get(), c.milan, k20500101, &cache)),
            ErrorCode::CertExpired);
  EXPECT_EQ(code_of(verify_vcek_chain(c.vcek.get(), c.milan, k20210101, &cache)),
            ErrorCode::CertNotYetValid);
  EXPECT_EQ(cache.chain_stats().hits, 2U) << "both found the verdict and refused its window";
  ASSERT_TRUE(verify_vcek_chain(c.vcek.get(), c.milan, k20220924, &cache));
}

TEST(ChainCache, OtherAnchorsOrFlagsDoNotHit) {
  const SnpCerts c;
  const ossl::ChainCache cache;
  ASSERT_TRUE(verify_vcek_chain(c.vcek.get(), c.milan, k20220924, &cache));
  // The same VCEK under the Turin anchors: not the cached verdict, and the
  // failure is not kept.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(code_of(verify_vcek_chain(c.vcek.get(), c.turin, k20220924, &cache)),
              ErrorCode::CertUntrusted);
  }
  EXPECT_EQ(cache.chain_stats().hits, 0U);
  EXPECT_EQ(cache.chain_stats().size, 1U);
  // The same certificates with other verification flags.
  X509* const inter[] = {c.milan.ask.get()};
  X509* const roots[] = {c.milan.ark.get()};
  ossl::ChainOptions partial;
  partial.at = k20220924;
  partial.allow_partial_chain = true;
  ASSERT_TRUE(cache.verify(c.vcek.get(), inter, roots, partial));
  EXPECT_EQ(cache.chain_stats().hits, 0U);
  EXPECT_EQ(cache.chain_stats().size, 2U);
  // The same leaf and intermediates under another root alone.
  X509* const turin_root[] = {c.turin.ark.get()};
  ossl::ChainOptions o;
  o.at = k20220924;
  ASSERT_TRUE(cache.verify(c.milan.ask.get(), {}, roots, o));
  EXPECT_EQ(code_of(cache.verify(c.milan.ask.get(), {}, turin_root, o)), ErrorCode::CertUntrusted);
  EXPECT_EQ(cache.chain_stats().hits, 0U);
}

TEST(ChainCache, CapacityIsRespected) {
  const SnpCerts c;
  const ossl::ChainCache cache(1);
  X509* const inter[] = {c.milan.ask.get()};
  X509* const roots[] = {c.milan.ark.get()};
  ossl::ChainOptions o;
  o.at = k20220924;
  ASSERT_TRUE(cache.verify(c.vcek.get(), inter, roots, o));
  ASSERT_TRUE(cache.verify(c.milan.ask.get(), {}, roots, o));
  EXPECT_EQ(cache.chain_stats().size, 1U);
}

TEST(ChainCache, SignedByKeepsSuccessesOnly) {
  const SnpCerts c;
  const ossl::ChainCache cache;
  int calls = 0;
  const Bytes msg{1, 2, 3};
  const auto good = [&]() -> Result<void> {
    ++calls;
    return ok();
  };
  const auto bad = [&]() -> Result<void> {
    ++calls;
    return Error{ErrorCode::TdxBadQeReportSignature, "bad"};
  };
  ASSERT_TRUE(cache.verify_signed_by(c.vcek.get(), msg, Bytes{9}, good));
  ASSERT_TRUE(cache.verify_signed_by(c.vcek.get(), msg, Bytes{9}, good));
  EXPECT_EQ(calls, 1);
  // Another signature, message or signer is another check.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(code_of(cache.verify_signed_by(c.vcek.get(), msg, Bytes{8}, bad)),
              ErrorCode::TdxBadQeReportSignature);
  }
  EXPECT_EQ(code_of(cache.verify_signed_by(c.milan.ask.get(), msg, Bytes{9}, bad)),
            ErrorCode::TdxBadQeReportSignature);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(cache.signature_stats().size, 1U);
}

// --- the plug-ins share the process's chain cache ------------------------------

Evidence snp_evidence(Bytes report) {
  auto e = evidence_from_records(
      {EvidenceRecord{std::string(kSnpReportLabel), std::string(kMediaTypeSnpReport),
                      std::move(report), kIndEvidence},
       EvidenceRecord{std::string(kSnpVcekLabel), std::string(kMediaTypePkixCert),
                      read_data("snp/gosevguest_vcek.der"), kSnpVcekIndicator}});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

TEST(ChainCachePlugins, SevSnpWarmChainStillChecksTheReport) {
  ossl::chain_cache().clear();
  const auto v = make_sevsnp_verifier();
  const std::vector<Bytes> anchors = {read_data("snp/ask_ark_milan.pem")};
  const Bytes report = read_data("snp/gosevguest_attestation.bin");
  ASSERT_EQ(code_of(verify_at(*v, snp_evidence(report), k20220924, anchors)), ErrorCode::Ok);
  ASSERT_EQ(code_of(verify_at(*v, snp_evidence(report), k20220924, anchors)), ErrorCode::Ok);
  EXPECT_EQ(ossl::chain_cache().chain_stats().hits, 1U);
  // A tampered report under the warm chain: its own signature fails.
  Bytes tampered = report;
  tampered[0x90] ^= 0x01;  // MEASUREMENT
  EXPECT_EQ(code_of(verify_at(*v, snp_evidence(tampered), k20220924, anchors)),
            ErrorCode::SnpBadSignature);
  EXPECT_EQ(ossl::chain_cache().chain_stats().hits, 2U);
  // Cached, and expired all the same.
  EXPECT_EQ(code_of(verify_at(*v, snp_evidence(report), k20500101, anchors)),
            ErrorCode::CertExpired);
  // Another anchor set (Turin): no hit, and the chain does not verify.
  const auto hits = ossl::chain_cache().chain_stats().hits;
  EXPECT_EQ(
      code_of(verify_at(*v, snp_evidence(report), k20220924, {read_data("snp/ask_ark_turin.pem")})),
      ErrorCode::CertUntrusted);
  EXPECT_EQ(ossl::chain_cache().chain_stats().hits, hits);
}

Evidence tdx_evidence(Bytes quote) {
  auto e = evidence_from_records(
      {EvidenceRecord{"", std::string(kMediaTypeTdxQuote), std::move(quote), kIndEvidence}});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

TEST(ChainCachePlugins, TdxWarmChainStillChecksTheQuote) {
  ossl::chain_cache().clear();
  const auto v = make_tdx_verifier();
  if (v == nullptr) {
    GTEST_SKIP() << "no tdx plug-in in this build";
  }
  const std::vector<Bytes> anchors = {read_data("tdx/intel_sgx_root_ca.pem")};
  const Bytes quote = read_data("tdx/gotdx_tdx_prod_quote_SPR_E4.dat");
  ASSERT_EQ(code_of(verify_at(*v, tdx_evidence(quote), k20230701, anchors)), ErrorCode::Ok);
  ASSERT_EQ(code_of(verify_at(*v, tdx_evidence(quote), k20230701, anchors)), ErrorCode::Ok);
  EXPECT_EQ(ossl::chain_cache().chain_stats().hits, 1U);
  EXPECT_EQ(ossl::chain_cache().signature_stats().hits, 1U) << "the QE report signature";
  // The quote's own signature is checked every time.
  Bytes body = quote;
  body[0x3c] ^= 0x01;  // inside the TD report body
  EXPECT_EQ(code_of(verify_at(*v, tdx_evidence(body), k20230701, anchors)),
            ErrorCode::TdxBadQuoteSignature);
  EXPECT_EQ(ossl::chain_cache().chain_stats().hits, 2U);
  // A changed QE report is not the cached one: its signature fails.
  const auto parsed = parse_tdx_quote(quote);
  ASSERT_TRUE(parsed);
  Bytes qe = quote;
  const auto at =
      std::search(qe.begin(), qe.end(), parsed->qe_report_raw.begin(), parsed->qe_report_raw.end());
  ASSERT_NE(at, qe.end());
  at[0x100] ^= 0x01;  // QE REPORTDATA (binds the attestation key)
  EXPECT_EQ(code_of(verify_at(*v, tdx_evidence(qe), k20230701, anchors)),
            ErrorCode::TdxBadQeReportSignature);
  // Cached, and expired all the same.
  EXPECT_EQ(code_of(verify_at(*v, tdx_evidence(quote), k20500101, anchors)),
            ErrorCode::CertExpired);
}

TEST(ChainCachePlugins, TpmAkChainHitAndExpiry) {
  ossl::chain_cache().clear();
  const auto v = make_tpm2_verifier();
  const Evidence e = test::gce_evidence(
      test::GceParts{"gce_cos85_nonce9009", "gce_cos85_nonce9009", "sha256", true});
  const std::vector<Bytes> roots = {read_data("tpm/gce_tpm_ek_root_1.cer")};
  const std::vector<Bytes> inter = {read_data("tpm/gce_tpm_ek_intermediate_2.crt")};
  const nlohmann::json eku = {{"ak_certificate_ekus", {"2.23.133.8.1"}}};
  for (int i = 0; i < 2; ++i) {
    auto r = verify_at(*v, e, k20240101, roots, inter, eku);
    ASSERT_TRUE(r) << r.error().to_string();
  }
  EXPECT_EQ(ossl::chain_cache().chain_stats().hits, 1U);
  // The AK certificate is valid from 2021-08-31 to 2051-08-24.
  EXPECT_EQ(code_of(verify_at(*v, e, k20520101, roots, inter, eku)), ErrorCode::CertExpired);
  EXPECT_EQ(code_of(verify_at(*v, e, k20210101, roots, inter, eku)), ErrorCode::CertNotYetValid);
  EXPECT_EQ(ossl::chain_cache().chain_stats().hits, 3U);
  // A quote whose signature is another quote's fails under the warm chain.
  const Evidence swapped = test::gce_evidence(
      test::GceParts{"gce_cos85_nonce9009", "gce_cos85_nononce", "sha256", true});
  EXPECT_EQ(code_of(verify_at(*v, swapped, k20240101, roots, inter, eku)),
            ErrorCode::TpmBadSignature);
}

// --- passport EARs ------------------------------------------------------------

Evidence ear_evidence(Bytes jwt) {
  auto e = evidence_from_records(
      {EvidenceRecord{"", std::string(kMediaTypeEar), std::move(jwt), kIndAttestationResult}});
  EXPECT_TRUE(e) << e.error().to_string();
  return e ? std::move(*e) : Evidence{};
}

Bytes ear_vector(const std::string& name) {
  return read_data("ear/vectors/veraison_ear_" + name + ".jwt");
}

const std::vector<Bytes> veraison_key() {
  return {read_data("ear/vectors/veraison_ear_pkey.jwk.json")};
}

// The realm token and its header key (as a trust anchor).
Bytes realm_token() {
  return ear_vector("testRealmJWT");
}
std::vector<Bytes> realm_key() {
  auto jws = parse_jws_compact(as_string_view(realm_token()));
  EXPECT_TRUE(jws);
  const std::string jwk = jws->header.at("jwk").dump();
  return {Bytes(jwk.begin(), jwk.end())};
}

TEST(VerifiedEarCache, SecondVerifyIsAHit) {
  verified_ear_cache().clear();
  const auto v = make_ear_verifier();
  const Evidence e = ear_evidence(ear_vector("testJWT"));
  auto first = verify_at(*v, e, kVeraisonIat + 10, veraison_key());
  ASSERT_TRUE(first) << first.error().to_string();
  auto second = verify_at(*v, e, kVeraisonIat + 10, veraison_key());
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(verified_ear_cache().stats().hits, 1U);
  EXPECT_EQ(first->claims, second->claims);
  EXPECT_EQ(first->issued_at, second->issued_at);
  EXPECT_EQ(first->hardware_rooted, second->hardware_rooted);
}

TEST(VerifiedEarCache, TimesAreCheckedOnEveryUse) {
  verified_ear_cache().clear();
  const auto v = make_ear_verifier();
  const Evidence e = ear_evidence(realm_token());
  ASSERT_EQ(code_of(verify_at(*v, e, kRealmIat + 60, realm_key())), ErrorCode::Ok);
  EXPECT_EQ(code_of(verify_at(*v, e, kRealmExp + 1, realm_key())), ErrorCode::EarExpired);
  EXPECT_EQ(code_of(verify_at(*v, e, kRealmIat - 61, realm_key())), ErrorCode::JwtNotYetValid);
  EXPECT_EQ(verified_ear_cache().stats().hits, 2U) << "both refused a cached EAR";
  EXPECT_EQ(code_of(verify_at(*v, e, kRealmExp, realm_key())), ErrorCode::Ok);
}

TEST(VerifiedEarCache, OtherKeyDoesNotHitAndFailuresAreNotKept) {
  verified_ear_cache().clear();
  const auto v = make_ear_verifier();
  const Evidence e = ear_evidence(realm_token());
  ASSERT_EQ(code_of(verify_at(*v, e, kRealmIat + 60, realm_key())), ErrorCode::Ok);
  // Verified under the realm key; under the Veraison key it is untrusted,
  // however often it comes.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(code_of(verify_at(*v, e, kRealmIat + 60, veraison_key())), ErrorCode::KeyUntrusted);
  }
  EXPECT_EQ(verified_ear_cache().stats().hits, 0U);
  EXPECT_EQ(verified_ear_cache().stats().size, 1U);
  // A tampered token (one payload character) is not the cached one.
  Bytes tampered = realm_token();
  const std::size_t dot = as_string_view(tampered).find('.');
  tampered[dot + 5] = tampered[dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_NE(code_of(verify_at(*v, ear_evidence(tampered), kRealmIat + 60, realm_key())),
            ErrorCode::Ok);
  EXPECT_EQ(verified_ear_cache().stats().size, 1U);
}

TEST(VerifiedEarCache, KeyBindingAndNonceAreCheckedOnEveryUse) {
  verified_ear_cache().clear();
  const auto v = make_ear_verifier();
  const Evidence e = ear_evidence(ear_vector("good_veraison_extns"));
  FixedClock clock(kVeraisonIat + 10);
  VerifyContext ctx;
  ctx.clock = &clock;
  ctx.trust_anchors = veraison_key();
  const std::string akpub = "akpub\n";  // what the vector's akpub names
  ctx.attested_key_spki = Bytes(akpub.begin(), akpub.end());
  ASSERT_TRUE(v->verify(e, ctx));
  ctx.attested_key_spki = Bytes{1, 2, 3};
  EXPECT_EQ(code_of(v->verify(e, ctx)), ErrorCode::EarKeyBindingMismatch);
  ctx.attested_key_spki.reset();
  ctx.expected_nonce = Bytes(32, 1);
  EXPECT_EQ(code_of(v->verify(e, ctx)), ErrorCode::NonceMismatch);
  EXPECT_EQ(verified_ear_cache().stats().hits, 2U);
}

}  // namespace
}  // namespace atls
