#include "env_server/fault_injector.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/det_random.h"

namespace agentgym::env {
namespace {

constexpr uint64_t kStepKind = 1, kDropKind = 2, kDelayKind = 3;

// `name` as the server spells it both ways, e.g. "--fault-drop-rate (config
// faults.drop_connection_rate)".
absl::Status CheckRate(const char *name, double rate) {
  if (!std::isfinite(rate) || rate < 0 || rate > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be a probability in [0, 1]; got ", rate));
  }
  return absl::OkStatus();
}

} // namespace

absl::Status FaultOptions::Validate() const {
  if (auto s = CheckRate(
          "--fault-step-failure-rate (config faults.step_failure_rate)",
          step_failure_rate);
      !s.ok())
    return s;
  if (auto s =
          CheckRate("--fault-drop-rate (config faults.drop_connection_rate)",
                    drop_connection_rate);
      !s.ok())
    return s;
  if (delay_min < absl::ZeroDuration() || delay_max < delay_min ||
      delay_max > absl::Seconds(60)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--fault-delay-ms (config faults.delay_ms) must have 0 <= "
                     "min <= max <= 60000; got min ",
                     absl::ToDoubleMilliseconds(delay_min), ", max ",
                     absl::ToDoubleMilliseconds(delay_max)));
  }
  return absl::OkStatus();
}

FaultInjector::FaultInjector(FaultOptions options, metrics::Registry *metrics)
    : options_(options),
      step_failures_(metrics->GetCounter("agentgym_env_faults_total",
                                         "Faults injected by the env server",
                                         {{"kind", "step_failure"}})),
      drops_(metrics->GetCounter("agentgym_env_faults_total",
                                 "Faults injected by the env server",
                                 {{"kind", "drop"}})),
      delayed_(metrics->GetCounter("agentgym_env_faults_total",
                                   "Faults injected by the env server",
                                   {{"kind", "delay"}})) {}

double FaultInjector::Draw(uint64_t kind, uint64_t n) const {
  DetRng rng(DetRng::Mix(DetRng::Mix(options_.seed, kind), n));
  return rng.UniformDouble();
}

bool FaultInjector::FailStep() {
  if (options_.step_failure_rate <= 0)
    return false;
  const bool fail =
      Draw(kStepKind, steps_.fetch_add(1)) < options_.step_failure_rate;
  if (fail)
    step_failures_->Increment();
  return fail;
}

bool FaultInjector::DropCall() {
  if (options_.drop_connection_rate <= 0)
    return false;
  const bool drop =
      Draw(kDropKind, calls_.fetch_add(1)) < options_.drop_connection_rate;
  if (drop)
    drops_->Increment();
  return drop;
}

absl::Duration FaultInjector::ReplyDelay() {
  if (options_.delay_max <= absl::ZeroDuration())
    return absl::ZeroDuration();
  const double u = Draw(kDelayKind, delays_.fetch_add(1));
  delayed_->Increment();
  return options_.delay_min + (options_.delay_max - options_.delay_min) * u;
}

absl::Status FaultInjector::StepFailure() {
  return absl::UnavailableError(
      "injected fault: the step failed and was not applied");
}

absl::Status FaultInjector::Dropped() {
  return absl::UnavailableError(
      "injected fault: the connection dropped; nothing was applied");
}

} // namespace agentgym::env
