#include "scheduler/progress_window.h"

#include "gtest/gtest.h"

namespace agentgym::scheduler {
namespace {

pb::ReportProgressRequest Report(int64_t step, int64_t trained, int64_t tokens) {
  pb::ReportProgressRequest r;
  r.set_step(step);
  r.set_policy_version(step);
  r.mutable_accounting()->set_trained(trained);
  r.mutable_accounting()->set_produced(trained + 5);
  r.set_tokens_trained(tokens);
  pb::EnvStats* e = r.add_env_stats();
  e->set_env("babyai");
  e->set_episodes(10);
  e->set_successes(step % 2 == 0 ? 10 : 0);
  e->set_reward_sum(step % 2 == 0 ? 10.0 : 0.0);
  (*r.mutable_staleness_counts())[0] = 8;
  (*r.mutable_staleness_counts())[2] = 2;
  return r;
}

TEST(ProgressWindowTest, RatesAndWindowStatsFromReports) {
  ProgressWindow window(4);
  absl::Time t0 = absl::FromUnixSeconds(1000);
  for (int step = 1; step <= 6; ++step) {
    window.Add(Report(step, 100 * step, 1000 * step), t0 + absl::Seconds(2 * step));
  }
  pb::RunStatus s;
  window.Fill(s);
  EXPECT_EQ(s.training_step(), 6);
  EXPECT_EQ(s.accounting().trained(), 600);
  EXPECT_DOUBLE_EQ(s.trajectories_per_s(), 50.0);  // 100 per 2 s
  EXPECT_DOUBLE_EQ(s.tokens_per_s(), 500.0);
  EXPECT_EQ(s.window_steps(), 4);
  ASSERT_EQ(s.envs_size(), 1);
  EXPECT_EQ(s.envs(0).episodes(), 40);
  EXPECT_DOUBLE_EQ(s.envs(0).success_rate(), 0.5);
  EXPECT_DOUBLE_EQ(s.staleness_mean(), 0.4);
  EXPECT_EQ(s.staleness_max(), 2);
  ASSERT_EQ(s.staleness_histogram_size(), 2);
  EXPECT_EQ(s.staleness_histogram(1).count(), 8);
  EXPECT_EQ(s.trainer_idle_ratio(), -1);
}

TEST(ProgressWindowTest, ARetriedReportReplacesTheFirst) {
  ProgressWindow window(4);
  absl::Time t0 = absl::FromUnixSeconds(1000);
  window.Add(Report(1, 100, 1000), t0);
  window.Add(Report(2, 200, 2000), t0 + absl::Seconds(1));
  window.Add(Report(2, 200, 2000), t0 + absl::Seconds(2));  // the same step again
  pb::RunStatus s;
  window.Fill(s);
  EXPECT_EQ(s.window_steps(), 2);
  EXPECT_EQ(s.envs(0).episodes(), 20);  // not 30
}

TEST(ProgressWindowTest, ValidateRejectsNonsense) {
  pb::ReportProgressRequest r = Report(1, 1, 1);
  EXPECT_TRUE(ProgressWindow::Validate(r).ok());
  r.set_step(-1);
  EXPECT_EQ(ProgressWindow::Validate(r).code(), absl::StatusCode::kInvalidArgument);
  r = Report(1, 1, 1);
  r.mutable_env_stats(0)->set_successes(11);
  EXPECT_EQ(ProgressWindow::Validate(r).code(), absl::StatusCode::kInvalidArgument);
  r = Report(1, 1, 1);
  r.set_trainer_idle_ratio(1.5);
  EXPECT_EQ(ProgressWindow::Validate(r).code(), absl::StatusCode::kInvalidArgument);
  r = Report(1, 1, 1);
  r.mutable_accounting()->set_stale(-2);
  EXPECT_NE(ProgressWindow::Validate(r).message().find("accounting.stale"), std::string::npos);
}

}  // namespace
}  // namespace agentgym::scheduler
