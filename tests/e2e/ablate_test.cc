// `agentgym ablate` end to end on a tiny budget: two curriculum variants, one
// seed, a few learner steps each through the real `agentgym train`, every
// checkpoint evaluated on the held-out split; the results directory has the
// table, the JSON, the curves and the plot. (The ablation itself, with
// enough steps to learn, is in docs/results/.)
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/common/test_process.h"

namespace agentgym::testing {
namespace {

using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AblateTest, RunsEveryVariantAndSeedAndWritesTheResults) {
  TempDir dir;
  const std::string out = dir.File("ablation");
  auto r = RunCommand(AG_AGENTGYM_BIN,
                      {"ablate", "--variants", "fixed-short,paper-schedule", "--seeds", "1", "--steps", "4",
                       "--checkpoint-every", "2", "--eval-limit", "4", "--out", out, "--log-level", "warn",
                       "--set", "run.progress_interval_s=60"},
                      absl::Minutes(8));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->exit_code, 0) << r->output;

  const std::string table = Slurp(out + "/table.md");
  EXPECT_THAT(table, HasSubstr("| fixed-short | 1 |"));
  EXPECT_THAT(table, HasSubstr("| paper-schedule | 1 |"));
  EXPECT_THAT(table, HasSubstr("agentgym ablate --variants fixed-short,paper-schedule"));  // the command
  auto results = nlohmann::json::parse(Slurp(out + "/results.json"));
  ASSERT_EQ(results["variants"].size(), 2u);
  for (const auto& v : results["variants"]) {
    ASSERT_EQ(v["runs"].size(), 1u) << v.dump();
    const auto& run = v["runs"][0];
    EXPECT_EQ(run["exit_code"], 0) << v.dump();
    ASSERT_EQ(run["curve"].size(), 2u) << v.dump();  // checkpoints at steps 2 and 4
    EXPECT_EQ(run["curve"][0]["step"], 2);
    EXPECT_EQ(run["curve"][1]["step"], 4);
    for (const auto& p : run["curve"]) {
      EXPECT_GE(p["success"].get<double>(), 0.0);
      EXPECT_LE(p["success"].get<double>(), 1.0);
      EXPECT_GT(p["seconds"].get<double>(), 0.0);
    }
    // The variant's curriculum reached the run: its resolved config.
    const std::string config = Slurp(run["run_dir"].get<std::string>() + "/config.yaml");
    if (v["variant"] == "fixed-short") {
      EXPECT_THAT(config, HasSubstr("horizons: [5]")) << config;
    } else {
      EXPECT_THAT(config, HasSubstr("horizons: [5, 6, 8]")) << config;
    }
  }
  EXPECT_THAT(Slurp(out + "/success_vs_step.svg"), HasSubstr("<svg"));
  EXPECT_THAT(Slurp(out + "/curves.csv"), HasSubstr("fixed-short,1,4,"));
}

TEST(AblateTest, BadVariantsAndFlagsAreNamedWithExitCode2) {
  TempDir dir;
  auto r = RunCommand(AG_AGENTGYM_BIN, {"ablate", "--variants", "fixed-short,sometimes", "--out", dir.File("x")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2) << r->output;
  EXPECT_THAT(r->output, HasSubstr("unknown variant 'sometimes'"));
  r = RunCommand(AG_AGENTGYM_BIN, {"ablate", "--seeds", "0", "--out", dir.File("x")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2) << r->output;
  EXPECT_THAT(r->output, HasSubstr("--seeds"));
}

}  // namespace
}  // namespace agentgym::testing
