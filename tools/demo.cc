// `atls demo`: a tour of what atls reads. Until the attested-TLS demo lands it
// decodes a few real evidence and result files from the shared vectors and
// prints what they are.

#include "tools/commands.h"
#include "tools/common.h"
#include "tools/inspect.h"

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace atls::tools {
namespace {

struct DemoArgs {
  std::string vectors = "../shared/vectors";
};

// One line per file: what it is and the fields a reader cares about first.
std::string summarize(const nlohmann::ordered_json& j) {
  std::string out = j.value("format", std::string("?"));
  for (const char* key : {"serialization", "kind", "profile", "status", "subject"}) {
    if (j.contains(key) && j[key].is_string()) {
      out += std::string(", ") + key + " " + j[key].get<std::string>();
    }
  }
  if (j.contains("entries") && j["entries"].is_object()) {
    out += ", " + std::to_string(j["entries"].size()) + " entries";
  }
  return out;
}

void run_demo(const DemoArgs& a) {
  const std::vector<std::string> files = {
      "cmw/veraison_cmw_collection-cbor-ok.cbor",
      "cmw/veraison_cmw_collection-ok.json",
      "cmw/veraison_cmw_x509-cert+cbor-cmw.der",
      "ear/veraison_ear_testJWT.jwt",
      "ear/veraison_ear_testRealmJWT.jwt",
      "ear/veraison_ear_bad_alg_none.jwt",
      "psa/psatoken_tfm_psa-2_0_0_sign1.bin",
  };
  if (!std::filesystem::is_directory(a.vectors)) {
    fail("demo", Error{ErrorCode::FileNotFound, a.vectors + ": no vectors folder (use --vectors DIR)"});
    return;
  }
  std::cout << "atls demo: decoding real evidence and results from " << a.vectors << "\n\n";
  int decoded = 0;
  for (const auto& f : files) {
    const std::string path = a.vectors + "/" + f;
    auto data = read_input(path);
    if (!data) {
      std::cout << "  " << f << ": " << data.error().name() << "\n";
      continue;
    }
    auto r = inspect_bytes(*data, {});
    if (!r) {
      // A rejected file is part of the tour: it shows the specific error.
      std::cout << "  " << f << ": rejected: " << r.error().name() << " (" << r.error().to_string()
                << ")\n";
      continue;
    }
    ++decoded;
    std::cout << "  " << f << ": " << summarize(*r) << "\n";
  }
  std::cout << "\n" << decoded << " of " << files.size()
            << " files decoded; `atls inspect FILE` prints any of them in full.\n";
}

}  // namespace

void register_demo(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand("demo", "Show atls at work on this machine");
  cmd->add_option("--vectors", a->vectors, "Folder of shared test vectors")->capture_default_str();
  cmd->callback([a] { run_demo(*a); });
}

}  // namespace atls::tools
