#include "env_server/testing/env_checks.h"

#include <algorithm>
#include <regex>

#include "core/det_random.h"
#include "gtest/gtest.h"

namespace agentgym::env::testing {
namespace {

int64_t CountFor(const TaskTypeInfo& type, Split split) {
  return split == Split::kTrain ? type.train_count : type.test_count;
}

std::string RandomUtf8(DetRng& rng, size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) {
    switch (rng.Uniform(4)) {
      case 0: s += static_cast<char>(' ' + rng.Uniform(95)); break;
      case 1: s += "\xc3\xa9"; break;          // é
      case 2: s += "\xe2\x82\xac"; break;      // €
      default: s += static_cast<char>(rng.Uniform(32)); break;  // control chars
    }
  }
  return s;
}

}  // namespace

void ExpectOracleSolvesEveryType(const Environment& env, int per_type, Split split,
                                 OracleReport* report_out) {
  OracleReport local;
  OracleReport& report = report_out ? *report_out : local;
  for (const TaskTypeInfo& type : env.Describe().task_types) {
    int64_t count = CountFor(type, split);
    if (count == 0) continue;
    int n = static_cast<int>(std::min<int64_t>(per_type, count));
    for (int i = 0; i < n; ++i) {
      TaskKey key{type.name, split, (count - 1) * i / std::max(1, n - 1)};
      uint64_t seed = 1000 + i;
      EpisodeStart start;
      auto episode = env.NewEpisode(key, seed, &start);
      ASSERT_TRUE(episode.ok()) << type.name << "/" << key.index << ": " << episode.status();
      ASSERT_FALSE(start.instruction.empty());
      ASSERT_FALSE(start.observation.empty());
      bool success = false;
      int turns = 0;
      while (turns < type.recommended_max_turns) {
        auto action = (*episode)->OracleAction();
        ASSERT_TRUE(action.has_value())
            << type.name << "/" << key.index << ": oracle gave up at turn " << turns;
        auto stepped = (*episode)->Step(*action);
        ASSERT_TRUE(stepped.ok()) << stepped.status();
        const StepOutcome& out = *stepped;
        ++turns;
        if (out.done || out.truncated) {
          success = out.success;
          EXPECT_TRUE(out.success) << type.name << "/" << key.index << " seed " << seed
                                   << ": oracle action '" << *action
                                   << "' ended the episode without success: "
                                   << out.observation;
          break;
        }
      }
      ++report.episodes;
      report.successes += success ? 1 : 0;
      report.max_turns_used = std::max(report.max_turns_used, turns);
      EXPECT_TRUE(success) << type.name << "/" << key.index << " seed " << seed
                           << ": not solved within " << type.recommended_max_turns
                           << " turns\ninstruction: " << start.instruction;
    }
  }
}

void ExpectDeterministic(const Environment& env, int tasks_per_type) {
  for (const TaskTypeInfo& type : env.Describe().task_types) {
    for (int i = 0; i < std::min<int64_t>(tasks_per_type, type.train_count); ++i) {
      TaskKey key{type.name, Split::kTrain, i * 7 % type.train_count};
      EpisodeStart a_start, b_start;
      auto a = env.NewEpisode(key, 42 + i, &a_start);
      auto b = env.NewEpisode(key, 42 + i, &b_start);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(a_start.instruction, b_start.instruction);
      EXPECT_EQ(a_start.observation, b_start.observation);
      for (int t = 0; t < type.recommended_max_turns; ++t) {
        auto action = (*a)->OracleAction();
        if (!action) break;
        auto sa = (*a)->Step(*action);
        auto sb = (*b)->Step(*action);
        ASSERT_TRUE(sa.ok() && sb.ok());
        const StepOutcome& oa = *sa;
        const StepOutcome& ob = *sb;
        ASSERT_EQ(oa.observation, ob.observation) << type.name << " turn " << t;
        ASSERT_EQ(oa.reward, ob.reward);
        ASSERT_EQ(oa.done, ob.done);
        ASSERT_EQ(oa.success, ob.success);
        if (oa.done || oa.truncated) break;
      }
    }
  }
}

