// Format benchmarks: COSE_Sign1 verify, JWS verify and CMW parse, each next
// to OpenSSL's raw signature-verify rate for the same key in the same run.
// Run with `make bench` (or build/bench/atls_formats_bench).

#include "src/formats/cmw/cmw.h"
#include "src/formats/cose/cose.h"
#include "src/formats/jwt/jws.h"
#include "src/ossl/crypto.h"
#include "src/ossl/keys.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

namespace atls {
namespace {

struct Fixture {
  ossl::UniquePtr<EVP_PKEY> key;
  Bytes cose;
  std::string jws;
  Bytes msg;
  Bytes der_sig;
  ossl::SignatureAlg alg;
};

Fixture make_fixture(ossl::KeyType type) {
  Fixture f;
  f.key = std::move(*ossl::generate_key(type));
  const Bytes payload(200, 0x5a);  // the size of a small EAT claims set
  f.cose = *sign_cose_sign1(f.key.get(), payload);
  f.jws = *sign_jws(f.key.get(), payload);
  f.msg = payload;
  f.alg = type == ossl::KeyType::EcP256   ? ossl::SignatureAlg::EcdsaSha256
          : type == ossl::KeyType::EcP384 ? ossl::SignatureAlg::EcdsaSha384
                                          : ossl::SignatureAlg::Ed25519;
  f.der_sig = *ossl::sign(f.key.get(), f.alg, f.msg);
  return f;
}

const Fixture& fixture(ossl::KeyType type) {
  static std::map<ossl::KeyType, Fixture> cache;
  auto it = cache.find(type);
  if (it == cache.end()) {
    it = cache.emplace(type, make_fixture(type)).first;
  }
  return it->second;
}

void BM_RawVerify(benchmark::State& state, ossl::KeyType type) {
  const Fixture& f = fixture(type);
  for (auto _ : state) {
    auto r = ossl::verify(f.key.get(), f.alg, f.msg, f.der_sig);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CoseVerify(benchmark::State& state, ossl::KeyType type) {
  const Fixture& f = fixture(type);
  for (auto _ : state) {
    auto msg = parse_cose_sign1(f.cose);
    auto r = verify_cose_sign1(*msg, f.key.get());
    if (!r) {
      state.SkipWithError("verify failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_JwsVerify(benchmark::State& state, ossl::KeyType type) {
  const Fixture& f = fixture(type);
  for (auto _ : state) {
    auto jws = parse_jws_compact(f.jws);
    auto r = verify_jws(*jws, f.key.get());
    if (!r) {
      state.SkipWithError("verify failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CmwParse(benchmark::State& state, Cmw::Format format) {
  Cmw c = Cmw::make_collection(format, "tag:example.com,2026:bench");
  c.add(std::string("evidence"),
        Cmw::make_record("application/eat+cwt", Bytes(600, 0x11), 4, format));
  c.add(std::string("result"),
        Cmw::make_record("application/eat+jwt", Bytes(400, 0x22), 8, format));
  const Bytes encoded = *encode_cmw(c);
  for (auto _ : state) {
    auto r = parse_cmw(encoded);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * encoded.size()));
}

BENCHMARK_CAPTURE(BM_RawVerify, ecdsa_p256, ossl::KeyType::EcP256);
BENCHMARK_CAPTURE(BM_CoseVerify, es256, ossl::KeyType::EcP256);
BENCHMARK_CAPTURE(BM_JwsVerify, es256, ossl::KeyType::EcP256);
BENCHMARK_CAPTURE(BM_RawVerify, ecdsa_p384, ossl::KeyType::EcP384);
BENCHMARK_CAPTURE(BM_CoseVerify, es384, ossl::KeyType::EcP384);
BENCHMARK_CAPTURE(BM_JwsVerify, es384, ossl::KeyType::EcP384);
BENCHMARK_CAPTURE(BM_RawVerify, ed25519, ossl::KeyType::Ed25519);
BENCHMARK_CAPTURE(BM_CoseVerify, eddsa, ossl::KeyType::Ed25519);
BENCHMARK_CAPTURE(BM_JwsVerify, eddsa, ossl::KeyType::Ed25519);
BENCHMARK_CAPTURE(BM_CmwParse, cbor, Cmw::Format::Cbor);
BENCHMARK_CAPTURE(BM_CmwParse, json, Cmw::Format::Json);

// Collects items/s per benchmark name for the summary table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) {
        rates[r.benchmark_name()] = it->second.value;
      }
    }
  }
  std::map<std::string, double> rates;
};

void print_summary(const std::map<std::string, double>& rates) {
  std::printf("\n%-22s %14s %14s %8s\n", "operation", "ops/s", "raw verify/s", "ratio");
  const struct {
    const char* label;
    const char* name;
    const char* raw;
  } rows[] = {
      {"COSE_Sign1 ES256", "BM_CoseVerify/es256", "BM_RawVerify/ecdsa_p256"},
      {"JWS ES256", "BM_JwsVerify/es256", "BM_RawVerify/ecdsa_p256"},
      {"COSE_Sign1 ES384", "BM_CoseVerify/es384", "BM_RawVerify/ecdsa_p384"},
      {"JWS ES384", "BM_JwsVerify/es384", "BM_RawVerify/ecdsa_p384"},
      {"COSE_Sign1 EdDSA", "BM_CoseVerify/eddsa", "BM_RawVerify/ed25519"},
      {"JWS EdDSA", "BM_JwsVerify/eddsa", "BM_RawVerify/ed25519"},
  };
  for (const auto& row : rows) {
    const auto a = rates.find(row.name);
    const auto b = rates.find(row.raw);
    if (a == rates.end() || b == rates.end()) {
      continue;
    }
    std::printf("%-22s %14.0f %14.0f %8.3f\n", row.label, a->second, b->second,
                a->second / b->second);
  }
  for (const char* name : {"BM_CmwParse/cbor", "BM_CmwParse/json"}) {
    const auto a = rates.find(name);
    if (a != rates.end()) {
      std::printf("%-22s %14.0f %14s %8s\n", name + 3, a->second, "-", "-");
    }
  }
}

}  // namespace
}  // namespace atls

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  atls::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  atls::print_summary(reporter.rates);
  benchmark::Shutdown();
  return 0;
}
