// `atls connect` (to be written).

#include "tools/commands.h"

namespace atls::tools {

void register_connect(CLI::App& /*app*/) {}

}  // namespace atls::tools
