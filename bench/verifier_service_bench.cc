// Verifier service benchmark: the rate at which an `atls verifier` process
// (docs/verifier-service.md) on loopback turns Evidence into EARs, next to
// the rate of the in-process Verifier on the same Evidence in the same run.
//
// One Evidence per kind is made ahead of time for a fixed nonce the client
// chooses: software EAT (the software attester) and a TPM 2.0 quote (the
// tpm2 attester on a private swtpm, started here; skipped with a note when
// swtpm is not installed). The attester is not measured. The service is
// started twice, with --workers 1 and --workers 2, with one policy that
// trusts both signing keys. One verification is what a relying party does
// per connection in the remote background-check model: POST newSession
// with ?nonce=<base64url of the fixed nonce> (binding "nonce"), then POST
// the Evidence (its CMW, application/cmw+cbor) to the session; it counts
// once the reply is 200 with status "complete" and an EAR. --clients
// threads (default 2) send them, each on one persistent HTTP connection
// (keep-alive). The in-process rows run what the service runs per Evidence
// (internal::RelyingParty: verify, appraise, sign the EAR with a P-256 key)
// on as many threads as the service has workers.
//
// The rows run in alternating rounds, so that a change in machine load
// affects every row alike. The table prints verifications/s and its ratio to
// the in-process row with the same number of threads ("ratio") and to the
// single-threaded in-process row ("vs 1T"), the median and p99 latency of a
// verification (for the service: newSession + Evidence POST, as the client
// sees it), and the CPU time per verification of the Verifier (the service
// process, or this process for in-process rows) and of the HTTP client
// (this process, service rows only). CPU times are stable on a loaded
// machine, where wall-clock rates are not. Each row stops after
// --max-seconds; nothing here asserts a time.
//
//   atls_verifier_service_bench [--n N] [--rounds R] [--warmup W] [--clients C]
//                               [--workers 1,2] [--kinds software,tpm2] [--max-seconds S]
//                               [--verifier-client]
//
// --verifier-client adds rows that go through remote::VerifierClient, as an
// atls relying party does (a new HTTP connection per call), instead of the
// keep-alive clients.
//
// The service is the atls command built with this program, or $ATLS_CLI.

#include "bench/bench_util.h"
#include "tools/attesters.h"
#include "tools/swtpm_process.h"
#include "tools/verifier_process.h"

#include <atls/clock.h>
#include <atls/evidence.h>

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/ossl/keys.h"
#include "src/plugins/builtin_plugins.h"
#include "src/remote/api.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifndef ATLS_CLI_PATH
#define ATLS_CLI_PATH ""
#endif

namespace atls::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

std::string describe(const Error& e) {
  return std::string(e.name()) + ": " + e.to_string();
}

// One kind of Evidence, made once for the fixed nonce.
struct Kind {
  std::string label;  // "software EAT", "TPM 2.0 quote"
  Evidence evidence;
  std::string content_type;  // of the CMW as posted
};

// The in-process Verifier: the same policy as the service's and an EAR key
// of the same type.
struct InProcess {
  Registry registry = builtin_registry();
  SystemClock clock;
  Policy policy;
  ossl::UniquePtr<EVP_PKEY> ear_key;
};

// A row: one kind through one Verifier (a service process or in-process)
// with |threads| workers (service) or threads (in-process).
struct Row {
  const Kind* kind = nullptr;
  tools::VerifierProcess* service = nullptr;  // null: in-process
  int threads = 1;
  // Service rows: through remote::VerifierClient (what an atls relying
  // party uses: a new HTTP connection per call) instead of keep-alive.
  bool verifier_client = false;
  std::vector<double> ms;
  double seconds = 0;
  double verifier_cpu = 0;  // the service process, or this process in-process
  double client_cpu = 0;    // this process during service rows
  std::string error;
  bool stopped = false;

  std::string label() const {
    if (service != nullptr) {
      return "service, " + std::to_string(threads) + (threads == 1 ? " worker" : " workers") +
             (verifier_client ? ", VerifierClient" : "");
    }
    return "in-process, " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  }
};

