// TextCraftEpisode: the step semantics of AgentGym's TextCraftEnv.step.

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/text.h"
#include "env_server/envs/textcraft/textcraft_env.h"

namespace agentgym::env::textcraft {
namespace {

// An unparseable action is quoted back this far, never whole (actions may be
// megabytes).
constexpr size_t kMaxEchoBytes = 200;

// AgentGym names an item it cannot resolve by "minecraft:" + name.
std::string IdForMessage(const RecipeWorld& world, int item, const std::string& name) {
  if (item >= 0) return world.item(item).id;
  std::string id = name.find(':') == std::string::npos ? absl::StrCat("minecraft:", name) : name;
  std::replace(id.begin(), id.end(), ' ', '_');
  return id;
}

}  // namespace

TextCraftEpisode::TextCraftEpisode(std::shared_ptr<const RecipeWorld> world, int goal,
                                   int max_turns, std::vector<int> needed)
    : world_(std::move(world)),
      goal_(goal),
      max_turns_(max_turns),
      needed_(std::move(needed)),
      crafted_(needed_.size(), false) {}

int64_t TextCraftEpisode::Count(int item) const {
  for (const auto& [i, n] : inventory_) {
    if (i == item) return n;
  }
  return 0;
}

bool TextCraftEpisode::Add(int item, int64_t count) {
  for (auto& [i, n] : inventory_) {
    if (i != item) continue;
    if (n + count > kMaxStack) return false;
    n += count;
    return true;
  }
  if (inventory_.size() >= kMaxInventoryEntries || count > kMaxStack) return false;
  inventory_.emplace_back(item, count);
  return true;
}

double TextCraftEpisode::Score() const {
  if (success_) return 1.0;
  if (needed_.empty()) return 0.0;
  return static_cast<double>(std::count(crafted_.begin(), crafted_.end(), true)) /
         static_cast<double>(needed_.size());
}

std::string TextCraftEpisode::DoGet(const std::string& name, int64_t count, bool* valid) {
  const RecipeWorld& w = *world_;
  int item = w.FindItem(name);
  // AgentGym refuses craftable items, tags and unknown names alike.
  if (item < 0 || !w.item(item).is_base()) {
    *valid = false;
    return absl::StrCat("Could not find ", name);
  }
  const std::string& canonical = w.item(item).name;
  if (count < 1 || count > kMaxGetCount) {
    *valid = false;
    return absl::StrCat("Could not get ", name, ": get between 1 and ", kMaxGetCount,
                        " at a time");
  }
  if (!Add(item, count)) {
    *valid = false;
    return absl::StrCat("Could not get ", count, " ", canonical, ": the inventory is full");
  }
  return absl::StrCat("Got ", count, " ", canonical);
}

std::string TextCraftEpisode::DoCraft(const ParsedAction& a, bool* valid) {
  const RecipeWorld& w = *world_;
  *valid = false;
  if (a.has_bad_input) return absl::StrCat("Wrong item format: ", a.bad_input);
  int output = w.FindItem(a.item);
  std::string output_id = IdForMessage(w, output, a.item);
  // Resolve and check the stated ingredients first, as AgentGym does.
  std::vector<std::pair<int, int64_t>> given;
  for (const auto& [count, name] : a.inputs) {
    int item = w.FindItem(name);
    if (item < 0 || count < 1 || Count(item) < count) {
      return absl::StrCat("Could not find enough items to craft ", output_id);
    }
    given.emplace_back(item, count);
  }
  int matched = -1;
  if (output >= 0) {
    for (int r : w.item(output).recipes) {
      const Recipe& rec = w.recipe(r);
      std::vector<bool> used(given.size(), false);
      bool ok = true;
      for (const Ingredient& ing : rec.inputs) {
        size_t j = 0;
        while (j < given.size() && (used[j] || !w.Matches(ing, given[j].first))) ++j;
        if (j == given.size() || given[j].second != ing.count) {
          ok = false;
          break;
        }
        used[j] = true;
      }
      if (ok && std::all_of(used.begin(), used.end(), [](bool u) { return u; })) {
        matched = r;
        break;
      }
    }
  }
  if (matched < 0) return absl::StrCat("Could not find a valid recipe for ", output_id);
  const Recipe& rec = w.recipe(matched);
  Inventory before = inventory_;
  for (const auto& [item, count] : given) {
    auto it = std::find_if(inventory_.begin(), inventory_.end(),
                           [&](const auto& e) { return e.first == item; });
    it->second -= count;
    if (it->second == 0) inventory_.erase(it);
  }
  if (!Add(output, rec.output_count)) {
    inventory_ = std::move(before);
    return absl::StrCat("Could not craft ", output_id, ": the inventory is full");
  }
  *valid = true;
  for (size_t i = 0; i < needed_.size(); ++i) {
    if (needed_[i] == output) crafted_[i] = true;
  }
  if (output == goal_) success_ = true;
  return absl::StrCat("Crafted ", rec.output_count, " ", w.item(output).id);
}

std::string TextCraftEpisode::DoInventory() const {
  if (inventory_.empty()) return "Inventory: You are not carrying anything.";
  std::string out = "Inventory:";
  for (const auto& [item, count] : inventory_) {
    absl::StrAppend(&out, " [", world_->item(item).name, "] (", count, ")");
  }
  return out;
}

absl::StatusOr<StepOutcome> TextCraftEpisode::Step(std::string_view action) {
  StepOutcome out;
  if (over_) {
    out.observation = "The episode is over.";
    out.done = success_;
    out.truncated = !success_;
    out.success = success_;
    out.score = Score();
    out.action_valid = false;
    return out;
  }
  ++turns_;
  ParsedAction a = ParseAction(action);
  bool valid = true;
  switch (a.kind) {
    case ParsedAction::Kind::kMultipleActions:
      valid = false;
      out.observation =
          "Error: Only one 'Action' is allowed per response. Please adjust your response.";
      break;
    case ParsedAction::Kind::kInvalid:
      valid = false;
      out.observation = a.text.empty() ? "Could not execute an empty action"
                                       : absl::StrCat("Could not execute ", TruncateForMessage(a.text, kMaxEchoBytes));
      break;
    case ParsedAction::Kind::kInventory:
      out.observation = DoInventory();
      break;
    case ParsedAction::Kind::kGet:
      out.observation = DoGet(a.item, a.count, &valid);
      break;
    case ParsedAction::Kind::kCraft:
      out.observation = DoCraft(a, &valid);
      break;
  }
  out.action_valid = valid;
  out.success = success_;
  out.score = Score();
  if (success_) {
    out.reward = 1.0;
    out.done = true;
    over_ = true;
  } else if (turns_ >= max_turns_) {
    out.truncated = true;
    over_ = true;
  }
  return out;
}

std::optional<std::string> TextCraftEpisode::OracleAction() const {
  if (over_) return std::nullopt;
  Plan plan = PlanToObtain(*world_, inventory_, goal_, kMaxGetCount);
  if (plan.steps.empty()) return std::nullopt;
  return StepText(*world_, plan.steps.front());
}

size_t TextCraftEpisode::ApproxBytes() const {
  return inventory_.capacity() * sizeof(inventory_[0]) + needed_.capacity() * sizeof(int) +
         crafted_.capacity() / 8;
}

}  // namespace agentgym::env::textcraft
