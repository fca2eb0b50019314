// `atls attest`: produce Evidence (a CBOR CMW) with one of the built-in
// attesters, for a nonce given on the command line.

#include "tools/commands.h"
#include "tools/common.h"
#include "tools/verifier_options.h"

#include "src/core/encoding.h"
#include "src/plugins/sevsnp/sevsnp.h"
#include "src/plugins/software/software.h"
#include "src/plugins/tdx/tdx.h"
#include "src/plugins/tpm2/tpm2.h"
#include "src/remote/api.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace atls::tools {
namespace {

struct AttestArgs {
  std::string attester;
  std::string nonce;
  std::string out;
  std::string pubkey_out;
  // software
  std::string key;
  std::vector<std::string> measure;
  std::string machine_id_file = "/etc/machine-id";
  // tpm2
  std::string tcti = "device:/dev/tpmrm0";
  std::string ak_handle = "0x81010002";
  std::string pcrs = "0,1,2,3,4,5,6,7";
  // sev-snp, tdx
  std::string tsm_path = "/sys/kernel/config/tsm/report";
  int vmpl = -1;
  // A remote Verifier: the nonce comes from its session, the output is its EAR.
  VerifierOptions verifier;
  // Options the user gave explicitly, to reject those of another attester.
  std::vector<std::string> given;

  bool given_vmpl() const { return std::find(given.begin(), given.end(), "--vmpl") != given.end(); }
};

// The nonce sizes each attester accepts (bytes). The software EAT follows
// RFC 9711 (8..64); SEV-SNP REPORT_DATA and TDX REPORTDATA hold 64 bytes; a
// TPM nonce longer than 32 bytes is hashed into qualifyingData.
struct NonceLimits {
  std::size_t min;
  std::size_t max;
};

NonceLimits nonce_limits(std::string_view attester) {
  if (attester == "software") {
    return {8, 64};
  }
  if (attester == "tpm2") {
    return {1, 1024};
  }
  return {1, 64};
}

Result<Bytes> parse_nonce(const AttestArgs& a) {
  if (a.nonce.empty() && a.verifier.given()) {
    return Bytes{};  // the Verifier's session draws it
  }
  if (a.nonce.empty()) {
    return Error{ErrorCode::InvalidArgument, "--nonce is required (hex)"};
  }
  auto n = from_hex(a.nonce);
  if (!n) {
    return Error{ErrorCode::InvalidHex, "--nonce: \"" + a.nonce.substr(0, 32) +
                                            (a.nonce.size() > 32 ? "..." : "") +
                                            "\" is not hex (an even number of 0-9a-f digits)"};
  }
  const NonceLimits lim = nonce_limits(a.attester);
  if (n->size() < lim.min || n->size() > lim.max) {
    return Error{ErrorCode::InvalidArgument,
                 "--nonce: " + std::to_string(n->size()) + " bytes; the " + a.attester +
                     " attester takes " + std::to_string(lim.min) + ".." + std::to_string(lim.max) +
                     " bytes" + (n->size() > lim.max ? " (too long)" : "")};
  }
  return std::move(*n);
}

Result<std::uint32_t> parse_u32(std::string_view s, int base, std::string_view what) {
  if (base == 16 && (s.starts_with("0x") || s.starts_with("0X"))) {
    s.remove_prefix(2);
  }
  std::uint32_t v = 0;
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, v, base);
  if (s.empty() || r.ec != std::errc() || r.ptr != end) {
    return Error{ErrorCode::InvalidArgument, std::string(what) + ": \"" + std::string(s) +
                                                 "\" is not a " + (base == 16 ? "hex" : "decimal") +
                                                 " number"};
  }
  return v;
}

