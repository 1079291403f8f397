#ifndef AGENTGYM_ENV_SERVER_ENVS_BABYAI_BABYAI_ENV_H_
#define AGENTGYM_ENV_SERVER_ENVS_BABYAI_BABYAI_ENV_H_

// The built-in "babyai" environment: a text gridworld mirroring AgentGym's
// BabyAI wrapper (partial 7x7 view rendered as text, high-level actions such
// as "go to red ball 1", BabyAI's reward). Registered as "babyai".

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "env_server/environment.h"
#include "env_server/envs/babyai/levels.h"
#include "env_server/envs/babyai/mission.h"
#include "env_server/envs/babyai/view.h"
#include "env_server/envs/babyai/world.h"

namespace agentgym::env::babyai {

// Lower-cases, trims, drops an "Action:" prefix, squeezes inner whitespace
// and a trailing period; maps "pickup X" to "pick up X".
std::string NormalizeAction(std::string_view raw);

// One episode: owns its world; not thread-safe (the framework serializes).
class BabyAIEpisode : public Episode {
 public:
  BabyAIEpisode(World world, Mission mission, int max_turns);

  absl::StatusOr<StepOutcome> Step(std::string_view action) override;
  std::optional<std::string> OracleAction() const override;
  size_t ApproxBytes() const override;

  // The first observation (description and the offered actions).
  std::string Observation() const;
  const World& world() const { return world_; }
  const Mission& mission() const { return mission_; }

 private:
  World world_;
  Mission mission_;
  View view_;
  int max_turns_;
  int turns_ = 0;
  bool over_ = false;
  bool success_ = false;
  double progress_ = 0.0;
};

// Thread-safe. A task's layout depends on its id alone, and generating one
// runs the oracle to reject unsolvable layouts (most of a Create's cost), so
// generated tasks are kept: every rollout of a task id (a GRPO group, a new
// episode of the same task) copies the kept one. The cache is bounded by the
// fixed number of task ids (2,700, a few KiB each).
class BabyAIEnv : public Environment {
 public:
  static absl::StatusOr<std::unique_ptr<Environment>> Create(const EnvOptions& options);

  BabyAIEnv();
  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;

  // The layout seed of a task: train and test indices map to disjoint seeds.
  static uint64_t LayoutSeed(const TaskKey& key);

 private:
  // The task of `key` (already range-checked), generated on first use.
  absl::StatusOr<std::shared_ptr<const Task>> FindOrGenerate(const LevelSpec& spec,
                                                             const TaskKey& key) const;

  EnvDescription description_;
  mutable absl::Mutex mu_;
  // Key: FormatTaskId-style "type/split/index". Shared with in-flight
  // NewEpisode calls copying the task.
  mutable absl::flat_hash_map<std::string, std::shared_ptr<const Task>> tasks_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgym::env::babyai

#endif  // AGENTGYM_ENV_SERVER_ENVS_BABYAI_BABYAI_ENV_H_
