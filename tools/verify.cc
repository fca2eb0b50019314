// `atls verify`: appraise Evidence (a CMW, a native blob, tpm2-tools files) or
// an EAR and print the result.

#include "tools/commands.h"
#include "tools/common.h"
#include "tools/verifier_options.h"
#include "tools/verify_ratls.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/policy.h"
#include "src/attestation/registry.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/formats/json/json.h"
#include "src/formats/tpm/tpm.h"
#include "src/ossl/keys.h"
#include "src/ossl/x509.h"
#include "src/plugins/builtin_plugins.h"
#include "src/plugins/tpm2/tpm2.h"
#include "src/remote/api.h"
#include "src/remote/remote_appraisal.h"

#include <cctype>
#include <charconv>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atls::tools {
namespace {

struct VerifyArgs {
  std::string evidence;
  std::string policy;
  std::string nonce;
  std::string at;
  std::vector<std::string> trust;
  std::vector<std::string> certs;
  std::string media_type;
  std::string ear_out;
  std::string tpm_quote, tpm_signature, tpm_pcrs, tpm_ak_pub;
  std::string attested_key;
  std::string connection_nonce;
  bool json = false;
  VerifierOptions verifier;
  // --nonce was given (possibly as "", which expects an empty nonce).
  bool nonce_given = false;
};

std::string nonce_line(const VerifiedEvidence& v) {
  const Bytes& n = v.claims().nonce;
  std::string line = n.empty() ? std::string("(none)") : to_hex(n);
  line += v.nonce_bound() ? " (matches --nonce)" : " (not checked: no --nonce)";
  return line;
}

void print_result(const AttestationResult& r, const VerifiedEvidence& ev, const Policy* policy,
                  const Result<void>& verdict) {
  std::cout << "media type:  " << r.media_type() << "\n";
  std::cout << "verifier:    " << ev.verifier() << "\n";
  std::cout << "machine id:  " << (r.machine_id().empty() ? "(none)" : r.machine_id()) << "\n";
  std::cout << "nonce:       " << nonce_line(ev) << "\n";
  std::cout << "root:        "
            << (r.hardware_rooted() ? "hardware" : "software (not hardware-backed)") << "\n";
  std::cout << "status:      " << tier_name(r.status()) << "\n";
  std::cout << "valid until: " << ossl::format_time(r.valid_until()) << "\n";
  for (const auto& s : r.submods()) {
    std::cout << "submodule " << s.name << ": " << tier_name(s.status) << "\n";
    for (std::size_t i = 0; i < TrustVector::kSize; ++i) {
      if (s.trust_vector.claims[i]) {
        const int v = *s.trust_vector.claims[i];
        std::cout << "  " << TrustVector::claim_name(i) << ": " << v << " ("
                  << tier_name(tier_of_claim_value(static_cast<std::int8_t>(v))) << ")\n";
      }
    }
    for (const auto& f : s.findings) {
      std::cout << "  ! " << error_name(f.code) << ": " << f.detail << "\n";
    }
  }
  std::cout << "claims:\n" << json_dump(r.claims(), 2) << "\n";
  if (policy != nullptr) {
    std::cout << "policy:      required tier " << tier_name(policy->required_tier) << ": "
              << (verdict ? "ACCEPTED"
                          : "REJECTED (" + std::string(verdict.error().name()) + ": " +
                                verdict.error().to_string() + ")")
              << "\n";
  } else {
    std::cout << "integrity:   OK (no policy: reference values not checked)\n";
  }
}

Result<std::int64_t> parse_time(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    std::int64_t t = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), t);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      return Error{ErrorCode::InvalidArgument, "--at: \"" + s + "\" is out of range"};
    }
    return t;
  }
  struct tm tm {};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != 0) {
    tm = {};
    end = ::strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (end == nullptr || *end != 0) {
    return Error{ErrorCode::InvalidArgument,
                 "--at takes Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"};
  }
  return static_cast<std::int64_t>(::timegm(&tm));
}

// Adds |file: | to an error's detail, so that a message names the file at fault.
Error in_file(const std::string& file, Error e) {
  e.detail = file + ": " + e.detail;
  return e;
}

