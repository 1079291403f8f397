#ifndef AGENTGYM_LAUNCHER_PROGRESS_H_
#define AGENTGYM_LAUNCHER_PROGRESS_H_

// The live progress line of `agentgym train`, from the coordinator's
// RunStatus: step/total, policy version, horizon, reward and success per env,
// throughput, staleness and an ETA from the step rate the launcher saw.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "agentgym/coordinator/v1/coordinator.pb.h"

namespace agentgym::launcher {

// Remembers when steps were seen, for the ETA. Not thread-safe.
class StepRate {
 public:
  void Observe(int64_t step, absl::Time now);
  // Time left to reach `total` at the rate seen so far; nullopt until two
  // different steps were seen.
  std::optional<absl::Duration> Eta(int64_t total) const;

 private:
  int64_t first_step_ = -1, last_step_ = -1;
  absl::Time first_time_, last_time_;
};

// One line without a newline; `width` > 0 cuts it to that many columns.
std::string FormatProgress(const coordinator::v1::RunStatus& status, int64_t total_steps,
                           std::optional<absl::Duration> eta, int width = 0);

// A bar like "[#####.....]" for `fraction` in [0, 1].
std::string ProgressBar(double fraction, int cells);

// "3m20s", "1h05m", "42s".
std::string ShortDuration(absl::Duration d);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_PROGRESS_H_
