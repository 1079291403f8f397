#include "env_server/envs/textcraft/textcraft_env.h"

#include <chrono>
#include <iostream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "env_server/env_registry.h"
#include "env_server/testing/env_checks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::env::textcraft {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const TextCraftEnv& Env() {
  static const TextCraftEnv* env = [] {
    auto created = TextCraftEnv::Create({});
    EXPECT_TRUE(created.ok()) << created.status();
    return static_cast<TextCraftEnv*>(created->release());
  }();
  return *env;
}

std::unique_ptr<Episode> Start(const TaskKey& key, uint64_t seed, EpisodeStart* start) {
  auto ep = Env().NewEpisode(key, seed, start);
  EXPECT_TRUE(ep.ok()) << ep.status();
  return std::move(ep).value();
}

StepOutcome Do(Episode& ep, const std::string& action) {
  auto out = ep.Step(action);
  EXPECT_TRUE(out.ok()) << out.status();
  return *out;
}

TEST(TextCraftEnvTest, PrintsTheTaskTable) {
  for (const TaskTypeInfo& t : Env().Describe().task_types) {
    std::cout << t.name << " train " << t.train_count << " test " << t.test_count
              << " recommended_max_turns " << t.recommended_max_turns << " env max turns "
              << Env().MaxTurnsOf(t.name) << " | " << t.description << "\n";
  }
  std::cout << "items " << Env().world().items().size() << " recipes "
            << Env().world().recipes().size() << " world bytes " << Env().world().ApproxBytes()
            << "\n";
  EXPECT_EQ(Env().Describe().task_types.size(), 4u);
}

TEST(TextCraftEnvTest, PassesSharedChecks) {
  testing::ExpectWellFormedDescription(Env());
  testing::OracleReport train, test;
  testing::ExpectOracleSolvesEveryType(Env(), 40, Split::kTrain, &train);
  testing::ExpectOracleSolvesEveryType(Env(), 20, Split::kTest, &test);
  EXPECT_EQ(train.successes, train.episodes);
  EXPECT_EQ(test.successes, test.episodes);
  EXPECT_EQ(test.episodes, 80);
  testing::ExpectDeterministic(Env(), 5);
  testing::ExpectSurvivesJunkActions(
      Env(), 4000,
      {"get 1 oak log", "get 0 oak log", "get 5000 bamboo", "get 1 stick", "get 1 planks",
       "craft 4 stick using 2 bamboo", "craft 4 stick using 3 bamboo", "craft stick using bamboo",
       "craft 1 nothing using 1 air", "inventory", "Action: look", "INVENTORY",
       "Action: get 1 coal\nAction: get 1 coal", "craft 1 oak plate using 1 oak log,",
       "craft 1 oak plate using , , ,", "get 99999999999999999999 coal"});
}

TEST(TextCraftEnvTest, IsRegistered) {
  auto env = EnvRegistry::Global().Create("textcraft", {});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->Describe().name, "textcraft");
}

TEST(TextCraftEnvTest, RejectsUnknownOption) {
  auto env = TextCraftEnv::Create({{"recipe_dir", "/tmp"}});
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(env.status().message(), HasSubstr("recipe_dir"));
}

TEST(TextCraftEnvTest, OffersFourDepthTiersWithDisjointSplits) {
  const auto& types = Env().Describe().task_types;
  ASSERT_EQ(types.size(), 4u);
  for (int d = 1; d <= 4; ++d) {
    const TaskTypeInfo& t = types[d - 1];
    EXPECT_EQ(t.name, "depth" + std::to_string(d));
    EXPECT_GE(t.train_count, 200) << t.name;
    EXPECT_GE(t.test_count, 40) << t.name;
    std::set<int> train, test;
    for (int64_t i = 0; i < t.train_count; ++i) {
      int goal = Env().GoalOf({t.name, Split::kTrain, i});
      ASSERT_GE(goal, 0);
      EXPECT_EQ(Env().world().item(goal).depth, d);
      train.insert(goal);
    }
    for (int64_t i = 0; i < t.test_count; ++i) test.insert(Env().GoalOf({t.name, Split::kTest, i}));
    EXPECT_EQ(train.size(), static_cast<size_t>(t.train_count)) << "goals repeat in train";
    for (int g : test) EXPECT_EQ(train.count(g), 0u) << Env().world().item(g).id;
  }
}

