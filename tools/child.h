#pragma once

// Stopping a child process the tools started (swtpm, the Verifier service),
// and the CPU time it used.

#include <sys/types.h>

namespace atls::tools {

// stop_child sends SIGTERM to |pid|, waits up to 5 s for it to exit, then
// sends SIGKILL, and reaps it.
void stop_child(pid_t pid);

// child_cpu_seconds is the CPU time |pid| used so far, all its threads,
// user + system (from /proc; clock-tick resolution), or -1 when unknown.
double child_cpu_seconds(pid_t pid);

}  // namespace atls::tools