Result<std::vector<std::uint32_t>> parse_pcr_list(const std::string& s) {
  std::vector<std::uint32_t> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = std::min(s.find(',', start), s.size());
    ATLS_ASSIGN_OR_RETURN(
        const std::uint32_t pcr,
        parse_u32(std::string_view(s).substr(start, comma - start), 10, "--pcrs"));
    out.push_back(pcr);
    start = comma + 1;
  }
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Options that belong to one attester only.
struct OwnedOption {
  const char* name;
  const char* attester;
};
constexpr OwnedOption kOwnedOptions[] = {
    {"--key", "software"}, {"--measure", "software"}, {"--machine-id-file", "software"},
    {"--tcti", "tpm2"},    {"--ak-handle", "tpm2"},   {"--pcrs", "tpm2"},
    {"--vmpl", "sev-snp"},
};

Result<void> check_option_scope(const AttestArgs& a) {
  for (const auto& opt : kOwnedOptions) {
    for (const auto& g : a.given) {
      if (g == opt.name && a.attester != opt.attester) {
        return Error{ErrorCode::InvalidArgument,
                     std::string(opt.name) + " applies to --attester " + opt.attester + " only"};
      }
    }
  }
  for (const auto& g : a.given) {
    if (g == "--tsm-path" && a.attester != "sev-snp" && a.attester != "tdx") {
      return Error{ErrorCode::InvalidArgument,
                   "--tsm-path applies to --attester sev-snp or tdx only"};
    }
    if (g == "--pubkey-out" && a.attester != "software" && a.attester != "tpm2") {
      return Error{ErrorCode::InvalidArgument,
                   "--pubkey-out applies to --attester software or tpm2 only"};
    }
  }
  return ok();
}

// The attester, and the public key to pin for it ("" when none applies).
struct Built {
  std::unique_ptr<Attester> attester;
  std::string public_key_pem;
  // Whether the key is one the caller does not already hold (and so is
  // printed on stderr when --pubkey-out is not given).
  bool key_is_new = false;
};

Result<Built> build_attester(const AttestArgs& a) {
  Built b;
  if (a.attester == "software") {
    SoftwareAttesterConfig c;
    if (!a.key.empty()) {
      ATLS_ASSIGN_OR_RETURN(c.signing_key_pem, read_input(a.key));
    }
    c.measured_files = a.measure;
    c.machine_id_file = a.machine_id_file;
    if (!path_exists(c.machine_id_file)) {
      return Error{ErrorCode::FileNotFound,
                   c.machine_id_file + ": no machine id file (use --machine-id-file FILE)"};
    }
    ATLS_ASSIGN_OR_RETURN(b.attester, make_software_attester(std::move(c)));
    ATLS_ASSIGN_OR_RETURN(b.public_key_pem, software_attester_public_key(*b.attester));
    b.key_is_new = a.key.empty();
    return b;
  }
  if (a.attester == "tpm2") {
    Tpm2AttesterConfig c;
    c.tcti = a.tcti;
    ATLS_ASSIGN_OR_RETURN(c.ak_handle, parse_u32(a.ak_handle, 16, "--ak-handle"));
    ATLS_ASSIGN_OR_RETURN(c.pcrs, parse_pcr_list(a.pcrs));
    constexpr std::string_view kDevice = "device:";
    if (c.tcti.starts_with(kDevice)) {
      const std::string dev = c.tcti.substr(kDevice.size());
      if (!dev.empty() && !path_exists(dev)) {
        return Error{ErrorCode::FileNotFound,
                     dev + ": no TPM device (use --tcti swtpm:host=127.0.0.1,port=N for swtpm)"};
      }
    }
    // tpm2-tss logs its own multi-line warnings on stderr; the error that
    // matters comes back as one Error. TSS2_LOG set by the user still wins.
    ::setenv("TSS2_LOG", "all+NONE", 0);
    ATLS_ASSIGN_OR_RETURN(b.attester, make_tpm2_attester(c));
    ATLS_ASSIGN_OR_RETURN(b.public_key_pem, tpm2_attester_ak_pem(*b.attester));
    b.key_is_new = true;
    return b;
  }
  if (a.attester == "sev-snp" || a.attester == "tdx") {
    if (!path_exists(a.tsm_path)) {
      return Error{ErrorCode::FileNotFound,
                   a.tsm_path +
                       ": no configfs-tsm report directory (not a confidential VM, "
                       "configfs not mounted, or use --tsm-path DIR)"};
    }
    if (a.attester == "sev-snp") {
      SevSnpAttesterConfig c;
      c.tsm.root = a.tsm_path;
      c.tsm.privlevel = a.vmpl;
      ATLS_ASSIGN_OR_RETURN(b.attester, make_sevsnp_attester(std::move(c)));
    } else {
      TdxAttesterConfig c;
      c.tsm.root = a.tsm_path;
      ATLS_ASSIGN_OR_RETURN(b.attester, make_tdx_attester(std::move(c)));
    }
    return b;
  }
  return Error{ErrorCode::Internal, "unhandled attester \"" + a.attester + "\""};
}

