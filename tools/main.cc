// The atls command.

#include "tools/commands.h"

#include "src/core/defaults.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  // tpm2-tss writes its own warnings on stderr, between our (JSON) lines;
  // our errors already name the TSS return code. TSS2_LOG set by the user
  // wins.
  ::setenv("TSS2_LOG", "all+NONE", 0);
  CLI::App app{"atls: attested TLS 1.3 (remote attestation bound to TLS)", "atls"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(atls::internal::kBuildString));
  atls::tools::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version succeed; every other parse error is a usage
    // error, exit code 2 like the commands' own argument checks.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return atls::tools::exit_code();
}