// pcrs_from_json reads PCR values written as JSON: {"hash": "sha256",
// "pcrs": {"0": "hex", ...}} (one bank, as in the GCE vectors) or
// {"sha256": {"0": "hex", ...}, "sha1": {...}} (several banks, as `atls
// verify --json` prints them). Fails with JsonMalformed or TpmMalformed.
Result<TpmPcrValues> pcrs_from_json(ByteView text) {
  ATLS_ASSIGN_OR_RETURN(const nlohmann::json doc, parse_json(as_string_view(text)));
  nlohmann::json banks = nlohmann::json::object();
  if (doc.is_object() && doc.contains("hash") && doc.contains("pcrs")) {
    if (!doc["hash"].is_string()) {
      return Error{ErrorCode::TpmMalformed, "\"hash\" must name a bank"};
    }
    banks[doc["hash"].get<std::string>()] = doc["pcrs"];
  } else {
    banks = doc;
  }
  if (!banks.is_object()) {
    return Error{ErrorCode::TpmMalformed, "PCR JSON must be an object"};
  }
  TpmPcrValues out;
  for (const auto& [bank, values] : banks.items()) {
    const auto hash = tpm_hash_from_name(bank);
    if (!hash || !values.is_object()) {
      return Error{ErrorCode::TpmMalformed,
                   "\"" + bank + "\" is not a PCR bank of index: hex values"};
    }
    TpmPcrBank b;
    b.hash = *hash;
    for (const auto& [index, value] : values.items()) {
      std::uint32_t i = 0;
      const auto r = std::from_chars(index.data(), index.data() + index.size(), i);
      auto v = value.is_string() ? from_hex(value.get<std::string>())
                                 : Result<Bytes>(ErrorCode::InvalidHex);
      if (index.empty() || r.ec != std::errc() || r.ptr != index.data() + index.size() || i > 31 ||
          !v || v->size() != tpm_hash_size(*hash)) {
        return Error{ErrorCode::TpmMalformed, bank + "." + index + ": not a PCR index with a " +
                                                  std::to_string(tpm_hash_size(*hash)) +
                                                  "-byte hex value"};
      }
      b.values[i] = std::move(*v);
    }
    out.banks.push_back(std::move(b));
  }
  return out;
}

// A PCR file is JSON when its first non-blank byte is '{'; otherwise it is
// the tpm2-tools serialized format.
bool looks_like_json(ByteView data) {
  for (const std::uint8_t c : data) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return c == '{';
    }
  }
  return false;
}

// A native blob may be given as hex text (as some vendors ship reports):
// only hex digits, possibly followed by a line end, of even length.
std::optional<Bytes> decode_hex_text(ByteView data) {
  std::string_view text = as_string_view(data);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.empty() || text.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
    return std::nullopt;
  }
  auto b = from_hex(text);
  if (!b) {
    return std::nullopt;
  }
  return std::move(*b);
}

// A bare EAR is a JWS compact serialization: three base64url parts whose
// first (the protected header) is a JSON object, so it starts with "eyJ".
bool looks_like_jws(ByteView data) {
  std::string_view text = as_string_view(data);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  if (!text.starts_with("eyJ")) {
    return false;
  }
  std::size_t dots = 0;
  for (const char c : text) {
    if (c == '.') {
      ++dots;
    } else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return false;
    }
  }
  return dots == 2;
}

