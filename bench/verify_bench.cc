// Verification benchmarks: full integrity verification of each built-in
// Evidence type through the pipeline (CMW bytes in, verified claims out), each
// next to OpenSSL's raw verify rate for the signature type the Evidence uses,
// measured in the same run on the same keys and signatures:
//
//   software EAT   COSE_Sign1 ES256               raw: ECDSA P-256 / SHA-256
//   TPM quote      GCE vTPM, RSASSA-PKCS1 SHA-256 raw: RSA-2048 PKCS#1 v1.5
//                  tpm2-tools, RSAPSS SHA-256     raw: RSA-2048 PSS
//                  tpm2-tools, ECDSA P-256        raw: ECDSA P-256 / SHA-256
//   SEV-SNP report ECDSA P-384 by the VCEK,       raw: ECDSA P-384 / SHA-384 and
//                  VCEK <- ASK <- ARK RSA-PSS          RSA-4096 PSS / SHA-384 (X509_verify)
//   TDX quote      ECDSA P-256 (quote, QE report, raw: ECDSA P-256 / SHA-256
//                  PCK chain)
//
//   passport EAR   JWT ES256 (the veraison vector) raw: ECDSA P-256 / SHA-256
//
// Verified-result caches: a relying party keeps verified certificate chains
// (src/ossl/chain_cache.h) and verified EARs (verified_ear_cache), so BM_Verify
// and BM_VerifyAppraise rows repeat one platform's evidence with the caches
// warm, as a long-running relying party sees it: the certificate signatures
// are checked on the first iteration, the evidence's own signature on every
// one. BM_VerifyCold rows clear the caches before each verification (a
// platform seen for the first time).
//
// BM_VerifyAppraise rows run what a relying party runs per attested TLS
// connection: verify against a policy whose trust section names the anchors
// (files under tests/data, or inline PEM), then appraise.
//
// The vectors come from tests/data (the source tree is found from this
// file's path, or from $ATLS_SOURCE_DIR). Times are injected (FixedClock)
// inside each vector's validity window. Run build-*/bench/atls_verify_bench.

