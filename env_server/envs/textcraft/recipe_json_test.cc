#include "env_server/envs/textcraft/recipe_json.h"

#include <filesystem>
#include <fstream>

#include "env_server/envs/textcraft/textcraft_env.h"
#include "env_server/testing/env_checks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::env::textcraft {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const char kFixture[] = TEXTCRAFT_TESTDATA_DIR "/recipes";

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::path(::testing::TempDir()) / ("textcraft_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  void Write(const std::string& file, const std::string& text) const {
    std::ofstream(path_ / file) << text;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(RecipeJsonTest, LoadsTheFixtureWithAgentGymSemantics) {
  auto world = LoadRecipeDir(kFixture);
  ASSERT_TRUE(world.ok()) << world.status();
  auto depth = [&](const char* name) {
    int i = world->FindItem(name);
    EXPECT_GE(i, 0) << name;
    return i < 0 ? -1 : world->item(i).depth;
  };
  EXPECT_EQ(depth("oak planks"), 1);
  EXPECT_EQ(depth("stick"), 2);  // via the planks tag
  EXPECT_EQ(depth("torch"), 3);
  EXPECT_EQ(depth("lantern"), 4);
  EXPECT_EQ(depth("oak button"), 2);  // 1.21 "id" result, string ingredient
  // The oak_logs tag has no craftable member, so it is a fetchable item.
  EXPECT_TRUE(world->item(world->FindItem("oak logs")).is_base());
  // The block -> ingot recipe is dropped, so iron ingot is a base item; the
  // smelting recipe is skipped.
  EXPECT_TRUE(world->item(world->FindItem("minecraft:iron_ingot")).is_base());
  EXPECT_TRUE(world->IsTagName("planks"));
  int stick = world->FindItem("stick");
  ASSERT_EQ(world->item(stick).recipes.size(), 1u);
  EXPECT_EQ(world->RecipeLine(world->item(stick).recipes[0]), "craft 4 stick using 2 planks");
  int lantern = world->FindItem("lantern");
  EXPECT_EQ(world->RecipeLine(world->item(lantern).recipes[0]),
            "craft 1 lantern using 1 torch, 8 iron nugget");
}

TEST(RecipeJsonTest, EnvOnTheFixtureIsSolvableAndHonoursTags) {
  auto created = TextCraftEnv::Create({{"recipes_dir", TEXTCRAFT_TESTDATA_DIR}});
  ASSERT_TRUE(created.ok()) << created.status();  // finds the recipes/ subfolder
  const Environment& env = **created;
  testing::ExpectWellFormedDescription(env);
  ASSERT_EQ(env.Describe().task_types.size(), 4u);
  testing::OracleReport report;
  testing::ExpectOracleSolvesEveryType(env, 10, Split::kTrain, &report);
  EXPECT_EQ(report.successes, report.episodes);
  EXPECT_EQ(report.episodes, 11);  // every goal of the fixture
  testing::ExpectDeterministic(env, 3);
  testing::ExpectSurvivesJunkActions(env, 500, {"get 1 oak logs", "craft 4 stick using 2 planks"});

  const auto& tc = static_cast<const TextCraftEnv&>(env);
  int64_t stick_index = -1;
  for (int64_t i = 0; i < env.Describe().task_types[1].train_count; ++i) {
    if (tc.world().item(tc.GoalOf({"depth2", Split::kTrain, i})).name == "stick") stick_index = i;
  }
  ASSERT_GE(stick_index, 0);
  EpisodeStart start;
  auto ep = env.NewEpisode({"depth2", Split::kTrain, stick_index}, 1, &start);
  ASSERT_TRUE(ep.ok());
  EXPECT_THAT(start.instruction, HasSubstr("craft 4 stick using 2 planks"));
  EXPECT_EQ((*ep)->Step("get 1 birch logs")->observation, "Got 1 birch logs");
  EXPECT_EQ((*ep)->Step("get 1 planks")->observation, "Could not find planks");
  EXPECT_EQ((*ep)->Step("craft 4 birch planks using 1 birch logs")->observation,
            "Crafted 4 minecraft:birch_planks");
  EXPECT_EQ((*ep)->Step("craft 4 stick using 2 planks")->observation,
            "Could not find enough items to craft minecraft:stick");
  auto done = (*ep)->Step("craft 4 stick using 2 birch planks");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->observation, "Crafted 4 minecraft:stick");
  EXPECT_TRUE(done->success);
  EXPECT_TRUE(done->done);
}

TEST(RecipeJsonTest, ParsesStringAndTagIngredients) {
  bool skipped = true;
  auto r = ParseRecipeJson(
      R"({"type":"minecraft:crafting_shapeless","ingredients":["#minecraft:planks",
          "minecraft:stick","minecraft:stick"],"result":{"id":"minecraft:x","count":2}})",
      "x.json", &skipped);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(skipped);
  ASSERT_EQ(r->inputs.size(), 3u);  // the builder merges the repeated stick
  EXPECT_TRUE(r->inputs[0].is_tag);
  EXPECT_EQ(r->inputs[0].id, "minecraft:planks");
  EXPECT_EQ(r->output_count, 2);
  auto smelt = ParseRecipeJson(R"({"type":"minecraft:smelting","ingredient":{"item":"a"},
                                   "result":"b"})",
                               "s.json", &skipped);
  ASSERT_TRUE(smelt.ok());
  EXPECT_TRUE(skipped);
}

TEST(RecipeJsonTest, MalformedFilesAreInvalidArgumentsNamingTheFile) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not_json.json", "{ this is not json"},
      {"no_type.json", R"({"result":{"item":"minecraft:a"}})"},
      {"unknown_type.json", R"({"type":"mymod:magic","result":"minecraft:a"})"},
      {"shaped_no_key.json",
       R"({"type":"minecraft:crafting_shaped","pattern":["#"],"result":{"item":"minecraft:a"}})"},
      {"bad_count.json",
       R"({"type":"minecraft:crafting_shapeless","ingredients":[{"item":"minecraft:b"}],
           "result":{"item":"minecraft:a","count":-3}})"},
      {"bad_ingredient.json",
       R"({"type":"minecraft:crafting_shapeless","ingredients":[{"potion":"x"}],
           "result":{"item":"minecraft:a"}})"},
      {"no_result.json",
       R"({"type":"minecraft:crafting_shapeless","ingredients":[{"item":"minecraft:b"}]})"},
      {"array.json", "[1, 2, 3]"},
  };
  for (const auto& [file, text] : cases) {
    TempDir dir("bad");
    dir.Write("good.json", R"({"type":"minecraft:crafting_shapeless",
        "ingredients":[{"item":"minecraft:b"}],"result":{"item":"minecraft:a"}})");
    dir.Write(file, text);
    auto env = TextCraftEnv::Create({{"recipes_dir", dir.path()}});
    ASSERT_FALSE(env.ok()) << file;
    EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument) << file;
    EXPECT_THAT(env.status().message(), HasSubstr(file));
  }
}

TEST(RecipeJsonTest, BadDirectoriesAreInvalidArguments) {
  EXPECT_EQ(TextCraftEnv::Create({{"recipes_dir", "/nonexistent/textcraft"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  TempDir empty("empty");
  auto none = TextCraftEnv::Create({{"recipes_dir", empty.path()}});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("no crafting"));
  TempDir stray("stray");
  stray.Write("README.txt", "hello");
  auto txt = TextCraftEnv::Create({{"recipes_dir", stray.path()}});
  EXPECT_THAT(txt.status().message(), HasSubstr("README.txt"));
}

}  // namespace
}  // namespace agentgym::env::textcraft
