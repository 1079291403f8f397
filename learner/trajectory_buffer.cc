#include "learner/trajectory_buffer.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace agentgym::learner {

namespace lpb = ::agentgym::learner::v1;
using trajectory::v1::Trajectory;

TrajectoryBuffer::TrajectoryBuffer(BufferOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

std::string TrajectoryBuffer::GroupKey(const Trajectory& t) {
  return absl::StrCat(t.group_id(), "#", t.group_attempt());
}

lpb::IngestAck TrajectoryBuffer::AckLocked(const std::string& id, lpb::AckStatus status,
                                           std::string reason, bool duplicate) const {
  lpb::IngestAck ack;
  ack.set_trajectory_id(id);
  ack.set_status(status);
  ack.set_reason(std::move(reason));
  ack.set_duplicate(duplicate);
  ack.set_policy_version(version_);
  ack.set_step(step_);
  ack.set_checkpoint_step(checkpoint_step_);
  return ack;
}

absl::StatusOr<lpb::IngestAck> TrajectoryBuffer::Offer(Trajectory t,
                                                       const std::function<bool()>& cancelled) {
  const std::string id = t.trajectory_id();
  ValidationLimits limits;
  limits.vocab_size = options_.vocab_size;
  limits.max_staleness = options_.max_staleness;
  limits.require_groups = options_.whole_groups;
  limits.group_size = options_.group_size;
  limits.gap = options_.version_gap;
  {
    absl::MutexLock lock(&mu_);
    limits.current_version = version_;
  }
  // Validation reads only `t`, so it runs outside the lock.
  const ValidationResult verdict = ValidateTrajectory(t, limits);
  const std::string key = GroupKey(t);

  absl::MutexLock lock(&mu_);
  // A resend racing its original waits for the original's outcome.
  auto original_done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || !pending_.contains(id);
  };
  while (!original_done()) {
    if (cancelled && cancelled()) return absl::UnavailableError("ingest stream cancelled");
    mu_.AwaitWithTimeout(absl::Condition(&original_done), absl::Milliseconds(100));
  }
  auto has_room = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || waiting_ < options_.capacity || verdict.verdict != Verdict::kOk ||
           taken_.contains(id) || (options_.whole_groups && partial_.count(key) > 0);
  };
  if (!has_room()) {
    pending_[id] = 1;
    while (!has_room()) {
      if (cancelled && cancelled()) {
        pending_.erase(id);
        return absl::UnavailableError("ingest stream cancelled");
      }
      // Wake periodically to expire incomplete groups (freeing room) and to
      // notice a cancelled stream.
      mu_.AwaitWithTimeout(absl::Condition(&has_room), absl::Milliseconds(100));
      ExpireGroupsLocked();
    }
    pending_.erase(id);
  }
  if (closed_) return absl::UnavailableError("learner is shutting down");
  if (auto it = taken_.find(id); it != taken_.end()) {
    ++counts_.duplicates;
    const auto status = static_cast<lpb::AckStatus>(it->second);
    return AckLocked(id, status,
                     status == lpb::ACK_STATUS_ACCEPTED ? "" : "duplicate of a refused trajectory",
                     /*duplicate=*/true);
  }
  ++counts_.received;
  Verdict outcome = verdict.verdict;
  if (options_.whole_groups && outcome != Verdict::kEnvError) {
    if (auto dead = dead_.find(key); dead != dead_.end()) {
      // Its group already lost a member: the rest cannot be trained.
      if (++dead->second.seen >= options_.group_size) dead_.erase(dead);
      ++counts_.dropped;
      taken_[id] = lpb::ACK_STATUS_ACCEPTED;
      return AckLocked(id, lpb::ACK_STATUS_ACCEPTED, "dropped: another member of its group was rejected",
                       false);
    }
    // Stale on arrival while its group is partly in: TakeBatch judges the
    // whole group (the version moved on between its members' arrivals).
    if (outcome == Verdict::kStale && partial_.count(key) > 0) outcome = Verdict::kOk;
    if (outcome == Verdict::kRejected) {
      DeadGroup& dead = dead_[key];
      dead.since = clock_->Now();
      dead.seen = 1;
      if (auto p = partial_.find(key); p != partial_.end()) {
        const int64_t n = static_cast<int64_t>(p->second.members.size());
        dead.seen += static_cast<int>(n);
        counts_.dropped += n;
        waiting_ -= n;
        partial_.erase(p);
      }
      if (dead.seen >= options_.group_size) dead_.erase(key);
    }
  }
  switch (outcome) {
    case Verdict::kRejected:
      ++counts_.rejected;
      taken_[id] = lpb::ACK_STATUS_REJECTED;
      return AckLocked(id, lpb::ACK_STATUS_REJECTED, verdict.reason, false);
    case Verdict::kStale:
      ++counts_.stale;
      taken_[id] = lpb::ACK_STATUS_STALE;
      return AckLocked(id, lpb::ACK_STATUS_STALE, verdict.reason, false);
    case Verdict::kEnvError:
      ++counts_.env_error;
      taken_[id] = lpb::ACK_STATUS_ACCEPTED;
      return AckLocked(id, lpb::ACK_STATUS_ACCEPTED, verdict.reason, false);
    case Verdict::kOk:
      break;
  }
  taken_[id] = lpb::ACK_STATUS_ACCEPTED;
  const size_t ready_before = ready_.size();
  InsertLocked(std::move(t));
  lpb::IngestAck ack = AckLocked(id, lpb::ACK_STATUS_ACCEPTED, "", false);
  if (ready_.size() != ready_before) NotifyReadyLocked();
  return ack;
}

