#include "scheduler/coordinator_options.h"

#include <string>

#include "gtest/gtest.h"

namespace agentgym::scheduler {
namespace {

absl::StatusOr<CoordinatorServerOptions> FromYaml(const std::string& yaml) {
  auto config = Config::FromString(yaml);
  EXPECT_TRUE(config.ok()) << config.status();
  return CoordinatorOptionsFromConfig(*config);
}

constexpr char kEnvs[] = "envs: [{name: textcraft, tasks: [tc-0, tc-1]}, {name: babyai}]\n";

TEST(CoordinatorOptionsTest, ReadsEverySection) {
  auto o = FromYaml(std::string(kEnvs) + R"(
coordinator:
  listen: 127.0.0.1:0
  lease_ms: 2000
  heartbeat_interval_ms: 500
  learner_address: 127.0.0.1:6000
  sampler: {seed: 7, allow_repeats: true}
curriculum:
  horizons: [10, 20]
  per_env:
    babyai: {horizons: [6, 13], stage_steps: 50}
  adaptive: {window: 4}
learner: {anything: 1}  # another component's section
)");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->listen, "127.0.0.1:0");
  EXPECT_EQ(o->service.registry.lease, absl::Seconds(2));
  EXPECT_EQ(o->service.learner_address, "127.0.0.1:6000");
  EXPECT_EQ(o->service.sampler.seed, 7u);
  EXPECT_TRUE(o->service.sampler.allow_repeats);
  ASSERT_EQ(o->service.envs.size(), 2u);
  EXPECT_EQ(o->service.envs[0].tasks.size(), 2u);
  EXPECT_EQ(o->service.curriculum.per_env.at("babyai").stage_starts[1], 50);
  EXPECT_EQ(o->service.curriculum.adaptive.window, 4);
  EXPECT_TRUE(o->service.verify_config_tasks);
  auto off = FromYaml(std::string(kEnvs) + "coordinator: {verify_config_tasks: false}\n");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->service.verify_config_tasks);
  EXPECT_FALSE(o->service.curriculum.solvable.enabled);
  auto solvable = FromYaml(std::string(kEnvs) + "curriculum: {horizons: [2, 6], solvable: {slack: 1}}\n");
  ASSERT_TRUE(solvable.ok()) << solvable.status();
  EXPECT_TRUE(solvable->service.curriculum.solvable.enabled);
  EXPECT_EQ(solvable->service.curriculum.solvable.slack, 1);
  auto typed = FromYaml("envs: [{name: maze, task_types: [open4, walls5]}]\n");
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_EQ(typed->service.envs[0].task_types, (std::vector<std::string>{"open4", "walls5"}));
}

// Every mistake is an error that names the key, never a setting ignored.
TEST(CoordinatorOptionsTest, MistakesAreErrorsNamingTheKey) {
  struct Case {
    std::string yaml, expect;
  };
  const std::string envs = kEnvs;
  for (const Case& c : std::vector<Case>{
           // Not a mapping: every coordinator.* key (listen too) would fall
           // back to its default.
           {"coordinator: 5\n" + envs, "'coordinator' must be a mapping"},
           {"coordinator: {leas_ms: 100}\n" + envs, "leas_ms"},
           {"coordinator: {sampler: {sed: 1}}\n" + envs, "'coordinator.sampler': sed"},
           {"coordinator: {learner_address: \"127.0.0.1:99999\"}\n" + envs,
            "coordinator.learner_address"},
           {envs + "curriculm: {horizons: [5, 10]}\n", "curriculm"},
           {"envs: [{name: textcraft, tasks: 5}]\n", "envs[0].tasks must be a list"},
           {"envs: [{name: textcraft, tasks: []}]\n", "envs[0].tasks is empty"},
           {"envs: [{name: textcraft, wieght: 2}]\n", "'envs[0]': wieght"},
           {"envs: [{name: textcraft, weight: .inf}]\n", "envs[0].weight"},
           {"envs: [{name: textcraft, weight: -1}]\n", "envs[0].weight"},
           {"envs: [{weight: 1}]\n", "envs[0].name is required"},
           {"envs: [textcraft, textcraft]\n", "envs[1]: env 'textcraft' is listed twice"},
           {"envs: [{name: textcraft, tasks: [{type: a}]}]\n", "envs[0].tasks[0].id is required"},
           {"envs: [{name: textcraft, tasks: [{id: a, typ: b}]}]\n", "'envs[0].tasks[0]': typ"},
           {"envs: [[textcraft]]\n", "envs[0] must be an env name"},
           {"envs: [{name: maze, task_types: open4}]\n", "envs[0].task_types must be a"},
           {envs + "curriculum: {horizons: [10], solvable: {slack: -1}}\n",
            "curriculum.solvable.slack must be >= 0"},
           {envs + "curriculum: {horizons: [10], solvable: {enabled: maybe}}\n",
            "curriculum.solvable.enabled"},
           {envs + "curriculum: {horizons: [10], solvable: {slak: 1}}\n",
            "'curriculum.solvable': slak"},
           {"envs: [{name: maze, task_types: []}]\n", "envs[0].task_types must be a"},
           {"envs: [{name: maze, task_types: [open4, open4]}]\n", "lists 'open4' twice"},
           {"envs: [{name: maze, task_types: [\"\"]}]\n", "envs[0].task_types[0]"},
           {"envs: [{name: maze, task_types: [open4], tasks: [a]}]\n", "keep one of the two"},
           {"envs: [{name: textcraft, tasks: [depth1/train/0, depth1/test/3]}]\n",
            "envs[0].tasks[1] 'depth1/test/3' is a test-split task id"},
           {"envs: [{name: textcraft, tasks: [{id: depth1/test/3}]}]\n",
            "envs[0].tasks[0] 'depth1/test/3' is a test-split task id"},
           {"coordinator: {verify_config_tasks: maybe}\n" + envs,
            "coordinator.verify_config_tasks"},
           {envs + "curriculum: {horizon: [10]}\n", "'curriculum': horizon"},
           {envs + "curriculum: {stage_steps: 50}\n", "no horizons"},
           {envs + "curriculum: {horizons: [10, 20], stage_steps: 5, stage_starts: [0, 5]}\n",
            "not both"},
           {envs + "curriculum: {horizons: [10], per_env: {babyai: {horizon: [6]}}}\n",
            "'curriculum.per_env.babyai': horizon"},
           {envs + "curriculum: {horizons: [10], adaptive: {windw: 3}}\n",
            "'curriculum.adaptive': windw"},
           {envs + "curriculum: {horizons: [10, 20], mode: adaptive, adaptive: {plateau_delta: .nan}}\n",
            "curriculum.adaptive.plateau_delta"},
           {envs + "curriculum: {horizons: [10, 20], adaptive: {window: many}}\n",
            "curriculum.adaptive.window"},
           {envs + "curriculum: {horizons: [10], per_env: {webarena: {horizons: [8]}}}\n",
            "curriculum.per_env.webarena: env 'webarena' is not in envs"},
       }) {
    auto o = FromYaml(c.yaml);
    ASSERT_FALSE(o.ok()) << c.yaml;
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_NE(o.status().message().find(c.expect), std::string::npos)
        << c.yaml << "\n" << o.status();
  }
}

// Options built in code get the same cross-reference check as a config.
TEST(CoordinatorOptionsTest, ServiceRefusesATrackForAnEnvItDoesNotTrain) {
  CoordinatorOptions o;
  o.envs = {{"textcraft", 1.0, {{"tc-0", ""}}}};
  o.curriculum.default_track = {{10}, {0}};
  o.curriculum.per_env["textcraf"] = {{10}, {0}};
  FakeClock clock;
  metrics::Registry metrics;
  auto service = CoordinatorService::Create(o, &clock, &metrics, nullptr);
  ASSERT_FALSE(service.ok());
  EXPECT_NE(service.status().message().find("curriculum.per_env.textcraf"), std::string::npos)
      << service.status();
}

}  // namespace
}  // namespace agentgym::scheduler
