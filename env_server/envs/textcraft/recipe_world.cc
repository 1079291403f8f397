#include "env_server/envs/textcraft/recipe_world.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace agentgym::env::textcraft {
namespace {

constexpr char kMinecraftPrefix[] = "minecraft:";
constexpr size_t kMinecraftPrefixLen = sizeof(kMinecraftPrefix) - 1;

}  // namespace

std::string IdToName(std::string_view id) {
  if (id.substr(0, kMinecraftPrefixLen) == kMinecraftPrefix) id.remove_prefix(kMinecraftPrefixLen);
  std::string out(id);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string NormaliseKey(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (c == '_' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

int RecipeWorld::FindItem(std::string_view name_or_id) const {
  auto it = item_by_key_.find(NormaliseKey(name_or_id));
  return it == item_by_key_.end() ? -1 : it->second;
}

bool RecipeWorld::IsTagName(std::string_view name_or_id) const {
  return FindItem(name_or_id) < 0 && tag_by_key_.count(NormaliseKey(name_or_id)) > 0;
}

bool RecipeWorld::IsUsable(int recipe) const {
  const Recipe& r = recipes_[recipe];
  int depth = items_[r.output].depth;
  if (depth == kInfiniteDepth) return false;
  for (const Ingredient& ing : r.inputs) {
    if (IngredientDepth(ing) >= depth) return false;
  }
  return true;
}

namespace {

std::string FormatRecipeLine(const RecipeWorld& w, const Recipe& r) {
  std::string line =
      absl::StrCat("craft ", r.output_count, " ", w.item(r.output).name, " using ");
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    if (i > 0) line += ", ";
    absl::StrAppend(&line, r.inputs[i].count, " ", w.IngredientName(r.inputs[i]));
  }
  return line;
}

}  // namespace

size_t RecipeWorld::ApproxBytes() const {
  size_t bytes = 0;
  for (const Item& it : items_) {
    bytes += sizeof(Item) + it.id.capacity() + it.name.capacity() + it.recipes.capacity() * 4;
  }
  for (const Tag& t : tags_) bytes += sizeof(Tag) + t.id.size() + t.name.size() + t.members.size() * 4;
  for (const Recipe& r : recipes_) bytes += sizeof(Recipe) + r.inputs.size() * sizeof(Ingredient);
  for (const auto& u : item_uses_) bytes += sizeof(u) + u.size() * 4;
  for (const auto& u : tag_uses_) bytes += sizeof(u) + u.size() * 4;
  bytes += (item_by_key_.size() + tag_by_key_.size()) * 64;
  for (const auto& line : recipe_lines_) bytes += sizeof(line) + line.capacity();
  return bytes;
}

void RecipeWorldBuilder::Add(RawRecipe recipe) {
  // Shaped recipes may name the same ingredient under two keys; one entry per
  // ingredient keeps "craft ... using" lines unambiguous.
  std::vector<RawIngredient> merged;
  for (RawIngredient& ing : recipe.inputs) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](const RawIngredient& m) {
      return m.id == ing.id && m.is_tag == ing.is_tag;
    });
    if (it == merged.end()) {
      merged.push_back(std::move(ing));
    } else {
      it->count += ing.count;
    }
  }
  recipe.inputs = std::move(merged);
  if (recipe.inputs.size() == 1 && absl::EndsWith(recipe.inputs[0].id, "_block")) return;
  raw_.push_back(std::move(recipe));
}

void RecipeWorldBuilder::AddBaseItem(const std::string& id) { extra_base_.push_back(id); }

