// Tests of the "babyai" env through the Environment/Episode API: the shared
// env checks plus BabyAI-specific behaviour (text format, invalid actions,
// rewards, layouts, recovery of the oracle from arbitrary states).
#include "env_server/envs/babyai/babyai_env.h"

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>

#include "core/det_random.h"
#include "env_server/env_registry.h"
#include "env_server/envs/babyai/oracle.h"
#include "env_server/testing/env_checks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::env::babyai {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const Environment& Env() {
  static const Environment* env = [] {
    auto created = EnvRegistry::Global().Create("babyai", {});
    EXPECT_TRUE(created.ok()) << created.status();
    return created->release();
  }();
  return *env;
}

std::unique_ptr<Episode> Start(const std::string& type, int64_t index, EpisodeStart* start,
                               Split split = Split::kTrain) {
  auto episode = Env().NewEpisode(TaskKey{type, split, index}, 1, start);
  EXPECT_TRUE(episode.ok()) << episode.status();
  return episode.ok() ? *std::move(episode) : nullptr;
}

TEST(BabyAIEnvTest, DescriptionIsWellFormedWithSixFamilies) {
  testing::ExpectWellFormedDescription(Env());
  std::set<std::string> names;
  for (const auto& t : Env().Describe().task_types) names.insert(t.name);
  EXPECT_EQ(names, (std::set<std::string>{"goto", "pickup", "action_obj_door", "find_obj",
                                          "one_room", "synth_loc"}));
  EXPECT_FALSE(BabyAIEnv::Create({{"bogus", "1"}}).ok());
}

TEST(BabyAIEnvTest, OracleSolvesEveryTypeOnTrainAndTest) {
  testing::OracleReport train, test;
  testing::ExpectOracleSolvesEveryType(Env(), 12, Split::kTrain, &train);
  testing::ExpectOracleSolvesEveryType(Env(), 12, Split::kTest, &test);
  EXPECT_EQ(train.successes, train.episodes);
  EXPECT_EQ(test.successes, test.episodes);
  EXPECT_EQ(train.episodes, 72);
}

TEST(BabyAIEnvTest, IsDeterministic) { testing::ExpectDeterministic(Env(), 4); }

TEST(BabyAIEnvTest, SurvivesJunkActions) {
  testing::ExpectSurvivesJunkActions(
      Env(), 3000,
      {"go to", "pick up", "drop", "toggle", "go through", "toggle and go through",
       "pickup red ball 1", "go to red ball 0", "go to red ball 99", "Action: turn left",
       "move forward move forward", "check available actions", "check"});
}

TEST(BabyAIEnvTest, UnrecognizedActionIsInvalidAndSpendsATurn) {
  EpisodeStart start;
  auto ep = Start("one_room", 3, &start);
  ASSERT_NE(ep, nullptr);
  const int max_turns = Env().Describe().task_types[4].recommended_max_turns;
  for (int t = 1; t <= max_turns; ++t) {
    auto out = ep->Step("fly to the moon");
    ASSERT_TRUE(out.ok());
    EXPECT_FALSE(out->action_valid);
    EXPECT_THAT(out->observation,
                StartsWith("The action is not recognized. Please check valid actions."));
    EXPECT_EQ(out->info["turns"], t);
    EXPECT_EQ(out->reward, 0.0);
    EXPECT_FALSE(out->success);
    EXPECT_EQ(out->truncated, t == max_turns) << t;
  }
  auto after = ep->Step("turn left");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->action_valid);
  EXPECT_TRUE(after->truncated);
  EXPECT_FALSE(ep->OracleAction().has_value());
}

TEST(BabyAIEnvTest, KnownButUnavailableActionsExplainWhy) {
  EpisodeStart start;
  auto ep = Start("one_room", 0, &start);
  auto out = ep->Step("drop");
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->action_valid);
  EXPECT_THAT(out->observation,
              StartsWith("You cannot drop the object, as you are not carrying anything."));
}

TEST(BabyAIEnvTest, ActionsAreCaseInsensitiveWithOptionalPrefix) {
  EXPECT_EQ(NormalizeAction("  Action:  Turn   LEFT. \n"), "turn left");
  EXPECT_EQ(NormalizeAction("ACTION: pickup red ball 1"), "pick up red ball 1");
  EXPECT_EQ(NormalizeAction(std::string(5000, 'x')).size(), 257u);
  EpisodeStart start;
  auto ep = Start("goto", 0, &start);
  auto out = ep->Step("Action: TURN RIGHT");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->action_valid);
}

