#include "launcher/progress.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::launcher {
namespace {

using ::testing::HasSubstr;

TEST(ProgressTest, LineShowsStepHorizonRewardSuccessThroughputAndEta) {
  coordinator::v1::RunStatus status;
  status.set_training_step(50);
  status.set_policy_version(50);
  status.set_trajectories_per_s(120);
  status.set_tokens_per_s(25000);
  status.set_staleness_mean(0.5);
  auto* env = status.add_envs();
  env->set_env("maze");
  env->set_max_turns(6);
  env->set_episodes(128);
  env->set_mean_reward(0.42);
  env->set_success_rate(0.42);
  env->set_tasks_state("ready");
  StepRate rate;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  rate.Observe(10, t0);
  rate.Observe(50, t0 + absl::Seconds(40));
  auto eta = rate.Eta(100);
  ASSERT_TRUE(eta.has_value());
  EXPECT_EQ(*eta, absl::Seconds(50));
  const std::string line = FormatProgress(status, 100, eta);
  EXPECT_THAT(line, HasSubstr("[##########..........] step 50/100 v50"));
  EXPECT_THAT(line, HasSubstr("maze h6 r0.42 s42%"));
  EXPECT_THAT(line, HasSubstr("120 traj/s 25.0k tok/s"));
  EXPECT_THAT(line, HasSubstr("stale 0.50"));
  EXPECT_THAT(line, HasSubstr("ETA 50s"));
  EXPECT_EQ(FormatProgress(status, 100, eta, 20).size(), 20u);
}

TEST(ProgressTest, EtaUnknownUntilTwoStepsAndResetByAResume) {
  StepRate rate;
  EXPECT_FALSE(rate.Eta(10).has_value());
  rate.Observe(5, absl::FromUnixSeconds(0));
  EXPECT_FALSE(rate.Eta(10).has_value());
  rate.Observe(6, absl::FromUnixSeconds(10));
  EXPECT_EQ(*rate.Eta(10), absl::Seconds(40));
  rate.Observe(2, absl::FromUnixSeconds(20));  // the learner went back to a checkpoint
  EXPECT_FALSE(rate.Eta(10).has_value());
  EXPECT_EQ(ShortDuration(absl::Seconds(200)), "3m20s");
  EXPECT_EQ(ShortDuration(absl::Seconds(3900)), "1h05m");
  EXPECT_EQ(ProgressBar(0.5, 4), "[##..]");
}

}  // namespace
}  // namespace agentgym::launcher
