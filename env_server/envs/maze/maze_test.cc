#include "env_server/envs/maze/maze.h"

#include <iostream>
#include <set>
#include <string>

#include "env_server/envs/maze/open4.h"
#include "env_server/testing/env_checks.h"
#include "gtest/gtest.h"

namespace agentgym::env::maze {
namespace {

std::unique_ptr<MazeEnv> MakeEnv() {
  auto env = MazeEnv::Create({});
  EXPECT_TRUE(env.ok()) << env.status();
  return *std::move(env);
}

TEST(MazeEnvTest, DescriptionIsWellFormed) {
  testing::ExpectWellFormedDescription(*MakeEnv());
}

// open4 reports the Manhattan distance, which is exactly the oracle's turns;
// the walled types report unknown (0).
TEST(MazeEnvTest, Open4MinTurnsIsTheOraclesPathLength) {
  auto env = MakeEnv();
  std::set<int32_t> seen;
  for (Split split : {Split::kTrain, Split::kTest}) {
    const int64_t count = split == Split::kTrain ? kOpen4TrainCount : kOpen4TestCount;
    for (int64_t i = 0; i < count; ++i) {
      TaskKey key{"open4", split, i};
      const int32_t min_turns = env->MinTurns(key);
      EpisodeStart start;
      auto episode = env->NewEpisode(key, /*seed=*/1, &start);
      ASSERT_TRUE(episode.ok()) << episode.status();
      int32_t turns = 0;
      bool success = false;
      while (auto action = (*episode)->OracleAction()) {
        auto out = (*episode)->Step(*action);
        ASSERT_TRUE(out.ok()) << out.status();
        ++turns;
        if (out->done) {
          success = out->success;
          break;
        }
        ASSERT_LT(turns, 64);
      }
      ASSERT_TRUE(success) << i;
      EXPECT_EQ(min_turns, turns) << SplitName(split) << " " << i;
      seen.insert(min_turns);
    }
  }
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), kOpen4RecommendedMaxTurns);
  for (const auto& t : env->Describe().task_types) {
    if (t.name != "open4") EXPECT_EQ(env->MinTurns(TaskKey{t.name, Split::kTrain, 0}), 0) << t.name;
  }
}

TEST(MazeEnvTest, OracleSolvesEveryTypeInTrainAndTest) {
  auto env = MakeEnv();
  testing::OracleReport train, test;
  testing::ExpectOracleSolvesEveryType(*env, 30, Split::kTrain, &train);
  testing::ExpectOracleSolvesEveryType(*env, 30, Split::kTest, &test);
  EXPECT_EQ(train.successes, train.episodes);
  EXPECT_EQ(test.successes, test.episodes);
  EXPECT_EQ(train.episodes, 120);  // 4 types x 30
}

TEST(MazeEnvTest, IsDeterministic) { testing::ExpectDeterministic(*MakeEnv(), 5); }

TEST(MazeEnvTest, SurvivesJunkActions) {
  testing::ExpectSurvivesJunkActions(*MakeEnv(), 5000,
                                     {"move", "move diagonal", "go up up", "UP", "Action: LEFT"});
}

TEST(MazeEnvTest, TrainAndTestTasksAreDisjoint) {
  auto env = MakeEnv();
  for (const char* type : {"small", "medium"}) {
    std::set<uint64_t> train, test;
    for (int64_t i = 0; i < 1000; ++i) {
      auto a = env->MakeTask({type, Split::kTrain, i});
      auto b = env->MakeTask({type, Split::kTest, i});
      ASSERT_TRUE(a.ok() && b.ok());
      train.insert(MazeEnv::Fingerprint(*a));
      test.insert(MazeEnv::Fingerprint(*b));
    }
    for (uint64_t fp : test) EXPECT_EQ(train.count(fp), 0u) << type;
    // Distinct indices give distinct mazes (no silent duplicates).
    EXPECT_GT(train.size(), 990u) << type;
  }
}