// attest_remote has the Verifier appraise Evidence made for one of its
// sessions (the given nonce, or one it draws) and writes the EAR it returns.
Result<void> attest_remote(const AttestArgs& a, Attester& attester, const Bytes& nonce,
                           const std::string& out) {
  ATLS_ASSIGN_OR_RETURN(const auto client, a.verifier.client());
  const NonceLimits lim = nonce_limits(a.attester);
  const std::size_t size = std::clamp<std::size_t>(32, std::max<std::size_t>(lim.min, 8),
                                                   std::min<std::size_t>(lim.max, 64));
  ATLS_ASSIGN_OR_RETURN(const remote::Session session,
                        client->new_session(remote::kBindingNonce, {}, size, nonce));
  AttestationRequest req;
  req.nonce = session.nonce;
  ATLS_ASSIGN_OR_RETURN(const Evidence evidence, attester.attest(req));
  ATLS_ASSIGN_OR_RETURN(const std::string ear, client->submit(session, evidence.cmw));
  ATLS_TRY(write_output(out, to_bytes(ear + "\n")));
  if (out != "-") {
    std::cerr << "atls attest: " << client->url() << " appraised " << evidence.cmw.size()
              << " bytes of " << attester.media_type() << " evidence; wrote its EAR to " << out
              << "\n";
  }
  return ok();
}

void run_attest(AttestArgs& a, const CLI::App& cmd) {
  for (const auto* opt : cmd.get_options()) {
    if (opt->count() > 0) {
      a.given.push_back(opt->get_name());
    }
  }
  if (a.attester != "software" && a.attester != "tpm2" && a.attester != "sev-snp" &&
      a.attester != "tdx") {
    fail("attest",
         Error{ErrorCode::InvalidArgument,
               a.attester.empty()
                   ? "--attester is required (software, tpm2, sev-snp or tdx)"
                   : "--attester: \"" + a.attester + "\"; use software, tpm2, sev-snp or tdx"});
    return;
  }
  if (a.given_vmpl() && (a.vmpl < 0 || a.vmpl > 3)) {
    fail("attest", Error{ErrorCode::InvalidArgument, "--vmpl must be 0..3"});
    return;
  }
  if (auto s = check_option_scope(a); !s) {
    fail("attest", s.error());
    return;
  }
  auto nonce = parse_nonce(a);
  if (!nonce) {
    fail("attest", nonce.error());
    return;
  }
  // Decide where the CMW goes before touching any device.
  std::string out = a.out;
  if (out.empty()) {
    if (::isatty(STDOUT_FILENO) != 0) {
      fail("attest", Error{ErrorCode::InvalidArgument,
                           "standard output is a terminal: give --out FILE (or --out - to force)"});
      return;
    }
    out = "-";
  }
  auto built = build_attester(a);
  if (!built) {
    fail("attest", built.error());
    return;
  }
  if (a.verifier.given()) {
    if (auto w = attest_remote(a, *built->attester, *nonce, out); !w) {
      fail("attest", w.error());
    }
    return;
  }
  AttestationRequest req;
  req.nonce = std::move(*nonce);
  auto evidence = built->attester->attest(req);
  if (!evidence) {
    fail("attest", evidence.error());
    return;
  }
  if (auto w = write_output(out, evidence->cmw); !w) {
    fail("attest", w.error());
    return;
  }
  if (!built->public_key_pem.empty()) {
    if (!a.pubkey_out.empty()) {
      if (auto w = write_output(a.pubkey_out, to_bytes(built->public_key_pem)); !w) {
        fail("attest", w.error());
        return;
      }
    } else if (built->key_is_new) {
      std::cerr << (a.attester == "tpm2"
                        ? "AK public key (pin it with atls verify --trust):\n"
                        : "signing public key (pin it with atls verify --trust):\n")
                << built->public_key_pem;
    }
  }
  if (out != "-") {
    std::cerr << "atls attest: wrote " << evidence->cmw.size() << " bytes of "
              << built->attester->media_type() << " evidence to " << out << "\n";
  }
}

}  // namespace

