#ifndef AGENTGYM_ACTOR_TASK_SOURCE_H_
#define AGENTGYM_ACTOR_TASK_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace agentgym::actor {

// One episode to run: which env task, with which Env.Create seed.
struct EpisodeTask {
  std::string env;
  std::string task_id;
  std::string task_type;
  uint64_t seed = 0;      // the Env.Create seed (shared by a group's members)
  int32_t max_turns = 0;  // horizon at hand-out; 0: ask the engine's horizon hook
  std::string env_server_address;  // a suggestion; "" = any server of the env
};

// Members of one group share env, task and seed (so their prompts are equal
// and the engine prefills the prompt once); each samples with its own seed.
struct TaskGroupSpec {
  std::string group_id;  // "" when ungrouped
  std::vector<EpisodeTask> members;
};

// Where the engine gets its work: the coordinator (training) or a fixed list
// (eval). Called only from the engine's fetch thread, one call at a time.
class TaskSource {
 public:
  virtual ~TaskSource() = default;
  // Up to `max_groups` groups; may block up to its own RPC deadline. An empty
  // answer means "none right now, ask again later" (the engine backs off);
  // OUT_OF_RANGE means the source is exhausted for good; other errors are
  // retried with backoff (logged).
  virtual absl::StatusOr<std::vector<TaskGroupSpec>> Fetch(int max_groups) = 0;
  // The group is finished (sent whole, or dropped after its retries): called
  // on the engine's scheduler thread; must not block.
  virtual void GroupFinished(const std::string& group_id) {}
};

// A fixed list of groups handed out in order, then OUT_OF_RANGE: eval and
// benchmarks, which know every episode up front. Thread-safe.
class ListTaskSource : public TaskSource {
 public:
  explicit ListTaskSource(std::vector<TaskGroupSpec> groups) : groups_(std::move(groups)) {}
  absl::StatusOr<std::vector<TaskGroupSpec>> Fetch(int max_groups) override;

 private:
  absl::Mutex mu_;
  std::vector<TaskGroupSpec> groups_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_TASK_SOURCE_H_
