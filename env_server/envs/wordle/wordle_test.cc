#include "env_server/envs/wordle/wordle.h"

#include <iostream>
#include <set>
#include <string>

#include "env_server/envs/wordle/word_lists.h"
#include "env_server/envs/wordle/wordle_rules.h"
#include "env_server/testing/env_checks.h"
#include "gtest/gtest.h"

namespace agentgym::env::wordle {
namespace {

std::unique_ptr<WordleEnv> MakeEnv() {
  auto env = WordleEnv::Create({});
  EXPECT_TRUE(env.ok()) << env.status();
  return *std::move(env);
}

std::string Marks(std::string_view guess, std::string_view answer) {
  std::string s;
  for (Mark m : Score(guess, answer)) s += "-YG"[static_cast<int>(m)];
  return s;
}

TEST(WordleRulesTest, RepeatedLettersFollowTheGame) {
  EXPECT_EQ(Marks("crane", "crane"), "GGGGG");
  EXPECT_EQ(Marks("paper", "apple"), "YYGY-");  // two p's: one green, one yellow
  EXPECT_EQ(Marks("geese", "those"), "---GG");  // the e is used by the green: others gray
  EXPECT_EQ(Marks("eerie", "abide"), "---YG");  // a later green takes the only e first
  EXPECT_EQ(Marks("kebab", "abbey"), "-YGYY");  // second b yellow: answer has two
  EXPECT_EQ(Marks("eerie", "lever"), "YGY--");  // green first, then left to right
  EXPECT_EQ(Marks("speed", "abide"), "--Y-Y");  // only one yellow e for one e
  EXPECT_EQ(Marks("llama", "hello"), "YY---");  // answer has two l's, none in place
  EXPECT_EQ(Marks("lolly", "hello"), "-YGG-");  // both l's green, so extra l gray
}

TEST(WordleRulesTest, FeedbackTextNamesEveryLetter) {
  EXPECT_EQ(FeedbackText("crane", Score("crane", "react")),
            "c(yellow) r(yellow) a(green) n(gray) e(yellow)");
}

TEST(WordleRulesTest, HardModeRequiresGreensAndYellows) {
  std::vector<GuessRecord> history = {{"crane", Score("crane", "react")}};
  EXPECT_EQ(HardModeViolation("react", history), std::nullopt);
  EXPECT_NE(HardModeViolation("pious", history), std::nullopt);  // drops green a
  auto v = HardModeViolation("toast", history);                   // keeps a, drops c/r/e
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->find("must contain"), std::string::npos);
}

TEST(WordleEnvTest, WordListsAreEmbeddedAndAnswersAreGuessable) {
  EXPECT_GT(AnswerWords().size(), 2000u);
  EXPECT_GT(GuessWords().size(), 4000u);
  for (const std::string& w : AnswerWords()) ASSERT_TRUE(IsValidGuessWord(w)) << w;
  EXPECT_FALSE(IsValidGuessWord("xqzzv"));
}

TEST(WordleEnvTest, DescriptionIsWellFormed) { testing::ExpectWellFormedDescription(*MakeEnv()); }

TEST(WordleEnvTest, OracleSolvesEveryTypeInTrainAndTest) {
  auto env = MakeEnv();
  testing::OracleReport train, test;
  testing::ExpectOracleSolvesEveryType(*env, 200, Split::kTrain, &train);
  testing::ExpectOracleSolvesEveryType(*env, 200, Split::kTest, &test);
  EXPECT_EQ(train.successes, train.episodes);
  EXPECT_EQ(test.successes, test.episodes);
  EXPECT_LE(train.max_turns_used, WordleEnv::kMaxGuesses);
}

// Measures the pure consistent-candidate strategy (no peeking) on every
// answer: it must solve almost all words in 6, which is why the oracle's
// last-guess fallback to the answer is rarely needed.
TEST(WordleEnvTest, PureCandidateSolverRarelyNeedsTheFallback) {
  auto env = MakeEnv();
  std::string opener = BestCandidateGuess(AnswerWords());
  int over_six = 0;
  for (const std::string& answer : AnswerWords()) {
    std::vector<GuessRecord> history;
    std::string guess = opener;
    int n = 1;
    while (guess != answer && n < 12) {
      history.push_back({guess, Score(guess, answer)});
      std::vector<std::string> candidates;
      for (const std::string& w : AnswerWords()) {
        if (Consistent(w, history)) candidates.push_back(w);
      }
      ASSERT_FALSE(candidates.empty());
      guess = BestCandidateGuess(candidates);
      ++n;
    }
    if (n > WordleEnv::kMaxGuesses) ++over_six;
  }
  std::cout << "pure candidate solver needs > 6 guesses on " << over_six << " of "
            << AnswerWords().size() << " answers (opener " << opener << ")\n";
  EXPECT_LT(over_six, static_cast<int>(AnswerWords().size()) / 50);
}

TEST(WordleEnvTest, IsDeterministic) { testing::ExpectDeterministic(*MakeEnv(), 5); }

TEST(WordleEnvTest, SurvivesJunkActions) {
  testing::ExpectSurvivesJunkActions(*MakeEnv(), 5000,
                                     {"guess", "guess crane", "CRANE", "Action: guess[slate]",
                                      "zzzzz", "guess abcdefg", "guess 12345"});
}

TEST(WordleEnvTest, TrainAndTestAnswersAreDisjoint) {
  auto env = MakeEnv();
  std::set<std::string> train, test;
  for (const auto& type : env->Describe().task_types) {
    for (int64_t i = 0; i < type.train_count; ++i) {
      train.insert(*env->AnswerFor({type.name, Split::kTrain, i}));
    }
    for (int64_t i = 0; i < type.test_count; ++i) {
      test.insert(*env->AnswerFor({type.name, Split::kTest, i}));
    }
  }
  for (const std::string& w : test) EXPECT_EQ(train.count(w), 0u) << w;
  EXPECT_EQ(train.size() + test.size(), AnswerWords().size());
  EXPECT_GT(test.size(), 300u);
}

TEST(WordleEnvTest, InvalidGuessesExplainAndDoNotUseATry) {
  auto env = MakeEnv();
  EpisodeStart start;
  TaskKey key{"standard", Split::kTrain, 0};
  auto ep = env->NewEpisode(key, 1, &start);
  ASSERT_TRUE(ep.ok());
  std::string answer = *env->AnswerFor(key);
  for (const char* junk : {"qqqqq", "hello world", "", "guess 12345"}) {
    auto out = (*ep)->Step(junk);
    ASSERT_TRUE(out.ok());
    EXPECT_FALSE(out->action_valid) << junk;
    EXPECT_NE(out->observation.find("6 guesses left"), std::string::npos) << out->observation;
  }
  std::string wrong = answer == "crane" ? "slate" : "crane";
  auto out = (*ep)->Step("Action: Guess " + wrong);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->action_valid);
  EXPECT_NE(out->observation.find("guess: " + wrong + "\nfeedback: "), std::string::npos);
  EXPECT_NE(out->observation.find("Guesses left: 5"), std::string::npos);
  EXPECT_DOUBLE_EQ(out->score, Greens(Score(wrong, answer)) / 5.0);
  auto win = (*ep)->Step("guess[" + answer + "]");
  ASSERT_TRUE(win.ok());
  EXPECT_TRUE(win->done && win->success);
  EXPECT_EQ(win->reward, 1.0);
  EXPECT_EQ(win->score, 1.0);
}

