#ifndef AGENTGYM_ACTOR_TESTING_FAKE_LEARNER_H_
#define AGENTGYM_ACTOR_TESTING_FAKE_LEARNER_H_

// A Learner gRPC service for actor tests: acks Ingest streams (with a
// programmable stop to play a crash) and serves GetWeights from tensors.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agentgym/learner/v1/learner.grpc.pb.h"
#include "grpcpp/server.h"

namespace agentgym::actor::testing {

class FakeLearner : public learner::v1::Learner::Service {
 public:
  grpc::Status Ingest(grpc::ServerContext* ctx,
                      grpc::ServerReaderWriter<learner::v1::IngestAck, learner::v1::IngestRequest>* stream) override;
  grpc::Status GetWeights(grpc::ServerContext* ctx, const learner::v1::GetWeightsRequest* req,
                          grpc::ServerWriter<learner::v1::WeightsChunk>* writer) override;
  grpc::Status GetVersion(grpc::ServerContext* ctx, const learner::v1::GetVersionRequest* req,
                          learner::v1::GetVersionResponse* resp) override;

  // After this many acks (counted over all streams), trajectories are read
  // but neither taken nor acked, as by a learner about to crash. -1: no limit.
  void SetAckLimit(int64_t limit);
  void SetPolicyVersion(int64_t v);
  // What acks say: the learner step a trajectory is taken at, and the step of
  // the latest checkpoint (default 0 and 1: everything is durable at once).
  void SetSteps(int64_t step, int64_t checkpoint_step);
  // Plays a restart from the latest checkpoint: forgets the ids taken at a
  // step no checkpoint covers (step >= checkpoint_step).
  void ForgetUncheckpointed();
  void SetWeights(int64_t version, std::map<std::string, torch::Tensor> tensors);
  // Serve a manifest whose first tensor has a wrong shape.
  void SetCorruptShapes(bool corrupt);
  // Stop the GetWeights stream half way (after the first data chunk) with
  // UNAVAILABLE.
  void SetBreakMidStream(bool broken);

  int64_t received() const;        // trajectories read, every copy
  int64_t taken() const;           // distinct ids taken
  int64_t duplicates() const;      // acks with duplicate set
  std::set<std::string> ids() const;
  int64_t weight_pulls() const;
  bool WaitForReceived(int64_t n, absl::Duration timeout) const;

 private:
  mutable absl::Mutex mu_;
  int64_t ack_limit_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t acks_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t received_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> taken_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> taken_at_ ABSL_GUARDED_BY(mu_);  // id -> step
  int64_t step_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t checkpoint_step_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t weights_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, torch::Tensor> weights_ ABSL_GUARDED_BY(mu_);
  bool corrupt_ ABSL_GUARDED_BY(mu_) = false;
  bool break_mid_ ABSL_GUARDED_BY(mu_) = false;
  int64_t pulls_ ABSL_GUARDED_BY(mu_) = 0;
};

// Serves `service` on 127.0.0.1:`port` (0: a free port).
struct FakeLearnerServer {
  FakeLearnerServer() = default;
  FakeLearnerServer(FakeLearnerServer&&) = default;
  FakeLearnerServer& operator=(FakeLearnerServer&&) = default;
  // Cancels open streams instead of waiting for their clients.
  ~FakeLearnerServer() {
    if (server != nullptr) server->Shutdown(std::chrono::system_clock::now());
  }
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};
absl::StatusOr<FakeLearnerServer> StartFakeLearner(FakeLearner* service, int port = 0);

}  // namespace agentgym::actor::testing

#endif  // AGENTGYM_ACTOR_TESTING_FAKE_LEARNER_H_