absl::StatusOr<RecipeWorld> RecipeWorldBuilder::Build() && {
  if (raw_.empty()) return absl::InvalidArgumentError("no crafting recipes to build a world from");
  RecipeWorld w;
  std::unordered_map<std::string, int> item_index;
  auto intern_item = [&](const std::string& id) {
    auto [it, inserted] = item_index.emplace(id, static_cast<int>(w.items_.size()));
    if (inserted) w.items_.push_back(Item{id, IdToName(id)});
    return it->second;
  };
  // AgentGym's rule: "group": g makes the output a member of tag minecraft:g.
  std::unordered_map<std::string, std::string> group_of;  // output id -> tag id
  for (const RawRecipe& r : raw_) {
    intern_item(r.output_id);
    if (!r.group.empty()) {
      std::string tag_id = absl::StrCat(kMinecraftPrefix, r.group);
      if (tag_id != r.output_id) group_of[r.output_id] = tag_id;
    }
  }
  // Tags referenced as ingredients; those without craftable members become
  // plain items (AgentGym's clean_up_recipes).
  std::unordered_map<std::string, int> tag_index;
  for (const RawRecipe& r : raw_) {
    for (const RawIngredient& ing : r.inputs) {
      if (!ing.is_tag || tag_index.count(ing.id) || item_index.count(ing.id)) continue;
      bool has_member = false;
      for (const auto& [out, tag] : group_of) has_member |= (tag == ing.id);
      if (!has_member) continue;
      tag_index.emplace(ing.id, static_cast<int>(w.tags_.size()));
      w.tags_.push_back(Tag{ing.id, IdToName(ing.id)});
    }
  }
  for (const RawRecipe& r : raw_) {
    for (const RawIngredient& ing : r.inputs) {
      if (!ing.is_tag || !tag_index.count(ing.id)) intern_item(ing.id);
    }
  }
  for (const std::string& id : extra_base_) intern_item(id);
  for (const auto& [out, tag] : group_of) {
    auto t = tag_index.find(tag);
    if (t == tag_index.end()) continue;
    w.items_[item_index[out]].group_tag = t->second;
  }
  for (size_t i = 0; i < w.items_.size(); ++i) {
    if (w.items_[i].group_tag >= 0) w.tags_[w.items_[i].group_tag].members.push_back(i);
  }
  for (const RawRecipe& raw : raw_) {
    Recipe r;
    r.output = item_index[raw.output_id];
    r.output_count = raw.output_count;
    for (const RawIngredient& ing : raw.inputs) {
      auto t = ing.is_tag ? tag_index.find(ing.id) : tag_index.end();
      if (t != tag_index.end()) {
        r.inputs.push_back(Ingredient{t->second, true, ing.count});
      } else {
        r.inputs.push_back(Ingredient{item_index[ing.id], false, ing.count});
      }
    }
    w.items_[r.output].recipes.push_back(static_cast<int>(w.recipes_.size()));
    w.recipes_.push_back(std::move(r));
  }

  // Depths by relaxation: cycles in loaded data simply never lower a depth.
  for (Item& it : w.items_) it.depth = it.is_base() ? 0 : kInfiniteDepth;
  for (bool changed = true; changed;) {
    changed = false;
    for (Tag& t : w.tags_) {
      int d = kInfiniteDepth;
      for (int m : t.members) d = std::min(d, w.items_[m].depth);
      if (d < t.depth) t.depth = d, changed = true;
    }
    for (const Recipe& r : w.recipes_) {
      int d = 0;
      for (const Ingredient& ing : r.inputs) {
        int di = w.IngredientDepth(ing);
        d = di == kInfiniteDepth ? kInfiniteDepth : std::max(d, di + 1);
      }
      if (d < w.items_[r.output].depth) w.items_[r.output].depth = d, changed = true;
    }
  }

  // Static cost (gets + crafts for one unit, ignoring counts), shallowest
  // first so every usable recipe's ingredients are already costed.
  std::vector<int> order(w.items_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return w.items_[a].depth < w.items_[b].depth; });
  constexpr int64_t kNoCost = std::numeric_limits<int64_t>::max() / 4;
  for (int i : order) {
    Item& it = w.items_[i];
    if (it.is_base()) {
      it.cost = 1;
      continue;
    }
    it.cost = kNoCost;
    for (int r : it.recipes) {
      if (!w.IsUsable(r)) continue;
      int64_t c = 1;
      for (const Ingredient& ing : w.recipes_[r].inputs) {
        int64_t best = kNoCost;
        if (ing.is_tag) {
          for (int m : w.tags_[ing.target].members) {
            if (w.items_[m].depth < it.depth) best = std::min(best, w.items_[m].cost);
          }
        } else {
          best = w.items_[ing.target].cost;
        }
        c = std::min(kNoCost, c + best);
      }
      it.cost = std::min(it.cost, c);
    }
  }

  w.item_uses_.assign(w.items_.size(), {});
  w.tag_uses_.assign(w.tags_.size(), {});
  for (size_t r = 0; r < w.recipes_.size(); ++r) {
    for (const Ingredient& ing : w.recipes_[r].inputs) {
      (ing.is_tag ? w.tag_uses_ : w.item_uses_)[ing.target].push_back(static_cast<int>(r));
    }
  }
  w.recipe_lines_.reserve(w.recipes_.size());
  for (const Recipe& r : w.recipes_) w.recipe_lines_.push_back(FormatRecipeLine(w, r));
  for (size_t i = 0; i < w.items_.size(); ++i) {
    w.item_by_key_.emplace(NormaliseKey(w.items_[i].id), static_cast<int>(i));
    w.item_by_key_.emplace(NormaliseKey(w.items_[i].name), static_cast<int>(i));
  }
  for (size_t t = 0; t < w.tags_.size(); ++t) {
    w.tag_by_key_.emplace(NormaliseKey(w.tags_[t].id), static_cast<int>(t));
    w.tag_by_key_.emplace(NormaliseKey(w.tags_[t].name), static_cast<int>(t));
  }
  return w;
}

}  // namespace agentgym::env::textcraft
