#ifndef AGENTGYM_ENV_SERVER_FAULT_INJECTOR_H_
#define AGENTGYM_ENV_SERVER_FAULT_INJECTOR_H_

// Fault injection for the env server (`--fault-*` flags, `env_server.faults`
// in the run config): lets a run or a test see how actors cope with a flaky
// env fleet without a flaky network. See docs/env-server.md#fault-injection.

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/metrics.h"

namespace agentgym::env {

struct FaultOptions {
  // Each Step, and each BatchStep item, fails UNAVAILABLE with this
  // probability before it is applied.
  double step_failure_rate = 0.0;
  // Every session call (Create, Step, Reset, Close and the Batch* ones) is
  // answered this much later, uniform in [delay_min, delay_max].
  absl::Duration delay_min = absl::ZeroDuration();
  absl::Duration delay_max = absl::ZeroDuration();
  // Each session call is dropped with this probability: answered
  // UNAVAILABLE as a lost connection would be, with nothing applied.
  double drop_connection_rate = 0.0;
  uint64_t seed = 1;

  bool enabled() const {
    return step_failure_rate > 0 || drop_connection_rate > 0 ||
           delay_max > absl::ZeroDuration();
  }
  // INVALID_ARGUMENT naming the setting: rates in [0, 1], 0 <= min <= max
  // <= 60 s.
  absl::Status Validate() const;
};

// Draws the faults. Decision n of each kind (step failure, delay, drop) is a
// pure function of (seed, kind, n), so one client calling in sequence sees
// the same faults for the same seed; concurrent callers share the sequence
// in whatever order they arrive. Counted in metrics as
// agentgym_env_faults_total{kind="step_failure"|"drop"|"delay"}.
// Thread-safe (atomic counters only).
class FaultInjector {
public:
  FaultInjector(FaultOptions options, metrics::Registry *metrics);

  const FaultOptions &options() const { return options_; }
  // True when this step (or batch item) should fail.
  bool FailStep();
  // True when this call should be dropped.
  bool DropCall();
  // How long to hold this call's reply (zero when no delay is set).
  absl::Duration ReplyDelay();

  // The error of a failed step / a dropped call (UNAVAILABLE).
  static absl::Status StepFailure();
  static absl::Status Dropped();

private:
  // A uniform draw in [0, 1) for decision `n` of `kind`.
  double Draw(uint64_t kind, uint64_t n) const;

  const FaultOptions options_;
  std::atomic<uint64_t> steps_{0};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> delays_{0};
  metrics::Counter *step_failures_;
  metrics::Counter *drops_;
  metrics::Counter *delayed_;
};

} // namespace agentgym::env

#endif // AGENTGYM_ENV_SERVER_FAULT_INJECTOR_H_
