#include "launcher/summary.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"

namespace agentgym::launcher {
namespace {

using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SummaryTest, ReadsJsonlFlattenedAndSkipsBrokenLines) {
  testing::TempDir dir;
  std::ofstream(dir.File("m.jsonl"))
      << "{\"step\": 1, \"loss\": 0.5, \"env\": {\"maze\": {\"success_rate\": 0.25}}}\n"
      << "not json\n"
      << "{\"no_step\": 1}\n"
      << "{\"step\": 2, \"loss\": 0.4, \"ok\": true}\n"
      << "{\"step\": 3, \"lo";  // cut off mid-write
  auto rows = ReadMetricsJsonl(dir.File("m.jsonl"));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_DOUBLE_EQ((*rows)[0].at("env.maze.success_rate"), 0.25);
  EXPECT_DOUBLE_EQ((*rows)[1].at("ok"), 1.0);
  EXPECT_EQ(ReadMetricsJsonl(dir.File("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST(SummaryTest, HorizonStagesFollowTheDefaultTrack) {
  std::vector<MetricsRow> rows;
  for (int step = 1; step <= 6; ++step) {
    rows.push_back({{"step", step},
                    {"horizon..stage", step <= 3 ? 0 : 1},
                    {"horizon..max_turns", step <= 3 ? 5 : 6}});
  }
  auto stages = HorizonStages(rows);
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].first_step, 1);
  EXPECT_EQ(stages[0].max_turns, 5);
  EXPECT_EQ(stages[1].first_step, 4);
  EXPECT_EQ(stages[1].last_step, 6);
  EXPECT_EQ(stages[1].max_turns, 6);
}

TEST(SummaryTest, WritesMarkdownWithPlotsAndTheEvalTable) {
  testing::TempDir dir;
  SummaryInputs in;
  in.run_dir = dir.path();
  in.run_name = "t-1";
  in.total_steps = 3;
  in.outcome = "finished";
  in.eval_table = "| env | success |\n|---|---|\n| maze | 0.9 |\n";
  for (int step = 1; step <= 3; ++step) {
    in.learner_rows.push_back({{"step", step}, {"loss", 1.0 / step}, {"kl", 0.01},
                               {"entropy", 1.2}, {"success_rate", 0.3 * step},
                               {"reward_mean", 0.3 * step}});
    in.coordinator_rows.push_back({{"step", step}, {"horizon..stage", 0},
                                   {"horizon..max_turns", 5}});
  }
  auto path = WriteSummary(in);
  ASSERT_TRUE(path.ok()) << path.status();
  const std::string md = ReadAll(*path);
  EXPECT_THAT(md, HasSubstr("# Run t-1"));
  EXPECT_THAT(md, HasSubstr("learner steps: 3 of 3"));
  EXPECT_THAT(md, HasSubstr("| maze | 0.9 |"));
  EXPECT_THAT(md, HasSubstr("](success.svg)"));
  EXPECT_THAT(md, HasSubstr("stage 0: 5 turns"));
  for (const char* f : {"success.svg", "reward.svg", "loss.svg", "kl.svg", "entropy.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.File(f))) << f;
  }
  EXPECT_THAT(ReadAll(dir.File("success.svg")), HasSubstr(">success_rate</text>"));
  EXPECT_THAT(ReadAll(dir.File("success.svg")), HasSubstr("class=\"band\""));
}

}  // namespace
}  // namespace agentgym::launcher
