#include "env_server/envs/sciworld/sciworld.h"

#include <iostream>
#include <set>
#include <string>

#include "env_server/testing/env_checks.h"
#include "gtest/gtest.h"

namespace agentgym::env::sciworld {
namespace {

const SciWorldEnv& Env() {
  static const SciWorldEnv* const kEnv = SciWorldEnv::Create({})->release();
  return *kEnv;
}

TEST(SciWorldEnvTest, DescriptionIsWellFormed) {
  testing::ExpectWellFormedDescription(Env());
  EXPECT_EQ(Env().Describe().task_types.size(), 5u);
  for (const auto& t : Env().Describe().task_types) EXPECT_GT(t.test_count, 0) << t.name;
}

TEST(SciWorldEnvTest, OracleSolvesEveryTypeInTrain) {
  testing::OracleReport report;
  testing::ExpectOracleSolvesEveryType(Env(), 40, Split::kTrain, &report);
  EXPECT_EQ(report.successes, report.episodes);
  std::cout << "train: " << report.successes << "/" << report.episodes
            << " solved, max turns " << report.max_turns_used << "\n";
}

TEST(SciWorldEnvTest, OracleSolvesEveryTypeInTest) {
  testing::OracleReport report;
  testing::ExpectOracleSolvesEveryType(Env(), 40, Split::kTest, &report);
  EXPECT_EQ(report.successes, report.episodes);
  std::cout << "test: " << report.successes << "/" << report.episodes
            << " solved, max turns " << report.max_turns_used << "\n";
}

TEST(SciWorldEnvTest, IsDeterministic) { testing::ExpectDeterministic(Env(), 4); }

TEST(SciWorldEnvTest, SurvivesJunkActions) {
  testing::ExpectSurvivesJunkActions(
      Env(), 6000,
      {"focus on", "focus on stove", "put", "put in", "put stove in stove", "put box in box",
       "connect battery to battery", "connect", "mix", "mix hallway", "go to go to",
       "use stove on thermometer", "use thermometer on", "open stove", "activate freezer",
       "pick up stove", "drop", "read", "wait", "look around", "inventory", "examine",
       "disconnect battery", "go to outside", "pick up thermometer"});
}

TEST(SciWorldEnvTest, TrainAndTestVariationsAreDisjoint) {
  for (const auto& type : Env().Describe().task_types) {
    std::set<std::string> train, test;
    for (int64_t i = 0; i < type.test_count; ++i) {
      test.insert(*Env().VariationOf({type.name, Split::kTest, i}));
    }
    int64_t n = std::min<int64_t>(type.train_count, 20000);
    for (int64_t i = 0; i < n; ++i) {
      std::string v = *Env().VariationOf({type.name, Split::kTrain, i});
      EXPECT_EQ(test.count(v), 0u) << type.name << " " << v;
      train.insert(v);
    }
    EXPECT_EQ(static_cast<int64_t>(test.size()), type.test_count) << "duplicate test variations";
    EXPECT_EQ(static_cast<int64_t>(train.size()), n) << "duplicate train variations";
  }
}

TEST(SciWorldEnvTest, WrongFocusEndsTheEpisodeWithFailure) {
  EpisodeStart start;
  auto ep = Env().NewEpisode({"lifespan", Split::kTrain, 0}, 5, &start);
  ASSERT_TRUE(ep.ok());
  // Walk with the oracle until it is about to focus, then focus elsewhere.
  for (int t = 0; t < 15; ++t) {
    std::string next = *(*ep)->OracleAction();
    if (next.rfind("focus on ", 0) == 0) break;
    ASSERT_TRUE((*ep)->Step(next).ok());
  }
  auto out = (*ep)->Step("focus on the stove");  // not visible outside
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->action_valid);
  EXPECT_FALSE(out->done);
  std::string animal = (*ep)->OracleAction()->substr(9);
  // Pick a different animal from the room description.
  auto look = (*ep)->Step("look around");
  ASSERT_TRUE(look.ok());
  std::string other;
  for (const char* a : {"mayfly", "butterfly", "mouse", "rabbit", "horse", "elephant", "giant tortoise"}) {
    if (a != animal && look->observation.find(a) != std::string::npos) other = a;
  }
  ASSERT_FALSE(other.empty()) << look->observation;
  out = (*ep)->Step("focus on " + other);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->done);
  EXPECT_FALSE(out->success);
  EXPECT_NE(out->observation.find("failure"), std::string::npos);
  EXPECT_LT(out->score, 1.0);
  auto after = (*ep)->Step("look around");
  EXPECT_TRUE(after->done);
  EXPECT_FALSE(after->action_valid);
}