Result<Evidence> load_evidence(const VerifyArgs& a) {
  if (!a.tpm_quote.empty() || !a.tpm_signature.empty() || !a.tpm_pcrs.empty() ||
      !a.tpm_ak_pub.empty()) {
    if (a.tpm_quote.empty() || a.tpm_signature.empty() || a.tpm_pcrs.empty()) {
      return Error{
          ErrorCode::InvalidArgument,
          "--tpm-quote, --tpm-signature and --tpm-pcrs go together (--tpm-ak-pub is optional)"};
    }
    if (!a.evidence.empty()) {
      return Error{ErrorCode::InvalidArgument,
                   "give either EVIDENCE or the --tpm-* files, not both"};
    }
    ATLS_ASSIGN_OR_RETURN(const Bytes msg, read_input(a.tpm_quote));
    ATLS_ASSIGN_OR_RETURN(const Bytes sig, read_input(a.tpm_signature));
    ATLS_ASSIGN_OR_RETURN(Bytes pcrs, read_input(a.tpm_pcrs));
    Bytes ak_pub;
    if (!a.tpm_ak_pub.empty()) {
      ATLS_ASSIGN_OR_RETURN(ak_pub, read_input(a.tpm_ak_pub));
    }
    if (looks_like_json(pcrs)) {
      auto values = pcrs_from_json(pcrs);
      if (!values) {
        return in_file(a.tpm_pcrs, std::move(values).error());
      }
      ATLS_ASSIGN_OR_RETURN(pcrs, encode_tpm_pcrs_file(*values));
    }
    // Check each file alone first, so that an error names the file at fault.
    if (auto m = parse_tpm_attest(msg); !m) {
      return in_file(a.tpm_quote, std::move(m).error());
    }
    if (auto s = parse_tpm_signature(sig); !s) {
      return in_file(a.tpm_signature, std::move(s).error());
    }
    if (auto p = parse_tpm_pcrs_file(pcrs); !p) {
      return in_file(a.tpm_pcrs, std::move(p).error());
    }
    auto ev = evidence_from_tpm2_tools(msg, sig, pcrs, ak_pub);
    if (!ev && !ak_pub.empty()) {
      return in_file(a.tpm_ak_pub, std::move(ev).error());
    }
    return ev;
  }
  if (a.evidence.empty()) {
    return Error{ErrorCode::InvalidArgument, "EVIDENCE (or the three --tpm-* files) is required"};
  }
  ATLS_ASSIGN_OR_RETURN(Bytes data, read_input(a.evidence));
  std::string media_type = a.media_type;
  if (media_type.empty() && looks_like_jws(data)) {
    media_type = std::string(kMediaTypeEar);
  }
  if (!media_type.empty()) {
    if (media_type != kMediaTypeEar) {
      if (auto raw = decode_hex_text(data)) {
        data = std::move(*raw);
      }
    } else {
      // A JWT saved by an editor or `echo` ends in a line break.
      while (!data.empty() && (data.back() == '\n' || data.back() == '\r' || data.back() == ' ')) {
        data.pop_back();
      }
    }
    EvidenceRecord rec;
    rec.media_type = media_type;
    rec.value = std::move(data);
    rec.ind = media_type == kMediaTypeEar ? kIndAttestationResult : kIndEvidence;
    return evidence_from_records({std::move(rec)});
  }
  return evidence_from_cmw(data);
}

// appraise_remotely sends non-EAR |evidence| to a session of the remote
// Verifier opened for the --nonce, replaces it with the Verifier's EAR and
// returns that EAR ("" when |evidence| was an EAR already); in both cases
// the Verifier's EAR key joins the trust anchors.
Result<std::string> appraise_remotely(const VerifyArgs& a, Evidence& evidence, VerifyContext& ctx) {
  ATLS_ASSIGN_OR_RETURN(const auto client, a.verifier.client());
  std::string ear;
  if (evidence.media_type() != kMediaTypeEar) {
    if (!ctx.expected_nonce || ctx.expected_nonce->empty()) {
      return Error{ErrorCode::InvalidArgument,
                   "--verifier needs --nonce for Evidence: the Verifier's session is opened for "
                   "that nonce"};
    }
    ATLS_ASSIGN_OR_RETURN(const remote::Session session,
                          client->new_session(remote::kBindingNonce, {}, 0, *ctx.expected_nonce));
    ATLS_ASSIGN_OR_RETURN(ear, client->submit(session, evidence.cmw));
    ATLS_ASSIGN_OR_RETURN(evidence, remote::ear_evidence(ear));
  }
  ATLS_ASSIGN_OR_RETURN(Bytes key, client->ear_key());
  ctx.trust_anchors.push_back(std::move(key));
  return ear;
}

