#ifndef AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_RECIPE_JSON_H_
#define AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_RECIPE_JSON_H_

// Loads Minecraft recipe JSON (data/minecraft/recipes/*.json, the files
// AgentGym's TextCraft reads) into a RecipeWorld.
//
// Understood: "minecraft:crafting_shaped" (pattern + key; an ingredient's
// count is how often its key appears in the pattern) and
// "minecraft:crafting_shapeless" (ingredients; repeats add up). Ingredients
// are {"item": id}, {"tag": id}, a list of those (the first is used, as in
// AgentGym) or, as in Minecraft 1.21.2+, a string "id" / "#tag". The result
// is {"item"|"id": id, "count": n} or a plain id string. Other Minecraft
// recipe types (smelting, stonecutting, smithing, crafting_special_*, ...)
// are skipped as AgentGym skips them.

#include <string>

#include "absl/status/statusor.h"
#include "env_server/envs/textcraft/recipe_world.h"

namespace agentgym::env::textcraft {

// Parses one recipe file's text. Sets `*skipped` (and returns an empty
// recipe) for a known non-crafting type; INVALID_ARGUMENT naming `file_name`
// for malformed JSON, a missing or ill-typed field or an unknown type.
absl::StatusOr<RawRecipe> ParseRecipeJson(const std::string& text, const std::string& file_name,
                                          bool* skipped);

// Reads every *.json file of `dir` (or of `dir`/recipes when that exists), in
// name order. Hidden files are ignored; any other non-JSON file, an unreadable
// or malformed file, or a directory with no crafting recipe is an
// INVALID_ARGUMENT naming the path.
absl::StatusOr<RecipeWorld> LoadRecipeDir(const std::string& dir);

}  // namespace agentgym::env::textcraft

#endif  // AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_RECIPE_JSON_H_