// ServiceClient is one client thread's persistent connection to a service.
class ServiceClient {
 public:
  ServiceClient(std::uint16_t port, std::string new_session_target)
      : m_cli("127.0.0.1", port), m_new_session(std::move(new_session_target)) {
    m_cli.set_keep_alive(true);
    m_cli.set_tcp_nodelay(true);  // no Nagle wait between a request's header and body writes
    m_cli.set_connection_timeout(std::chrono::seconds(15));
    m_cli.set_read_timeout(std::chrono::seconds(15));
    m_cli.set_write_timeout(std::chrono::seconds(15));
  }

  // verify runs one newSession + Evidence POST and checks the reply.
  Result<void> verify(const Kind& kind) {
    const httplib::Headers accept = {{"Accept", std::string(remote::kSessionMediaType)}};
    auto s = m_cli.Post(m_new_session, accept, "", "");
    if (!s) {
      return Error{ErrorCode::VerifierUnavailable, "newSession: " + httplib::to_string(s.error())};
    }
    if (s->status != 201) {
      return Error{ErrorCode::VerifierRejected,
                   "newSession: status " + std::to_string(s->status) + ": " + s->body};
    }
    const std::string location = s->get_header_value("Location");
    const auto& cmw = kind.evidence.cmw;
    auto r = m_cli.Post(location, accept, reinterpret_cast<const char*>(cmw.data()), cmw.size(),
                        kind.content_type);
    if (!r) {
      return Error{ErrorCode::VerifierUnavailable, "Evidence: " + httplib::to_string(r.error())};
    }
    if (r->status != 200) {
      return Error{ErrorCode::VerifierRejected,
                   "Evidence: status " + std::to_string(r->status) + ": " + r->body};
    }
    const auto doc = nlohmann::json::parse(r->body, nullptr, false);
    if (!doc.is_object() || doc.value("status", "") != "complete" || !doc.contains("result") ||
        !doc["result"].is_string() || doc["result"].get<std::string>().empty()) {
      return Error{ErrorCode::VerifierRejected, "Evidence: no EAR in " + r->body};
    }
    return ok();
  }

 private:
  httplib::Client m_cli;
  std::string m_new_session;
};

// verify_with_client is one verification through remote::VerifierClient.
Result<void> verify_with_client(const remote::VerifierClient& client, const Kind& kind,
                                const Bytes& nonce) {
  ATLS_ASSIGN_OR_RETURN(const remote::Session s,
                        client.new_session(remote::kBindingNonce, {}, nonce.size(), nonce));
  ATLS_ASSIGN_OR_RETURN(const std::string ear, client.submit(s, kind.evidence.cmw));
  if (ear.empty()) {
    return Error{ErrorCode::VerifierRejected, "no EAR"};
  }
  return ok();
}

// verify_in_process is one verification as the service runs it.
Result<void> verify_in_process(const InProcess& v, const Kind& kind, const Bytes& nonce) {
  ATLS_ASSIGN_OR_RETURN(const Evidence e, evidence_from_cmw(kind.evidence.cmw));
  internal::Expectation expect;
  expect.context.expected_nonce = nonce;
  const internal::RelyingParty rp(v.registry, v.clock, v.policy);
  ATLS_ASSIGN_OR_RETURN(const internal::Appraisal a,
                        rp.appraise(e, std::move(expect), v.ear_key.get()));
  if (a.result.ear().empty()) {
    return Error{ErrorCode::Internal, "no EAR"};
  }
  return ok();
}

struct Options {
  int n = 2000;
  int rounds = 5;
  int warmup = 20;
  int clients = 2;
  double max_seconds = 15;
  bool verifier_client = false;  // also rows through remote::VerifierClient
  std::vector<int> workers = {1, 2};
  std::vector<std::string> kinds = {"software", "tpm2"};
};

