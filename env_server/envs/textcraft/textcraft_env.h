#ifndef AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_TEXTCRAFT_ENV_H_
#define AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_TEXTCRAFT_ENV_H_

// TextCraft: Minecraft-style crafting over a recipe graph, mirroring
// AgentGym's TextCraft (agentenv-textcraft). See docs/envs/textcraft.md.
//
// Task types depth1..depth4: craft one item whose crafting depth is 1..4.
// The goal items of a tier are split once into disjoint train and test sets
// (by a hash of the item id), and task index i of a split is its i-th goal,
// so train and test never share a goal. The seed picks the distractor
// recipes and the order of the recipe lines.
//
// Thread-safety: the env and its recipe world are immutable after Create; an
// episode is used by one session at a time (the framework serializes calls).
// Ownership: episodes share the world through a shared_ptr, so they stay
// valid even if the env is destroyed first.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/environment.h"
#include "env_server/envs/textcraft/action_parser.h"
#include "env_server/envs/textcraft/planner.h"
#include "env_server/envs/textcraft/recipe_world.h"

namespace agentgym::env::textcraft {

inline constexpr int64_t kMaxGetCount = 1000;        // per get action
inline constexpr int64_t kMaxStack = 1000000;        // per inventory entry
inline constexpr size_t kMaxInventoryEntries = 256;  // distinct items held
inline constexpr size_t kMaxDistractors = 10;        // as AgentGym
inline constexpr size_t kMaxRelevantLines = 30;      // recipe lines of the goal's tree

class TextCraftEnv : public Environment {
 public:
  // Options: "recipes_dir" (optional): a directory of Minecraft recipe JSON
  // to play on instead of the built-in synthetic world. INVALID_ARGUMENT for
  // an unknown option, an unreadable/malformed recipe file (named), or a
  // world with no craftable item of depth 1..4.
  static absl::StatusOr<std::unique_ptr<Environment>> Create(const EnvOptions& options);

  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;

  const RecipeWorld& world() const { return *world_; }
  // The goal item of a task, or -1 for an unknown type / index.
  int GoalOf(const TaskKey& key) const;
  // Truncation limit of episodes of a type (0 for an unknown type).
  int MaxTurnsOf(const std::string& type) const;

 private:
  struct Tier {
    int depth = 0;
    std::vector<int> train;  // goal items
    std::vector<int> test;
    int max_turns = 0;  // the env's own truncation limit
  };

  TextCraftEnv(std::shared_ptr<const RecipeWorld> world, std::string source);
  const Tier* FindTier(const std::string& type) const;

  std::shared_ptr<const RecipeWorld> world_;
  std::vector<Tier> tiers_;
  EnvDescription description_;
};

// One episode: the inventory, the goal and progress. Not thread-safe (the
// framework serializes calls); memory is bounded by kMaxInventoryEntries and
// the size of the goal's crafting tree.
class TextCraftEpisode : public Episode {
 public:
  TextCraftEpisode(std::shared_ptr<const RecipeWorld> world, int goal, int max_turns,
                   std::vector<int> needed);

  absl::StatusOr<StepOutcome> Step(std::string_view action) override;
  std::optional<std::string> OracleAction() const override;
  size_t ApproxBytes() const override;

  const Inventory& inventory() const { return inventory_; }
  int64_t Count(int item) const;

 private:
  std::string DoGet(const std::string& name, int64_t count, bool* valid);
  std::string DoCraft(const ParsedAction& a, bool* valid);
  std::string DoInventory() const;
  bool Add(int item, int64_t count);  // false when the caps refuse it
  double Score() const;

  std::shared_ptr<const RecipeWorld> world_;
  int goal_;
  int max_turns_;
  int turns_ = 0;
  bool over_ = false;
  bool success_ = false;
  Inventory inventory_;
  std::vector<int> needed_;      // items the initial plan crafts (score)
  std::vector<bool> crafted_;    // parallel to needed_
};

}  // namespace agentgym::env::textcraft

#endif  // AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_TEXTCRAFT_ENV_H_