int64_t TrajectoryBuffer::LagLocked(const Trajectory& t) const {
  const int64_t oldest = OldestVersion(t);
  if (options_.version_gap.Lost(oldest)) return options_.max_staleness + 1;
  return options_.version_gap.Lag(version_, oldest);
}

int64_t TrajectoryBuffer::ReadyLocked() const {
  int64_t n = 0;
  for (const auto& unit : ready_) n += static_cast<int64_t>(unit.size());
  return n;
}

void TrajectoryBuffer::NotifyReadyLocked() {
  if (options_.on_ready_changed) options_.on_ready_changed(ReadyLocked(), in_training_);
}

void TrajectoryBuffer::InsertLocked(Trajectory t) {
  ++waiting_;
  if (!options_.whole_groups) {
    std::vector<Trajectory> unit;
    unit.push_back(std::move(t));
    ready_.push_back(std::move(unit));
    return;
  }
  const std::string key = GroupKey(t);
  auto [it, inserted] = partial_.try_emplace(key);
  if (inserted) it->second.first_arrival = clock_->Now();
  for (const auto& m : it->second.members) {
    if (m.group_index() == t.group_index()) {
      // Two different ids for one group slot: keep the group whole and
      // consistent by counting the extra one as dropped.
      ++counts_.dropped;
      --waiting_;
      return;
    }
  }
  it->second.members.push_back(std::move(t));
  if (static_cast<int>(it->second.members.size()) == options_.group_size) {
    std::sort(it->second.members.begin(), it->second.members.end(),
              [](const Trajectory& a, const Trajectory& b) { return a.group_index() < b.group_index(); });
    ready_.push_back(std::move(it->second.members));
    partial_.erase(it);
  }
}