TEST(TextCraftEnvTest, RecommendedTurnsCoverTheOracleOnEveryTask) {
  for (const TaskTypeInfo& t : Env().Describe().task_types) {
    for (Split split : {Split::kTrain, Split::kTest}) {
      int64_t n = split == Split::kTrain ? t.train_count : t.test_count;
      for (int64_t i = 0; i < n; ++i) {
        int goal = Env().GoalOf({t.name, split, i});
        Plan plan = PlanToObtain(Env().world(), {}, goal, kMaxGetCount);
        ASSERT_TRUE(plan.complete);
        EXPECT_LE(static_cast<int>(plan.steps.size()), t.recommended_max_turns) << t.name;
      }
    }
    EXPECT_GE(Env().MaxTurnsOf(t.name), t.recommended_max_turns);
  }
}

TEST(TextCraftEnvTest, InstructionListsTheRecipesThenTheGoal) {
  EpisodeStart start;
  TaskKey key{"depth3", Split::kTrain, 5};
  auto ep = Start(key, 9, &start);
  int goal = Env().GoalOf(key);
  EXPECT_THAT(start.instruction, StartsWith("Crafting commands:\ncraft "));
  EXPECT_TRUE(absl::EndsWith(start.instruction,
                             "\n\nGoal: craft " + Env().world().item(goal).name + "."))
      << start.instruction;
  EXPECT_EQ(start.observation, "Inventory: You are not carrying anything.");
  Plan plan = PlanToObtain(Env().world(), {}, goal, kMaxGetCount);
  std::set<int> recipes;
  for (const PlanStep& s : plan.steps) {
    if (s.kind == PlanStep::Kind::kCraft) {
      recipes.insert(s.recipe);
      EXPECT_THAT(start.instruction, HasSubstr(Env().world().RecipeLine(s.recipe) + "\n"));
    }
  }
  std::vector<std::string> lines = absl::StrSplit(start.instruction, '\n');
  size_t recipe_lines = lines.size() - 3;  // header, blank, goal
  EXPECT_GT(recipe_lines, recipes.size()) << "no distractors";
  EXPECT_LE(recipe_lines, recipes.size() + kMaxDistractors);
  EXPECT_EQ(start.info["goal"], Env().world().item(goal).id);
  EXPECT_EQ(start.info["depth"], 3);
}

TEST(TextCraftEnvTest, SeedChangesTheListingButNotTheGoal) {
  EpisodeStart a, b;
  TaskKey key{"depth2", Split::kTrain, 11};
  Start(key, 1, &a);
  Start(key, 2, &b);
  EXPECT_NE(a.instruction, b.instruction);
  EXPECT_EQ(a.instruction.substr(a.instruction.rfind("Goal:")),
            b.instruction.substr(b.instruction.rfind("Goal:")));
}

TEST(TextCraftEnvTest, GetFetchesOnlyBaseItems) {
  EpisodeStart start;
  auto ep = Start({"depth1", Split::kTrain, 0}, 1, &start);
  StepOutcome got = Do(*ep, "get 2 oak log");
  EXPECT_EQ(got.observation, "Got 2 oak log");
  EXPECT_TRUE(got.action_valid);
  StepOutcome refused = Do(*ep, "get 1 oak plate");
  EXPECT_EQ(refused.observation, "Could not find oak plate");
  EXPECT_FALSE(refused.action_valid);
  EXPECT_EQ(Do(*ep, "get 1 dragon egg").observation, "Could not find dragon egg");
  EXPECT_FALSE(Do(*ep, "get 0 coal").action_valid);
  EXPECT_FALSE(Do(*ep, "get 1001 coal").action_valid);
  EXPECT_EQ(Do(*ep, "get 1 minecraft:oak_log").observation, "Got 1 oak log");
  EXPECT_EQ(Do(*ep, "inventory").observation, "Inventory: [oak log] (3)");
}

