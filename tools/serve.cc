// `atls serve` (to be written).

#include "tools/commands.h"

namespace atls::tools {

void register_serve(CLI::App& /*app*/) {}

}  // namespace atls::tools