void TrajectoryBuffer::ExpireGroupsLocked() {
  const absl::Time now = clock_->Now();
  for (auto it = dead_.begin(); it != dead_.end();) {
    it = now - it->second.since >= options_.group_timeout ? dead_.erase(it) : std::next(it);
  }
  for (auto it = partial_.begin(); it != partial_.end();) {
    if (now - it->second.first_arrival >= options_.group_timeout) {
      const int64_t n = static_cast<int64_t>(it->second.members.size());
      counts_.dropped += n;
      waiting_ -= n;
      it = partial_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<Batch> TrajectoryBuffer::TakeBatch(int64_t units, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  Batch batch;
  int64_t taken_units = 0;
  while (true) {
    ExpireGroupsLocked();
    // Drop stale units at the front before counting what is ready.
    while (!ready_.empty() && taken_units < units) {
      auto& unit = ready_.front();
      int64_t worst_lag = 0;
      for (const auto& t : unit) worst_lag = std::max(worst_lag, LagLocked(t));
      const int64_t n = static_cast<int64_t>(unit.size());
      waiting_ -= n;
      if (worst_lag > options_.max_staleness) {
        counts_.stale += n;
      } else {
        for (auto& t : unit) {
          ++batch.staleness_counts[LagLocked(t)];
          batch.trajectories.push_back(std::move(t));
        }
        in_training_ += n;
        ++taken_units;
      }
      ready_.pop_front();
    }
    if (taken_units == units) {
      NotifyReadyLocked();
      return batch;
    }
    const absl::Time now = absl::Now();
    if (closed_ || now >= deadline) break;
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || !ready_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&ready),
                         std::min(deadline - now, absl::Milliseconds(100)));
  }
  // Not enough: put what was taken back at the front, in order.
  const int64_t n = static_cast<int64_t>(batch.trajectories.size());
  in_training_ -= n;
  waiting_ += n;
  std::vector<std::vector<Trajectory>> units_back;
  size_t i = 0;
  while (i < batch.trajectories.size()) {
    const size_t size = options_.whole_groups ? static_cast<size_t>(options_.group_size) : 1;
    std::vector<Trajectory> unit;
    for (size_t k = 0; k < size && i < batch.trajectories.size(); ++k, ++i) {
      unit.push_back(std::move(batch.trajectories[i]));
    }
    units_back.push_back(std::move(unit));
  }
  for (auto it = units_back.rbegin(); it != units_back.rend(); ++it) ready_.push_front(std::move(*it));
  NotifyReadyLocked();  // stale units may have left
  return std::nullopt;
}

void TrajectoryBuffer::CommitBatch(const Batch& batch, bool trained) {
  absl::MutexLock lock(&mu_);
  const int64_t n = static_cast<int64_t>(batch.trajectories.size());
  in_training_ -= n;
  if (trained) {
    counts_.trained += n;
  } else {
    counts_.dropped += n;
  }
  NotifyReadyLocked();
}

void TrajectoryBuffer::SetProgress(int64_t policy_version, int64_t step) {
  absl::MutexLock lock(&mu_);
  version_ = policy_version;
  step_ = step;
}

void TrajectoryBuffer::SetCheckpointStep(int64_t step) {
  absl::MutexLock lock(&mu_);
  checkpoint_step_ = step;
}

int64_t TrajectoryBuffer::policy_version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

Accounting TrajectoryBuffer::accounting() const {
  absl::MutexLock lock(&mu_);
  Accounting a = counts_;
  a.buffered = waiting_ + in_training_;
  return a;
}

int64_t TrajectoryBuffer::buffered() const {
  absl::MutexLock lock(&mu_);
  return waiting_;
}

int64_t TrajectoryBuffer::ready() const {
  absl::MutexLock lock(&mu_);
  return ReadyLocked();
}

void TrajectoryBuffer::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

TrajectoryBuffer::State TrajectoryBuffer::Export() const {
  absl::MutexLock lock(&mu_);
  State s;
  s.ids.reserve(taken_.size());
  for (const auto& [id, status] : taken_) s.ids.emplace_back(id, status);
  std::sort(s.ids.begin(), s.ids.end());
  s.accounting = counts_;
  s.accounting.buffered = waiting_ + in_training_;
  for (const auto& unit : ready_) {
    for (const auto& t : unit) s.waiting.push_back(t);
  }
  for (const auto& [key, group] : partial_) {
    for (const auto& t : group.members) s.waiting.push_back(t);
  }
  return s;
}

void TrajectoryBuffer::Restore(State state) {
  absl::MutexLock lock(&mu_);
  taken_.clear();
  for (auto& [id, status] : state.ids) taken_[id] = status;
  counts_ = state.accounting;
  counts_.buffered = 0;
  partial_.clear();
  ready_.clear();
  waiting_ = 0;
  in_training_ = 0;
  for (auto& t : state.waiting) InsertLocked(std::move(t));
}

}  // namespace agentgym::learner
