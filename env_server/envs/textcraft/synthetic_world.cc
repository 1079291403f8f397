#include "env_server/envs/textcraft/synthetic_world.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/det_random.h"

namespace agentgym::env::textcraft {
namespace {

// Changing this changes every synthetic task; keep it fixed.
constexpr uint64_t kWorldSeed = 0x7e47c4af7ULL;
constexpr int kLayers = 4;
constexpr int kFormsPerLayer = 8;

struct Material {
  const char* prefix;  // as in "<prefix> <form>"
  const char* base;    // the fetchable raw item
  int family;          // 0 wood, 1 stone, 2 metal, 3 gem
};

constexpr Material kMaterials[] = {
    {"oak", "oak log", 0},           {"spruce", "spruce log", 0},
    {"birch", "birch log", 0},       {"jungle", "jungle log", 0},
    {"acacia", "acacia log", 0},     {"dark oak", "dark oak log", 0},
    {"mangrove", "mangrove log", 0}, {"cherry", "cherry log", 0},
    {"pale oak", "pale oak log", 0}, {"crimson", "crimson stem", 0},
    {"warped", "warped stem", 0},
    {"cobblestone", "cobblestone", 1}, {"blackstone", "blackstone", 1},
    {"deepslate", "cobbled deepslate", 1}, {"sandstone", "sandstone", 1},
    {"red sandstone", "red sandstone", 1}, {"tuff", "tuff", 1},
    {"calcite", "calcite", 1},       {"andesite", "andesite", 1},
    {"diorite", "diorite", 1},       {"granite", "granite", 1},
    {"basalt", "basalt", 1},         {"end stone", "end stone", 1},
    {"iron", "iron ingot", 2},       {"gold", "gold ingot", 2},
    {"copper", "copper ingot", 2},   {"netherite", "netherite ingot", 2},
    {"diamond", "diamond", 3},       {"emerald", "emerald", 3},
    {"amethyst", "amethyst shard", 3}, {"lapis", "lapis lazuli", 3},
    {"quartz", "nether quartz", 3},  {"redstone", "redstone dust", 3},
    {"prismarine", "prismarine shard", 3}, {"glowstone", "glowstone dust", 3},
};
constexpr int kFamilies = 4;

constexpr std::array<std::array<const char*, kFormsPerLayer>, kLayers> kForms = {{
    {"plate", "rod", "tile", "slab", "bricks", "nugget", "pane", "wire"},
    {"gear", "chain", "frame", "stairs", "wall", "hinge", "bars", "button"},
    {"lantern", "ladder", "lever", "fence", "trapdoor", "pressure plate", "bell", "rail"},
    {"door", "chest", "anvil", "table", "shield", "barrel", "cauldron", "lectern"},
}};

// Shared items; crafted ones have fixed recipes below.
struct Common {
  const char* name;
  int depth;
};
constexpr Common kCommons[] = {
    {"string", 0}, {"leather", 0}, {"feather", 0}, {"flint", 0}, {"slime ball", 0},
    {"ink sac", 0}, {"sugar cane", 0}, {"clay ball", 0}, {"coal", 0}, {"bone", 0},
    {"bamboo", 0}, {"stick", 1}, {"paper", 1}, {"lead", 1}, {"bone meal", 1},
    {"torch", 2}, {"book", 2}, {"book and quill", 3},
};

std::string Id(const std::string& name) {
  std::string id = absl::StrCat("minecraft:", name);
  std::replace(id.begin(), id.end(), ' ', '_');
  return id;
}

RawRecipe Make(const std::string& out, int out_count,
               std::vector<std::pair<int, std::string>> inputs) {
  RawRecipe r;
  r.output_id = Id(out);
  r.output_count = out_count;
  r.source = "synthetic";
  for (auto& [count, name] : inputs) r.inputs.push_back(RawIngredient{Id(name), false, count});
  return r;
}

// One recipe template per (family, layer, form); parts refer to forms of the
// same material (layer 0 = the base item).
struct Part {
  int layer;
  int form;  // ignored for layer 0
  int count;
};
struct Template {
  std::vector<Part> parts;
  int common = -1;  // index into kCommons
  int output_count = 1;
};

std::string PartName(const Material& m, const Part& p) {
  return p.layer == 0 ? std::string(m.base)
                      : absl::StrCat(m.prefix, " ", kForms[p.layer - 1][p.form]);
}

}  // namespace

absl::StatusOr<RecipeWorld> BuildSyntheticWorld() {
  DetRng rng(kWorldSeed);
  // templates[family][layer-1][form]
  std::vector<std::vector<std::vector<Template>>> templates(
      kFamilies, std::vector<std::vector<Template>>(kLayers, std::vector<Template>(kFormsPerLayer)));
  for (int f = 0; f < kFamilies; ++f) {
    for (int layer = 1; layer <= kLayers; ++layer) {
      for (int k = 0; k < kFormsPerLayer; ++k) {
        Template& t = templates[f][layer - 1][k];
        Part primary{layer - 1, static_cast<int>(rng.Uniform(kFormsPerLayer)),
                     static_cast<int>(rng.UniformInt(1, layer == 1 ? 3 : 4))};
        t.parts.push_back(primary);
        if (layer >= 2 && rng.Bernoulli(0.5)) {
          Part second{static_cast<int>(rng.Uniform(layer)), 0,
                      static_cast<int>(rng.UniformInt(1, 3))};
          second.form = static_cast<int>(rng.Uniform(kFormsPerLayer));
          if (second.layer == primary.layer && second.form == primary.form) {
            second.form = (second.form + 1) % kFormsPerLayer;
          }
          t.parts.push_back(second);
        }
        if (rng.Bernoulli(0.45)) {
          std::vector<int> eligible;
          for (int c = 0; c < static_cast<int>(std::size(kCommons)); ++c) {
            if (kCommons[c].depth < layer) eligible.push_back(c);
          }
          t.common = rng.Pick(eligible);
        }
      }
    }
  }
  // Output counts: enough for the largest single demand, so one craft feeds
  // any one consumer (as 1 log -> 4 planks does in Minecraft).
  for (int f = 0; f < kFamilies; ++f) {
    for (int layer = 1; layer <= kLayers; ++layer) {
      for (int k = 0; k < kFormsPerLayer; ++k) {
        for (const Part& p : templates[f][layer - 1][k].parts) {
          if (p.layer == 0) continue;
          Template& producer = templates[f][p.layer - 1][p.form];
          producer.output_count = std::max(producer.output_count, p.count);
        }
      }
    }
  }

  RecipeWorldBuilder builder;
  builder.Add(Make("stick", 4, {{2, "bamboo"}}));
  builder.Add(Make("paper", 3, {{3, "sugar cane"}}));
  builder.Add(Make("lead", 2, {{4, "string"}, {1, "slime ball"}}));
  builder.Add(Make("bone meal", 3, {{1, "bone"}}));
  builder.Add(Make("torch", 4, {{1, "coal"}, {1, "stick"}}));
  builder.Add(Make("book", 1, {{3, "paper"}, {1, "leather"}}));
  builder.Add(Make("book and quill", 1, {{1, "book"}, {1, "ink sac"}, {1, "feather"}}));
  for (const Common& c : kCommons) {
    if (c.depth == 0) builder.AddBaseItem(Id(c.name));
  }
  for (const Material& m : kMaterials) {
    builder.AddBaseItem(Id(m.base));
    for (int layer = 1; layer <= kLayers; ++layer) {
      for (int k = 0; k < kFormsPerLayer; ++k) {
        const Template& t = templates[m.family][layer - 1][k];
        std::vector<std::pair<int, std::string>> inputs;
        for (const Part& p : t.parts) inputs.emplace_back(p.count, PartName(m, p));
        if (t.common >= 0) inputs.emplace_back(1, kCommons[t.common].name);
        builder.Add(Make(absl::StrCat(m.prefix, " ", kForms[layer - 1][k]), t.output_count,
                         std::move(inputs)));
      }
    }
  }
  return std::move(builder).Build();
}

}  // namespace agentgym::env::textcraft
