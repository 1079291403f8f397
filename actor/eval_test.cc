#include "actor/eval.h"

#include <gtest/gtest.h>

#include "actor/testing/test_support.h"
#include "nlohmann/json.hpp"
#include "policy/model_dir.h"

namespace agentgym::actor {
namespace {

std::string TinyModelDir() {
  const std::string dir = ::testing::TempDir() + "/actor_eval_model_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name();
  policy::PolicyBundle b = testing::MakeTestPolicy({"go north", "go south", "go east", "go west", "you are at"});
  auto* word = dynamic_cast<policy::WordTokenizer*>(b.tokenizer.get());
  EXPECT_NE(word, nullptr);
  EXPECT_TRUE(policy::WriteModelDir(dir, b.model, *word, policy::ChatFormatKind::kChatML, "").ok());
  return dir;
}

TEST(EvalTest, RunsEveryTaskAndReportsPerTypeAndPerEnvRows) {
  EvalOptions o;
  o.model_dir = TinyModelDir();
  o.envs = {"maze"};
  o.limit = 3;
  o.samples = 2;
  o.max_turns = 2;
  o.max_new_tokens = 6;
  o.concurrent_episodes = 4;
  auto report = RunEval(o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_GE(report->rows.size(), 2u);
  const EvalRow& all = report->rows.back();
  EXPECT_EQ(all.env, "maze");
  EXPECT_EQ(all.task_type, "all");
  EXPECT_EQ(all.episodes, 6);
  int64_t per_type = 0;
  for (size_t i = 0; i + 1 < report->rows.size(); ++i) per_type += report->rows[i].episodes;
  EXPECT_EQ(per_type, 6);
  EXPECT_GE(all.success_rate, 0.0);
  EXPECT_LE(all.success_rate, 1.0);
  EXPECT_GE(all.mean_turns, 1.0);
  EXPECT_LE(all.mean_turns, 2.0);
  auto json = nlohmann::json::parse(EvalReportToJson(*report));
  EXPECT_EQ(json["rows"].size(), report->rows.size());
  EXPECT_EQ(json["rows"].back()["episodes"], 6);
  EXPECT_NE(FormatEvalTable(*report).find("maze"), std::string::npos);
}

TEST(EvalTest, ClearErrors) {
  EvalOptions o;
  o.model_dir = TinyModelDir();
  o.envs = {"no-such-env"};
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kNotFound);
  o.envs = {"maze"};
  o.split = "dev";
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.split = "test";
  o.model_dir = "/nonexistent/model";
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agentgym::actor