TEST(TextCraftEnvTest, AcceptsAgentGymActionPrefixes) {
  EpisodeStart start;
  auto ep = Start({"depth1", Split::kTrain, 0}, 1, &start);
  EXPECT_EQ(Do(*ep, "Thought:\nI need logs.\n\nAction:\nget 1 bamboo\n").observation,
            "Got 1 bamboo");
  EXPECT_EQ(Do(*ep, "  action: Get 1 Bamboo.  ").observation, "Got 1 bamboo");
  StepOutcome two = Do(*ep, "Action: get 1 coal\nAction: inventory");
  EXPECT_THAT(two.observation, HasSubstr("Only one 'Action'"));
  EXPECT_FALSE(two.action_valid);
  StepOutcome junk = Do(*ep, "dance");
  EXPECT_EQ(junk.observation, "Could not execute dance");
  EXPECT_FALSE(junk.action_valid);
}

TEST(TextCraftEnvTest, QuotesOnlyTheStartOfAHugeUnparseableAction) {
  EpisodeStart start;
  auto ep = Start({"depth1", Split::kTrain, 0}, 1, &start);
  StepOutcome out = Do(*ep, std::string(1 << 16, 'x'));
  EXPECT_FALSE(out.action_valid);
  EXPECT_THAT(out.observation, HasSubstr("Could not execute xxx"));
  EXPECT_LT(out.observation.size(), 400u);
}

TEST(TextCraftEnvTest, CraftChecksItemsThenTheRecipe) {
  EpisodeStart start;
  auto ep = Start({"depth1", Split::kTrain, 0}, 1, &start);
  EXPECT_EQ(Do(*ep, "craft 4 stick using 2 bamboo").observation,
            "Could not find enough items to craft minecraft:stick");
  Do(*ep, "get 5 bamboo");
  StepOutcome wrong = Do(*ep, "craft 4 stick using 3 bamboo");
  EXPECT_EQ(wrong.observation, "Could not find a valid recipe for minecraft:stick");
  EXPECT_FALSE(wrong.action_valid);
  EXPECT_EQ(Do(*ep, "craft 4 stick using bamboo").observation, "Wrong item format: bamboo");
  StepOutcome ok = Do(*ep, "craft 1 stick using 2 bamboo");  // AgentGym ignores the stated count
  EXPECT_EQ(ok.observation, "Crafted 4 minecraft:stick");
  EXPECT_TRUE(ok.action_valid);
  EXPECT_EQ(Do(*ep, "inventory").observation, "Inventory: [bamboo] (3) [stick] (4)");
  Do(*ep, "craft 4 stick using 2 bamboo");
  EXPECT_EQ(Do(*ep, "inventory").observation, "Inventory: [bamboo] (1) [stick] (8)");
}

TEST(TextCraftEnvTest, OracleScoresMonotonicallyAndSucceeds) {
  EpisodeStart start;
  TaskKey key{"depth4", Split::kTest, 3};
  auto ep = Start(key, 5, &start);
  double last = 0.0;
  StepOutcome out;
  int turns = 0;
  while (auto action = ep->OracleAction()) {
    out = Do(*ep, *action);
    ++turns;
    EXPECT_TRUE(out.action_valid) << *action << " -> " << out.observation;
    EXPECT_GE(out.score, last);
    last = out.score;
    if (out.done) break;
  }
  EXPECT_TRUE(out.done);
  EXPECT_TRUE(out.success) << out.observation;
  EXPECT_EQ(out.reward, 1.0);
  EXPECT_EQ(out.score, 1.0);
  EXPECT_FALSE(ep->OracleAction().has_value());
  StepOutcome after = Do(*ep, "inventory");
  EXPECT_FALSE(after.action_valid);
  EXPECT_TRUE(after.done);
  EXPECT_LE(turns, Env().Describe().task_types[3].recommended_max_turns);
}

