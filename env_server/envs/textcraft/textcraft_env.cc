#include "env_server/envs/textcraft/textcraft_env.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/det_random.h"
#include "env_server/env_registry.h"
#include "env_server/envs/textcraft/recipe_json.h"
#include "env_server/envs/textcraft/synthetic_world.h"

namespace agentgym::env::textcraft {
namespace {

constexpr int kMaxDepth = 4;
constexpr int kTestEvery = 6;  // about 1 goal in 6 is held out for test
constexpr size_t kMaxDistractorCandidates = 400;

constexpr char kActionFormat[] =
    "One command per turn, optionally after \"Action:\" (the text after it up to the end "
    "of its line is used; a reply with more than one \"Action:\" is refused):\n"
    "  get <count> <item>            fetch a base item (one with no recipe)\n"
    "  craft <count> <item> using <count> <ingredient>, <count> <ingredient>, ...\n"
    "                                apply one listed recipe with its exact counts; a "
    "generic ingredient (e.g. planks) may be given as a specific one (oak planks)\n"
    "  inventory                     list what you carry";

// Oracle turns plus slack: what a reasonable agent needs in the worst task.
int RecommendedTurns(int oracle_turns) { return oracle_turns + std::max(4, oracle_turns / 2); }

}  // namespace

TextCraftEnv::TextCraftEnv(std::shared_ptr<const RecipeWorld> world, std::string source)
    : world_(std::move(world)) {
  const RecipeWorld& w = *world_;
  std::vector<std::vector<std::pair<uint64_t, int>>> by_depth(kMaxDepth + 1);
  std::vector<int> oracle_turns(w.items().size(), 0);
  for (size_t i = 0; i < w.items().size(); ++i) {
    const Item& it = w.item(static_cast<int>(i));
    if (it.is_base() || it.depth < 1 || it.depth > kMaxDepth) continue;
    Plan plan = PlanToObtain(w, {}, static_cast<int>(i), kMaxGetCount);
    if (!plan.complete) continue;  // pathological loaded data; not a fair task
    oracle_turns[i] = static_cast<int>(plan.steps.size());
    by_depth[it.depth].emplace_back(DetRng::Hash(it.id), static_cast<int>(i));
  }
  description_.name = "textcraft";
  description_.description = absl::StrCat(
      "Minecraft-style crafting: fetch base items and craft intermediates with the listed "
      "recipes (plus distractors) until the goal item is made; world: ",
      source);
  description_.action_format = kActionFormat;
  description_.mirrors = "AgentGym TextCraft (agentenv-textcraft)";
  for (int d = 1; d <= kMaxDepth; ++d) {
    auto& goals = by_depth[d];
    if (goals.empty()) continue;
    std::sort(goals.begin(), goals.end());  // by hash: a fixed, well-mixed order
    Tier tier;
    tier.depth = d;
    size_t n_test = goals.size() >= static_cast<size_t>(kTestEvery) ? goals.size() / kTestEvery : 0;
    int worst = 0;
    for (size_t k = 0; k < goals.size(); ++k) {
      (k < n_test ? tier.test : tier.train).push_back(goals[k].second);
      worst = std::max(worst, oracle_turns[goals[k].second]);
    }
    TaskTypeInfo info;
    info.name = absl::StrCat("depth", d);
    info.description = absl::StrCat("craft an item whose recipe tree is ", d,
                                     d == 1 ? " level deep" : " levels deep",
                                     " (oracle needs at most ", worst, " turns)");
    info.train_count = static_cast<int64_t>(tier.train.size());
    info.test_count = static_cast<int64_t>(tier.test.size());
    info.recommended_max_turns = RecommendedTurns(worst);
    tier.max_turns = 2 * info.recommended_max_turns;
    description_.recommended_max_turns =
        std::max(description_.recommended_max_turns, info.recommended_max_turns);
    description_.task_types.push_back(std::move(info));
    tiers_.push_back(std::move(tier));
  }
}

absl::StatusOr<std::unique_ptr<Environment>> TextCraftEnv::Create(const EnvOptions& options) {
  std::string recipes_dir;
  for (const auto& [key, value] : options) {
    if (key != "recipes_dir") {
      return absl::InvalidArgumentError(
          absl::StrCat("textcraft: unknown option '", key, "' (known: recipes_dir)"));
    }
    recipes_dir = value;
  }
  absl::StatusOr<RecipeWorld> world =
      recipes_dir.empty() ? BuildSyntheticWorld() : LoadRecipeDir(recipes_dir);
  if (!world.ok()) return world.status();
  auto shared = std::make_shared<const RecipeWorld>(*std::move(world));
  std::unique_ptr<TextCraftEnv> env(new TextCraftEnv(
      shared, recipes_dir.empty() ? "built-in synthetic world"
                                  : absl::StrCat("recipes from ", recipes_dir)));
  if (env->tiers_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "textcraft: recipes_dir '", recipes_dir, "' has no craftable item of depth 1..4"));
  }
  return std::unique_ptr<Environment>(std::move(env));
}

const TextCraftEnv::Tier* TextCraftEnv::FindTier(const std::string& type) const {
  for (size_t i = 0; i < tiers_.size(); ++i) {
    if (description_.task_types[i].name == type) return &tiers_[i];
  }
  return nullptr;
}

int TextCraftEnv::GoalOf(const TaskKey& key) const {
  const Tier* tier = FindTier(key.type);
  if (tier == nullptr) return -1;
  const std::vector<int>& goals = key.split == Split::kTrain ? tier->train : tier->test;
  if (key.index < 0 || key.index >= static_cast<int64_t>(goals.size())) return -1;
  return goals[key.index];
}