TEST(SciWorldEnvTest, ScoreRisesWithSubGoalsAndRewardIsTheIncrease) {
  for (const auto& type : Env().Describe().task_types) {
    EpisodeStart start;
    auto ep = Env().NewEpisode({type.name, Split::kTrain, 7}, 11, &start);
    ASSERT_TRUE(ep.ok());
    double score = 0, total_reward = 0;
    int rises = 0;
    for (int t = 0; t < type.recommended_max_turns; ++t) {
      auto out = (*ep)->Step(*(*ep)->OracleAction());
      ASSERT_TRUE(out.ok());
      EXPECT_GE(out->score, score) << type.name;
      EXPECT_NEAR(out->reward, out->score - score, 1e-9);
      rises += out->score > score;
      total_reward += out->reward;
      score = out->score;
      if (out->done) break;
    }
    EXPECT_DOUBLE_EQ(score, 1.0) << type.name;
    EXPECT_NEAR(total_reward, 1.0, 1e-9);
    EXPECT_GE(rises, 2) << type.name << ": partial credit should come in steps";
  }
}

TEST(SciWorldEnvTest, MemoryPerEpisodeIsBounded) {
  EpisodeStart start;
  auto ep = Env().NewEpisode({"chem_mix", Split::kTrain, 3}, 1, &start);
  ASSERT_TRUE(ep.ok());
  size_t initial = (*ep)->ApproxBytes();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE((*ep)->Step(i % 2 ? "connect battery to red wire" : "disconnect battery").ok());
  }
  EXPECT_LT((*ep)->ApproxBytes(), initial + 1024);
  EXPECT_LT(initial, 64u * 1024);
}

TEST(SciWorldEnvTest, UnknownTypeAndIndexAreErrors) {
  EpisodeStart start;
  EXPECT_FALSE(Env().NewEpisode({"nope", Split::kTrain, 0}, 1, &start).ok());
  EXPECT_FALSE(Env().NewEpisode({"find", Split::kTrain, -1}, 1, &start).ok());
}

// Oracle turns per type over many tasks (how kTypeTurns in sciworld.cc was set):
//   env_sciworld_test --gtest_also_run_disabled_tests --gtest_filter=*TurnStats*
TEST(SciWorldEnvTest, DISABLED_OracleTurnStats) {
  for (const auto& type : Env().Describe().task_types) {
    int max_turns = 0, solved = 0, n = 0;
    for (Split split : {Split::kTrain, Split::kTest}) {
      int64_t count = split == Split::kTrain ? type.train_count : type.test_count;
      for (int64_t i = 0; i < std::min<int64_t>(count, 1000); ++i, ++n) {
        EpisodeStart start;
        auto ep = Env().NewEpisode({type.name, split, i}, i, &start);
        ASSERT_TRUE(ep.ok());
        int turns = 0;
        while (auto action = (*ep)->OracleAction()) {
          auto out = (*ep)->Step(*action);
          ++turns;
          if (out->done || out->truncated) {
            solved += out->success;
            break;
          }
        }
        max_turns = std::max(max_turns, turns);
      }
    }
    std::cout << type.name << ": solved " << solved << "/" << n << ", max oracle turns " << max_turns
              << "\n";
  }
}

// Prints one oracle episode per type (used for docs/envs/sciworld.md):
//   env_sciworld_test --gtest_also_run_disabled_tests --gtest_filter=*PrintOracle*
TEST(SciWorldEnvTest, DISABLED_PrintOracleEpisodes) {
  for (const auto& type : Env().Describe().task_types) {
    testing::PrintOracleEpisode(Env(), {type.name, Split::kTest, 0}, /*seed=*/1, std::cout);
  }
}

}  // namespace
}  // namespace agentgym::env::sciworld
