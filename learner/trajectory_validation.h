#ifndef AGENTGYM_LEARNER_TRAJECTORY_VALIDATION_H_
#define AGENTGYM_LEARNER_TRAJECTORY_VALIDATION_H_

// Checks one incoming trajectory against the Trajectory contract
// (proto/agentgym/trajectory/v1/trajectory.proto) before it may be buffered.
// Pure function; thread-safe.

#include <cstdint>
#include <string>

#include "agentgym/trajectory/v1/trajectory.pb.h"

namespace agentgym::learner {

struct ValidationLimits {
  int64_t vocab_size = 0;
  int64_t current_version = 0;  // versions 0..current were issued
  int64_t max_staleness = 1;
  bool require_groups = false;  // grpo / rloo: group fields must match
  int group_size = 1;
};

enum class Verdict { kOk, kRejected, kStale, kEnvError };

struct ValidationResult {
  Verdict verdict = Verdict::kOk;
  std::string reason;  // why, for the ack (empty when kOk)
  int64_t lag = 0;     // current_version - the oldest turn's version
};

// Order of checks: env_error first (such episodes are counted, never
// trained, whatever their shape), then shape, values, group fields, and
// staleness last (only a well-formed trajectory can be stale).
ValidationResult ValidateTrajectory(const trajectory::v1::Trajectory& t,
                                    const ValidationLimits& limits);

// The oldest policy version among the turns (0 without turns).
int64_t OldestVersion(const trajectory::v1::Trajectory& t);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_TRAJECTORY_VALIDATION_H_