int TextCraftEnv::MaxTurnsOf(const std::string& type) const {
  const Tier* tier = FindTier(type);
  return tier == nullptr ? 0 : tier->max_turns;
}

absl::StatusOr<std::unique_ptr<Episode>> TextCraftEnv::NewEpisode(const TaskKey& key,
                                                                  uint64_t seed,
                                                                  EpisodeStart* start) const {
  const Tier* tier = FindTier(key.type);
  int goal = GoalOf(key);
  if (tier == nullptr || goal < 0) {
    return absl::InvalidArgumentError(absl::StrCat("textcraft: no task ", key.type, "/",
                                                   SplitName(key.split), "/", key.index));
  }
  const RecipeWorld& w = *world_;
  Plan plan = PlanToObtain(w, {}, goal, kMaxGetCount);

  // The goal's recipe tree: the plan's recipes first (so the listed commands
  // always suffice), then the rest of the tree breadth-first, capped. Marks
  // are flat vectors over the world: an episode starts every few steps, and
  // hash sets here were a tenth of a batched server's CPU.
  std::vector<char> recipe_marked(w.recipes().size(), 0);  // relevant or candidate
  std::vector<char> item_seen(w.items().size(), 0);
  std::vector<int> relevant;
  std::vector<int> needed;
  for (const PlanStep& s : plan.steps) {
    if (s.kind != PlanStep::Kind::kCraft) continue;
    if (!recipe_marked[s.recipe]) {
      recipe_marked[s.recipe] = 1;
      relevant.push_back(s.recipe);
    }
    if (std::find(needed.begin(), needed.end(), s.item) == needed.end()) needed.push_back(s.item);
  }
  std::vector<int> frontier{goal};
  item_seen[goal] = 1;
  auto see = [&](int i) {
    if (!item_seen[i]) {
      item_seen[i] = 1;
      frontier.push_back(i);
    }
  };
  for (size_t f = 0; f < frontier.size() && relevant.size() < kMaxRelevantLines; ++f) {
    for (int r : w.item(frontier[f]).recipes) {
      if (relevant.size() >= kMaxRelevantLines) break;
      if (!recipe_marked[r]) {
        recipe_marked[r] = 1;
        relevant.push_back(r);
      }
      for (const Ingredient& ing : w.recipe(r).inputs) {
        if (ing.is_tag) {
          for (int i : w.tag(ing.target).members) see(i);
        } else {
          see(ing.target);
        }
      }
    }
  }
  // Distractors: other recipes that use the tree's ingredients (AgentGym's
  // create_recipe_set), sampled by the seed.
  DetRng rng(DetRng::Mix(DetRng::Mix(DetRng::Hash(key.type), key.index * 2 +
                                                                 (key.split == Split::kTest)),
                         seed));
  std::vector<int> candidates;
  auto consider = [&](const std::vector<int>& uses) {
    for (int r : uses) {
      if (candidates.size() >= kMaxDistractorCandidates) return;
      if (!recipe_marked[r]) {
        recipe_marked[r] = 1;
        candidates.push_back(r);
      }
    }
  };
  const size_t relevant_count = relevant.size();
  for (size_t k = 0; k < relevant_count; ++k) {
    for (const Ingredient& ing : w.recipe(relevant[k]).inputs) {
      if (ing.is_tag) {
        consider(w.TagUses(ing.target));
      } else {
        consider(w.ItemUses(ing.target));
        if (w.item(ing.target).group_tag >= 0) consider(w.TagUses(w.item(ing.target).group_tag));
      }
    }
  }
  rng.Shuffle(candidates);
  if (candidates.size() > kMaxDistractors) candidates.resize(kMaxDistractors);
  // The world formats each recipe line once; sort and shuffle references.
  std::vector<const std::string*> line_refs;
  line_refs.reserve(relevant.size() + candidates.size());
  for (int r : relevant) line_refs.push_back(&w.RecipeLine(r));
  for (int r : candidates) line_refs.push_back(&w.RecipeLine(r));
  // Distinct recipes can print alike (e.g. two tag variants); list each once.
  auto by_text = [](const std::string* a, const std::string* b) { return *a < *b; };
  auto same_text = [](const std::string* a, const std::string* b) { return *a == *b; };
  std::sort(line_refs.begin(), line_refs.end(), by_text);
  line_refs.erase(std::unique(line_refs.begin(), line_refs.end(), same_text), line_refs.end());
  rng.Shuffle(line_refs);
  std::vector<absl::string_view> lines;
  lines.reserve(line_refs.size());
  for (const std::string* line : line_refs) lines.push_back(*line);

  start->instruction = absl::StrCat("Crafting commands:\n", absl::StrJoin(lines, "\n"),
                                    "\n\nGoal: craft ", w.item(goal).name, ".");
  start->observation = "Inventory: You are not carrying anything.";
  start->info = nlohmann::json{{"goal", w.item(goal).id},
                               {"depth", tier->depth},
                               {"max_turns", tier->max_turns}};
  return std::unique_ptr<Episode>(
      std::make_unique<TextCraftEpisode>(world_, goal, tier->max_turns, std::move(needed)));
}

AG_REGISTER_ENV("textcraft", [](const EnvOptions& options) { return TextCraftEnv::Create(options); });

}  // namespace agentgym::env::textcraft
