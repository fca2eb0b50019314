#pragma once

// Each subcommand lives in its own file and registers itself here.

#include <CLI/CLI.hpp>

namespace atls::tools {

// register_commands adds every subcommand to |app|.
void register_commands(CLI::App& app);

// The exit code chosen by the subcommand that ran.
int exit_code();
void set_exit_code(int code);

void register_inspect(CLI::App& app);   // tools/inspect.cc
void register_attest(CLI::App& app);    // tools/attest.cc
void register_verify(CLI::App& app);    // tools/verify.cc
void register_serve(CLI::App& app);     // tools/serve.cc
void register_gateway(CLI::App& app);   // tools/serve.cc
void register_connect(CLI::App& app);   // tools/connect.cc
void register_demo(CLI::App& app);      // tools/demo.cc
void register_verifier(CLI::App& app);  // tools/verifier.cc

}  // namespace atls::tools
