#include "tools/commands.h"

namespace atls::tools {
namespace {
int g_exit_code = 0;  // set once by the subcommand that ran
}

int exit_code() {
  return g_exit_code;
}
void set_exit_code(int code) {
  g_exit_code = code;
}

void register_commands(CLI::App& app) {
  register_inspect(app);
  register_attest(app);
  register_verify(app);
  register_serve(app);
  register_gateway(app);
  register_connect(app);
  register_demo(app);
  register_verifier(app);
}

}  // namespace atls::tools
