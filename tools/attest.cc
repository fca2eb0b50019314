// `atls attest` (to be written).

#include "tools/commands.h"

namespace atls::tools {

void register_attest(CLI::App& /*app*/) {}

}  // namespace atls::tools
