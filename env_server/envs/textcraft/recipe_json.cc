#include "env_server/envs/textcraft/recipe_json.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace agentgym::env::textcraft {
namespace {

using nlohmann::json;

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxFiles = 20000;
constexpr int kMaxCount = 64;

// Recipe types that are not crafting-table recipes; skipped like AgentGym.
bool IsSkippedType(const std::string& type) {
  static const char* const kSkipped[] = {
      "minecraft:smelting",        "minecraft:blasting",
      "minecraft:smoking",         "minecraft:campfire_cooking",
      "minecraft:stonecutting",    "minecraft:smithing",
      "minecraft:smithing_transform", "minecraft:smithing_trim",
      "minecraft:crafting_decorated_pot", "minecraft:crafting_transmute"};
  if (absl::StartsWith(type, "minecraft:crafting_special_")) return true;
  return std::find(std::begin(kSkipped), std::end(kSkipped), type) != std::end(kSkipped);
}

absl::Status Bad(const std::string& file, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("textcraft recipe file ", file, ": ", what));
}

bool IsId(const std::string& s) { return !s.empty() && s.size() <= 200; }

// One ingredient: {"item"}, {"tag"}, [alternatives...] or "id" / "#tag".
absl::StatusOr<RawIngredient> ParseIngredient(const json& j, const std::string& file) {
  const json* v = &j;
  if (v->is_array()) {
    if (v->empty()) return Bad(file, "an ingredient is an empty list");
    v = &(*v)[0];
  }
  RawIngredient ing;
  if (v->is_string()) {
    std::string s = v->get<std::string>();
    ing.is_tag = absl::StartsWith(s, "#");
    ing.id = ing.is_tag ? s.substr(1) : s;
  } else if (v->is_object() && v->contains("item") && (*v)["item"].is_string()) {
    ing.id = (*v)["item"].get<std::string>();
  } else if (v->is_object() && v->contains("tag") && (*v)["tag"].is_string()) {
    ing.id = (*v)["tag"].get<std::string>();
    ing.is_tag = true;
  } else {
    return Bad(file, absl::StrCat("unknown ingredient ", v->dump()));
  }
  if (!IsId(ing.id)) return Bad(file, "an ingredient has an empty or overlong id");
  return ing;
}

absl::Status ParseResult(const json& j, const std::string& file, RawRecipe* out) {
  if (!j.contains("result")) return Bad(file, "missing \"result\"");
  const json& res = j["result"];
  if (res.is_string()) {
    out->output_id = res.get<std::string>();
  } else if (res.is_object()) {
    const char* key = res.contains("item") ? "item" : "id";
    if (!res.contains(key) || !res[key].is_string()) {
      return Bad(file, "\"result\" has no \"item\" or \"id\" string");
    }
    out->output_id = res[key].get<std::string>();
    if (res.contains("count")) {
      if (!res["count"].is_number_integer()) return Bad(file, "\"result.count\" is not an integer");
      int64_t c = res["count"].get<int64_t>();
      if (c < 1 || c > kMaxCount) return Bad(file, absl::StrCat("\"result.count\" ", c, " out of range"));
      out->output_count = static_cast<int>(c);
    }
  } else {
    return Bad(file, "\"result\" is neither an object nor a string");
  }
  if (!IsId(out->output_id)) return Bad(file, "empty or overlong result id");
  return absl::OkStatus();
}

absl::Status ParseShaped(const json& j, const std::string& file, RawRecipe* out) {
  if (!j.contains("pattern") || !j["pattern"].is_array() || j["pattern"].empty()) {
    return Bad(file, "shaped recipe without a \"pattern\" list");
  }
  if (!j.contains("key") || !j["key"].is_object() || j["key"].empty()) {
    return Bad(file, "shaped recipe without a \"key\" object");
  }
  std::string cells;
  for (const json& row : j["pattern"]) {
    if (!row.is_string()) return Bad(file, "a \"pattern\" row is not a string");
    cells += row.get<std::string>();
  }
  for (const auto& [key, value] : j["key"].items()) {
    if (key.size() != 1) return Bad(file, absl::StrCat("key \"", key, "\" is not one character"));
    int count = static_cast<int>(std::count(cells.begin(), cells.end(), key[0]));
    if (count == 0) continue;  // a key the pattern never uses adds nothing
    auto ing = ParseIngredient(value, file);
    if (!ing.ok()) return ing.status();
    ing->count = count;
    out->inputs.push_back(*std::move(ing));
  }
  if (out->inputs.empty()) return Bad(file, "the pattern uses none of the keys");
  return absl::OkStatus();
}

absl::Status ParseShapeless(const json& j, const std::string& file, RawRecipe* out) {
  if (!j.contains("ingredients") || !j["ingredients"].is_array() || j["ingredients"].empty()) {
    return Bad(file, "shapeless recipe without an \"ingredients\" list");
  }
  for (const json& v : j["ingredients"]) {
    auto ing = ParseIngredient(v, file);
    if (!ing.ok()) return ing.status();
    out->inputs.push_back(*std::move(ing));  // repeats are summed by the builder
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RawRecipe> ParseRecipeJson(const std::string& text, const std::string& file,
                                          bool* skipped) {
  *skipped = false;
  json j = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad(file, "not valid JSON");
  if (!j.is_object()) return Bad(file, "not a JSON object");
  if (!j.contains("type") || !j["type"].is_string()) return Bad(file, "missing \"type\" string");
  std::string type = j["type"].get<std::string>();
  RawRecipe out;
  out.source = file;
  if (j.contains("group") && j["group"].is_string()) out.group = j["group"].get<std::string>();
  if (type == "minecraft:crafting_shaped") {
    if (auto s = ParseShaped(j, file, &out); !s.ok()) return s;
  } else if (type == "minecraft:crafting_shapeless") {
    if (auto s = ParseShapeless(j, file, &out); !s.ok()) return s;
  } else if (IsSkippedType(type)) {
    *skipped = true;
    return out;
  } else {
    return Bad(file, absl::StrCat("unknown recipe type \"", type, "\""));
  }
  if (auto s = ParseResult(j, file, &out); !s.ok()) return s;
  return out;
}

absl::StatusOr<RecipeWorld> LoadRecipeDir(const std::string& dir_option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir(dir_option);
  if (!fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("textcraft recipes_dir '", dir_option, "' is not a directory"));
  }
  if (fs::is_directory(dir / "recipes", ec)) dir /= "recipes";
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || it->is_directory(ec)) continue;
    if (!absl::EndsWith(name, ".json")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "textcraft recipes_dir: ", it->path().string(), " is not a .json recipe file"));
    }
    files.push_back(it->path());
    if (files.size() > kMaxFiles) {
      return absl::InvalidArgumentError(
          absl::StrCat("textcraft recipes_dir '", dir.string(), "' has over ", kMaxFiles, " files"));
    }
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("textcraft recipes_dir '", dir.string(), "': ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  RecipeWorldBuilder builder;
  int crafting = 0;
  for (const fs::path& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Bad(path.string(), "cannot be read");
    std::string text;
    text.resize(kMaxFileBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) return Bad(path.string(), "larger than 1 MiB");
    bool skipped = false;
    auto recipe = ParseRecipeJson(text, path.string(), &skipped);
    if (!recipe.ok()) return recipe.status();
    if (skipped) continue;
    builder.Add(*std::move(recipe));
    ++crafting;
  }
  if (crafting == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "textcraft recipes_dir '", dir.string(), "' has no crafting_shaped/shapeless recipes"));
  }
  return std::move(builder).Build();
}

}  // namespace agentgym::env::textcraft
