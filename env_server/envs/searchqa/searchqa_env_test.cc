#include "env_server/envs/searchqa/searchqa_env.h"

#include <cstdlib>
#include <iostream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "env_server/env_registry.h"
#include "env_server/envs/searchqa/answer_match.h"
#include "env_server/testing/env_checks.h"
#include "gtest/gtest.h"

namespace agentgym::env::searchqa {
namespace {

const SearchQaEnv& Env() {
  static const Environment* env = [] {
    auto created = SearchQaEnv::Create({});
    if (!created.ok()) {
      std::cerr << created.status() << "\n";
      std::abort();
    }
    return created->release();
  }();
  return static_cast<const SearchQaEnv&>(*env);
}

std::unique_ptr<Episode> Start(const std::string& type, int64_t index, EpisodeStart* start,
                               Split split = Split::kTrain) {
  auto episode = Env().NewEpisode({type, split, index}, 7, start);
  EXPECT_TRUE(episode.ok()) << episode.status();
  return episode.ok() ? std::move(*episode) : nullptr;
}

TEST(SearchQaEnvTest, PassesTheSharedEnvChecks) {
  testing::ExpectWellFormedDescription(Env());
  testing::OracleReport train, test;
  testing::ExpectOracleSolvesEveryType(Env(), 40, Split::kTrain, &train);
  testing::ExpectOracleSolvesEveryType(Env(), 40, Split::kTest, &test);
  EXPECT_EQ(train.successes, train.episodes);
  EXPECT_EQ(test.successes, test.episodes);
  EXPECT_EQ(train.episodes, 7 * 40);
  testing::ExpectDeterministic(Env());
  testing::ExpectSurvivesJunkActions(Env(), 4000,
                                     {"search[", "open[d99999]", "open[]", "answer[]",
                                      "<search>x</search>", "<answer></answer>",
                                      "open[d0000000000000001]", "click[Buy Now]"});
}

TEST(SearchQaEnvTest, SeparateInstancesServeTheSameTasks) {
  // Replicas of a server must agree on what a task id means.
  auto other = SearchQaEnv::Create({});
  ASSERT_TRUE(other.ok());
  for (const TaskTypeInfo& type : Env().Describe().task_types) {
    EpisodeStart a, b;
    auto ea = Env().NewEpisode({type.name, Split::kTest, type.test_count - 1}, 3, &a);
    auto eb = (*other)->NewEpisode({type.name, Split::kTest, type.test_count - 1}, 3, &b);
    ASSERT_TRUE(ea.ok() && eb.ok());
    EXPECT_EQ(a.instruction, b.instruction);
    const std::string action = (*ea)->OracleAction().value();
    auto oa = (*ea)->Step(action);
    auto ob = (*eb)->Step(action);
    ASSERT_TRUE(oa.ok() && ob.ok());
    EXPECT_EQ(oa->observation, ob->observation);
  }
}

TEST(SearchQaEnvTest, IsRegisteredAndRejectsBadOptions) {
  auto env = EnvRegistry::Global().Create("searchqa", {{"top_k", "5"}});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->Describe().name, "searchqa");
  for (EnvOptions bad : std::vector<EnvOptions>{{{"top_k", "0"}},
                                                {{"k1", "abc"}},
                                                {{"b", "1.5"}},
                                                {{"colour", "red"}},
                                                {{"search_backend", "ftp://x"}}}) {
    EXPECT_EQ(SearchQaEnv::Create(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(SearchQaEnvTest, HasSevenTypesAndDisjointSplits) {
  const auto& sets = Env().world().sets;
  std::vector<std::string> names;
  for (const auto& s : sets) names.push_back(s.type);
  EXPECT_EQ(names, (std::vector<std::string>{"nq", "triviaqa", "popqa", "hotpotqa", "2wiki",
                                             "musique", "bamboogle"}));
  for (const QuestionSet& set : sets) {
    EXPECT_GE(set.train.size(), 500u) << set.type;
    EXPECT_GE(set.test.size(), 100u) << set.type;
    absl::flat_hash_set<std::string> train;
    for (const Question& q : set.train) train.insert(q.text);
    EXPECT_EQ(train.size(), set.train.size()) << set.type << ": duplicate train questions";
    for (const Question& q : set.test) {
      EXPECT_FALSE(train.contains(q.text)) << set.type << ": in both splits: " << q.text;
    }
  }
}

TEST(SearchQaEnvTest, HopCountsMatchTheirDatasets) {
  for (const QuestionSet& set : Env().world().sets) {
    size_t lo = 100, hi = 0;
    for (const Question& q : set.train) {
      lo = std::min(lo, q.lookups.size());
      hi = std::max(hi, q.lookups.size());
    }
    if (set.type == "nq" || set.type == "triviaqa" || set.type == "popqa") {
      EXPECT_EQ(hi, 1u) << set.type;
    } else if (set.type == "musique") {
      EXPECT_EQ(lo, 2u);
      EXPECT_EQ(hi, 4u);
    } else {
      EXPECT_GE(lo, 2u) << set.type;
    }
  }
}

TEST(SearchQaEnvTest, BamboogleAnswersAreInNoPassageAboutTheSubject) {
  const KnowledgeBase& kb = *Env().world().kb;
  for (const QuestionSet& set : Env().world().sets) {
    if (set.type != "bamboogle") continue;
    for (const Question& q : set.train) {
      // The first lookup's page is about the question's subject.
      const Document& first = kb.docs()[q.lookups[0].doc];
      EXPECT_EQ(NormalizeAnswer(first.text).find(NormalizeAnswer(q.answer)), std::string::npos)
          << q.text;
    }
  }
}

TEST(SearchQaEnvTest, Bm25RanksTheOraclePageInTheTop3) {
  // Speed is measured by agentgym-env-bench (docs/benchmarks.md), not here.
  const auto& world = Env().world();
  const KnowledgeBase& kb = *world.kb;
  // Every oracle query of every train question, and how often its page is in
  // the top 3.
  int queries = 0, found = 0;
  for (const QuestionSet& set : world.sets) {
    for (const Question& q : set.train) {
      for (const Lookup& l : q.lookups) {
        ++queries;
        for (const Bm25Hit& hit : kb.index().Search(l.query, 3)) found += hit.doc == l.doc;
      }
    }
  }
  EXPECT_GE(kb.docs().size(), 2000u);
  EXPECT_GT(found, queries * 9 / 10) << found << " of " << queries;
}

TEST(SearchQaEnvTest, GradesAnswersByExactMatchAndF1) {
  EpisodeStart start;
  const Question& q = Env().world().sets[0].train[3];
  auto ep = Start("nq", 3, &start);
  EXPECT_NE(start.instruction.find(q.text), std::string::npos);
  auto out = ep->Step("Action: answer[" + q.answer + "]");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->done && out->success);
  EXPECT_DOUBLE_EQ(out->reward, 1.0);
  // A partial answer: F1 as score and reward, but no success.
  for (const Question& partial : Env().world().sets[0].train) {
    if (partial.answer.find(' ') == std::string::npos) continue;
    int64_t index = &partial - Env().world().sets[0].train.data();
    ep = Start("nq", index, &start);
    out = ep->Step("answer[" + partial.answer.substr(0, partial.answer.find(' ')) + "]");
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(out->done);
    EXPECT_FALSE(out->success);
    EXPECT_GT(out->reward, 0.0);
    EXPECT_LT(out->reward, 1.0);
    EXPECT_DOUBLE_EQ(out->score, out->reward);
    // Steps after the end are refused.
    out = ep->Step("answer[again]");
    ASSERT_TRUE(out.ok());
    EXPECT_FALSE(out->action_valid);
    EXPECT_TRUE(out->done);
    break;
  }
}

TEST(SearchQaEnvTest, ExplainsInvalidActionsAndKeepsGoing) {
  EpisodeStart start;
  auto ep = Start("hotpotqa", 0, &start);
  for (const char* bad : {"", "search", "search[", "search[]", "open[nope]", "dance[now]",
                          "answer[]"}) {
    auto out = ep->Step(bad);
    ASSERT_TRUE(out.ok());
    EXPECT_FALSE(out->action_valid) << bad;
    EXPECT_FALSE(out->done) << bad;
    EXPECT_NE(out->observation.find("Invalid action"), std::string::npos) << bad;
  }
  // A query no document shares a term with is a valid search with no hits.
  auto out = ep->Step("search[zzzqqq]");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->action_valid);
  EXPECT_NE(out->observation.find("No documents match"), std::string::npos) << out->observation;
  out = ep->Step("<search>founded</search>");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->action_valid);
  EXPECT_NE(out->observation.find("Search results"), std::string::npos) << out->observation;
  out = ep->Step("open[d0001]");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->action_valid);
  EXPECT_NE(out->observation.find("Document d0001 |"), std::string::npos);
}

TEST(SearchQaEnvTest, TruncatesAtTheTurnLimitWithBoundedMemory) {
  auto env = SearchQaEnv::Create({{"max_turns", "50"}});
  ASSERT_TRUE(env.ok());
  EpisodeStart start;
  auto ep = (*env)->NewEpisode({"musique", Split::kTrain, 5}, 1, &start);
  ASSERT_TRUE(ep.ok());
  size_t first_bytes = 0;
  for (int t = 1; t <= 50; ++t) {
    auto out = (*ep)->Step(absl::StrCat("search[city river founded ", t, " ",
                                        std::string(t * 10, 'x'), "]"));
    ASSERT_TRUE(out.ok());
    if (t == 1) first_bytes = (*ep)->ApproxBytes();
    EXPECT_EQ(out->truncated, t == 50) << t;
    EXPECT_FALSE(out->success);
  }
  EXPECT_LT((*ep)->ApproxBytes(), first_bytes + 8192);
}

TEST(SearchQaEnvTest, PrintsAWorkedOracleEpisode) {
  // The docs' worked example comes from here (AG_PRINT_EXAMPLE=1 prints it).
  EpisodeStart start;
  auto ep = Start("musique", 2, &start, Split::kTest);
  std::string transcript = "Instruction: " + start.instruction + "\n\nObservation: " +
                           start.observation + "\n";
  bool success = false;
  for (int t = 0; t < 12; ++t) {
    auto action = ep->OracleAction();
    if (!action) break;
    auto out = ep->Step(*action);
    ASSERT_TRUE(out.ok());
    absl::StrAppend(&transcript, "\nAction: ", *action, "\nObservation: ", out->observation,
                    "\n(reward ", out->reward, ", done ", out->done, ")\n");
    success = out->success;
  }
  EXPECT_TRUE(success);
  if (std::getenv("AG_PRINT_EXAMPLE") != nullptr) std::cout << transcript;
}

}  // namespace
}  // namespace agentgym::env::searchqa
