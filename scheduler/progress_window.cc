#include "scheduler/progress_window.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace agentgym::scheduler {
namespace {

constexpr int64_t kMaxStalenessBucket = 16;  // the last bucket holds lag >= 16

absl::Status Negative(const char* what, int64_t v) {
  return absl::InvalidArgumentError(absl::StrCat("report_progress: ", what, " must be >= 0, got ", v));
}

}  // namespace

absl::Status ProgressWindow::Validate(const pb::ReportProgressRequest& r) {
  if (r.step() < 0) return Negative("step", r.step());
  if (r.policy_version() < 0) return Negative("policy_version", r.policy_version());
  if (r.tokens_trained() < 0) return Negative("tokens_trained", r.tokens_trained());
  if (r.max_groups_ahead() < 0) return Negative("max_groups_ahead", r.max_groups_ahead());
  if (r.buffered_groups() < 0) return Negative("buffered_groups", r.buffered_groups());
  const pb::Accounting& a = r.accounting();
  for (auto [name, v] : {std::pair<const char*, int64_t>{"accounting.produced", a.produced()},
                         {"accounting.trained", a.trained()},
                         {"accounting.stale", a.stale()},
                         {"accounting.rejected", a.rejected()},
                         {"accounting.env_error", a.env_error()},
                         {"accounting.dropped", a.dropped()},
                         {"accounting.in_flight", a.in_flight()}}) {
    if (v < 0) return Negative(name, v);
  }
  for (const pb::EnvStats& e : r.env_stats()) {
    if (e.env().empty()) return absl::InvalidArgumentError("report_progress: env stat without env");
    if (e.episodes() < 0 || e.successes() < 0 || e.successes() > e.episodes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "report_progress: env '", e.env(), "' has ", e.successes(), " successes in ",
          e.episodes(), " episodes"));
    }
  }
  for (const auto& [lag, count] : r.staleness_counts()) {
    if (lag < 0 || count < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "report_progress: staleness_counts must be >= 0, got ", lag, " -> ", count));
    }
  }
  if (r.has_trainer_idle_ratio() &&
      (r.trainer_idle_ratio() < 0 || r.trainer_idle_ratio() > 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "report_progress: trainer_idle_ratio must be in [0, 1], got ", r.trainer_idle_ratio()));
  }
  if (r.has_weight_sync_latency_ms() && r.weight_sync_latency_ms() < 0) {
    return absl::InvalidArgumentError("report_progress: weight_sync_latency_ms must be >= 0");
  }
  for (const auto& [name, depth] : r.queue_depths()) {
    if (depth < 0) return Negative("queue depth", depth);
  }
  return absl::OkStatus();
}

void ProgressWindow::Add(const pb::ReportProgressRequest& report, absl::Time now) {
  // A step that goes back means the learner resumed from a checkpoint: the
  // old window describes another timeline, so start afresh.
  if (last_ && report.step() < last_->step()) entries_.clear();
  if (last_ && report.step() == last_->step() && !entries_.empty()) entries_.pop_back();
  entries_.push_back(Entry{now, report});
  while (entries_.size() > window_ + 1) entries_.pop_front();
  last_ = report;
}

void ProgressWindow::Fill(pb::RunStatus& status) const {
  status.set_trainer_idle_ratio(-1);
  status.set_weight_sync_latency_ms(-1);
  if (!last_) return;
  status.set_training_step(last_->step());
  status.set_policy_version(last_->policy_version());
  *status.mutable_accounting() = last_->accounting();
  if (last_->has_trainer_idle_ratio()) status.set_trainer_idle_ratio(last_->trainer_idle_ratio());
  if (last_->has_weight_sync_latency_ms()) {
    status.set_weight_sync_latency_ms(last_->weight_sync_latency_ms());
  }
  for (const auto& [name, depth] : last_->queue_depths()) {
    (*status.mutable_queue_depths())[absl::StrCat("learner/", name)] = depth;
  }

  // Rates use the cumulative counters at both ends of the window; the first
  // entry is only a baseline, so the window spans entries_.size() - 1 steps.
  const Entry& first = entries_.front();
  const Entry& last = entries_.back();
  double seconds = absl::ToDoubleSeconds(last.time - first.time);
  if (entries_.size() >= 2 && seconds > 0) {
    status.set_trajectories_per_s(
        static_cast<double>(last.report.accounting().trained() - first.report.accounting().trained()) /
        seconds);
    status.set_tokens_per_s(
        static_cast<double>(last.report.tokens_trained() - first.report.tokens_trained()) / seconds);
  }
  size_t begin = entries_.size() > window_ ? 1 : 0;
  status.set_window_steps(static_cast<int64_t>(entries_.size() - begin));

  struct EnvAgg {
    int64_t episodes = 0, successes = 0;
    double reward = 0;
  };
  std::map<std::string, EnvAgg> envs;
  std::map<int64_t, int64_t> lags;
  int64_t lag_total = 0, lag_count = 0, lag_max = 0;
  for (size_t i = begin; i < entries_.size(); ++i) {
    const auto& r = entries_[i].report;
    for (const pb::EnvStats& e : r.env_stats()) {
      EnvAgg& agg = envs[e.env()];
      agg.episodes += e.episodes();
      agg.successes += e.successes();
      agg.reward += e.reward_sum();
    }
    for (const auto& [lag, count] : r.staleness_counts()) {
      lags[std::min(lag, kMaxStalenessBucket)] += count;
      lag_total += lag * count;
      lag_count += count;
      if (count > 0) lag_max = std::max(lag_max, lag);
    }
  }
  for (const auto& [env, agg] : envs) {
    pb::EnvWindowStats* s = status.add_envs();
    s->set_env(env);
    s->set_episodes(agg.episodes);
    if (agg.episodes > 0) {
      s->set_mean_reward(agg.reward / static_cast<double>(agg.episodes));
      s->set_success_rate(static_cast<double>(agg.successes) / static_cast<double>(agg.episodes));
    }
  }
  for (const auto& [lag, count] : lags) {
    pb::StalenessBucket* b = status.add_staleness_histogram();
    b->set_lag(lag);
    b->set_count(count);
  }
  if (lag_count > 0) {
    status.set_staleness_mean(static_cast<double>(lag_total) / static_cast<double>(lag_count));
  }
  status.set_staleness_max(lag_max);
}

}  // namespace agentgym::scheduler
