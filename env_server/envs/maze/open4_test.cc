#include "env_server/envs/maze/open4.h"

#include <set>
#include <string>
#include <tuple>

#include "env_server/envs/maze/maze.h"
#include "env_server/testing/env_checks.h"
#include "gtest/gtest.h"

namespace agentgym::env::maze {
namespace {

std::unique_ptr<MazeEnv> MakeEnv() {
  auto env = MazeEnv::Create({});
  EXPECT_TRUE(env.ok()) << env.status();
  return *std::move(env);
}

const TaskTypeInfo *FindType(const Environment &env, const std::string &name) {
  for (const auto &t : env.Describe().task_types) {
    if (t.name == name)
      return &t;
  }
  return nullptr;
}

using Pair = std::tuple<int, int, int, int>;
Pair AsPair(const Open4Task &t) {
  return {t.start_x, t.start_y, t.goal_x, t.goal_y};
}

TEST(Open4Test, IsListedWith192TrainAnd48TestTasksAndSixTurns) {
  auto env = MakeEnv();
  const TaskTypeInfo *type = FindType(*env, "open4");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->train_count, 192);
  EXPECT_EQ(type->test_count, 48);
  EXPECT_EQ(type->recommended_max_turns, 6);
}

TEST(Open4Test, SplitsAreDisjointAndCoverEveryPairOnce) {
  std::set<Pair> train, test;
  for (int64_t i = 0; i < kOpen4TrainCount; ++i) {
    auto t = Open4TaskAt(Split::kTrain, i);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_FALSE(t->start_x == t->goal_x && t->start_y == t->goal_y);
    train.insert(AsPair(*t));
  }
  for (int64_t i = 0; i < kOpen4TestCount; ++i) {
    auto t = Open4TaskAt(Split::kTest, i);
    ASSERT_TRUE(t.ok()) << t.status();
    test.insert(AsPair(*t));
  }
  EXPECT_EQ(train.size(), 192u);
  EXPECT_EQ(test.size(), 48u);
  for (const Pair &p : test)
    EXPECT_EQ(train.count(p), 0u);
  EXPECT_FALSE(Open4TaskAt(Split::kTest, 48).ok());
  EXPECT_FALSE(Open4TaskAt(Split::kTrain, -1).ok());
  // Every distance 1..6 occurs in the test split (it is not a degenerate
  // slice).
  std::set<int> distances;
  for (int64_t i = 0; i < kOpen4TestCount; ++i)
    distances.insert(Open4TaskAt(Split::kTest, i)->MinTurns());
  EXPECT_EQ(distances, (std::set<int>{1, 2, 3, 4, 5, 6}));
}

TEST(Open4Test, OracleSolvesEveryTaskInMinTurns) {
  auto env = MakeEnv();
  int episodes = 0, successes = 0;
  for (Split split : {Split::kTrain, Split::kTest}) {
    const int64_t count =
        split == Split::kTrain ? kOpen4TrainCount : kOpen4TestCount;
    for (int64_t i = 0; i < count; ++i) {
      EpisodeStart start;
      auto ep = env->NewEpisode({"open4", split, i},
                                /*seed=*/static_cast<uint64_t>(i), &start);
      ASSERT_TRUE(ep.ok()) << ep.status();
      ASSERT_TRUE(start.info.contains("min_turns"));
      const int min_turns = start.info["min_turns"].get<int>();
      int turns = 0;
      bool success = false;
      while (auto action = (*ep)->OracleAction()) {
        auto out = (*ep)->Step(*action);
        ASSERT_TRUE(out.ok());
        ++turns;
        EXPECT_TRUE(out->action_valid);
        if (out->done) {
          success = out->success;
          EXPECT_EQ(out->reward, 1.0);
          EXPECT_EQ(out->score, 1.0);
        } else {
          EXPECT_EQ(out->reward, 0.0);
        }
        ASSERT_LE(turns, 6);
      }
      ++episodes;
      successes += success ? 1 : 0;
      EXPECT_EQ(turns, min_turns) << "open4/" << SplitName(split) << "/" << i;
    }
  }
  EXPECT_EQ(episodes, 240);
  EXPECT_EQ(successes, 240);
}

TEST(Open4Test, SpeaksTheCompactProtocol) {
  auto env = MakeEnv();
  // Find a task starting in the top-left corner so the border can be hit.
  for (int64_t i = 0; i < kOpen4TrainCount; ++i) {
    auto task = Open4TaskAt(Split::kTrain, i);
    ASSERT_TRUE(task.ok());
    if (task->start_x != 0 || task->start_y != 0 || task->goal_x == 0)
      continue;
    EpisodeStart start;
    auto ep = env->NewEpisode({"open4", Split::kTrain, i}, 1, &start);
    ASSERT_TRUE(ep.ok());
    EXPECT_EQ(start.instruction, "reach the goal");
    const std::string goal =
        std::to_string(task->goal_x) + " " + std::to_string(task->goal_y);
    EXPECT_EQ(start.observation, "pos 0 0 goal " + goal);

    auto bump = (*ep)->Step("up"); // the border: valid, stays put
    ASSERT_TRUE(bump.ok());
    EXPECT_TRUE(bump->action_valid);
    EXPECT_EQ(bump->observation, "pos 0 0 goal " + goal);
    EXPECT_FALSE(bump->done);

    auto bad = (*ep)->Step("jump");
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(bad->action_valid);
    EXPECT_EQ(bad->observation, "invalid pos 0 0 goal " + goal);
    EXPECT_EQ(bad->reward, 0.0);

    auto moved = (*ep)->Step("Action: move right");
    ASSERT_TRUE(moved.ok());
    EXPECT_TRUE(moved->action_valid);
    EXPECT_EQ(moved->observation, "pos 1 0 goal " + goal);
    EXPECT_GE(moved->score, 0.0);
    EXPECT_LE(moved->score, 1.0);
    return;
  }
  FAIL() << "no open4 train task starts at (0, 0) with goal_x > 0";
}

TEST(Open4Test, IsDeterministicAndSurvivesJunk) {
  auto env = MakeEnv();
  testing::ExpectDeterministic(*env, 3);
  testing::ExpectSurvivesJunkActions(*env, 2000,
                                     {"up up", "UP", "move", "pos 1 1"});
}

TEST(MazeEnvTest, WalledTypesReportMinTurns) {
  auto env = MakeEnv();
  EpisodeStart start;
  auto ep = env->NewEpisode({"small", Split::kTrain, 5}, 1, &start);
  ASSERT_TRUE(ep.ok());
  ASSERT_TRUE(start.info.contains("min_turns"));
  int turns = 0;
  while (auto action = (*ep)->OracleAction()) {
    ASSERT_TRUE((*ep)->Step(*action).ok());
    ++turns;
  }
  EXPECT_EQ(turns, start.info["min_turns"].get<int>());
  EXPECT_GE(turns, 5);
}

} // namespace
} // namespace agentgym::env::maze
