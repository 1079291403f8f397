#ifndef AGENTGYM_LAUNCHER_EVAL_TASK_TYPES_H_
#define AGENTGYM_LAUNCHER_EVAL_TASK_TYPES_H_

// Restricting an eval to some task types (the maze env's open4 among its
// 3,000 large-maze test tasks) needs actor::EvalOptions::task_types
// (ListTasksRequest.task_type per type). Detected at compile time so the
// launcher builds against an actor library with or without it.

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "actor/eval.h"

namespace agentgym::launcher {

template <typename T, typename = void>
struct HasTaskTypes : std::false_type {};
template <typename T>
struct HasTaskTypes<T, std::void_t<decltype(std::declval<T&>().task_types)>> : std::true_type {};

// FAILED_PRECONDITION when `types` is not empty and the eval library cannot
// restrict to task types.
template <typename Options = actor::EvalOptions>
absl::Status SetEvalTaskTypes(Options& options, const std::vector<std::string>& types) {
  if (types.empty()) return absl::OkStatus();
  if constexpr (HasTaskTypes<Options>::value) {
    options.task_types = types;
    return absl::OkStatus();
  } else {
    return absl::FailedPreconditionError(
        "this build's actor::EvalOptions has no task_types, so the eval cannot be limited to "
        "task types " + absl::StrJoin(types, ","));
  }
}

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_EVAL_TASK_TYPES_H_