TEST(TextCraftEnvTest, OracleRecoversFromAMessyInventory) {
  EpisodeStart start;
  TaskKey key{"depth4", Split::kTrain, 17};
  auto ep = Start(key, 5, &start);
  int fresh = static_cast<int>(
      PlanToObtain(Env().world(), {}, Env().GoalOf(key), kMaxGetCount).steps.size());
  ASSERT_GE(fresh, 6);
  // Half-follow the oracle, interleaved with junk and extra gets.
  for (int i = 0; i < fresh / 2; ++i) {
    ASSERT_TRUE(Do(*ep, *ep->OracleAction()).action_valid);
    Do(*ep, "get 3 coal");
    Do(*ep, "craft 1 nothing using 1 coal");
  }
  StepOutcome out;
  int turns = 0;
  while (auto action = ep->OracleAction()) {
    out = Do(*ep, *action);
    ++turns;
    ASSERT_TRUE(out.action_valid) << *action << " -> " << out.observation;
    if (out.done) break;
  }
  EXPECT_TRUE(out.success) << out.observation;
  EXPECT_EQ(turns, fresh - fresh / 2);  // nothing done so far is redone
}

TEST(TextCraftEnvTest, TruncatesAtItsOwnTurnLimit) {
  EpisodeStart start;
  auto ep = Start({"depth2", Split::kTrain, 0}, 1, &start);
  int limit = Env().MaxTurnsOf("depth2");
  StepOutcome out;
  for (int t = 0; t < limit; ++t) {
    out = Do(*ep, "inventory");
    if (t + 1 < limit) {
      ASSERT_FALSE(out.truncated) << t;
    }
  }
  EXPECT_TRUE(out.truncated);
  EXPECT_FALSE(out.done);
  EXPECT_FALSE(out.success);
  EXPECT_FALSE(ep->OracleAction().has_value());
}

TEST(TextCraftEnvTest, MemoryStaysBounded) {
  EpisodeStart start;
  auto ep = Start({"depth4", Split::kTrain, 0}, 1, &start);
  size_t base = ep->ApproxBytes();
  const RecipeWorld& w = Env().world();
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < w.items().size(); ++i) {
      if (w.item(static_cast<int>(i)).is_base()) Do(*ep, "get 1000 " + w.item(i).name);
    }
  }
  EXPECT_LE(ep->ApproxBytes(), base + kMaxInventoryEntries * 32);
  EXPECT_LT(ep->ApproxBytes(), 16u * 1024);
}

TEST(TextCraftEnvTest, RunsManyStepsAndRestarts) {
  EpisodeStart start;
  auto ep = Start({"depth2", Split::kTrain, 0}, 1, &start);
  const std::vector<std::string> actions = {
      "get 2 bamboo", "craft 4 stick using 2 bamboo", "inventory",
      "Thought: hmm\nAction: craft 1 oak plate using 9 oak log", "get 1 oak plate"};
  constexpr int kSteps = 20000;
  auto begin = std::chrono::steady_clock::now();
  int restarts = 0;
  for (int i = 0; i < kSteps; ++i) {
    auto out = ep->Step(actions[i % actions.size()]);
    ASSERT_TRUE(out.ok());
    ASSERT_FALSE(out->observation.empty());
    if (out->done || out->truncated) {
      ++restarts;
      ep = Start({"depth2", Split::kTrain, 0}, 1, &start);
    }
  }
  EXPECT_GT(restarts, 0) << "the turn limit never ended an episode";
  EXPECT_LT(ep->ApproxBytes(), 16u * 1024);
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - begin)
                  .count() / kSteps;
  // Printed for the record only: speed goals live in bench/, not in tests.
  std::cout << "textcraft: " << us << " us per step (incl. episode restarts)\n";
}

// Prints one oracle episode; docs/envs/textcraft.md quotes its output.
TEST(TextCraftEnvTest, PrintsAWorkedExample) {
  EpisodeStart start;
  TaskKey key{"depth2", Split::kTrain, 0};
  auto ep = Start(key, 42, &start);
  std::cout << "=== task depth2/train/0 seed 42 ===\n"
            << "[instruction]\n" << start.instruction << "\n[observation] " << start.observation
            << "\n";
  StepOutcome out;
  while (auto action = ep->OracleAction()) {
    out = Do(*ep, *action);
    std::cout << "[action] " << *action << "\n[observation] " << out.observation
              << "  (reward " << out.reward << ", score " << out.score << ", done " << out.done
              << ")\n";
    if (out.done) break;
  }
  EXPECT_TRUE(out.success);
}

}  // namespace
}  // namespace agentgym::env::textcraft