TEST(BabyAIEnvTest, EveryObservationEndsWithTheAvailableActions) {
  EpisodeStart start;
  auto ep = Start("synth_loc", 5, &start);
  EXPECT_THAT(start.instruction, StartsWith("Your goal: "));
  for (const std::string& obs : {start.observation}) {
    EXPECT_THAT(obs, HasSubstr("\nAvailable actions: [\"turn left\", \"turn right\""));
    EXPECT_THAT(obs, EndsWith("\"check available actions\"]"));
  }
  for (const char* action : {"move forward", "nonsense", "check available actions"}) {
    auto out = ep->Step(action);
    ASSERT_TRUE(out.ok());
    EXPECT_THAT(out->observation, EndsWith("\"check available actions\"]")) << action;
  }
  auto check = ep->Step("check available actions");
  EXPECT_THAT(check->observation, StartsWith("You can take the following actions: turn left"));
}

TEST(BabyAIEnvTest, SuccessRewardDecaysWithTurnsAsInBabyAI) {
  for (const auto& type : Env().Describe().task_types) {
    EpisodeStart start;
    auto ep = Start(type.name, 7, &start);
    int turns = 0;
    StepOutcome last;
    while (auto action = ep->OracleAction()) {
      last = *ep->Step(*action);
      ++turns;
      if (last.done || last.truncated) break;
    }
    ASSERT_TRUE(last.success) << type.name;
    EXPECT_TRUE(last.done);
    EXPECT_EQ(last.score, 1.0);
    EXPECT_DOUBLE_EQ(last.reward, 1.0 - 0.9 * turns / type.recommended_max_turns) << type.name;
    EXPECT_THAT(last.observation, HasSubstr("The task is completed."));
    EXPECT_EQ(turns, start.info["oracle_turns"].get<int>()) << type.name;
  }
}

TEST(BabyAIEnvTest, TrainAndTestLayoutsAreDisjointAndSeedsDoNotMatter) {
  std::set<uint64_t> seeds;
  for (const auto& type : Env().Describe().task_types) {
    for (int64_t i = 0; i < type.train_count; ++i) {
      seeds.insert(BabyAIEnv::LayoutSeed({type.name, Split::kTrain, i}));
    }
    for (int64_t i = 0; i < type.test_count; ++i) {
      EXPECT_EQ(seeds.count(BabyAIEnv::LayoutSeed({type.name, Split::kTest, i})), 0u);
    }
  }
  EpisodeStart a, b, c;
  Start("goto", 4, &a);
  ASSERT_TRUE(Env().NewEpisode({"goto", Split::kTrain, 4}, 999, &b).ok());
  Start("goto", 4, &c, Split::kTest);
  EXPECT_EQ(a.observation, b.observation);
  EXPECT_NE(a.instruction + a.observation, c.instruction + c.observation);
}

// Tasks are generated once and then copied: playing one episode must not
// change what the next episode of the same task starts from.
TEST(BabyAIEnvTest, EpisodesOfOneTaskStartAlikeWhateverEarlierOnesDid) {
  for (const auto& type : Env().Describe().task_types) {
    EpisodeStart first, second;
    auto a = Start(type.name, 3, &first);
    ASSERT_NE(a, nullptr);
    const World& a_world = static_cast<BabyAIEpisode&>(*a).world();
    const int x = a_world.agent_x(), y = a_world.agent_y(), dir = a_world.agent_dir();
    while (auto action = a->OracleAction()) {
      auto out = a->Step(*action);
      ASSERT_TRUE(out.ok());
      if (out->done || out->truncated) break;
    }
    auto b = Start(type.name, 3, &second);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(first.observation, second.observation) << type.name;
    EXPECT_EQ(first.instruction, second.instruction) << type.name;
    const World& b_world = static_cast<BabyAIEpisode&>(*b).world();
    EXPECT_EQ(b_world.agent_x(), x) << type.name;
    EXPECT_EQ(b_world.agent_y(), y) << type.name;
    EXPECT_EQ(b_world.agent_dir(), dir) << type.name;
    EXPECT_TRUE(b->OracleAction().has_value()) << type.name << ": the copy starts unsolved";
  }
}

