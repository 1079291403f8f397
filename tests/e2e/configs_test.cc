// Every shipped config passes the full validation (`agentgym train
// --print-config`: the launcher's, coordinator's, learner's and actor's
// readers), and CLI mistakes are a message with exit code 2.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"

namespace agentgym::testing {
namespace {

using ::testing::HasSubstr;

TEST(ConfigsTest, EveryShippedConfigPrintsItsResolvedConfig) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(AG_CONFIGS_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    auto r = RunCommand(AG_AGENTGYM_BIN,
                        {"train", "--config", entry.path().string(), "--print-config"});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->exit_code, 0) << entry.path() << "\n" << r->output;
    EXPECT_THAT(r->output, HasSubstr("total_steps:")) << entry.path();
    EXPECT_THAT(r->output, HasSubstr("curriculum:")) << entry.path();
  }
  EXPECT_GE(seen, 7);
}

TEST(ConfigsTest, DefaultConfigAndOverridesResolve) {
  auto r = RunCommand(AG_AGENTGYM_BIN, {"train", "--print-config", "--set", "run.actors=3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->output;
  EXPECT_THAT(r->output, HasSubstr("actors: 3"));
  EXPECT_THAT(r->output, HasSubstr("open4/train/191"));
}

// --prepare-only: the run directory a cluster's roles start from, and no run.
TEST(ConfigsTest, PrepareOnlyWritesTheRunDirectoryAndStartsNothingElse) {
  TempDir root;
  auto r = RunCommand(AG_AGENTGYM_BIN, {"train", "--prepare-only", "--run-root", root.path(),
                                        "--set", "run.actors=2"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->output;
  const std::string marker = "prepared run directory: ";
  const size_t at = r->output.find(marker);
  ASSERT_NE(at, std::string::npos) << r->output;
  const std::string dir = r->output.substr(at + marker.size(), r->output.find('\n', at) - at - marker.size());
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(dir + "/config.yaml")) << dir;
  EXPECT_TRUE(fs::exists(dir + "/components.yaml")) << dir;
  // The embedded default starts from a random-init model made from the env's texts.
  EXPECT_TRUE(fs::exists(dir + "/model-init/config.json")) << dir;
  // Only the env server that gave those texts ran: no coordinator, no learner.
  EXPECT_TRUE(fs::exists(dir + "/logs/env-server-0.log")) << dir;
  EXPECT_FALSE(fs::exists(dir + "/logs/coordinator.log")) << dir;
  EXPECT_FALSE(fs::exists(dir + "/logs/learner-0.log")) << dir;

  auto resumed = RunCommand(AG_AGENTGYM_BIN, {"train", "--prepare-only", "--resume", dir});
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->exit_code, 2) << resumed->output;
  EXPECT_THAT(resumed->output, HasSubstr("--prepare-only"));
}

TEST(ConfigsTest, MistakesAreNamedWithExitCode2) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"train", "--print-config", "--set", "learner.lr_typo=1"}, "lr_typo"},
      {{"train", "--print-config", "--set", "actor.temprature=1"}, "temprature"},
      {{"train", "--print-config", "--set", "algorithm.name=dpo"}, "algorithm.name"},
      {{"train", "--print-config", "--set", "curriculm.mode=fixed"}, "curriculm"},
      {{"train", "--print-config", "--set", "envs=[]"}, "envs"},
      {{"train", "--print-config", "--set", "run.env_servers=0"}, "run.env_servers"},
      {{"train", "--config", "/nonexistent.yaml"}, "nonexistent"},
      {{"train", "--no-such-flag"}, "no-such-flag"},
      {{"eval", "--model", "/nonexistent-model", "--envs", "maze", "--env-server",
        "127.0.0.1:1"},
       "nonexistent-model"},
      {{"eval", "--model", "x", "--envs", "maze", "--greedy", "--samples", "3"}, "exclude"},
      {{"eval", "--envs", "maze"}, "give --model DIR or --endpoint URL"},
      {{"eval", "--model", "x", "--endpoint", "http://127.0.0.1:1/v1", "--envs", "maze"}, "excludes"},
      {{"eval", "--endpoint", "https://api.example.com/v1", "--model-name", "m", "--envs", "maze",
        "--env-server", "127.0.0.1:1"},
       "https is not supported"},
      {{"eval", "--endpoint", "http://127.0.0.1:1/v1", "--model-name", "m", "--envs", "maze",
        "--api-key-file", "/nonexistent-key"},
       "nonexistent-key"},
  };
  for (const Case& c : cases) {
    auto r = RunCommand(AG_AGENTGYM_BIN, c.args);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->exit_code, 2) << c.args.back() << "\n" << r->output;
    EXPECT_THAT(r->output, HasSubstr(c.message)) << r->output;
  }
}

}  // namespace
}  // namespace agentgym::testing
