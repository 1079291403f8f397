#ifndef AGENTGYM_ENV_SERVER_ENVS_BABYAI_LEVELS_H_
#define AGENTGYM_ENV_SERVER_ENVS_BABYAI_LEVELS_H_

// Layout generators for the six BabyAI families AgentGym reports (GoTo,
// Pickup, ActionObjDoor, FindObj, OneRoom, SynthLoc), on BabyAI-style room
// grids. Pure functions of a seed (DetRng only), so a task id always names the
// same layout on every platform.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/envs/babyai/mission.h"
#include "env_server/envs/babyai/world.h"

namespace agentgym::env::babyai {

struct LevelSpec {
  const char* name;         // task type name
  const char* description;  // one line
  int64_t train_count;
  int64_t test_count;
  int32_t max_turns;  // episode truncation and recommended_max_turns
};

// The six task types, in a fixed order.
const std::vector<LevelSpec>& LevelSpecs();
const LevelSpec* FindLevel(const std::string& name);

struct Task {
  World world;
  Mission mission;
  int oracle_turns = 0;  // what the oracle needed from the start state
};

// Generates a task of `level` from `layout_seed`. Layouts the oracle cannot
// solve within 2/3 of the level's max turns are redrawn (as BabyAI rejects
// unsolvable ones), so every task is solvable with slack. INTERNAL if no
// layout passes after many draws (a generator bug).
absl::StatusOr<Task> GenerateTask(const LevelSpec& level, uint64_t layout_seed);

}  // namespace agentgym::env::babyai

#endif  // AGENTGYM_ENV_SERVER_ENVS_BABYAI_LEVELS_H_