void run_verify(const VerifyArgs& a) {
  // Every failure prints one line on stderr; with --json, stdout also gets a
  // JSON object naming the error, so that a harness never parses empty output.
  const auto bail = [&a](const Error& e, std::string_view file = {}) {
    if (a.json) {
      std::cout << json_dump({{"verified", false},
                              {"error", std::string(e.name())},
                              {"detail", e.to_string()}},
                             2)
                << "\n";
    }
    fail("verify", e, file);
  };
  const Registry registry = builtin_registry();
  std::unique_ptr<Clock> clock;
  if (!a.at.empty()) {
    auto t = parse_time(a.at);
    if (!t) {
      bail(t.error());
      return;
    }
    clock = std::make_unique<FixedClock>(*t);
  } else {
    clock = std::make_unique<SystemClock>();
  }
  // Arguments first, so that a usage error never depends on the evidence.
  VerifyContext ctx;
  if (a.nonce_given) {
    auto n = from_hex(a.nonce);
    if (!n) {
      bail(Error{ErrorCode::InvalidHex, "--nonce: " + n.error().detail});
      return;
    }
    ctx.expected_nonce = std::move(*n);
  }
  std::unique_ptr<Policy> policy;
  if (!a.policy.empty()) {
    auto p = load_policy_file(a.policy, registry);
    if (!p) {
      // The policy is the caller's own input: any fault in it (missing,
      // malformed JSON, unknown key) is a usage error.
      bail(p.error(), a.policy);
      set_exit_code(2);
      return;
    }
    policy = std::make_unique<Policy>(std::move(*p));
  }
  if (!a.ear_out.empty() && !a.verifier.given() && (!policy || policy->ear.signing_key.empty())) {
    bail(Error{ErrorCode::InvalidArgument,
               "--ear-out needs a policy with ear.signing_key, or --verifier"});
    return;
  }
  // An RA-TLS certificate: the Evidence is in its extension, bound to its key.
  if (!a.evidence.empty() && is_certificate_file(a.evidence)) {
    verify_ratls_file({a.evidence, a.trust, a.connection_nonce, a.json}, registry, *clock,
                      policy.get());
    return;
  }
  auto evidence = load_evidence(a);
  if (!evidence) {
    bail(evidence.error(), a.evidence);
    return;
  }
  for (const auto& f : a.trust) {
    auto b = read_input(f);
    if (!b) {
      bail(b.error());
      return;
    }
    ctx.trust_anchors.push_back(std::move(*b));
  }
  if (!a.attested_key.empty()) {
    auto b = read_input(a.attested_key);
    if (!b) {
      bail(b.error());
      return;
    }
    auto key = ossl::parse_public_key(*b);
    if (!key) {
      bail(key.error(), a.attested_key);
      return;
    }
    auto spki = ossl::spki_der(key->get());
    if (!spki) {
      bail(spki.error(), a.attested_key);
      return;
    }
    ctx.attested_key_spki = std::move(*spki);
  }
  for (const auto& f : a.certs) {
    auto b = read_input(f);
    if (!b) {
      bail(b.error());
      return;
    }
    ctx.certificates.push_back(std::move(*b));
  }
  // With --verifier, Evidence is appraised by the remote Verifier and its
  // EAR is checked here with the key of its well-known endpoint.
  std::string remote_ear;
  if (a.verifier.given()) {
    auto r = appraise_remotely(a, *evidence, ctx);
    if (!r) {
      bail(r.error(), a.evidence);
      return;
    }
    remote_ear = std::move(*r);
  }
  ossl::UniquePtr<EVP_PKEY> ear_key;
  if (policy && !policy->ear.signing_key.empty() && remote_ear.empty()) {
    auto pem = load_reference(policy->base_dir, policy->ear.signing_key);
    if (!pem) {
      bail(pem.error());
      return;
    }
    auto k = ossl::parse_private_key(*pem);
    if (!k) {
      bail(k.error());
      return;
    }
    ear_key = std::move(*k);
  }
  // Without --policy only integrity is checked: no age limit on the
  // Evidence, and the verdict is not applied.
  Policy integrity_only;
  integrity_only.max_evidence_age = 0;
  const internal::RelyingParty rp(registry, *clock, policy ? *policy : integrity_only);
  internal::Expectation expect;
  expect.context = std::move(ctx);
  auto appraisal = rp.appraise(*evidence, std::move(expect), ear_key.get());
  if (!appraisal) {
    bail(appraisal.error(), a.evidence);
    return;
  }
  const VerifiedEvidence* verified = &appraisal->evidence;
  const AttestationResult* result = &appraisal->result;
  const Result<void> verdict = policy ? appraisal->verdict : ok();
  if (a.json) {
    nlohmann::json j = result->to_json();
    j["verified"] = true;
    j["verifier"] = verified->verifier();
    j["nonce"] = to_hex(verified->claims().nonce);
    j["nonce_verified"] = verified->nonce_bound();
    if (policy) {
      j["accepted"] = static_cast<bool>(verdict);
      j["required_tier"] = std::string(tier_name(policy->required_tier));
      if (!verdict) {
        j["error"] = std::string(verdict.error().name());
        j["detail"] = verdict.error().to_string();
      }
    }
    std::cout << json_dump(j, 2) << "\n";
  } else {
    print_result(*result, *verified, policy.get(), verdict);
  }
  if (!a.ear_out.empty()) {
    auto w = write_output(a.ear_out, to_bytes(remote_ear.empty() ? result->ear() : remote_ear));
    if (!w) {
      fail("verify", w.error());  // the result is already printed
      return;
    }
  }
  if (!verdict) {
    std::cerr << "atls verify: " << verdict.error().name() << ": " << verdict.error().to_string()
              << "\n";
    set_exit_code(1);
  }
}

}  // namespace