void register_attest(CLI::App& app) {
  auto a = std::make_shared<AttestArgs>();
  auto* cmd = app.add_subcommand(
      "attest",
      "Produce Evidence for a nonce and write it as a CBOR CMW.\n"
      "Output goes to --out FILE; without --out it goes to standard output, unless that is a\n"
      "terminal, which is refused (use --out - to force it). The public key to pin in\n"
      "`atls verify --trust` (software signing key, TPM AK) is written to --pubkey-out FILE, or\n"
      "else printed on standard error (software: only for a fresh key).\n"
      "Exit code: 0 evidence written, 1 attester or device failure, 2 usage error.");
  // Required options and ranges are checked in run_attest rather than by
  // CLI11, so that they fail like every other usage error (one line, exit 2).
  cmd->add_option("--attester", a->attester, "software, tpm2, sev-snp or tdx (required)");
  cmd->add_option("--nonce", a->nonce,
                  "Nonce as hex, required (software 8..64 bytes, tpm2 1..1024, sev-snp/tdx 1..64)");
  cmd->add_option("--out", a->out, "Write the CMW here ('-' = standard output)");
  cmd->add_option("--pubkey-out", a->pubkey_out,
                  "software/tpm2: write the PEM public key (signing key or AK) here");
  auto* sw = "software attester";
  cmd->add_option("--key", a->key, "PEM P-256 private key (default: a fresh key)")->group(sw);
  cmd->add_option("--measure", a->measure,
                  "File whose SHA-256 is a measurement; repeatable (default: the atls executable)")
      ->allow_extra_args(false)
      ->group(sw);
  cmd->add_option("--machine-id-file", a->machine_id_file,
                  "File that identifies the machine (ueid)")
      ->capture_default_str()
      ->group(sw);
  auto* tpm = "tpm2 attester";
  cmd->add_option("--tcti", a->tcti, "tpm2-tss TCTI, e.g. swtpm:host=127.0.0.1,port=2321")
      ->capture_default_str()
      ->group(tpm);
  cmd->add_option("--ak-handle", a->ak_handle,
                  "Persistent handle of the ECC P-256 AK (created there if absent)")
      ->capture_default_str()
      ->group(tpm);
  cmd->add_option("--pcrs", a->pcrs, "SHA-256 PCRs to quote, comma-separated")
      ->capture_default_str()
      ->group(tpm);
  auto* tee = "sev-snp / tdx attesters";
  cmd->add_option("--tsm-path", a->tsm_path, "configfs-tsm report directory")
      ->capture_default_str()
      ->group(tee);
  cmd->add_option("--vmpl", a->vmpl, "sev-snp: VMPL to request (0..3; default: the kernel's)")
      ->group(tee);
  add_verifier_options(cmd, &a->verifier,
                       "the nonce comes from one of its sessions (or --nonce), the Evidence goes "
                       "to it, and its EAR (a JWT) is written instead of the Evidence");
  cmd->callback([a, cmd] { run_attest(*a, *cmd); });
}

}  // namespace atls::tools
