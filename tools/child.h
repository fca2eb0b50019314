#pragma once

// Stopping a child process the tools started (swtpm, the Verifier service).

#include <sys/types.h>

namespace atls::tools {

// stop_child sends SIGTERM to |pid|, waits up to 5 s for it to exit, then
// sends SIGKILL, and reaps it.
void stop_child(pid_t pid);

}  // namespace atls::tools