// run_round makes |count| verifications on |row|, split over its threads
// (in-process) or over the client threads (service).
void run_round(Row& row, int count, const Options& opt, const InProcess& inproc, const Bytes& nonce,
               const std::string& new_session_target, bool warmup) {
  if (row.stopped) {
    return;
  }
  const int threads = row.service != nullptr ? opt.clients : row.threads;
  std::atomic<int> left{count};
  std::mutex mu;
  std::vector<double> ms;
  std::string error;
  std::shared_ptr<remote::VerifierClient> shared;
  if (row.verifier_client) {
    remote::ClientOptions o;
    o.url = row.service->url();
    o.timeout = std::chrono::seconds(15);
    auto c = remote::VerifierClient::create(o);
    if (!c) {
      row.error = describe(c.error());
      row.stopped = true;
      return;
    }
    shared = *c;
  }
  auto body = [&] {
    std::unique_ptr<ServiceClient> client;
    if (row.service != nullptr && !shared) {
      client = std::make_unique<ServiceClient>(row.service->port(), new_session_target);
    }
    std::vector<double> mine;
    while (left.fetch_sub(1) > 0) {
      const auto t0 = SteadyClock::now();
      auto r = shared   ? verify_with_client(*shared, *row.kind, nonce)
               : client ? client->verify(*row.kind)
                        : verify_in_process(inproc, *row.kind, nonce);
      if (!r) {
        const std::lock_guard<std::mutex> lock(mu);
        error = describe(r.error());
        left = 0;
        break;
      }
      mine.push_back(ms_since(t0));
    }
    const std::lock_guard<std::mutex> lock(mu);
    ms.insert(ms.end(), mine.begin(), mine.end());
  };
  const double cpu0 = process_cpu_seconds();
  const double svc0 = row.service != nullptr ? row.service->cpu_seconds() : 0;
  const auto t0 = SteadyClock::now();
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back(body);
  }
  for (auto& t : pool) {
    t.join();
  }
  const double seconds = ms_since(t0) / 1000.0;
  const double cpu = process_cpu_seconds() - cpu0;
  const double svc = row.service != nullptr ? row.service->cpu_seconds() - svc0 : 0;
  if (!error.empty()) {
    row.error = error;
    row.stopped = true;
  }
  if (warmup) {
    return;
  }
  row.ms.insert(row.ms.end(), ms.begin(), ms.end());
  row.seconds += seconds;
  if (row.service != nullptr) {
    row.verifier_cpu += svc;
    row.client_cpu += cpu;
  } else {
    row.verifier_cpu += cpu;
  }
  if (row.seconds > opt.max_seconds) {
    row.stopped = true;  // bounded in time: report what was measured
  }
}

double rate(const Row& r) {
  return r.seconds > 0 ? static_cast<double>(r.ms.size()) / r.seconds : 0;
}

