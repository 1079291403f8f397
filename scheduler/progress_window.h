#ifndef AGENTGYM_SCHEDULER_PROGRESS_WINDOW_H_
#define AGENTGYM_SCHEDULER_PROGRESS_WINDOW_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agentgym/coordinator/v1/coordinator.pb.h"

namespace agentgym::scheduler {

namespace pb = ::agentgym::coordinator::v1;

// The learner's progress over the last `window` reports: throughput, per-env
// reward and success, staleness, and the latest counters. Not thread-safe:
// the coordinator service serialises calls.
class ProgressWindow {
 public:
  explicit ProgressWindow(size_t window) : window_(window == 0 ? 1 : window) {}

  // INVALID_ARGUMENT for negative step / version / counters / staleness,
  // idle ratios outside [0, 1], or an env stat with successes > episodes.
  static absl::Status Validate(const pb::ReportProgressRequest& report);

  // Records a validated report received at `now`. A report for the same
  // step as the last one replaces it (a retried report).
  void Add(const pb::ReportProgressRequest& report, absl::Time now);

  // Fills step, version, throughput, envs, staleness, accounting, trainer idle
  // ratio, weight-sync latency and the learner's queue depths.
  void Fill(pb::RunStatus& status) const;

  bool has_report() const { return last_.has_value(); }
  int64_t step() const { return last_ ? last_->step() : 0; }
  int64_t policy_version() const { return last_ ? last_->policy_version() : 0; }

 private:
  struct Entry {
    absl::Time time;
    pb::ReportProgressRequest report;
  };
  const size_t window_;
  std::deque<Entry> entries_;  // oldest first, at most window_ + 1
  std::optional<pb::ReportProgressRequest> last_;
};

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_PROGRESS_WINDOW_H_