#include <atls/clock.h>
#include <atls/evidence.h>

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/pipeline.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/formats/jwt/jwk.h"
#include "src/formats/snp/report.h"
#include "src/formats/snp/verify.h"
#include "src/formats/tdx/quote.h"
#include "src/formats/tdx/verify.h"
#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/tpm.h"
#include "src/formats/tpm/verify.h"
#include "src/ossl/chain_cache.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/ear/ear_plugin.h"
#include "src/plugins/sevsnp/sevsnp.h"
#include "src/plugins/software/software.h"
#include "src/plugins/tpm2/tpm2.h"

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atls {
namespace {

// 2024-01-01T00:00:00Z: inside the GCE AK chain and the virtee VCEK validity.
constexpr std::int64_t k20240101 = 1704067200;
// 2023-07-01T00:00:00Z: the time the go-tdx-guest tests use for SPR E4.
constexpr std::int64_t k20230701 = 1688169600;

std::string data_dir() {
  if (const char* s = std::getenv("ATLS_SOURCE_DIR")) {
    return std::string(s) + "/tests/data/";
  }
  std::string here = __FILE__;  // <source>/bench/verify_bench.cc
  here.erase(here.rfind('/'));
  here.erase(here.rfind('/') + 1);
  return here + "tests/data/";
}

// Reads a vector or aborts the run with a message (a benchmark without its
// input measures nothing).
Bytes vector_file(const std::string& name) {
  auto b = read_file_bytes(data_dir() + name);
  if (!b) {
    std::fprintf(stderr, "verify_bench: %s: %s\n", name.c_str(), b.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*b);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "verify_bench: %s: %s: %s\n", what, std::string(r.error().name()).c_str(),
                 r.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

void must(Result<void> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "verify_bench: %s: %s: %s\n", what, std::string(r.error().name()).c_str(),
                 r.error().to_string().c_str());
    std::exit(1);
  }
}

// One full verification: the CMW as received, the context, the time.
struct EvidenceCase {
  Bytes cmw;
  std::optional<Bytes> nonce;
  std::vector<Bytes> trust_anchors;
  std::vector<Bytes> certificates;
  nlohmann::json trust = nlohmann::json::object();  // the scheme's trust section, if any
  std::int64_t at = 0;
};

// One raw OpenSSL signature verification.
struct RawCase {
  ossl::UniquePtr<EVP_PKEY> key;
  ossl::SignatureAlg alg{};
  Bytes msg;
  Bytes sig;  // DER for ECDSA
};

// Checks a raw case once, so that a broken fixture stops the run.
void check_raw(const RawCase& c, const char* what) {
  must(ossl::verify(c.key.get(), c.alg, c.msg, c.sig), what);
}

// --- software EAT ------------------------------------------------------------

struct SoftwareFixture {
  EvidenceCase ev;
  RawCase raw;
};

SoftwareFixture make_software() {
  SoftwareFixture f;
  auto key = must(ossl::generate_key(ossl::KeyType::EcP256), "P-256 key");
  SoftwareAttesterConfig c;
  c.signing_key_pem = to_bytes(must(ossl::private_key_pem(key.get()), "key PEM"));
  const std::string self = __FILE__;
  c.machine_id_file = self;
  c.measured_files = {self};
  // The evidence's iat is the benchmark time, so that a policy's
  // max_evidence_age accepts it.
  const FixedClock attest_clock(k20240101);
  c.clock = &attest_clock;
  auto attester = must(make_software_attester(std::move(c)), "software attester");
  AttestationRequest req;
  req.nonce = Bytes(32, 0xa5);
  const Evidence e = must(attester->attest(req), "software attest");
  f.ev.cmw = e.cmw;
  f.ev.nonce = req.nonce;
  f.ev.trust_anchors.push_back(to_bytes(must(ossl::public_key_pem(key.get()), "public PEM")));
  f.ev.at = k20240101;
  // Raw: the same key and signature type over a message of the same size as
  // the COSE Sig_structure (the claims set plus about 20 bytes of framing).
  f.raw.alg = ossl::SignatureAlg::EcdsaSha256;
  f.raw.msg = Bytes(e.records.front().value.size() - 64, 0x5a);
  f.raw.sig = must(ossl::sign(key.get(), f.raw.alg, f.raw.msg), "sign");
  f.raw.key = std::move(key);
  check_raw(f.raw, "raw ECDSA P-256");
  return f;
}

// --- TPM quotes --------------------------------------------------------------

TpmPcrValues gce_pcrs(const std::string& dir, const std::string& bank) {
  const Bytes text = vector_file("tpm/" + dir + "/pcrs_" + bank + ".json");
  const nlohmann::json doc = must(parse_json(as_string_view(text)), "GCE PCR JSON");
  TpmPcrValues out;
  TpmPcrBank b;
  b.hash = *tpm_hash_from_name(bank);
  for (const auto& [index, value] : doc["pcrs"].items()) {
    b.values[static_cast<std::uint32_t>(std::stoul(index))] =
        must(from_hex(value.get<std::string>()), "PCR hex");
  }
  out.banks.push_back(std::move(b));
  return out;
}

// The GCE quote of all 24 SHA-256 PCRs (RSA-2048 AK). |chain|: the AK is
// trusted through its certificate (AK cert <- intermediate <- root, all RSA);
// otherwise the AK key is pinned.
struct TpmFixture {
  EvidenceCase ev;
  RawCase raw;
};

TpmFixture make_gce(bool chain) {
  const std::string dir = "gce_cos85_nonce9009";
  Tpm2QuoteEvidence q;
  q.attest = vector_file("tpm/" + dir + "/quote_sha256.tpms_attest.bin");
  q.signature = vector_file("tpm/" + dir + "/quote_sha256.tpmt_signature.bin");
  q.pcrs = gce_pcrs(dir, "sha256");
  q.ak_pub = vector_file("tpm/" + dir + "/ak_pub.tpmt_public.bin");
  const Bytes ak_cert = vector_file("tpm/" + dir + "/ak_cert.der");
  TpmFixture f;
  if (chain) {
    q.ak_cert = ak_cert;
    f.ev.certificates.push_back(vector_file("tpm/gce_tpm_ek_intermediate_2.crt"));
    f.ev.trust_anchors.push_back(vector_file("tpm/gce_tpm_ek_root_1.cer"));
    // GCE's AK certificates carry the EK certificate EKU, not tcg-kp-AIKCertificate.
    f.ev.trust = {{"ak_certificate_ekus", {"2.23.133.8.1"}}};
  } else {
    auto key = must(ossl::parse_public_key(ak_cert), "AK key");
    f.ev.trust_anchors.push_back(to_bytes(must(ossl::public_key_pem(key.get()), "AK PEM")));
  }
  EvidenceRecord rec{"", std::string(kMediaTypeTpmQuote), encode_tpm2_quote_evidence(q),
                     kIndEvidence};
  f.ev.cmw = must(evidence_from_records({std::move(rec)}), "GCE evidence").cmw;
  f.ev.nonce = Bytes{0x90, 0x09};
  f.ev.at = k20240101;
  // Raw: the quote's own RSASSA-PKCS1-v1_5 SHA-256 signature under the AK.
  const TpmSignature sig = must(parse_tpm_signature(q.signature), "GCE signature");
  f.raw.key = must(ossl::parse_public_key(ak_cert), "AK key");
  f.raw.alg = ossl::SignatureAlg::RsaPkcs1Sha256;
  f.raw.msg = q.attest;
  f.raw.sig = sig.sig;
  check_raw(f.raw, "raw RSA PKCS#1");
  return f;
}

// A tpm2-tools quote (swtpm): "tools_ecc" (ECDSA P-256) or "tools_rsapss"
// (RSA-2048 PSS), with the AK public area and the AK key pinned.
TpmFixture make_tools(const std::string& dir) {
  const std::string base = "tpm/" + dir + "/";
  const Bytes msg = vector_file(base + "msg");
  const Bytes sig_bytes = vector_file(base + "sig");
  TpmFixture f;
  f.ev.cmw = must(evidence_from_tpm2_tools(msg, sig_bytes, vector_file(base + "pcrs"),
                                           vector_file(base + "ak.pub")),
                  "tpm2-tools evidence")
                 .cmw;
  f.ev.trust_anchors.push_back(vector_file(base + "ak.pem"));
  f.ev.nonce = must(from_hex("00112233445566778899aabbccddeeff"), "nonce");
  f.ev.at = k20240101;
  const TpmSignature sig = must(parse_tpm_signature(sig_bytes), "tpm2-tools signature");
  f.raw.key = must(ossl::parse_public_key(vector_file(base + "ak.pem")), "AK key");
  f.raw.msg = msg;
  if (sig.sig_alg == kTpmAlgEcdsa) {
    Bytes rs = sig.r;
    rs.insert(rs.end(), sig.s.begin(), sig.s.end());
    f.raw.alg = ossl::SignatureAlg::EcdsaSha256;
    f.raw.sig = must(ossl::ecdsa_raw_to_der(rs), "ECDSA DER");
  } else {
    f.raw.alg = ossl::SignatureAlg::RsaPssSha256;
    f.raw.sig = sig.sig;
  }
  check_raw(f.raw, "raw tpm2-tools signature");
  return f;
}

// --- SEV-SNP -----------------------------------------------------------------

// The virtee Milan report with its VCEK (in the CMW collection, as the
// attester sends it) and the Milan ASK/ARK as trust anchor.
struct SnpFixture {
  EvidenceCase ev;
  RawCase raw;  // the report's own P-384 signature under the VCEK
  ossl::UniquePtr<X509> vcek;
  ossl::UniquePtr<EVP_PKEY> ask_key;  // raw X509_verify of the VCEK (RSA-PSS SHA-384)
};

SnpFixture make_snp() {
  SnpFixture f;
  const Bytes hex = vector_file("snp/virtee_report_milan.hex");
  const Bytes report = must(from_hex(as_string_view(hex)), "report hex");
  const Bytes vcek = vector_file("snp/virtee_vcek_milan.der");
  const Bytes ask_ark = vector_file("snp/ask_ark_milan.pem");
  EvidenceRecord r{std::string(kSnpReportLabel), std::string(kMediaTypeSnpReport), report,
                   kIndEvidence};
  EvidenceRecord v{std::string(kSnpVcekLabel), std::string(kMediaTypePkixCert), vcek,
                   kSnpVcekIndicator};
  f.ev.cmw = must(evidence_from_records({std::move(r), std::move(v)}), "SNP evidence").cmw;
  f.ev.trust_anchors.push_back(ask_ark);
  f.ev.at = k20240101;
  const SnpReport parsed = must(parse_snp_report(report), "SNP report");
  f.ev.nonce = Bytes(parsed.report_data.begin(), parsed.report_data.end());
  f.vcek = must(ossl::parse_certificate(vcek), "VCEK");
  f.raw.key.reset(::X509_get_pubkey(f.vcek.get()));
  f.raw.alg = ossl::SignatureAlg::EcdsaSha384;
  f.raw.msg = parsed.signed_bytes;
  Bytes rs = parsed.signature_r;
  rs.insert(rs.end(), parsed.signature_s.begin(), parsed.signature_s.end());
  f.raw.sig = must(ossl::ecdsa_raw_to_der(rs), "ECDSA DER");
  const SnpChain chain = must(parse_snp_chain(ask_ark), "ASK/ARK");
  f.ask_key.reset(::X509_get_pubkey(chain.ask.get()));
  check_raw(f.raw, "raw ECDSA P-384");
  return f;
}

// --- TDX ---------------------------------------------------------------------

struct TdxFixture {
  EvidenceCase ev;
  Bytes quote;
  ossl::UniquePtr<X509> root;
  RawCase raw;  // the quote signature under the attestation key
};

TdxFixture make_tdx() {
  TdxFixture f;
  f.quote = vector_file("tdx/gotdx_tdx_prod_quote_SPR_E4.dat");
  const Bytes root = vector_file("tdx/intel_sgx_root_ca.pem");
  f.root = must(ossl::parse_certificate(root), "SGX root");
  EvidenceRecord rec{"", std::string(kMediaTypeTdxQuote), f.quote, kIndEvidence};
  f.ev.cmw = must(evidence_from_records({std::move(rec)}), "TDX evidence").cmw;
  f.ev.trust_anchors.push_back(root);
  f.ev.at = k20230701;
  const TdxQuote q = must(parse_tdx_quote(f.quote), "TDX quote");
  f.ev.nonce = q.body.report_data;
  const Bytes x(q.attestation_key.begin(), q.attestation_key.begin() + 32);
  const Bytes y(q.attestation_key.begin() + 32, q.attestation_key.end());
  f.raw.key = must(ossl::ec_public_from_xy(ossl::KeyType::EcP256, x, y), "attestation key");
  f.raw.alg = ossl::SignatureAlg::EcdsaSha256;
  f.raw.msg = q.signed_bytes;
  f.raw.sig = must(ossl::ecdsa_raw_to_der(q.signature), "ECDSA DER");
  check_raw(f.raw, "raw TDX quote signature");
  return f;
}

// --- passport EAR -------------------------------------------------------------

// The veraison/ear test vector (ES256) under its Verifier key, as a relying
// party receives a passport.
struct EarFixture {
  EvidenceCase ev;
  RawCase raw;  // the token's own ES256 signature
};

EarFixture make_ear() {
  EarFixture f;
  const Bytes jwt = vector_file("ear/vectors/veraison_ear_testJWT.jwt");
  EvidenceRecord rec{"", std::string(kMediaTypeEar), jwt, kIndAttestationResult};
  f.ev.cmw = must(evidence_from_records({std::move(rec)}), "EAR evidence").cmw;
  const Bytes jwk = vector_file("ear/vectors/veraison_ear_pkey.jwk.json");
  f.ev.trust_anchors.push_back(jwk);
  f.ev.at = 1666091373 + 10;  // the vector's iat + 10 s
  const std::string_view token = as_string_view(jwt);
  const std::size_t last_dot = token.rfind('.');
  f.raw.key = must(jwk_to_pkey(must(parse_json(as_string_view(jwk)), "JWK")), "EAR key");
  f.raw.alg = ossl::SignatureAlg::EcdsaSha256;
  f.raw.msg = to_bytes(token.substr(0, last_dot));
  f.raw.sig = must(
      ossl::ecdsa_raw_to_der(must(base64url_decode(token.substr(last_dot + 1)), "EAR signature")),
      "ECDSA DER");
  check_raw(f.raw, "raw EAR ES256");
  return f;
}

// --- benchmark bodies ----------------------------------------------------------

// Shared by every pipeline benchmark; built once.
const Registry& registry() {
  static const Registry r = builtin_registry();
  return r;
}

Result<VerifiedEvidence> verify_once(const EvidenceCase& c, const Clock& clock) {
  ATLS_ASSIGN_OR_RETURN(const Evidence e, evidence_from_cmw(c.cmw));
  VerifyContext ctx;
  ctx.expected_nonce = c.nonce;
  ctx.trust_anchors = c.trust_anchors;
  ctx.certificates = c.certificates;
  ctx.trust = c.trust;
  // Integrity only, as `atls verify` without a policy: no evidence age limit.
  static const Policy integrity_only = [] {
    Policy p;
    p.max_evidence_age = 0;
    return p;
  }();
  const internal::Pipeline pipeline(registry(), clock);
  return pipeline.verify(e, std::move(ctx), integrity_only);
}

// run_pipeline verifies |c| once per iteration; with |cold|, every
// verified-result cache is cleared first: what a platform (or passport)
// seen for the first time costs.
void run_pipeline(benchmark::State& state, const EvidenceCase* c, bool cold) {
  const FixedClock clock(c->at);
  for (auto _ : state) {
    if (cold) {
      ossl::chain_cache().clear();
      verified_ear_cache().clear();
    }
    auto r = verify_once(*c, clock);
    if (!r) {
      state.SkipWithError(("verify failed: " + r.error().to_string()).c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_pipeline(benchmark::State& state, const EvidenceCase* c) {
  run_pipeline(state, c, false);
}

void bm_pipeline_cold(benchmark::State& state, const EvidenceCase* c) {
  run_pipeline(state, c, true);
}

// What a relying party runs per attested TLS connection: verify against a
// policy whose trust section names the anchors (inline PEM or files under
// tests/data), then appraise against it.
struct PolicyCase {
  const EvidenceCase* ev = nullptr;
  Policy policy;
};

PolicyCase make_policy_case(const EvidenceCase& ev, std::string_view media_type,
                            nlohmann::json trust) {
  nlohmann::json doc = {
      {"schemes", {{std::string(media_type), {{"trust", std::move(trust)}}}}},
  };
  if (media_type != kMediaTypeEatCwt) {  // hardware schemes need reference values
    doc["schemes"][std::string(media_type)]["reference"] = {{"dangerous_any_measurement", true}};
  }
  PolicyCase c;
  c.ev = &ev;
  c.policy = must(parse_policy(doc.dump(), registry(), data_dir()), "bench policy");
  return c;
}

Result<internal::Appraisal> verify_appraise_once(const PolicyCase& c, const Clock& clock) {
  ATLS_ASSIGN_OR_RETURN(const Evidence e, evidence_from_cmw(c.ev->cmw));
  internal::Expectation expect;
  expect.context.expected_nonce = c.ev->nonce;
  const internal::RelyingParty rp(registry(), clock, c.policy);
  return rp.appraise(e, std::move(expect));
}

void bm_pipeline_policy(benchmark::State& state, const PolicyCase* c) {
  const FixedClock clock(c->ev->at);
  for (auto _ : state) {
    auto r = verify_appraise_once(*c, clock);
    if (!r) {
      state.SkipWithError(("verify+appraise failed: " + r.error().to_string()).c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_raw(benchmark::State& state, const RawCase* c) {
  for (auto _ : state) {
    auto r = ossl::verify(c->key.get(), c->alg, c->msg, c->sig);
    if (!r) {
      state.SkipWithError(("raw verify failed: " + r.error().to_string()).c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// OpenSSL's certificate signature check alone (no chain building).
void bm_raw_x509(benchmark::State& state, X509* cert, EVP_PKEY* issuer_key) {
  for (auto _ : state) {
    const int ok = ::X509_verify(cert, issuer_key);
    if (ok != 1) {
      state.SkipWithError("X509_verify failed");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

// The formats-level TDX check (parse + verify_tdx_quote: PCK chain, QE
// report, attestation key binding, quote signature), without the plug-in.
void bm_tdx_formats(benchmark::State& state, const TdxFixture* f) {
  DcapVerifyOptions opts;
  opts.at = f->ev.at;
  opts.trusted_roots = {f->root.get()};
  for (auto _ : state) {
    auto q = parse_tdx_quote(f->quote);
    if (!q) {
      state.SkipWithError("parse failed");
      break;
    }
    auto r = verify_tdx_quote(*q, opts);
    if (!r) {
      state.SkipWithError(("verify failed: " + r.error().to_string()).c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// Parts of a verification that do not depend on the signature type: loading
// a PEM trust anchor (every verification loads its anchors) and parsing the
// CMW. They explain most of the gap between verify/s and raw/s.
void bm_parse_public_key(benchmark::State& state, const Bytes* pem) {
  for (auto _ : state) {
    auto k = ossl::parse_public_key(*pem);
    if (!k) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(k);
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_parse_cmw(benchmark::State& state, const Bytes* cmw) {
  for (auto _ : state) {
    auto e = evidence_from_cmw(*cmw);
    if (!e) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}

// Collects items/s per benchmark name for the summary table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end() && !r.error_occurred) {
        m_rates[r.benchmark_name()] = it->second.value;
      }
    }
  }
  const std::map<std::string, double>& rates() const { return m_rates; }

 private:
  std::map<std::string, double> m_rates;
};

struct Row {
  const char* label;
  const char* name;
  const char* raw_label;
  const char* raw;
};

void print_summary(const std::map<std::string, double>& rates, const std::vector<Row>& rows) {
  std::printf("\n%-34s %12s   %-28s %12s %7s\n", "verification", "verify/s", "raw OpenSSL verify",
              "raw/s", "ratio");
  for (const auto& row : rows) {
    const auto a = rates.find(row.name);
    const auto b = rates.find(row.raw);
    const double va = a == rates.end() ? 0 : a->second;
    const double vb = b == rates.end() ? 0 : b->second;
    if (a == rates.end()) {
      std::printf("%-34s %12s   %-28s %12.0f %7s\n", row.label, "(not run)", row.raw_label, vb,
                  "-");
      continue;
    }
    std::printf("%-34s %12.0f   %-28s %12.0f %7.3f\n", row.label, va, row.raw_label, vb,
                vb > 0 ? va / vb : 0.0);
  }
}

void print_footnote() {
  std::printf(
      "\nratio = verify/s / raw/s. A full verification also parses the CMW and the evidence,\n"
      "finds its trust anchors (parsed once per verifier, then cached by content; policy\n"
      "files are read again only when they change) and checks certificate chains: SNP\n"
      "adds three RSA-4096 PSS certificate signatures (ARK self-signature, ASK, VCEK),\n"
      "TDX three more ECDSA P-256 ones, the GCE chain case two RSA certificate signatures.\n"
      "verify+appraise rows also appraise the claims against the policy.\n"
      "\n(warm) rows and every verify+appraise row repeat one platform's evidence with the\n"
      "verified-result caches warm (src/ossl/chain_cache.h: certificate chains and the TDX\n"
      "QE report signature; verified_ear_cache: EAR signatures), as a long-running relying\n"
      "party sees one platform: the evidence's own signature is verified every time (an EAR's\n"
      "once per token). (cold) rows clear the caches before each verification.\n");
}

}  // namespace

int run_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);

  // Fixtures live until the end of main; benchmarks borrow them.
  static const SoftwareFixture software = make_software();
  static const TpmFixture gce_pinned = make_gce(false);
  static const TpmFixture gce_chain = make_gce(true);
  static const TpmFixture tools_ecc = make_tools("tools_ecc");
  static const TpmFixture tools_rsapss = make_tools("tools_rsapss");
  static const SnpFixture snp = make_snp();
  static const TdxFixture tdx = make_tdx();
  static const EarFixture ear = make_ear();
  const bool tdx_plugin = registry().verifier_for(kMediaTypeTdxQuote) != nullptr;

  benchmark::RegisterBenchmark("BM_Verify/software_eat_es256", bm_pipeline, &software.ev);
  benchmark::RegisterBenchmark("BM_Raw/ecdsa_p256_sha256", bm_raw, &software.raw);
  benchmark::RegisterBenchmark("BM_Verify/tpm_gce_rsa_pinned", bm_pipeline, &gce_pinned.ev);
  benchmark::RegisterBenchmark("BM_Verify/tpm_gce_rsa_chain", bm_pipeline, &gce_chain.ev);
  benchmark::RegisterBenchmark("BM_VerifyCold/tpm_gce_rsa_chain", bm_pipeline_cold, &gce_chain.ev);
  benchmark::RegisterBenchmark("BM_Raw/rsa2048_pkcs1_sha256", bm_raw, &gce_pinned.raw);
  benchmark::RegisterBenchmark("BM_Verify/tpm_tools_ecdsa_p256", bm_pipeline, &tools_ecc.ev);
  benchmark::RegisterBenchmark("BM_Raw/tpm_ecdsa_p256_sha256", bm_raw, &tools_ecc.raw);
  benchmark::RegisterBenchmark("BM_Verify/tpm_tools_rsapss", bm_pipeline, &tools_rsapss.ev);
  benchmark::RegisterBenchmark("BM_Raw/rsa2048_pss_sha256", bm_raw, &tools_rsapss.raw);
  benchmark::RegisterBenchmark("BM_Verify/snp_milan", bm_pipeline, &snp.ev);
  benchmark::RegisterBenchmark("BM_VerifyCold/snp_milan", bm_pipeline_cold, &snp.ev);
  benchmark::RegisterBenchmark("BM_Raw/ecdsa_p384_sha384", bm_raw, &snp.raw);
  benchmark::RegisterBenchmark("BM_Raw/x509_rsa4096_pss_sha384", bm_raw_x509, snp.vcek.get(),
                               snp.ask_key.get());
  if (tdx_plugin) {
    benchmark::RegisterBenchmark("BM_Verify/tdx_spr_e4", bm_pipeline, &tdx.ev);
    benchmark::RegisterBenchmark("BM_VerifyCold/tdx_spr_e4", bm_pipeline_cold, &tdx.ev);
  }
  benchmark::RegisterBenchmark("BM_TdxFormatsVerify/spr_e4", bm_tdx_formats, &tdx);
  benchmark::RegisterBenchmark("BM_Raw/tdx_ecdsa_p256_sha256", bm_raw, &tdx.raw);
  benchmark::RegisterBenchmark("BM_Verify/passport_ear_es256", bm_pipeline, &ear.ev);
  benchmark::RegisterBenchmark("BM_VerifyCold/passport_ear_es256", bm_pipeline_cold, &ear.ev);
  benchmark::RegisterBenchmark("BM_Raw/ear_ecdsa_p256_sha256", bm_raw, &ear.raw);

  static const PolicyCase software_policy = make_policy_case(
      software.ev, kMediaTypeEatCwt,
      {{"keys", {std::string(as_string_view(software.ev.trust_anchors.front()))}}});
  static const PolicyCase gce_chain_policy =
      make_policy_case(gce_chain.ev, kMediaTypeTpmQuote,
                       {{"roots", {"tpm/gce_tpm_ek_root_1.cer"}},
                        {"intermediates", {"tpm/gce_tpm_ek_intermediate_2.crt"}},
                        {"ak_certificate_ekus", {"2.23.133.8.1"}}});
  static const PolicyCase tools_ecc_policy =
      make_policy_case(tools_ecc.ev, kMediaTypeTpmQuote, {{"ak_keys", {"tpm/tools_ecc/ak.pem"}}});
  static const PolicyCase snp_policy =
      make_policy_case(snp.ev, kMediaTypeSnpReport, {{"ask_ark", "snp/ask_ark_milan.pem"}});
  benchmark::RegisterBenchmark("BM_VerifyAppraise/software_eat_es256", bm_pipeline_policy,
                               &software_policy);
  benchmark::RegisterBenchmark("BM_VerifyAppraise/tpm_gce_rsa_chain", bm_pipeline_policy,
                               &gce_chain_policy);
  benchmark::RegisterBenchmark("BM_VerifyAppraise/tpm_tools_ecdsa_p256", bm_pipeline_policy,
                               &tools_ecc_policy);
  benchmark::RegisterBenchmark("BM_VerifyAppraise/snp_milan", bm_pipeline_policy, &snp_policy);
  // Two threads on one registry: the verifiers' caches are shared.
  benchmark::RegisterBenchmark("BM_VerifyAppraiseShared/software_eat_es256", bm_pipeline_policy,
                               &software_policy)
      ->Threads(2)
      ->UseRealTime();
  std::optional<PolicyCase> tdx_policy;
  if (tdx_plugin) {
    tdx_policy =
        make_policy_case(tdx.ev, kMediaTypeTdxQuote, {{"sgx_root", "tdx/intel_sgx_root_ca.pem"}});
    benchmark::RegisterBenchmark("BM_VerifyAppraise/tdx_spr_e4", bm_pipeline_policy, &*tdx_policy);
  }

  benchmark::RegisterBenchmark("BM_Part/pem_public_key_p256", bm_parse_public_key,
                               &software.ev.trust_anchors.front());
  benchmark::RegisterBenchmark("BM_Part/cmw_parse_snp_collection", bm_parse_cmw, &snp.ev.cmw);

  // Colour only on a terminal, so that logs and pipes stay plain text.
  SummaryReporter reporter(::isatty(STDOUT_FILENO) != 0
                               ? benchmark::ConsoleReporter::OO_ColorTabular
                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::vector<Row> rows = {
      {"software EAT (COSE ES256)", "BM_Verify/software_eat_es256", "ECDSA P-256",
       "BM_Raw/ecdsa_p256_sha256"},
      {"TPM quote GCE RSA, AK pinned", "BM_Verify/tpm_gce_rsa_pinned", "RSA-2048 PKCS#1 v1.5",
       "BM_Raw/rsa2048_pkcs1_sha256"},
      {"TPM GCE RSA, AK chain (warm)", "BM_Verify/tpm_gce_rsa_chain", "RSA-2048 PKCS#1 v1.5",
       "BM_Raw/rsa2048_pkcs1_sha256"},
      {"TPM GCE RSA, AK chain (cold)", "BM_VerifyCold/tpm_gce_rsa_chain", "RSA-2048 PKCS#1 v1.5",
       "BM_Raw/rsa2048_pkcs1_sha256"},
      {"TPM quote tpm2-tools ECDSA P-256", "BM_Verify/tpm_tools_ecdsa_p256", "ECDSA P-256",
       "BM_Raw/tpm_ecdsa_p256_sha256"},
      {"TPM quote tpm2-tools RSAPSS", "BM_Verify/tpm_tools_rsapss", "RSA-2048 PSS",
       "BM_Raw/rsa2048_pss_sha256"},
      {"SEV-SNP + VCEK chain (warm)", "BM_Verify/snp_milan", "ECDSA P-384",
       "BM_Raw/ecdsa_p384_sha384"},
      {"SEV-SNP + VCEK chain (cold)", "BM_VerifyCold/snp_milan", "ECDSA P-384",
       "BM_Raw/ecdsa_p384_sha384"},
      {"SEV-SNP + VCEK chain (cold)", "BM_VerifyCold/snp_milan", "RSA-4096 PSS (X509_verify)",
       "BM_Raw/x509_rsa4096_pss_sha384"},
  };
  if (tdx_plugin) {
    rows.push_back({"TDX quote, plug-in (warm)", "BM_Verify/tdx_spr_e4", "ECDSA P-256",
                    "BM_Raw/tdx_ecdsa_p256_sha256"});
    rows.push_back({"TDX quote, plug-in (cold)", "BM_VerifyCold/tdx_spr_e4", "ECDSA P-256",
                    "BM_Raw/tdx_ecdsa_p256_sha256"});
  }
  rows.push_back({"TDX quote (formats verify, no cache)", "BM_TdxFormatsVerify/spr_e4",
                  "ECDSA P-256", "BM_Raw/tdx_ecdsa_p256_sha256"});
  rows.push_back({"passport EAR ES256 (warm)", "BM_Verify/passport_ear_es256", "ECDSA P-256",
                  "BM_Raw/ear_ecdsa_p256_sha256"});
  rows.push_back({"passport EAR ES256 (cold)", "BM_VerifyCold/passport_ear_es256", "ECDSA P-256",
                  "BM_Raw/ear_ecdsa_p256_sha256"});
  const std::vector<Row> appraise_rows = {
      {"software EAT, policy key", "BM_VerifyAppraise/software_eat_es256", "ECDSA P-256",
       "BM_Raw/ecdsa_p256_sha256"},
      {"TPM GCE RSA, policy root chain", "BM_VerifyAppraise/tpm_gce_rsa_chain",
       "RSA-2048 PKCS#1 v1.5", "BM_Raw/rsa2048_pkcs1_sha256"},
      {"TPM tpm2-tools ECDSA, policy AK", "BM_VerifyAppraise/tpm_tools_ecdsa_p256", "ECDSA P-256",
       "BM_Raw/tpm_ecdsa_p256_sha256"},
      {"SEV-SNP, policy ASK/ARK", "BM_VerifyAppraise/snp_milan", "ECDSA P-384",
       "BM_Raw/ecdsa_p384_sha384"},
      {"TDX, policy SGX root", "BM_VerifyAppraise/tdx_spr_e4", "ECDSA P-256",
       "BM_Raw/tdx_ecdsa_p256_sha256"},
  };
  print_summary(reporter.rates(), rows);
  std::printf("\npipeline verify+appraise with a policy (as per attested TLS connection):");
  print_summary(reporter.rates(), appraise_rows);
  print_footnote();
  for (const char* part : {"BM_Part/pem_public_key_p256", "BM_Part/cmw_parse_snp_collection"}) {
    const auto it = reporter.rates().find(part);
    if (it != reporter.rates().end()) {
      std::printf("%-34s %12.0f /s\n", part + 8, it->second);
    }
  }
  if (!tdx_plugin) {
    std::printf(
        "(the tdx plug-in is not registered in this build: TDX measured at the formats level)\n");
  }
  benchmark::Shutdown();
  return 0;
}

}  // namespace atls

int main(int argc, char** argv) {
  return atls::run_benchmarks(argc, argv);
}