void ExpectSurvivesJunkActions(const Environment& env, int steps,
                               const std::vector<std::string>& extra_actions) {
  std::vector<std::string> junk = {"",
                                   " ",
                                   "\n\n\n",
                                   "Action:",
                                   "Action: ",
                                   "[[[[",
                                   "]]]]",
                                   "()",
                                   "0",
                                   "-1",
                                   "99999999999999999999999",
                                   std::string(4000, 'a'),
                                   "craft using",
                                   "go to",
                                   "search[]",
                                   "answer[",
                                   "\xf0\x9f\x98\x80 emoji",
                                   "DROP TABLE sessions;",
                                   "%s%s%n%n",
                                   "\t\t\t"};
  junk.insert(junk.end(), extra_actions.begin(), extra_actions.end());
  DetRng rng(7);
  int taken = 0;
  const auto& types = env.Describe().task_types;
  while (taken < steps) {
    const TaskTypeInfo& type = types[rng.Uniform(types.size())];
    TaskKey key{type.name, Split::kTrain,
                static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(type.train_count)))};
    EpisodeStart start;
    auto episode = env.NewEpisode(key, rng.NextU64(), &start);
    ASSERT_TRUE(episode.ok()) << episode.status();
    for (int t = 0; t < 3 * std::max(1, type.recommended_max_turns) && taken < steps; ++t) {
      std::string action;
      switch (rng.Uniform(4)) {
        case 0: action = junk[rng.Uniform(junk.size())]; break;
        case 1: action = RandomUtf8(rng, rng.Uniform(64)); break;
        case 2: {  // a valid action with its words shuffled or cut
          auto oracle = (*episode)->OracleAction();
          action = oracle ? oracle->substr(0, rng.Uniform(oracle->size() + 1)) : "x";
          break;
        }
        default: {
          auto oracle = (*episode)->OracleAction();
          action = oracle ? *oracle : junk[rng.Uniform(junk.size())];
        }
      }
      auto stepped = (*episode)->Step(action);
      ++taken;
      ASSERT_TRUE(stepped.ok()) << stepped.status();
      const StepOutcome& out = *stepped;
      EXPECT_FALSE(out.observation.empty()) << "action '" << action << "'";
      EXPECT_GE(out.score, 0.0);
      EXPECT_LE(out.score, 1.0);
      if (out.done || out.truncated) break;
    }
  }
}

void ExpectWellFormedDescription(const Environment& env) {
  const EnvDescription& d = env.Describe();
  static const std::regex kName("[a-z0-9_-]+");
  EXPECT_TRUE(std::regex_match(d.name, kName)) << d.name;
  EXPECT_FALSE(d.description.empty());
  EXPECT_FALSE(d.action_format.empty());
  EXPECT_GT(d.recommended_max_turns, 0);
  ASSERT_FALSE(d.task_types.empty());
  for (const auto& t : d.task_types) {
    EXPECT_TRUE(std::regex_match(t.name, kName)) << t.name;
    EXPECT_GT(t.train_count, 0) << t.name;
    EXPECT_GE(t.test_count, 0) << t.name;
    EXPECT_GT(t.recommended_max_turns, 0) << t.name;
    EXPECT_FALSE(t.description.empty()) << t.name;
  }
}

void PrintOracleEpisode(const Environment& env, const TaskKey& key, uint64_t seed,
                        std::ostream& out) {
  EpisodeStart start;
  auto episode = env.NewEpisode(key, seed, &start);
  ASSERT_TRUE(episode.ok()) << episode.status();
  out << "=== " << key.type << "/" << SplitName(key.split) << "/" << key.index << " seed " << seed
      << "\nInstruction: " << start.instruction << "\nObservation: " << start.observation << "\n";
  while (auto action = (*episode)->OracleAction()) {
    auto step = (*episode)->Step(*action);
    ASSERT_TRUE(step.ok()) << step.status();
    out << "> " << *action << "\n"
        << step->observation << "  [reward " << step->reward << ", score " << step->score
        << (step->done ? ", done" : "") << (step->success ? ", success" : "") << "]\n";
    if (step->done || step->truncated) break;
  }
}

}  // namespace agentgym::env::testing
