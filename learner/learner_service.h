#ifndef AGENTGYM_LEARNER_LEARNER_SERVICE_H_
#define AGENTGYM_LEARNER_LEARNER_SERVICE_H_

// The Learner gRPC service (proto/agentgym/learner/v1/learner.proto), served
// by rank 0. Sync API: each Ingest stream runs on its own gRPC thread, reads
// a trajectory, offers it to the buffer (which blocks while the buffer is
// full: backpressure reaches the sender through gRPC flow control) and only
// then writes the ack. GetWeights streams a published snapshot. The service
// converts absl statuses at this edge only. Thread-safe; does not own the
// buffer, the store or the status callback's state, which must outlive it.

#include <atomic>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "agentgym/learner/v1/learner.grpc.pb.h"
#include "core/metrics.h"
#include "learner/trajectory_buffer.h"
#include "learner/weight_store.h"

namespace agentgym::learner {

struct LearnerServiceOptions {
  int64_t default_chunk_bytes = 4 << 20;
  int max_concurrent_pulls = 16;
  // False on ranks other than 0: every call answers FAILED_PRECONDITION.
  bool serving = true;
  int rank = 0;
};

class LearnerService final : public learner::v1::Learner::Service {
 public:
  // `status` fills step, version, accounting and last-step metrics.
  LearnerService(LearnerServiceOptions options, TrajectoryBuffer* buffer, WeightStore* weights,
                 std::function<learner::v1::LearnerStatus()> status,
                 metrics::Registry* registry = &metrics::Registry::Global());

  // Ends streams: new calls get UNAVAILABLE; blocked ingests are released
  // by closing the buffer (the owner does that).
  void Shutdown();

  grpc::Status Ingest(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<learner::v1::IngestAck, learner::v1::IngestRequest>*
                          stream) override;
  grpc::Status GetWeights(grpc::ServerContext* context, const learner::v1::GetWeightsRequest* request,
                          grpc::ServerWriter<learner::v1::WeightsChunk>* writer) override;
  grpc::Status GetVersion(grpc::ServerContext* context, const learner::v1::GetVersionRequest* request,
                          learner::v1::GetVersionResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context,
                         const learner::v1::GetLearnerStatusRequest* request,
                         learner::v1::LearnerStatus* response) override;

 private:
  const LearnerServiceOptions options_;
  TrajectoryBuffer* const buffer_;
  WeightStore* const weights_;
  const std::function<learner::v1::LearnerStatus()> status_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<int> pulls_{0};
  metrics::Counter* ingested_;
  metrics::Counter* weight_bytes_;
  metrics::Histogram* weight_seconds_;
  metrics::Gauge* weight_bytes_per_s_;
};

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_LEARNER_SERVICE_H_
