#ifndef AGENTGYM_ACTOR_TRAJECTORY_SINK_H_
#define AGENTGYM_ACTOR_TRAJECTORY_SINK_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agentgym/trajectory/v1/trajectory.pb.h"

namespace agentgym::actor {

namespace tpb = ::agentgym::trajectory::v1;

// Where finished trajectories go. Contract: a sink never drops what Send
// accepted; a sink with acknowledgements (the learner) keeps each trajectory
// until it is acked and reports how many are outstanding, so the engine can
// stop starting episodes (backpressure) instead of piling them up.
// Thread-safe: Send is called from the engine's scheduler thread, the getters
// from any thread.
class TrajectorySink {
 public:
  virtual ~TrajectorySink() = default;
  // Takes the trajectory. Must not block for long (the scheduler thread calls
  // it). An error means it was not taken (e.g. the file cannot be written).
  virtual absl::Status Send(tpb::Trajectory trajectory) = 0;
  // Sent but not acknowledged yet (0 for sinks without acks).
  virtual int64_t Unacked() const { return 0; }
  // Acknowledged so far (every Send for sinks without acks).
  virtual int64_t Acked() const = 0;
  // Waits until nothing is unacked or `timeout` passes; true when flushed.
  virtual bool Flush(absl::Duration timeout) { return true; }
};

// Keeps every trajectory in memory (tests, eval). Thread-safe.
class InProcessSink : public TrajectorySink {
 public:
  absl::Status Send(tpb::Trajectory trajectory) override;
  int64_t Acked() const override;
  std::vector<tpb::Trajectory> Take();
  std::vector<tpb::Trajectory> Snapshot() const;
  // Blocks until at least `n` trajectories arrived or `timeout`; true if so.
  bool WaitForCount(size_t n, absl::Duration timeout) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<tpb::Trajectory> items_ ABSL_GUARDED_BY(mu_);
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

// Appends one JSON object per line (protobuf JsonUtil, proto field names) to
// a file, flushed after each line. Thread-safe.
class JsonlFileSink : public TrajectorySink {
 public:
  // INVALID_ARGUMENT for an empty path; PERMISSION_DENIED / NOT_FOUND when the
  // file cannot be opened (truncated on open).
  static absl::StatusOr<std::unique_ptr<JsonlFileSink>> Open(const std::string& path);
  ~JsonlFileSink() override;
  absl::Status Send(tpb::Trajectory trajectory) override;
  int64_t Acked() const override;

 private:
  JsonlFileSink(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  const std::string path_;
  mutable absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_);
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
};

// Sends every trajectory to several sinks (e.g. the learner and a file).
// Unacked/Acked follow the first sink, which is the one that applies
// backpressure. Does not own the sinks.
class TeeSink : public TrajectorySink {
 public:
  explicit TeeSink(std::vector<TrajectorySink*> sinks) : sinks_(std::move(sinks)) {}
  absl::Status Send(tpb::Trajectory trajectory) override;
  int64_t Unacked() const override { return sinks_.empty() ? 0 : sinks_[0]->Unacked(); }
  int64_t Acked() const override { return sinks_.empty() ? 0 : sinks_[0]->Acked(); }
  bool Flush(absl::Duration timeout) override { return sinks_.empty() || sinks_[0]->Flush(timeout); }

 private:
  std::vector<TrajectorySink*> sinks_;
};

// Parses one line written by JsonlFileSink.
absl::StatusOr<tpb::Trajectory> TrajectoryFromJson(const std::string& line);

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_TRAJECTORY_SINK_H_
