#ifndef AGENTGYM_LEARNER_TRAJECTORY_VALIDATION_H_
#define AGENTGYM_LEARNER_TRAJECTORY_VALIDATION_H_

// Checks one incoming trajectory against the Trajectory contract
// (proto/agentgym/trajectory/v1/trajectory.proto) before it may be buffered.
// Pure function; thread-safe.

#include <cstdint>
#include <string>

#include "agentgym/trajectory/v1/trajectory.pb.h"

namespace agentgym::learner {

// Policy versions only grow, also across a learner restart: a learner that
// resumes from the checkpoint of version `base` publishes those weights again
// as version base + size + 1, past every version it may have published after
// that checkpoint (their weights are lost), so actors holding one of those
// pull the resumed weights. The gap keeps the lost versions, and what they
// generated, recognisable, and a trajectory from before the checkpoint as
// many steps behind as without the gap. Versions are opaque to actors.
struct VersionGap {
  int64_t base = -1;  // versions in (base, base + size] are lost; -1: no gap
  int64_t size = 0;
  bool Lost(int64_t v) const { return base >= 0 && v > base && v <= base + size; }
  // Training steps from version v to version `current`.
  int64_t Lag(int64_t current, int64_t v) const {
    return base >= 0 && v <= base && current > base + size ? current - size - 1 - v : current - v;
  }
};

struct ValidationLimits {
  int64_t vocab_size = 0;
  int64_t current_version = 0;  // versions 0..current were issued
  int64_t max_staleness = 1;
  bool require_groups = false;  // grpo / rloo: group fields must match
  int group_size = 1;
  VersionGap gap;
};

enum class Verdict { kOk, kRejected, kStale, kEnvError };

struct ValidationResult {
  Verdict verdict = Verdict::kOk;
  std::string reason;  // why, for the ack (empty when kOk)
  int64_t lag = 0;     // steps from the oldest turn's version to current_version
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
