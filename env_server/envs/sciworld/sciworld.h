#ifndef AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_H_
#define AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "env_server/environment.h"
#include "env_server/envs/sciworld/sciworld_tasks.h"

namespace agentgym::env::sciworld {

// The "sciworld" env: a small ScienceWorld-like lab (six rooms, a stove, a
// freezer, a thermometer, a battery / wires / light bulb circuit kit,
// organisms, substances that melt and boil, chemistry recipes) with the five
// task types AgentGym reports (measure, test_conductivity, find, chem_mix,
// lifespan). Scores are sub-goal points / 100; a wrong `focus on` ends the
// episode with failure. The task key picks the variation (disjoint between
// splits, see TaskCatalog); the seed picks the start room and distractors.
// Immutable after Create; NewEpisode is thread-safe.
class SciWorldEnv : public Environment {
 public:
  static absl::StatusOr<std::unique_ptr<SciWorldEnv>> Create(const EnvOptions& options);

  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;

  // The variation behind a task key (for split tests and the docs).
  absl::StatusOr<std::string> VariationOf(const TaskKey& key) const;

  // Steps after which an episode is truncated, whatever the type.
  static constexpr int kMaxSteps = 100;

 private:
  SciWorldEnv();
  absl::StatusOr<std::pair<TaskType, uint32_t>> Lookup(const TaskKey& key) const;

  TaskCatalog catalog_;
  EnvDescription description_;
};

}  // namespace agentgym::env::sciworld

#endif  // AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_H_
