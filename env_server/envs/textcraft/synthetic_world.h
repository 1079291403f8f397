#ifndef AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_SYNTHETIC_WORLD_H_
#define AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_SYNTHETIC_WORLD_H_

// The built-in, Minecraft-flavoured recipe world used when no recipes_dir is
// given. It is generated from a fixed seed, so it is the same on every
// machine and every run:
//  - 35 materials in four families (wood, stone, metal, gem), each with a
//    fetchable base item ("oak log", "andesite", "iron ingot", "diamond");
//  - four layers of 8 forms each ("oak rod", "oak gear", "oak lantern",
//    "oak door"); a form's recipe is a template per (family, form): the same
//    material at the layer below, sometimes a second same-material part from
//    a lower layer and sometimes a shared common item (stick, paper, torch,
//    book, ...), with counts; output counts cover what any consumer needs so
//    plans stay short;
//  - so an item in layer d has crafting depth exactly d.

#include "absl/status/statusor.h"
#include "env_server/envs/textcraft/recipe_world.h"

namespace agentgym::env::textcraft {

absl::StatusOr<RecipeWorld> BuildSyntheticWorld();

}  // namespace agentgym::env::textcraft

#endif  // AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_SYNTHETIC_WORLD_H_
