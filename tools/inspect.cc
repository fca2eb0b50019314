// `atls inspect FILE [--json] [--key KEY]`

#include "tools/inspect.h"
#include "tools/commands.h"
#include "tools/common.h"

#include <cstdio>
#include <iostream>

namespace atls::tools {

void register_inspect(CLI::App& app) {
  struct Args {
    std::string file;
    std::string key;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "inspect",
      "Decode a CMW (JSON/CBOR/tag/collection), COSE_Sign1/EAT, JWT/EAR or X.509 certificate\n"
      "(PEM or DER, with its CMW extension) and print its structure.");
  cmd->add_option("file", args->file, "File to inspect ('-' for standard input)")->required();
  cmd->add_flag("--json", args->json, "Print JSON instead of a readable tree");
  cmd->add_option("--key", args->key,
                  "Public key or certificate (PEM/DER) to verify a COSE_Sign1 or JWS signature");
  cmd->callback([args] {
    auto data = read_input(args->file);
    if (!data) {
      fail("inspect", data.error());
      return;
    }
    InspectOptions opts;
    if (!args->key.empty()) {
      auto key = read_input(args->key);
      if (!key) {
        fail("inspect", key.error());
        return;
      }
      opts.verify_key = std::move(*key);
    }
    auto r = inspect_bytes(*data, opts);
    if (!r) {
      fail("inspect", r.error(), args->file);
      return;
    }
    if (args->json) {
      std::cout << r->dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    } else {
      std::cout << render_tree(*r);
    }
    if (r->contains("verified") && !(*r)["verified"].get<bool>()) {
      set_exit_code(1);
    }
  });
}

}  // namespace atls::tools
