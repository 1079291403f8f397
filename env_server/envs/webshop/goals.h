#ifndef AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_GOALS_H_
#define AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_GOALS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/environment.h"
#include "env_server/envs/webshop/catalog.h"

namespace agentgym::env::webshop {

// What the shopper is asked to buy: a product type with some attributes, one
// value per option dimension and a price cap, drawn from a real product (so
// at least one product satisfies it).
struct Goal {
  int category = 0;
  int type = 0;
  std::vector<int> attributes;  // sorted indices into the type's attributes
  std::vector<int> options;     // per dimension of the type: the wanted value index
  int64_t price_cap_cents = 0;
  int target = -1;  // the product the goal was drawn from
  std::string instruction;
  std::string query;  // what the oracle searches for
};

// How many products a search shows at most, and per results page.
constexpr int kMaxResults = 50;
constexpr int kResultsPerPage = 10;

// Every goal of one category, per split. Goals are drawn from one
// deterministic stream of candidates (a random product of the category, 1-3
// of its attributes, one offered value per option dimension, a price cap
// 0-60% above its price); a candidate goes to the test split iff
// GoalFingerprint % 10 == 0, duplicates are dropped, and only candidates whose
// oracle query finds a satisfying product within kMaxResults are kept. So no
// goal is in both splits or twice in one, and every goal is solvable.
struct GoalSet {
  std::vector<Goal> train;
  std::vector<Goal> test;
};

// INTERNAL if the category cannot supply that many distinct goals.
absl::StatusOr<GoalSet> BuildGoals(const Catalog& catalog, int category, int64_t train_count,
                                   int64_t test_count);

// Hash of the canonical goal (type, attributes, options, price cap); the
// instruction's wording is not part of it.
uint64_t GoalFingerprint(const Goal& goal);

// What was bought: a product and the value picked per option dimension of its
// type (-1 where none was picked).
struct Purchase {
  int product = -1;
  std::vector<int> selected;
};

// WebShop's reward: r_type * (matched attributes + matched options +
// [price <= cap]) / (|attributes| + |options| + 1), with r_type 1 for the
// goal's product type, 0.5 for another type of its category, 0 otherwise.
// Attributes and options compare by their text, so a product of another type
// still earns what it shares. success = reward is 1.
struct RewardBreakdown {
  double type_match = 0.0;
  int attributes_matched = 0;
  int options_matched = 0;
  bool price_ok = false;
  double reward = 0.0;
  bool success = false;
};
RewardBreakdown ScorePurchase(const Catalog& catalog, const Goal& goal, const Purchase& purchase);

// True when buying `product` with the right options would earn reward 1.
bool Satisfies(const Catalog& catalog, const Goal& goal, int product);

}  // namespace agentgym::env::webshop

#endif  // AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_GOALS_H_
