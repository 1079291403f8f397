#ifndef AGENTGYM_LEARNER_TRAJECTORY_BUFFER_H_
#define AGENTGYM_LEARNER_TRAJECTORY_BUFFER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agentgym/learner/v1/learner.pb.h"
#include "agentgym/trajectory/v1/trajectory.pb.h"
#include "core/clock.h"
#include "learner/trajectory_validation.h"

namespace agentgym::learner {

struct BufferOptions {
  int64_t capacity = 512;  // trajectories waiting (not counting joiners, below)
  bool whole_groups = true;
  int group_size = 8;
  absl::Duration group_timeout = absl::Seconds(300);
  int64_t max_staleness = 1;
  int64_t vocab_size = 0;
  VersionGap version_gap;  // set when the learner resumed (see VersionGap)
  // Called with ready() and the trajectories taken by TakeBatch and not yet
  // committed whenever either changed (a group became complete, TakeBatch,
  // CommitBatch), so flow control can tell the coordinator how far ahead of
  // training the run is. Runs under the buffer's lock: it must not block or
  // call the buffer.
  std::function<void(int64_t ready, int64_t in_training)> on_ready_changed;
};

// Cumulative counts (LearnerAccounting). Every distinct id offered is exactly
// one of trained, stale, rejected, env_error, dropped or buffered (buffered
// includes the batch being trained).
struct Accounting {
  int64_t received = 0;
  int64_t trained = 0;
  int64_t stale = 0;
  int64_t rejected = 0;
  int64_t env_error = 0;
  int64_t dropped = 0;
  int64_t buffered = 0;
  int64_t duplicates = 0;
};

// One training batch: whole units (groups, or single trajectories for
// algorithms without groups) in the order they completed.
struct Batch {
  std::vector<trajectory::v1::Trajectory> trajectories;
  std::map<int64_t, int64_t> staleness_counts;  // lag -> count, at formation
};

// The learner's ingest buffer. Contract:
//  - Offer validates (trajectory_validation.h), dedupes by trajectory_id (a
//    taken id is acked ACCEPTED+duplicate and never trained again; ids are
//    remembered for the life of the run, checkpoints included) and buffers.
//    While the buffer holds `capacity` trajectories Offer blocks: the ack is
//    only produced once the trajectory is in, so a full buffer slows the
//    sender (backpressure) and nothing is dropped. A trajectory that joins a
//    group already partly buffered is let in over the bound (at most
//    group_size - 1 per partial group), so a full buffer of partial groups
//    can always complete rather than deadlock.
//  - Groups: members with the same (group_id, group_attempt) form a unit once
//    group_size of them arrived; a group still incomplete group_timeout after
//    its first member is dropped (its members counted `dropped`). Verdicts
//    are kept whole per group: a member found stale on arrival joins its
//    group when other members are already in (the group's staleness is
//    judged as a unit by TakeBatch), and a rejected member drops its group
//    (members in and members still to come are counted `dropped`), since
//    training on the survivors of a group biases its advantages.
//  - TakeBatch hands out whole units and re-checks staleness against the
//    current version (stale units are counted `stale`, never trained).
// Thread-safe. Close() wakes every waiter; Offers then fail with UNAVAILABLE.
class TrajectoryBuffer {
 public:
  TrajectoryBuffer(BufferOptions options, Clock* clock = Clock::Real());

  TrajectoryBuffer(const TrajectoryBuffer&) = delete;
  TrajectoryBuffer& operator=(const TrajectoryBuffer&) = delete;

  // The ack to send (ACCEPTED / REJECTED / STALE, with policy_version and
  // step filled in). UNAVAILABLE when closed, or when `cancelled` turned true
  // while waiting for room: then nothing was taken and no ack is due.
  absl::StatusOr<learner::v1::IngestAck> Offer(trajectory::v1::Trajectory trajectory,
                                               const std::function<bool()>& cancelled = nullptr);

  // Waits up to `timeout` for `units` complete units and takes them;
  // nullopt on timeout or Close (then nothing is taken).
  std::optional<Batch> TakeBatch(int64_t units, absl::Duration timeout);
  // The batch taken last was trained (or is given up): counts it.
  void CommitBatch(const Batch& batch, bool trained = true);

  // Called after each optimizer step: the new version, the finished step
  // count, and the step of the latest finished checkpoint (for acks).
  void SetProgress(int64_t policy_version, int64_t step);
  void SetCheckpointStep(int64_t step);
  int64_t policy_version() const;

  Accounting accounting() const;
  int64_t buffered() const;  // waiting (excluding a batch being trained)
  // Of those, the trajectories in complete units (what TakeBatch can take);
  // members of groups still incomplete are not counted.
  int64_t ready() const;
  void Close();

  // What a checkpoint keeps: every id taken or refused (with its status),
  // the counters, and the trajectories waiting (partial groups included), so
  // a resume neither loses nor replays any. Call between steps.
  struct State {
    std::vector<std::pair<std::string, int>> ids;  // id -> AckStatus
    Accounting accounting;
    std::vector<trajectory::v1::Trajectory> waiting;
  };
  State Export() const;
  // Replaces the contents with `state` (at start-up, before serving).
  void Restore(State state);

 private:
  struct Group {
    std::vector<trajectory::v1::Trajectory> members;
    absl::Time first_arrival;
  };
  static std::string GroupKey(const trajectory::v1::Trajectory& t);
  // Adds a validated trajectory to its group; moves complete groups to ready_.
  void InsertLocked(trajectory::v1::Trajectory t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireGroupsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t ReadyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Steps the trajectory's oldest turn is behind the current version.
  int64_t LagLocked(const trajectory::v1::Trajectory& t) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  learner::v1::IngestAck AckLocked(const std::string& id, learner::v1::AckStatus status,
                                   std::string reason, bool duplicate) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const BufferOptions options_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> taken_ ABSL_GUARDED_BY(mu_);  // id -> AckStatus
  // Ids whose Offer is waiting for room: a concurrent resend of one waits
  // for the outcome instead of racing it.
  absl::flat_hash_map<std::string, int> pending_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Group> partial_ ABSL_GUARDED_BY(mu_);
  // Groups that lost a member to rejection: members still to come are
  // dropped. Forgotten after group_timeout or once every member was seen.
  struct DeadGroup {
    int seen = 0;
    absl::Time since;
  };
  std::map<std::string, DeadGroup> dead_ ABSL_GUARDED_BY(mu_);
  std::deque<std::vector<trajectory::v1::Trajectory>> ready_ ABSL_GUARDED_BY(mu_);
  Accounting counts_ ABSL_GUARDED_BY(mu_);
  int64_t waiting_ ABSL_GUARDED_BY(mu_) = 0;      // in partial_ + ready_
  int64_t in_training_ ABSL_GUARDED_BY(mu_) = 0;  // taken by TakeBatch, not committed
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t step_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t checkpoint_step_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_TRAJECTORY_BUFFER_H_
