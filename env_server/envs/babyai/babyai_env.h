#ifndef AGENTGYM_ENV_SERVER_ENVS_BABYAI_BABYAI_ENV_H_
#define AGENTGYM_ENV_SERVER_ENVS_BABYAI_BABYAI_ENV_H_

// The built-in "babyai" environment: a text gridworld mirroring AgentGym's
// BabyAI wrapper (partial 7x7 view rendered as text, high-level actions such
// as "go to red ball 1", BabyAI's reward). Registered as "babyai".

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
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

// Stateless apart from its description; NewEpisode is thread-safe.
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
  EnvDescription description_;
};

}  // namespace agentgym::env::babyai

#endif  // AGENTGYM_ENV_SERVER_ENVS_BABYAI_BABYAI_ENV_H_
