#ifndef AGENTGYM_ACTOR_LEARNER_SINK_H_
#define AGENTGYM_ACTOR_LEARNER_SINK_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "actor/trajectory_sink.h"
#include "core/grpc_security.h"
#include "agentgym/learner/v1/learner.grpc.pb.h"

namespace agentgym::actor {

struct LearnerSinkOptions {
  // The learner's address, asked before every (re)connect ("" = not known
  // yet: wait and ask again).
  std::function<std::string()> learner_address;
  // Deadline of one Ingest stream; when it passes the stream is reopened and
  // every unacked trajectory resent (ids make resends idempotent).
  absl::Duration stream_timeout = absl::Minutes(30);
  // No ack for this long while trajectories are outstanding: the stream is
  // considered stuck and reopened.
  absl::Duration ack_timeout = absl::Seconds(60);
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Runs (on the sink's reader thread; must not block) with the
  // policy_version of every ack.
  std::function<void(int64_t policy_version)> on_policy_version;
  // TLS / client certificate / bearer token for the learner.
  ClientSecurityOptions security;
};

// Streams trajectories to the learner over Ingest and keeps each one until
// its ack arrives, and then until a learner checkpoint holds it: every ack
// says at which learner step it was taken and the step of the learner's
// latest checkpoint, and a trajectory is durable once a checkpoint of a
// later step exists. After a broken stream it reconnects with backoff and
// resends every unacked trajectory, then every acked one no checkpoint holds
// yet, in Send order: a learner that restarted from its checkpoint gets back
// what it took after it (ids make resends idempotent: a learner that still
// has an id acks it as a duplicate). Nothing is dropped (the engine stops
// starting episodes while Unacked() is at its bound). Acks of ids it does
// not hold (a resend's second ack) are ignored.
//
// Threads: one connection thread writes; one reader thread per stream reads
// acks. Thread-safe; the destructor (or Close) cancels the stream and joins.
class LearnerSink : public TrajectorySink {
 public:
  static absl::StatusOr<std::unique_ptr<LearnerSink>> Create(LearnerSinkOptions options);
  ~LearnerSink() override;

  absl::Status Send(tpb::Trajectory trajectory) override;
  int64_t Unacked() const override;
  int64_t Acked() const override;
  bool Flush(absl::Duration timeout) override;
  // Blocks until Acked() >= n or `timeout`; true if so.
  bool WaitForAcked(int64_t n, absl::Duration timeout) const;

  int64_t rejected() const;  // acks REJECTED
  int64_t stale() const;     // acks STALE
  int64_t reconnects() const;
  int64_t resent() const;    // trajectories written again after a reconnect
  int64_t retained() const;  // acked, kept until a learner checkpoint holds them
  void Close();

 private:
  explicit LearnerSink(LearnerSinkOptions options);
  void ConnectionLoop();
  // Runs one stream until it breaks or Close; returns why it ended.
  absl::Status RunStream(const std::string& address);
  void ReadAcks(grpc::ClientReaderWriter<learner::v1::IngestRequest, learner::v1::IngestAck>* stream);

  const LearnerSinkOptions options_;
  mutable absl::Mutex mu_;
  // Unacked trajectories by id, and the ids still to be written on the
  // current stream, in order.
  std::map<std::string, tpb::Trajectory> unacked_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> order_ ABSL_GUARDED_BY(mu_);  // id -> send sequence number
  // Acked but not yet in a learner checkpoint: id -> (learner step of the
  // ack, trajectory); resent after a reconnect like the unacked ones.
  std::map<std::string, std::pair<int64_t, tpb::Trajectory>> retained_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> to_write_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t stale_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t resent_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_ack_ ABSL_GUARDED_BY(mu_) = absl::Now();
  bool stream_broken_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_LEARNER_SINK_H_