void print_table(const std::vector<Row>& rows) {
  std::printf("%-14s %-34s %8s %6s %6s %8s %8s %11s %11s %6s\n", "Evidence", "Verifier", "verif/s",
              "ratio", "vs 1T", "p50 ms", "p99 ms", "Verifier ms", "client ms", "n");
  const Kind* last = nullptr;
  for (const Row& r : rows) {
    if (last != nullptr && r.kind != last) {
      std::printf("\n");
    }
    last = r.kind;
    const std::string evidence = r.kind->label;
    if (r.ms.empty()) {
      std::printf("%-14s %-34s failed: %s\n", evidence.c_str(), r.label().c_str(), r.error.c_str());
      continue;
    }
    // The in-process rows of the same kind: same thread count, and one thread.
    double same = 0;
    double one = 0;
    for (const Row& o : rows) {
      if (o.kind == r.kind && o.service == nullptr && !o.ms.empty()) {
        if (o.threads == r.threads) {
          same = rate(o);
        }
        if (o.threads == 1) {
          one = rate(o);
        }
      }
    }
    const double n = static_cast<double>(r.ms.size());
    char client[32] = "-";
    if (r.service != nullptr) {
      std::snprintf(client, sizeof client, "%.3f", 1000.0 * r.client_cpu / n);
    }
    char ratio_same[16] = "-";
    char ratio_one[16] = "-";
    if (same > 0) {
      std::snprintf(ratio_same, sizeof ratio_same, "%.3f", rate(r) / same);
    }
    if (one > 0) {
      std::snprintf(ratio_one, sizeof ratio_one, "%.3f", rate(r) / one);
    }
    std::printf("%-14s %-34s %8.1f %6s %6s %8.3f %8.3f %11.3f %11s %6zu%s\n", evidence.c_str(),
                r.label().c_str(), rate(r), ratio_same, ratio_one, percentile(r.ms, 0.5),
                percentile(r.ms, 0.99), 1000.0 * r.verifier_cpu / n, client, r.ms.size(),
                r.error.empty() ? "" : ("  (stopped: " + r.error + ")").c_str());
  }
  std::printf(
      "\nratio: verifications/s over the in-process row with as many threads; vs 1T: over the\n"
      "single-threaded in-process row. Verifier ms: CPU ms per verification of the service\n"
      "process (service rows) or of this process (in-process rows); client ms: CPU ms per\n"
      "verification of the HTTP client threads (same machine, same cores).\n");
}

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "verifier_service_bench: %s: %s\n", what.c_str(), describe(e).c_str());
  return 1;
}