TEST(MazeEnvTest, ParsesMoveSynonymsAndPrefix) {
  EXPECT_EQ(ParseMove("up"), kNorth);
  EXPECT_EQ(ParseMove("Action: Move Down"), kSouth);
  EXPECT_EQ(ParseMove("  action:   west "), kWest);
  EXPECT_EQ(ParseMove("go east."), kEast);
  EXPECT_EQ(ParseMove("move diagonally"), std::nullopt);
  EXPECT_EQ(ParseMove(""), std::nullopt);
}

TEST(MazeEnvTest, WallsBlockAndObservationReportsThem) {
  auto env = MakeEnv();
  EpisodeStart start;
  auto ep = env->NewEpisode({"small", Split::kTrain, 3}, 1, &start);
  ASSERT_TRUE(ep.ok());
  auto task = env->MakeTask({"small", Split::kTrain, 3});
  ASSERT_TRUE(task.ok());
  EXPECT_NE(start.observation.find("You are at (" + std::to_string(task->start_x)),
            std::string::npos);
  EXPECT_NE(start.observation.find("The goal is at"), std::string::npos);
  // Find a blocked direction at the start and bump into it.
  for (int d = 0; d < 4; ++d) {
    if (!task->grid.Wall(task->start_x, task->start_y, static_cast<Dir>(d))) continue;
    EXPECT_NE(start.observation.find(std::string("wall to your")), std::string::npos);
    auto out = (*ep)->Step(std::string("move ") + MoveName(static_cast<Dir>(d)));
    ASSERT_TRUE(out.ok());
    EXPECT_NE(out->observation.find("bump into a wall"), std::string::npos);
    EXPECT_EQ(out->score, 0.0);
    break;
  }
  auto bad = (*ep)->Step("fly away");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->action_valid);
  EXPECT_NE(bad->observation.find("Invalid action"), std::string::npos);
}

TEST(MazeEnvTest, ScoreGrowsWithProgressAndTruncatesAtLimit) {
  auto env = MakeEnv();
  EpisodeStart start;
  auto ep = env->NewEpisode({"medium", Split::kTrain, 0}, 1, &start);
  ASSERT_TRUE(ep.ok());
  auto first = (*ep)->Step(*(*ep)->OracleAction());
  ASSERT_TRUE(first.ok());
  EXPECT_GT(first->score, 0.0);
  EXPECT_EQ(first->reward, 0.0);
  // Oscillating never reaches the goal: the env truncates at its limit (120).
  bool truncated = false;
  for (int t = 1; t < 200 && !truncated; ++t) {
    auto out = (*ep)->Step(t % 2 ? "up" : "down");
    ASSERT_TRUE(out.ok());
    truncated = out->truncated;
    if (truncated) {
      EXPECT_EQ(t + 1, 120);
      EXPECT_FALSE(out->success);
    }
  }
  EXPECT_TRUE(truncated);
}

TEST(MazeEnvTest, MemoryPerEpisodeIsBounded) {
  auto env = MakeEnv();
  EpisodeStart start;
  auto ep = env->NewEpisode({"large", Split::kTest, 4}, 1, &start);
  ASSERT_TRUE(ep.ok());
  const size_t initial = (*ep)->ApproxBytes();
  for (int t = 0; t < 500; ++t) {
    auto out = (*ep)->Step(t % 2 ? std::string(50000, 'u') : "move up");
    ASSERT_TRUE(out.ok());
  }
  // The grid and distance map of a 15x15 maze, nothing per action.
  EXPECT_EQ((*ep)->ApproxBytes(), initial);
  EXPECT_LT(initial, 4096u);
}

// Prints one oracle episode (the worked example of docs/envs/maze.md):
//   env_maze_test --gtest_also_run_disabled_tests --gtest_filter=*PrintOracle*
TEST(MazeEnvTest, DISABLED_PrintOracleEpisode) {
  testing::PrintOracleEpisode(*MakeEnv(), {"small", Split::kTest, 0}, /*seed=*/1, std::cout);
}

}  // namespace
}  // namespace agentgym::env::maze
