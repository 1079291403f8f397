#include "launcher/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agentgym::launcher {

void StepRate::Observe(int64_t step, absl::Time now) {
  if (first_step_ < 0 || step < last_step_) {  // the first report, or a resumed learner
    first_step_ = last_step_ = step;
    first_time_ = last_time_ = now;
    return;
  }
  if (step != last_step_) {
    last_step_ = step;
    last_time_ = now;
  }
}

std::optional<absl::Duration> StepRate::Eta(int64_t total) const {
  if (first_step_ < 0 || last_step_ <= first_step_) return std::nullopt;
  const double per_step = absl::ToDoubleSeconds(last_time_ - first_time_) /
                          static_cast<double>(last_step_ - first_step_);
  return absl::Seconds(per_step * static_cast<double>(std::max<int64_t>(0, total - last_step_)));
}

std::string ShortDuration(absl::Duration d) {
  int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrCat(s, "s");
}

std::string ProgressBar(double fraction, int cells) {
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  const int filled = static_cast<int>(std::lround(fraction * cells));
  return absl::StrCat("[", std::string(filled, '#'), std::string(cells - filled, '.'), "]");
}

namespace {
std::string Compact(double v) {
  if (v >= 1e6) return absl::StrFormat("%.1fM", v / 1e6);
  if (v >= 1e4) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrFormat("%.0f", v);
}
}  // namespace

std::string FormatProgress(const coordinator::v1::RunStatus& status, int64_t total_steps,
                           std::optional<absl::Duration> eta, int width) {
  const int64_t step = status.training_step();
  std::string line = absl::StrCat(
      ProgressBar(total_steps > 0 ? static_cast<double>(step) / total_steps : 0, 20), " step ",
      step, "/", total_steps, " v", status.policy_version());
  if (status.paused()) absl::StrAppend(&line, " PAUSED");
  for (const auto& env : status.envs()) {
    absl::StrAppend(&line, " | ", env.env(), " h", env.max_turns());
    if (env.episodes() > 0) {
      absl::StrAppend(&line, absl::StrFormat(" r%.2f s%.0f%%", env.mean_reward(),
                                             100 * env.success_rate()));
    }
    if (env.tasks_state() != "ready" && !env.tasks_state().empty()) {
      absl::StrAppend(&line, " tasks:", env.tasks_state());
    }
  }
  absl::StrAppend(&line, " | ", Compact(status.trajectories_per_s()), " traj/s ",
                  Compact(status.tokens_per_s()), " tok/s | stale ",
                  absl::StrFormat("%.2f", status.staleness_mean()));
  absl::StrAppend(&line, " | ETA ", eta ? ShortDuration(*eta) : "?");
  if (width > 0 && static_cast<int>(line.size()) > width) line.resize(width);
  return line;
}

}  // namespace agentgym::launcher