int run(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--n") {
      opt.n = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--rounds") {
      opt.rounds = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--warmup") {
      opt.warmup = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--clients") {
      opt.clients = std::clamp(std::atoi(next().c_str()), 1, 16);
    } else if (a == "--max-seconds") {
      opt.max_seconds = std::max(1.0, std::atof(next().c_str()));
    } else if (a == "--workers") {
      opt.workers.clear();
      for (const auto& w : split(next())) {
        opt.workers.push_back(std::clamp(std::atoi(w.c_str()), 1, 16));
      }
    } else if (a == "--verifier-client") {
      opt.verifier_client = true;
    } else if (a == "--kinds") {
      opt.kinds = split(next());
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: %s [--n N] [--rounds R] [--warmup W] [--clients C] [--workers 1,2]\n"
          "          [--kinds software,tpm2] [--max-seconds S] [--verifier-client]\n",
          argv[0]);
      return 0;
    } else {
      std::fprintf(stderr, "unknown option %s (try --help)\n", a.c_str());
      return 2;
    }
  }
  // $ATLS_CLI names another atls command than the one built with this program.
  const char* cli_env = std::getenv("ATLS_CLI");
  const std::string cli = cli_env != nullptr && *cli_env != '\0' ? cli_env : ATLS_CLI_PATH;
  if (cli.empty()) {
    std::fprintf(stderr, "verifier_service_bench: built without the atls command; skipped\n");
    return 0;
  }

  // The fixed nonce every Evidence is made for and every session names.
  Bytes nonce(32);
  SystemRng().fill(nonce);
  const std::string new_session_target = std::string(remote::kNewSessionPath) + "?" +
                                         std::string(remote::kParamNonce) + "=" +
                                         base64url_encode(nonce);

  // Evidence, made once per kind, and the policy that trusts both keys.
  std::unique_ptr<tools::SwtpmProcess> swtpm;
  std::vector<std::unique_ptr<Kind>> kinds;
  nlohmann::json policy = {{"required_tier", "warning"}, {"schemes", nlohmann::json::object()}};
  for (const auto& k : opt.kinds) {
    tools::AttesterSpec spec;
    spec.kind = k;
    auto kind = std::make_unique<Kind>();
    if (k == "software") {
      kind->label = "software EAT";
    } else if (k == "tpm2") {
      if (!tools::SwtpmProcess::available()) {
        std::printf("note: swtpm is not installed: no TPM rows\n");
        continue;
      }
      auto tpm = tools::SwtpmProcess::start();
      if (!tpm) {
        return fail("swtpm", tpm.error());
      }
      swtpm = std::move(*tpm);
      spec.tcti = swtpm->tcti();
      kind->label = "TPM 2.0 quote";
    } else {
      std::fprintf(stderr, "unknown kind %s (software, tpm2)\n", k.c_str());
      return 2;
    }
    std::fprintf(stderr, "making %s Evidence...\n", kind->label.c_str());
    auto built = tools::build_attester(spec);
    if (!built) {
      return fail(k + " attester", built.error());
    }
    AttestationRequest req;
    req.nonce = nonce;
    auto ev = built->attester->attest(req);
    if (!ev) {
      return fail(k + " attest", ev.error());
    }
    kind->evidence = std::move(*ev);
    const auto& cmw = kind->evidence.cmw;
    const bool json = !cmw.empty() && (cmw[0] == '[' || cmw[0] == '{');
    kind->content_type = std::string(json ? remote::kMediaTypeCmwJson : remote::kMediaTypeCmwCbor);
    policy["schemes"].update(tools::relying_party_policy(*built)["schemes"]);
    kinds.push_back(std::move(kind));
  }
  if (swtpm) {
    swtpm.reset();  // the Evidence is made: the TPM is not needed any more
  }

  InProcess inproc;
  {
    auto p = parse_policy(policy.dump(), inproc.registry, ".");
    if (!p) {
      return fail("policy", p.error());
    }
    inproc.policy = std::move(*p);
    auto key = ossl::generate_key(ossl::KeyType::EcP256);
    if (!key) {
      return fail("EAR key", key.error());
    }
    inproc.ear_key = std::move(*key);
  }

  std::vector<std::unique_ptr<tools::VerifierProcess>> services;
  for (const int w : opt.workers) {
    tools::VerifierProcessOptions vo;
    vo.executable = cli;
    vo.policy_json = policy.dump();
    vo.workers = w;
    auto svc = tools::VerifierProcess::start(vo);
    if (!svc) {
      return fail("atls verifier --workers " + std::to_string(w), svc.error());
    }
    std::fprintf(stderr, "atls verifier --workers %d: pid %d, %s\n", w,
                 static_cast<int>((*svc)->pid()), (*svc)->url().c_str());
    services.push_back(std::move(*svc));
  }

  std::vector<Row> rows;
  for (const auto& kind : kinds) {
    for (std::size_t i = 0; i < opt.workers.size(); ++i) {
      Row in;
      in.kind = kind.get();
      in.threads = opt.workers[i];
      if (std::none_of(rows.begin(), rows.end(), [&](const Row& r) {
            return r.kind == in.kind && r.service == nullptr && r.threads == in.threads;
          })) {
        rows.push_back(in);
      }
      Row svc = in;
      svc.service = services[i].get();
      rows.push_back(svc);
      if (opt.verifier_client) {
        svc.verifier_client = true;
        rows.push_back(svc);
      }
    }
  }

  std::printf(
      "Verifier service on loopback vs the in-process Verifier: %d verifications per row "
      "in %d rounds, %d HTTP client threads (keep-alive)\n",
      opt.n, std::min(opt.rounds, opt.n), opt.clients);
  for (Row& r : rows) {
    run_round(r, opt.warmup, opt, inproc, nonce, new_session_target, true);
  }
  const int rounds = std::min(opt.rounds, opt.n);
  for (int round = 0; round < rounds; ++round) {
    const int count = opt.n / rounds + (round < opt.n % rounds ? 1 : 0);
    std::fprintf(stderr, "round %d/%d (%d verifications per row)\n", round + 1, rounds, count);
    for (Row& r : rows) {
      run_round(r, count, opt, inproc, nonce, new_session_target, false);
    }
  }
  print_table(rows);
  int status = 0;
  for (const Row& r : rows) {
    if (!r.error.empty()) {
      status = 1;
      if (r.service != nullptr) {
        std::fprintf(stderr, "service output:\n%s\n", r.service->output().c_str());
      }
    }
  }
  services.clear();  // stops the services
  return status;
}

}  // namespace
}  // namespace atls::bench

int main(int argc, char** argv) {
  return atls::bench::run(argc, argv);
}
