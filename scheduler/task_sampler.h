#ifndef AGENTGYM_SCHEDULER_TASK_SAMPLER_H_
#define AGENTGYM_SCHEDULER_TASK_SAMPLER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/det_random.h"

namespace agentgym::scheduler {

// One train-split task of an env, as the Env contract names it.
struct EnvTask {
  std::string task_id;
  std::string task_type;
  // The fewest turns the task needs, where the env knows it (TaskRef.min_turns);
  // 0 = unknown. Solvability-aware curriculum stages use it.
  int32_t min_turns = 0;
};

// True for ids of the built-in form "<type>/test/<index>" (env_server/task_ids.h),
// which name test-split tasks. Other id forms cannot be told apart by looking.
bool IsTestSplitTaskId(absl::string_view task_id);

// A configured env: its sampling weight and, optionally, its task list (when
// empty the coordinator fetches it from an env server with ListTasks).
struct EnvSpec {
  std::string name;
  double weight = 1.0;
  std::vector<EnvTask> tasks;
  // `envs[i].task_types`: when not empty, only tasks of these types are taken
  // from the env server's train list (FilterByTaskTypes).
  std::vector<std::string> task_types;
};

// The tasks of `tasks` whose type is in `types` (all of them when `types` is
// empty). `missing` (may be null) gets the types in `types` that no task has.
std::vector<EnvTask> FilterByTaskTypes(std::vector<EnvTask> tasks,
                                       const std::vector<std::string>& types,
                                       std::vector<std::string>* missing);

struct SamplerOptions {
  uint64_t seed = 0;
  // false: within one epoch of an env, no task is handed out twice (the epoch
  // ends when every task was drawn once; then the order is reshuffled).
  bool allow_repeats = false;
  // false: members of a group share the env seed (GRPO/RLOO compare rollouts
  // of the same episode); true: each member gets its own seed.
  bool distinct_seeds_in_group = false;
};

struct SampledGroup {
  std::string group_id;
  std::string env;
  EnvTask task;
  std::vector<uint64_t> seeds;  // one per member
  int64_t epoch = 0;
};

// Draws groups of tasks: the env by weight (renormalised over the envs the
// caller allows and that have tasks), then the next task of that env's epoch.
// Deterministic for a given seed and call sequence. Not thread-safe: the
// coordinator service serialises calls.
class TaskSampler {
 public:
  // INVALID_ARGUMENT: no envs, duplicate or empty names, weights not finite
  // and > 0.
  static absl::StatusOr<TaskSampler> Create(std::vector<EnvSpec> envs, SamplerOptions options);

  // Replaces the task list of a configured env (e.g. fetched from a server).
  // NOT_FOUND for an env not in the config; INVALID_ARGUMENT for an empty
  // list or an empty task id.
  absl::Status SetTasks(const std::string& env, std::vector<EnvTask> tasks);
  bool HasTasks(const std::string& env) const;
  // The env's task list (empty for an unknown env or one without tasks).
  std::vector<EnvTask> TasksOf(const std::string& env) const;
  // The env's configured `task_types` filter (empty: every type).
  std::vector<std::string> TaskTypesOf(const std::string& env) const;
  bool Knows(const std::string& env) const { return envs_.count(env) > 0; }
  std::vector<std::string> EnvNames() const;

  // `num_groups` groups of `group_size` members each, from envs in `allowed`.
  // UNAVAILABLE when no allowed env has tasks; INVALID_ARGUMENT for counts
  // <= 0.
  // `fit_turns` (may be null): env -> the most min_turns a task may need to be
  // handed out (solvability-aware stages); tasks of unknown length (0) always
  // fit, and an env none of whose tasks fits uses them all rather than none.
  // Tasks left out are skipped in the epoch, not lost: a later epoch at a
  // longer horizon hands them out.
  absl::StatusOr<std::vector<SampledGroup>> Sample(
      int32_t num_groups, int32_t group_size, const std::set<std::string>& allowed,
      const std::map<std::string, int32_t>* fit_turns = nullptr);

  // Tasks of `env` with min_turns in 1..fit_turns, and those of unknown length.
  struct FitCount {
    int64_t fitting = 0;  // known length, fits
    int64_t unknown = 0;  // min_turns 0
  };
  FitCount CountFitting(const std::string& env, int32_t fit_turns) const;

  int64_t epoch(const std::string& env) const;
  int64_t groups_drawn() const { return next_group_; }

 private:
  struct EnvState {
    EnvSpec spec;
    std::vector<size_t> order;  // a permutation of spec.tasks for this epoch
    size_t cursor = 0;
    int64_t epoch = 0;
  };

  TaskSampler(std::map<std::string, EnvState> envs, SamplerOptions options);
  void Reshuffle(EnvState& env);

  std::map<std::string, EnvState> envs_;
  SamplerOptions options_;
  DetRng rng_;
  std::string run_nonce_;  // keeps group ids unique across coordinator restarts
  int64_t next_group_ = 0;
};

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_TASK_SAMPLER_H_
