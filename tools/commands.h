#pragma once

// Each subcommand lives in its own file and registers itself here.

#include <CLI/CLI.hpp>

namespace atls::tools {

// register_commands adds every subcommand to |app|.
void register_commands(CLI::App& app);

// The exit code chosen by the subcommand that ran.
int exit_code();
void set_exit_code(int code);

void register_inspect(CLI::App& app);

}  // namespace atls::tools