TEST(BabyAIEnvTest, RejectsBadTaskKeys) {
  EpisodeStart start;
  EXPECT_FALSE(Env().NewEpisode({"nope", Split::kTrain, 0}, 1, &start).ok());
  EXPECT_FALSE(Env().NewEpisode({"goto", Split::kTest, 50}, 1, &start).ok());
  EXPECT_FALSE(Env().NewEpisode({"goto", Split::kTrain, -1}, 1, &start).ok());
}

// Every task id of both splits generates (no INTERNAL), and the oracle's turn
// counts leave slack under each type's limit.
TEST(BabyAIEnvTest, EveryTaskGeneratesWithinItsTurnBudget) {
  for (const auto& type : Env().Describe().task_types) {
    int max_turns = 0;
    double sum = 0;
    int n = 0;
    std::set<std::string> missions;
    for (Split split : {Split::kTrain, Split::kTest}) {
      const int64_t count = split == Split::kTrain ? type.train_count : type.test_count;
      for (int64_t i = 0; i < count; ++i) {
        EpisodeStart start;
        auto ep = Env().NewEpisode({type.name, split, i}, 0, &start);
        ASSERT_TRUE(ep.ok()) << type.name << " " << i << ": " << ep.status();
        const int turns = start.info["oracle_turns"].get<int>();
        max_turns = std::max(max_turns, turns);
        sum += turns;
        ++n;
        missions.insert(start.info["mission"].get<std::string>());
      }
    }
    EXPECT_LE(max_turns, type.recommended_max_turns * 2 / 3) << type.name;
    std::printf("babyai %-16s oracle turns mean %.1f max %d (limit %d), %zu distinct missions\n",
                type.name.c_str(), sum / n, max_turns, type.recommended_max_turns, missions.size());
  }
}

// "From any state": random valid actions first, then the oracle takes over.
TEST(BabyAIEnvTest, OracleRecoversFromRandomStates) {
  // BABYAI_STRESS=1 widens this to every train task with longer random walks.
  const bool stress = std::getenv("BABYAI_STRESS") != nullptr;
  const int kRecoveryTasks = stress ? 400 : 15;
  const int kRandomTurns = stress ? 80 : 25;
  DetRng rng(11);
  int solved = 0, total = 0;
  for (const LevelSpec& spec : LevelSpecs()) {
    for (int i = 0; i < kRecoveryTasks; ++i) {
      auto task = GenerateTask(spec, 5000 + i);
      ASSERT_TRUE(task.ok()) << task.status();
      BabyAIEpisode ep(task->world, task->mission, 1000);
      bool done = false;
      for (int t = 0; t < kRandomTurns && !done; ++t) {
        View view = ComputeView(ep.world());
        done = ep.Step(view.actions[rng.Uniform(view.actions.size())].name)->done;
      }
      std::string trace;
      for (int t = 0; t < 3 * spec.max_turns && !done; ++t) {
        std::string action = *ep.OracleAction();
        auto out = ep.Step(action);
        done = out->done;
        if (t >= 3 * spec.max_turns - 12) trace += "> " + action + "\n" + out->observation + "\n";
      }
      ++total;
      solved += done ? 1 : 0;
      EXPECT_TRUE(done) << spec.name << " " << i << ": " << ep.mission().Text() << "\n" << trace;
    }
  }
  EXPECT_EQ(solved, total);
}

TEST(BabyAIEnvTest, MemoryStaysBoundedOverManySteps) {
  EpisodeStart start;
  auto ep = Start("synth_loc", 1, &start);
  const size_t initial = ep->ApproxBytes();
  EXPECT_GT(initial, 0u);
  EXPECT_LT(initial, 64u * 1024);
  const char* cycle[] = {"turn left", "move forward", "turn right", "move forward", "junk"};
  int steps = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto fresh = Env().NewEpisode({"synth_loc", Split::kTrain, 1}, 1, &start);
  for (int i = 0; i < 2000; ++i) {
    if (ep->Step(cycle[i % 5])->truncated) ep = *Env().NewEpisode({"synth_loc", Split::kTrain, 1}, 1, &start);
    ++steps;
    EXPECT_LT(ep->ApproxBytes(), 64u * 1024);
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  // Printed for the record only: speed goals live in bench/, not in tests.
  std::printf("babyai: %.1f us per step (incl. episode restarts)\n", us / steps);
}

}  // namespace
}  // namespace agentgym::env::babyai
