#ifndef AGENTGYM_LEARNER_LEARNER_H_
#define AGENTGYM_LEARNER_LEARNER_H_

// One learner rank: model, trainer, data-parallel communicator, ingest
// buffer, weight serving, checkpoints and coordinator reporting, wired
// together. Rank 0 ingests (its Learner service is the actors' learner
// address), forms each batch, broadcasts it, and every rank trains its
// slice of whole groups; rank 0 then publishes version+1, reports progress
// and checkpoints. Other ranks serve a Learner service that answers
// FAILED_PRECONDITION (so every rank has an address to register).
//
// Versions: 0 is the initial weights; every training step (its ppo_epochs
// optimizer updates on one batch) publishes the next version.
//
// Threads: Run() drives training on the caller's thread; gRPC threads serve
// ingest and weights; the coordinator client owns its heartbeat thread.
// Create/Run/destructor are called from one thread; status() is
// thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agentgym/learner/v1/learner.pb.h"
#include "core/grpc_security.h"
#include "core/metrics.h"
#include "core/metrics_jsonl.h"
#include "grpcpp/server.h"
#include "learner/comm/communicator.h"
#include "learner/learner_options.h"
#include "learner/learner_service.h"
#include "learner/trainer.h"
#include "learner/trajectory_buffer.h"
#include "learner/weight_store.h"
#include "scheduler/coordinator_client.h"

namespace agentgym::learner {

struct LearnerRunOptions {
  LearnerOptions options;
  std::string listen = "127.0.0.1:0";
  // TLS, mutual TLS and a bearer token for the Learner service (ingest,
  // weights, status); loopback only without them (core/grpc_security.h).
  ServerSecurityOptions security;
  std::string coordinator;  // host:port; empty: run without one
  ClientSecurityOptions coordinator_security;  // TLS / token toward it; empty: plaintext
  // host:port actors dial for this learner, and the host its rendezvous
  // store and Gloo bind when the others are on other machines. Empty: the
  // listen address (127.0.0.1 for a wildcard one).
  std::string advertise;
  std::string rendezvous;   // host:port of the c10d store; empty: the coordinator's / rank 0 picks
  std::string run_dir;
  int rank = 0;
  int world_size = 1;
  bool resume = false;
  // Called once the server is up (rank 0 after registering), with host:port.
  // An error from it (e.g. the port file cannot be written) ends Create with
  // that error.
  std::function<absl::Status(const std::string& address, int port)> on_listening;
};

class Learner {
 public:
  // Loads the model (or the latest checkpoint with `resume`), builds the
  // trainer, joins the other ranks and starts serving. INVALID_ARGUMENT for
  // bad options; NOT_FOUND for a missing model; UNAVAILABLE when the address,
  // the coordinator or the rendezvous cannot be reached; on_listening's error.
  static absl::StatusOr<std::unique_ptr<Learner>> Create(LearnerRunOptions options,
                                                         metrics::Registry* registry = &metrics::Registry::Global());
  ~Learner();

  // Trains until max_steps or `stop`; on either, finishes the step in
  // progress and writes a final checkpoint (rank 0). An error from a step,
  // a collective or a checkpoint ends the run with that error.
  absl::Status Run(absl::Notification* stop);

  std::string address() const { return address_; }
  learner::v1::LearnerStatus status() const;
  TrajectoryBuffer& buffer() { return *buffer_; }

 private:
  explicit Learner(LearnerRunOptions options, metrics::Registry* registry);
  absl::Status Init();
  absl::Status LoadModel(std::optional<std::string> checkpoint_dir);
  absl::Status StartServer();
  absl::Status ConnectCoordinator(const std::string& rendezvous_address);
  // The host others reach this rank at: --advertise's, else the listen one.
  absl::StatusOr<std::string> AdvertisedHost() const;
  absl::Status RunRankZero(absl::Notification* stop);
  absl::Status RunFollower();
  // Trains one batch (this rank's slice) and advances step and version.
  absl::Status TrainBatch(const std::vector<trajectory::v1::Trajectory>& all, double wait_s,
                          const std::map<int64_t, int64_t>& staleness);
  absl::Status Publish();
  // `final`: the learner stops after it (no version is published later).
  absl::Status Checkpoint(bool final = false);
  // Flow control (buffer callback, on ingest or training threads): tells
  // the coordinator at once, by a heartbeat, how many complete groups wait
  // for training, so its window of groups ahead of training
  // (ReportProgressRequest.max_groups_ahead) counts them as they arrive and
  // as they leave (trained or dropped stale).
  void OnReadyChanged(int64_t ready_trajectories, int64_t in_training);
  // The flow-control window (ReportProgressRequest.max_groups_ahead).
  int64_t MaxGroupsAhead() const;
  void Report(const std::vector<trajectory::v1::Trajectory>& batch, const StepMetrics& m,
              const std::map<int64_t, int64_t>& staleness);
  // At exit, with ingest closed: the last step's report again (a repeat,
  // which the coordinator's window and curriculum take once) with the final
  // accounting, so the run's identity adds up over what arrived after it.
  void ReportFinal();

  LearnerRunOptions run_;
  metrics::Registry* const registry_;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<TrajectoryBuffer> buffer_;
  WeightStore weights_;
  std::unique_ptr<LearnerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<scheduler::CoordinatorClient> coordinator_;
  std::unique_ptr<metrics::JsonlWriter> jsonl_;
  std::string address_;
  std::string model_dir_;  // tokenizer files come from here into checkpoints
  int64_t last_checkpoint_step_ = -1;
  int64_t unmixed_steps_ = 0;  // consecutive steps where no group had mixed rewards
  std::optional<scheduler::pb::ReportProgressRequest> last_report_;  // training thread
  std::atomic<int64_t> reported_ready_groups_{-1};  // last count OnReadyChanged sent
  // coordinator_ once connected (read by buffer callbacks on other threads).
  std::atomic<scheduler::CoordinatorClient*> coordinator_ptr_{nullptr};

  mutable absl::Mutex mu_;
  int64_t step_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t tokens_trained_ ABSL_GUARDED_BY(mu_) = 0;
  double idle_ratio_ ABSL_GUARDED_BY(mu_) = 0;
  double publish_ms_ ABSL_GUARDED_BY(mu_) = 0;
  StepMetrics last_metrics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_LEARNER_H_
