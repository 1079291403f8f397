#ifndef AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_PLANNER_H_
#define AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_PLANNER_H_

// The oracle's planner: the action sequence that obtains one goal item from a
// given inventory, reading the hidden recipe graph.
//
// Gets come first (one per base item, in the order they are first needed),
// then crafts in dependency order. Each item uses the usable recipe (see
// RecipeWorld::IsUsable) whose missing ingredients cost least, and each tag
// the member already held in enough quantity, else the cheapest member, so
// the plan is shortest whenever every item has a single recipe (as in the
// synthetic world) and a greedy shortest plan otherwise. Items already in the
// inventory are used first, so it works from any state. Stateless and
// thread-safe; cost is linear in the plan length.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "env_server/envs/textcraft/recipe_world.h"

namespace agentgym::env::textcraft {

// (item index, count) in insertion order, as AgentGym's inventory dict.
using Inventory = std::vector<std::pair<int, int64_t>>;

struct PlanStep {
  enum class Kind { kGet, kCraft };
  Kind kind = Kind::kGet;
  int item = -1;          // what is fetched or crafted
  int64_t count = 0;      // get: how many; craft: the recipe's output count
  int recipe = -1;        // craft only
  std::vector<int> uses;  // craft only: the item used for each recipe input
};

struct Plan {
  std::vector<PlanStep> steps;
  bool complete = true;  // false when the plan hit kMaxPlanSteps
};

inline constexpr size_t kMaxPlanSteps = 4096;

// Plans one unit of `goal`; an empty plan when the inventory already holds it.
// `max_get` caps the count of one get action (larger needs are split).
Plan PlanToObtain(const RecipeWorld& world, const Inventory& inventory, int goal,
                  int64_t max_get);

// The action text for a step, in AgentGym's format:
// "get 2 oak log" / "craft 4 oak planks using 1 oak log".
std::string StepText(const RecipeWorld& world, const PlanStep& step);

}  // namespace agentgym::env::textcraft

#endif  // AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_PLANNER_H_
