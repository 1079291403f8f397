#ifndef AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_WEBSHOP_ENV_H_
#define AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_WEBSHOP_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/environment.h"
#include "env_server/envs/webshop/catalog.h"
#include "env_server/envs/webshop/goals.h"

namespace agentgym::env::webshop {

struct WebShopOptions {
  int max_turns = 20;  // the env's own truncation limit
  uint64_t catalog_seed = 20220701;
  int products_per_type = 100;
};

// Parses `webshop.<key>=<value>` options: max_turns, catalog_seed,
// products_per_type. INVALID_ARGUMENT names a bad or unknown key.
absl::StatusOr<WebShopOptions> ParseWebShopOptions(const EnvOptions& options);

// Built once, then read-only; shared by the env and every episode.
struct WebShopWorld {
  WebShopOptions options;
  std::unique_ptr<const Catalog> catalog;
  std::vector<GoalSet> goals;  // by category index
};

// The "webshop" env: a generated shop (five WebShop categories, four product
// types each, attributes, options, prices) browsed through text pages, as in
// WebShop's text mode: search[query] on the search page, click[button] on the
// others. The task key picks the goal (see BuildGoals: every goal is generated
// once, in Create); the seed is not used.
// Immutable after Create; NewEpisode is thread-safe.
class WebShopEnv : public Environment {
 public:
  static absl::StatusOr<std::unique_ptr<Environment>> Create(const EnvOptions& options);

  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;

  // The goal behind a key (for split tests and the docs).
  absl::StatusOr<const Goal*> GoalFor(const TaskKey& key) const;
  const WebShopWorld& world() const { return *world_; }

  static constexpr int64_t kTrainGoals = 2000;
  static constexpr int64_t kTestGoals = 200;
  static constexpr int kRecommendedMaxTurns = 15;

 private:
  explicit WebShopEnv(std::shared_ptr<const WebShopWorld> world);
  std::shared_ptr<const WebShopWorld> world_;
  EnvDescription description_;
};

// One shopping session. Defined in webshop_episode.cc.
// `goal` is owned by `world`.
std::unique_ptr<Episode> NewWebShopEpisode(std::shared_ptr<const WebShopWorld> world,
                                           const Goal* goal);

}  // namespace agentgym::env::webshop

#endif  // AGENTGYM_ENV_SERVER_ENVS_WEBSHOP_WEBSHOP_ENV_H_
