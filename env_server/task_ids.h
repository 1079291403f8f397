#ifndef AGENTGYM_ENV_SERVER_TASK_IDS_H_
#define AGENTGYM_ENV_SERVER_TASK_IDS_H_

// Task ids are "<type>/<split>/<index>" (e.g. "depth2/train/17"). Clients treat
// them as opaque; the framework is the only place that forms or parses them.

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "env_server/environment.h"

namespace agentgym::env {

std::string FormatTaskId(const TaskKey& key);

// NOT_FOUND (naming the id and what is valid) when `id` does not name a task
// of `env`: malformed, unknown type or split, index out of range.
absl::StatusOr<TaskKey> ParseTaskId(absl::string_view id, const EnvDescription& env);

// Tasks of `type` in `split`; 0 when the type is unknown.
int64_t TaskCount(const EnvDescription& env, absl::string_view type, Split split);

// Picks a task deterministically from (split, type, seed): a type is chosen in
// proportion to its task count (when `type` is empty), then an index uniformly.
// NOT_FOUND for an unknown type; FAILED_PRECONDITION when the split is empty.
absl::StatusOr<TaskKey> SampleTask(const EnvDescription& env, Split split,
                                   absl::string_view type, uint64_t seed);

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_TASK_IDS_H_
