#include "learner/learner_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agentgym::learner {
namespace {

using ::testing::HasSubstr;

LearnerOptions Parse(const std::string& yaml, absl::Status* status) {
  auto config = Config::FromString(yaml);
  EXPECT_TRUE(config.ok()) << config.status();
  auto options = LearnerOptionsFromConfig(*config);
  *status = options.status();
  return options.ok() ? *options : LearnerOptions{};
}

TEST(LearnerOptionsTest, ReadsSectionsWithDefaults) {
  absl::Status s;
  auto o = Parse(R"(
model: {dir: /m, intra_op_threads: 2}
algorithm: {name: rloo, group_size: 4, clip_eps: 0.3}
learner: {lr: 0.0005, betas: [0.8, 0.95], groups_per_step: 2}
run: {total_steps: 7}
envs: [anything]  # other sections are not the learner's business
)", &s);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(o.model.dir, "/m");
  EXPECT_EQ(o.model.intra_op_threads, 2);
  EXPECT_EQ(o.algorithm.name, "rloo");
  EXPECT_DOUBLE_EQ(o.algorithm.clip_eps, 0.3);
  EXPECT_DOUBLE_EQ(o.train.beta1, 0.8);
  EXPECT_DOUBLE_EQ(o.train.beta2, 0.95);
  EXPECT_EQ(o.train.max_steps, 7);  // run.total_steps as fallback
  EXPECT_EQ(o.train.buffer_capacity, 4 * 2 * 4);
  EXPECT_EQ(o.BatchUnits(), 2);
}

TEST(LearnerOptionsTest, ReinforcePlusPlusPutsKlInReward) {
  absl::Status s;
  auto o = Parse("model: {preset: tiny}\nalgorithm: {name: reinforce_pp, group_size: 1}\n", &s);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(o.algorithm.kl_mode, "reward");
  EXPECT_EQ(o.BatchUnits(), 16);
}

TEST(LearnerOptionsTest, ErrorsNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"model: {dir: /m, dri: x}", "dri"},
      {"model: {dir: /m}\nalgorithm: {name: dpo}", "algorithm.name"},
      {"model: {dir: /m}\nalgorithm: {clip_eps: .nan}", "algorithm.clip_eps"},
      {"model: {dir: /m}\nlearner: {lr: .inf}", "learner.lr"},
      {"model: {dir: /m}\nlearner: {groups_per_step: 16, buffer_capacity: 10}", "learner.buffer_capacity"},
      {"model: {dir: /m}\nalgorithm: {kl_estimator: k9}", "algorithm.kl_estimator"},
      {"model: {dir: /m}\nlearner: {betas: [0.9]}", "learner.betas"},
      {"model: {dir: /m}\nlearner: {lr_scheduel: cosine}", "lr_scheduel"},
      {"model: {dir: /m}\nalgorithm: {name: grpo, group_size: 1}", "algorithm.group_size"},
      {"algorithm: {name: grpo}", "model.dir"},
      {"model: {dir: /m}\nalgorithm: {name: grpo, critic_warmup_steps: 5}",
       "algorithm.critic_warmup_steps"},
      {"model: {dir: /m}\nalgorithm: {adv_std_floor: -1}", "algorithm.adv_std_floor"},
      {"model: {dir: /m}\nalgorithm: {name: grpo, whiten_advantages: false}",
       "algorithm.whiten_advantages"},
  };
  for (const auto& [yaml, key] : cases) {
    absl::Status s;
    Parse(yaml, &s);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr(key)) << yaml;
  }
}

}  // namespace
}  // namespace agentgym::learner