TEST(WordleEnvTest, HardModeRejectsGuessIgnoringHints) {
  auto env = MakeEnv();
  // Find a hard task whose answer contains 'a' but not at position 3 so
  // "crane" reveals a yellow or green that "pious" does not reuse.
  for (int64_t i = 0; i < 50; ++i) {
    TaskKey key{"hard", Split::kTrain, i};
    std::string answer = *env->AnswerFor(key);
    if (answer.find('a') == std::string::npos || answer.find_first_of("piou") != std::string::npos ||
        answer == "crane")
      continue;
    EpisodeStart start;
    auto ep = env->NewEpisode(key, 1, &start);
    ASSERT_TRUE(ep.ok());
    ASSERT_TRUE((*ep)->Step("crane")->action_valid);
    auto out = (*ep)->Step("pious");
    ASSERT_TRUE(out.ok());
    EXPECT_FALSE(out->action_valid);
    EXPECT_NE(out->observation.find("hard mode"), std::string::npos) << out->observation;
    EXPECT_NE(out->observation.find("5 guesses left"), std::string::npos) << out->observation;
    return;
  }
  FAIL() << "no suitable hard task found";
}

TEST(WordleEnvTest, SixWrongGuessesLoseAndRevealTheWord) {
  auto env = MakeEnv();
  TaskKey key{"standard", Split::kTest, 3};
  std::string answer = *env->AnswerFor(key);
  EpisodeStart start;
  auto ep = env->NewEpisode(key, 1, &start);
  ASSERT_TRUE(ep.ok());
  int used = 0;
  for (const std::string& w : AnswerWords()) {
    if (w == answer) continue;
    auto out = (*ep)->Step(w);
    ASSERT_TRUE(out.ok());
    if (++used == WordleEnv::kMaxGuesses) {
      EXPECT_TRUE(out->done);
      EXPECT_FALSE(out->success);
      EXPECT_NE(out->observation.find(answer), std::string::npos);
      break;
    }
    EXPECT_FALSE(out->done);
  }
}

TEST(WordleEnvTest, MemoryPerEpisodeIsBounded) {
  // Invalid guesses (huge, unknown, binary) until the action limit: the
  // episode keeps only its guesses (at most six), whatever it was sent.
  auto env = MakeEnv();
  EpisodeStart start;
  auto ep = env->NewEpisode({"hard", Split::kTrain, 9}, 1, &start);
  ASSERT_TRUE(ep.ok());
  const size_t initial = (*ep)->ApproxBytes();
  bool ended = false;
  for (int t = 0; t < 3 * WordleEnv::kMaxActions && !ended; ++t) {
    const std::string action = t % 3 == 0   ? std::string(60000, 'z')
                               : t % 3 == 1 ? "guess qqqqq"
                                            : *(*ep)->OracleAction();
    auto out = (*ep)->Step(action);
    ASSERT_TRUE(out.ok());
    ended = out->done || out->truncated;
  }
  EXPECT_TRUE(ended);
  EXPECT_LT((*ep)->ApproxBytes(), initial + 6 * sizeof(GuessRecord) + 1024);
}

// Prints one oracle episode (the worked example of docs/envs/wordle.md):
//   env_wordle_test --gtest_also_run_disabled_tests --gtest_filter=*PrintOracle*
TEST(WordleEnvTest, DISABLED_PrintOracleEpisode) {
  testing::PrintOracleEpisode(*MakeEnv(), {"standard", Split::kTest, 0}, /*seed=*/1, std::cout);
}

}  // namespace
}  // namespace agentgym::env::wordle
