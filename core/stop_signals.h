#ifndef AGENTGYM_CORE_STOP_SIGNALS_H_
#define AGENTGYM_CORE_STOP_SIGNALS_H_

// SIGINT and SIGTERM for a binary that stops cleanly (finish the step,
// checkpoint, flush): InstallStopSignals() blocks them in the calling thread
// (threads started after it inherit the mask) AND installs a handler that
// records them. Blocking alone is not enough: threads that a library starts
// before main (OpenBLAS's pool) keep them unblocked, and a signal delivered
// there would kill the process with the default action (exit 143, no
// checkpoint). WaitForStopSignal() returns the signal received, whichever
// way it arrived.
//
// Thread-safety: InstallStopSignals once, first thing in main; then
// WaitForStopSignal from one watcher thread.

#include "absl/time/time.h"

namespace agentgym {

void InstallStopSignals();

// The next SIGINT/SIGTERM (its number), or 0 if none came within `timeout`.
int WaitForStopSignal(absl::Duration timeout);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_STOP_SIGNALS_H_
