#ifndef AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_RECIPE_WORLD_H_
#define AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_RECIPE_WORLD_H_

// The crafting graph TextCraft plays on: items, tags, recipes, and what is
// derived from them (crafting depth, a static cost estimate, reverse uses).
//
// Built once per environment by RecipeWorldBuilder (from the synthetic
// generator or from Minecraft recipe JSON) and then immutable, so every
// episode of the env shares one instance read-only without locking.
//
// Semantics follow AgentGym's TextCraft CraftingTree:
//  - an item with no recipe is a base item and is the only kind `get` fetches;
//  - an ingredient may name a tag; an item belongs to tag "minecraft:<group>"
//    when its recipe has "group": "<group>" (AgentGym's rule);
//  - a tag used as an ingredient that no craftable item belongs to becomes a
//    plain (fetchable) item of the same id, as AgentGym's clean-up does;
//  - depth(base) = 0, depth(item) = min over recipes of max over ingredients
//    of depth(ingredient) + 1, depth(tag) = min over its members.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgym::env::textcraft {

inline constexpr int kInfiniteDepth = std::numeric_limits<int>::max();

struct Ingredient {
  int target = -1;  // item index, or tag index when is_tag
  bool is_tag = false;
  int count = 1;
};

struct Recipe {
  int output = -1;  // item index
  int output_count = 1;
  std::vector<Ingredient> inputs;  // distinct targets
};

struct Item {
  std::string id;    // "minecraft:oak_planks"
  std::string name;  // "oak planks" (AgentGym's item_id_to_str)
  int group_tag = -1;            // tag this item belongs to, or -1
  std::vector<int> recipes;      // recipes producing it, file order
  int depth = kInfiniteDepth;    // 0 for base items
  int64_t cost = 0;              // actions to obtain one from nothing (estimate)
  bool is_base() const { return recipes.empty(); }
};

struct Tag {
  std::string id;
  std::string name;
  std::vector<int> members;  // craftable items in the tag
  int depth = kInfiniteDepth;
};

// Ingredient as written in a recipe source, before ids are resolved.
struct RawIngredient {
  std::string id;  // "minecraft:stick" or, when is_tag, "minecraft:planks"
  bool is_tag = false;
  int count = 1;
};

struct RawRecipe {
  std::string output_id;
  int output_count = 1;
  std::string group;  // "" or the recipe's "group" (AgentGym makes it a tag)
  std::vector<RawIngredient> inputs;
  std::string source;  // file name or "synthetic", for error messages
};

class RecipeWorld {
 public:
  const std::vector<Item>& items() const { return items_; }
  const std::vector<Tag>& tags() const { return tags_; }
  const std::vector<Recipe>& recipes() const { return recipes_; }
  const Item& item(int i) const { return items_[i]; }
  const Tag& tag(int t) const { return tags_[t]; }
  const Recipe& recipe(int r) const { return recipes_[r]; }

  // Item index for a normalised name ("oak planks") or id
  // ("minecraft:oak_planks"); -1 when unknown or when it names a tag.
  int FindItem(std::string_view name_or_id) const;
  // True when the text names a tag (not an item): `get` refuses tags.
  bool IsTagName(std::string_view name_or_id) const;

  // Whether `item` may stand for `ing` in a recipe.
  bool Matches(const Ingredient& ing, int item) const {
    return ing.is_tag ? items_[item].group_tag == ing.target : ing.target == item;
  }
  int IngredientDepth(const Ingredient& ing) const {
    return ing.is_tag ? tags_[ing.target].depth : items_[ing.target].depth;
  }
  const std::string& IngredientName(const Ingredient& ing) const {
    return ing.is_tag ? tags_[ing.target].name : items_[ing.target].name;
  }
  // A recipe the planner may use for its output: every ingredient strictly
  // shallower than the output, so following such recipes never cycles.
  bool IsUsable(int recipe) const;

  // Recipes naming an item (or a tag) as one of their inputs.
  const std::vector<int>& ItemUses(int item) const { return item_uses_[item]; }
  const std::vector<int>& TagUses(int tag) const { return tag_uses_[tag]; }

  // AgentGym's recipe_str: "craft 4 oak planks using 1 oak log". Built once
  // per world (episodes list dozens of lines each).
  const std::string& RecipeLine(int recipe) const { return recipe_lines_[recipe]; }

  size_t ApproxBytes() const;

 private:
  friend class RecipeWorldBuilder;
  std::vector<Item> items_;
  std::vector<Tag> tags_;
  std::vector<Recipe> recipes_;
  std::vector<std::vector<int>> item_uses_;
  std::vector<std::vector<int>> tag_uses_;
  std::vector<std::string> recipe_lines_;  // parallel to recipes_
  std::unordered_map<std::string, int> item_by_key_;  // ids and names
  std::unordered_map<std::string, int> tag_by_key_;
};

// Collects raw recipes, then resolves ids, tags, depths and costs.
// Not thread-safe; use once.
class RecipeWorldBuilder {
 public:
  // Recipes whose only ingredient is a "..._block" are dropped, as AgentGym
  // does, to avoid block <-> ingot cycles.
  void Add(RawRecipe recipe);
  // Declares a fetchable item even if no recipe uses it.
  void AddBaseItem(const std::string& id);
  // INVALID_ARGUMENT if there is no recipe at all.
  absl::StatusOr<RecipeWorld> Build() &&;

 private:
  std::vector<RawRecipe> raw_;
  std::vector<std::string> extra_base_;
};

// "minecraft:oak_planks" -> "oak planks"; other namespaces are kept.
std::string IdToName(std::string_view id);
// Lowercases, maps '_' to ' ' and collapses whitespace, so that names and ids
// typed by an agent compare equal to the world's keys.
std::string NormaliseKey(std::string_view text);

}  // namespace agentgym::env::textcraft

#endif  // AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_RECIPE_WORLD_H_
