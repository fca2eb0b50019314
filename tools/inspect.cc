#include "tools/commands.h"

namespace atls::tools {

void register_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Decode a CMW, EAT, COSE_Sign1, JWT/EAR or X.509 file");
  cmd->callback([] { set_exit_code(2); });
}

}  // namespace atls::tools