void register_verify(CLI::App& app) {
  auto a = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify",
      "Verify and appraise Evidence, an EAR or an RA-TLS certificate. Without --policy only\n"
      "integrity is checked"
      " (signatures, chain to --trust anchors, the nonce, validity at --at) and the claims\n"
      "are printed; with --policy the result must also reach the policy's required tier.\n"
      "An X.509 certificate is read as an RA-TLS certificate: its id-pe-cmw extension (Evidence\n"
      "whose nonce is SHA-256(SPKI [|| --connection-nonce])) or the TCG DICE extension\n"
      "2.23.133.5.4.9 (an SGX quote over SHA-256(claims), claims naming SHA-256(SPKI)); every\n"
      "check is printed. Relay caveat: such Evidence proves an attested environment holds the\n"
      "key, not that it is the TLS peer (CVE-2026-33697; docs/protocol-choices.md).\n"
      "--trust per scheme: software: the signing public key; tpm2: the AK public key, or the\n"
      "root CA of the AK certificate (AK and intermediate certificates as --cert); sev-snp: the\n"
      "AMD ASK+ARK PEM (VCEK as --cert unless the CMW has it); tdx, sgx: the Intel SGX Root CA;\n"
      "an EAR (application/eat+jwt): the Verifier's public key.\n"
      "Exit code: 0 integrity holds (no policy) or the result meets the required tier;\n"
      "1 invalid, untrusted or rejected (the error name is on stderr, and in the JSON with\n"
      "--json); 2 usage error (bad option value, invalid policy).");
  cmd->add_option("evidence", a->evidence,
                  "Evidence file: a CMW, an EAR (JWT), or a native blob with --media-type");
  cmd->add_option("--policy", a->policy, "Appraisal policy (JSON; see docs/policy.md)");
  auto* nonce = cmd->add_option(
      "--nonce", a->nonce,
      "Expected nonce (hex; \"\" expects an empty one); evidence with another nonce is rejected");
  cmd->add_option("--at", a->at,
                  "Verification time: Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  // One value per occurrence, so that "--trust A EVIDENCE" leaves EVIDENCE positional.
  cmd->add_option("--trust", a->trust, "Trust anchor (PEM/DER key or certificate); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--cert", a->certs,
                  "Certificate the evidence needs but does not carry; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--media-type", a->media_type,
                  "Media type of a bare native blob (binary, or hex text),\n"
                  "e.g. application/vnd.atls.sev-snp-report or application/vnd.atls.tdx-quote");
  cmd->add_option("--ear-out", a->ear_out,
                  "Write the signed EAR (needs ear.signing_key in the policy)");
  cmd->add_option("--attested-key", a->attested_key,
                  "EAR: the key (PEM/DER public key or certificate) the EAR must name as attested");
  cmd->add_option("--tpm-quote", a->tpm_quote, "tpm2_quote -m output (TPMS_ATTEST)");
  cmd->add_option("--tpm-signature", a->tpm_signature, "tpm2_quote -s output (TPMT_SIGNATURE)");
  cmd->add_option(
      "--tpm-pcrs", a->tpm_pcrs,
      "tpm2_quote -o output (PCR values), or JSON {\"hash\": bank, \"pcrs\": {index: hex}}");
  cmd->add_option("--tpm-ak-pub", a->tpm_ak_pub,
                  "AK public area (TPMT_PUBLIC or TPM2B_PUBLIC, e.g. tpm2_create -u); optional");
  cmd->add_option(
      "--connection-nonce", a->connection_nonce,
      "RA-TLS certificate minted for one connection: the nonce it was minted for (hex)");
  cmd->add_flag("--json", a->json, "Print the result as JSON");
  add_verifier_options(cmd, &a->verifier,
                       "Evidence goes to a session opened for --nonce and its EAR is verified "
                       "here; an EAR is verified with the Verifier's key");
  cmd->callback([a, nonce] {
    a->nonce_given = nonce->count() > 0;
    run_verify(*a);
  });
}

}  // namespace atls::tools
