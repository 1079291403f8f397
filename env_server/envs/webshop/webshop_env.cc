#include "env_server/envs/webshop/webshop_env.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "env_server/env_registry.h"
#include "env_server/envs/webshop/pages.h"

namespace agentgym::env::webshop {
namespace {

constexpr const char* kActionFormat =
    "One action per turn: search[query] on the search page, click[button] elsewhere, where "
    "button is any [label] on the page: a product id (click[B0AB12CD34]), an option value "
    "(click[large]), click[Description], click[Features], click[Reviews], click[Buy Now], "
    "click[< Prev], click[Next >], click[Back to Search]. An optional \"Action:\" prefix is "
    "accepted.";

absl::Status ParseInt(const EnvOptions& options, const std::string& key, int lo, int hi,
                      int* out) {
  auto it = options.find(key);
  if (it == options.end()) return absl::OkStatus();
  if (!absl::SimpleAtoi(it->second, out) || *out < lo || *out > hi) {
    return absl::InvalidArgumentError(absl::StrCat("webshop.", key, " must be an integer in [",
                                                   lo, ", ", hi, "], got '", it->second, "'"));
  }
  return absl::OkStatus();
}

int CategoryIndex(const std::string& name) {
  const auto& specs = CategorySpecs();
  for (size_t c = 0; c < specs.size(); ++c) {
    if (name == specs[c].name) return static_cast<int>(c);
  }
  return -1;
}

}  // namespace

absl::StatusOr<WebShopOptions> ParseWebShopOptions(const EnvOptions& options) {
  static const char* kKnown[] = {"max_turns", "catalog_seed", "products_per_type"};
  for (const auto& [key, value] : options) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown webshop option '", key,
                                                     "'; known: ", absl::StrJoin(kKnown, ", ")));
    }
  }
  WebShopOptions o;
  AG_RETURN_IF_ERROR(ParseInt(options, "max_turns", 1, 1000, &o.max_turns));
  // At least 10 products per type, so every goal has rivals to tell apart.
  AG_RETURN_IF_ERROR(ParseInt(options, "products_per_type", 10, 5000, &o.products_per_type));
  if (auto it = options.find("catalog_seed"); it != options.end()) {
    if (!absl::SimpleAtoi(it->second, &o.catalog_seed)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "webshop.catalog_seed must be an unsigned integer, got '", it->second, "'"));
    }
  }
  return o;
}

WebShopEnv::WebShopEnv(std::shared_ptr<const WebShopWorld> world) : world_(std::move(world)) {
  description_.name = "webshop";
  description_.description = absl::StrCat(
      "Simulated web shop: find and buy the product an instruction asks for (attributes, "
      "options, price cap) among ",
      world_->catalog->products().size(),
      " generated products, through text pages (search results, product pages, options).");
  description_.action_format = kActionFormat;
  description_.mirrors = "AgentGym WebShop (Yao et al. 2022, text mode)";
  description_.recommended_max_turns = kRecommendedMaxTurns;
  for (const CategorySpec& c : CategorySpecs()) {
    description_.task_types.push_back(
        {c.name, absl::StrCat("buy ", c.description), kTrainGoals, kTestGoals,
         kRecommendedMaxTurns});
  }
}

absl::StatusOr<std::unique_ptr<Environment>> WebShopEnv::Create(const EnvOptions& options) {
  AG_ASSIGN_OR_RETURN(WebShopOptions parsed, ParseWebShopOptions(options));
  auto world = std::make_shared<WebShopWorld>();
  world->options = parsed;
  world->catalog = Catalog::Build(parsed.catalog_seed, parsed.products_per_type);
  for (size_t c = 0; c < CategorySpecs().size(); ++c) {
    AG_ASSIGN_OR_RETURN(GoalSet goals, BuildGoals(*world->catalog, static_cast<int>(c),
                                                  kTrainGoals, kTestGoals));
    world->goals.push_back(std::move(goals));
  }
  return std::unique_ptr<Environment>(new WebShopEnv(std::move(world)));
}

absl::StatusOr<const Goal*> WebShopEnv::GoalFor(const TaskKey& key) const {
  const int category = CategoryIndex(key.type);
  if (category < 0) {
    return absl::InvalidArgumentError(absl::StrCat("unknown webshop task type '", key.type, "'"));
  }
  const GoalSet& set = world_->goals[category];
  const std::vector<Goal>& goals = key.split == Split::kTrain ? set.train : set.test;
  if (key.index < 0 || key.index >= static_cast<int64_t>(goals.size())) {
    return absl::InvalidArgumentError(absl::StrCat("task index ", key.index, " out of range"));
  }
  return &goals[key.index];
}

absl::StatusOr<std::unique_ptr<Episode>> WebShopEnv::NewEpisode(const TaskKey& key, uint64_t seed,
                                                                EpisodeStart* start) const {
  AG_ASSIGN_OR_RETURN(const Goal* goal, GoalFor(key));
  start->instruction = absl::StrCat("You are shopping in WebShop. ", kActionFormat,
                                    "\nInstruction: ", goal->instruction);
  start->observation = SearchPage(goal->instruction).text;
  start->info["category"] = key.type;
  return NewWebShopEpisode(world_, goal);
}

AG_REGISTER_ENV("webshop", [](const EnvOptions& options) { return WebShopEnv::Create(options); });

}  // namespace agentgym::env::webshop
