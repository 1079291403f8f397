#include "env_server/envs/textcraft/planner.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace agentgym::env::textcraft {
namespace {

class Planner {
 public:
  Planner(const RecipeWorld& world, const Inventory& inventory, int64_t max_get)
      : world_(world), have_(world.items().size(), 0), max_get_(max_get) {
    for (const auto& [item, count] : inventory) have_[item] += count;
  }

  Plan Run(int goal) {
    Need(goal, 1);
    Plan plan;
    plan.complete = !overflow_;
    for (const auto& [item, count] : gets_) {
      for (int64_t left = count; left > 0; left -= max_get_) {
        plan.steps.push_back(PlanStep{PlanStep::Kind::kGet, item, std::min(left, max_get_)});
      }
    }
    plan.steps.insert(plan.steps.end(), crafts_.begin(), crafts_.end());
    return plan;
  }

 private:
  // Reserves `qty` of `item`: from the (simulated) inventory, else by a get
  // (base items) or by crafting it after its ingredients.
  void Need(int item, int64_t qty) {
    if (overflow_) return;
    int64_t take = std::min(have_[item], qty);
    have_[item] -= take;
    qty -= take;
    if (qty == 0) return;
    const Item& it = world_.item(item);
    if (it.is_base()) {
      auto g = std::find_if(gets_.begin(), gets_.end(),
                            [&](const auto& e) { return e.first == item; });
      if (g == gets_.end()) {
        gets_.emplace_back(item, qty);
      } else {
        g->second += qty;
      }
      return;
    }
    int recipe = ChooseRecipe(item, qty);
    if (recipe < 0) {  // unreachable for finite-depth items; stop rather than loop
      overflow_ = true;
      return;
    }
    const Recipe& r = world_.recipe(recipe);
    int64_t crafts = (qty + r.output_count - 1) / r.output_count;
    if (crafts_.size() + static_cast<size_t>(crafts) > kMaxPlanSteps) {
      overflow_ = true;
      return;
    }
    std::vector<int> uses;
    for (const Ingredient& ing : r.inputs) {
      uses.push_back(ChooseMember(ing, crafts * ing.count, it.depth));
    }
    for (size_t i = 0; i < uses.size(); ++i) Need(uses[i], crafts * r.inputs[i].count);
    if (overflow_) return;
    for (int64_t k = 0; k < crafts; ++k) {
      crafts_.push_back(PlanStep{PlanStep::Kind::kCraft, item, r.output_count, recipe, uses});
    }
    have_[item] += crafts * r.output_count - qty;
  }

  int64_t MissingCost(int item, int64_t qty) const {
    return have_[item] >= qty ? 0 : world_.item(item).cost;
  }

  int ChooseMember(const Ingredient& ing, int64_t qty, int below_depth) const {
    if (!ing.is_tag) return ing.target;
    int best = -1;
    std::tuple<int64_t, int64_t> best_key;
    for (int m : world_.tag(ing.target).members) {
      if (world_.item(m).depth >= below_depth) continue;
      std::tuple<int64_t, int64_t> key{MissingCost(m, qty), -have_[m]};
      if (best < 0 || key < best_key) best = m, best_key = key;
    }
    return best;
  }

  int ChooseRecipe(int item, int64_t qty) const {
    int best = -1;
    int64_t best_cost = 0;
    for (int r : world_.item(item).recipes) {
      if (!world_.IsUsable(r)) continue;
      const Recipe& rec = world_.recipe(r);
      int64_t crafts = (qty + rec.output_count - 1) / rec.output_count;
      int64_t cost = 0;
      for (const Ingredient& ing : rec.inputs) {
        int m = ChooseMember(ing, crafts * ing.count, world_.item(item).depth);
        cost += MissingCost(m, crafts * ing.count);
      }
      if (best < 0 || cost < best_cost) best = r, best_cost = cost;
    }
    return best;
  }

  const RecipeWorld& world_;
  std::vector<int64_t> have_;
  int64_t max_get_;
  std::vector<std::pair<int, int64_t>> gets_;
  std::vector<PlanStep> crafts_;
  bool overflow_ = false;
};

}  // namespace

Plan PlanToObtain(const RecipeWorld& world, const Inventory& inventory, int goal,
                  int64_t max_get) {
  return Planner(world, inventory, std::max<int64_t>(1, max_get)).Run(goal);
}

std::string StepText(const RecipeWorld& world, const PlanStep& step) {
  if (step.kind == PlanStep::Kind::kGet) {
    return absl::StrCat("get ", step.count, " ", world.item(step.item).name);
  }
  const Recipe& r = world.recipe(step.recipe);
  std::string text =
      absl::StrCat("craft ", r.output_count, " ", world.item(step.item).name, " using ");
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    if (i > 0) text += ", ";
    absl::StrAppend(&text, r.inputs[i].count, " ", world.item(step.uses[i]).name);
  }
  return text;
}

}  // namespace agentgym::env::textcraft
