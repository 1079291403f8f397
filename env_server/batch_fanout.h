#ifndef AGENTGYM_ENV_SERVER_BATCH_FANOUT_H_
#define AGENTGYM_ENV_SERVER_BATCH_FANOUT_H_

// Runs the items of one Batch* request concurrently, for envs whose steps wait
// on something outside the process (the HTTP bridge, an external retriever):
// one slow or dead upstream then costs its own items their deadline, not the
// whole batch. Items that share a key (the same session) still run one after
// another, in request order.

#include <cstddef>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace agentgym::env {

// Calls run(i) exactly once for every i in [0, keys.size()). Items with equal
// keys run in increasing i on one thread; distinct keys run on up to
// `max_threads` threads (the caller's among them). Returns when every call
// has returned. `run` must be safe to call concurrently for distinct keys.
void RunGroupedConcurrently(const std::vector<absl::string_view>& keys, int max_threads,
                            absl::FunctionRef<void(size_t)> run);

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_BATCH_FANOUT_H_
