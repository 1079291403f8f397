#include "launcher/run_config.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"

namespace agentgym::launcher {
namespace {

using ::testing::HasSubstr;

constexpr char kMinimal[] = R"(
run: {name: t, total_steps: 10}
model: {init: {preset: tiny, hidden_size: 32}}
envs: [{name: maze, tasks: [open4/train/0, open4/train/1]}]
)";

absl::StatusOr<RunSettings> Validate(const std::string& yaml,
                                     const std::vector<std::string>& overrides = {}) {
  testing::TempDir dir;
  const std::string path = dir.File("c.yaml");
  std::ofstream(path) << yaml;
  auto config = ResolveConfig(path, overrides);
  if (!config.ok()) return config.status();
  return ValidateRunConfig(*config);
}

std::string ErrorOf(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto s = Validate(yaml, overrides);
  return s.ok() ? "OK" : std::string(s.status().message());
}

TEST(RunConfigTest, DefaultsFileAndOverridesResolveInOrder) {
  auto s = Validate(kMinimal, {"run.actors=3", "env_server.faults.drop_rate=0.5"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "t");
  EXPECT_EQ(s->total_steps, 10);
  EXPECT_EQ(s->actors, 3);       // --set
  EXPECT_EQ(s->env_servers, 1);  // default
  EXPECT_EQ(s->learner_world_size, 1);
  ASSERT_TRUE(s->model_init.has_value());
  EXPECT_EQ(s->model_init->hidden_size, 32);
  ASSERT_EQ(s->envs.size(), 1u);
  EXPECT_EQ(s->envs[0].task_ids.size(), 2u);
  EXPECT_EQ(s->env_server_envs, std::vector<std::string>{"maze"});
  EXPECT_THAT(s->env_server_flags,
              ::testing::ElementsAre("--envs", "maze", "--fault-drop-rate", "0.5",
                                     "--fault-seed", "0"));
}

TEST(RunConfigTest, UnknownKeysAreNamedByPath) {
  EXPECT_THAT(ErrorOf(std::string(kMinimal) + "curriculm: {}\n"), HasSubstr("curriculm"));
  // core/config's wording: "unknown config key in '<section>': <key> (known: ...)".
  EXPECT_THAT(ErrorOf(kMinimal, {"run.actorz=2"}), HasSubstr("'run': actorz"));
  EXPECT_THAT(ErrorOf(kMinimal, {"run.eval.greedyy=true"}), HasSubstr("'run.eval': greedyy"));
  EXPECT_THAT(ErrorOf(kMinimal, {"model.init.hidden=3"}), HasSubstr("'model.init': hidden"));
  EXPECT_THAT(ErrorOf(kMinimal, {"env_server.faults.rate=3"}),
              HasSubstr("'env_server.faults': rate"));
  EXPECT_THAT(ErrorOf(kMinimal, {"coordinator.lease=3"}), HasSubstr("'coordinator': lease"));
}

TEST(RunConfigTest, BadValuesAreNamed) {
  EXPECT_THAT(ErrorOf(kMinimal, {"run.actors=0"}), HasSubstr("run.actors must be in 1..256"));
  EXPECT_THAT(ErrorOf(kMinimal, {"run.actors=many"}), HasSubstr("run.actors"));
  EXPECT_THAT(ErrorOf(kMinimal, {"run.total_steps=0"}), HasSubstr("run.total_steps"));
  EXPECT_THAT(ErrorOf(kMinimal, {"run.name=a/b"}), HasSubstr("run.name"));
  EXPECT_THAT(ErrorOf(kMinimal, {"env_server.faults.drop_rate=2"}),
              HasSubstr("env_server.faults.drop_rate must be in [0, 1]"));
  EXPECT_THAT(ErrorOf(kMinimal, {"model.init.preset=huge"}), HasSubstr("model.init.preset"));
  EXPECT_THAT(ErrorOf(kMinimal, {"run.restart.max_backoff_ms=1"}),
              HasSubstr("run.restart.max_backoff_ms"));
  EXPECT_THAT(ErrorOf(kMinimal, {"learner.world_size=0"}), HasSubstr("learner.world_size"));
  EXPECT_THAT(ErrorOf("run: {name: t, total_steps: 3}\nenvs: [maze]\n"),
              HasSubstr("model needs `dir`"));
  EXPECT_THAT(ErrorOf("run: {name: t}\nmodel: {dir: x}\nenvs: [maze]\n"),
              HasSubstr("run.total_steps is required"));
  EXPECT_THAT(ErrorOf("run: {name: t, total_steps: 3}\nmodel: {dir: x}\n"),
              HasSubstr("envs is required"));
  EXPECT_THAT(ErrorOf(kMinimal, {"bad override"}), HasSubstr("key.path=value"));
}

TEST(RunConfigTest, ComponentConfigDropsTheLaunchersOwnKeys) {
  auto config = ResolveConfig("", {});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->Has("model.init"));
  ASSERT_TRUE(config->Has("learner.world_size"));
  Config c = ComponentConfig(*config);
  EXPECT_FALSE(c.Has("model.init"));
  EXPECT_FALSE(c.Has("learner.world_size"));
  EXPECT_TRUE(c.Has("learner.lr"));
  EXPECT_TRUE(c.Has("run.total_steps"));
}

TEST(RunConfigTest, EmbeddedDefaultIsTheShippedTinyGridConfig) {
  std::ifstream in(std::string(AG_CONFIGS_DIR) + "/tiny-grid-grpo.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, EmbeddedDefaultConfig());
  auto config = ResolveConfig("", {});
  ASSERT_TRUE(config.ok());
  auto s = ValidateRunConfig(*config);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->final_horizon, 8);
  EXPECT_EQ(s->envs[0].task_ids.size(), 192u);
}

TEST(RunConfigTest, EveryShippedConfigValidates) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(AG_CONFIGS_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    auto config = ResolveConfig(entry.path().string(), {});
    ASSERT_TRUE(config.ok()) << entry.path() << ": " << config.status();
    auto s = ValidateRunConfig(*config);
    EXPECT_TRUE(s.ok()) << entry.path() << ": " << s.status();
  }
  EXPECT_GE(seen, 7);
}

}  // namespace
}  // namespace agentgym::launcher
