#include "learner/learner_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/grpc_status.h"
#include "core/logging.h"

namespace agentgym::learner {

namespace lpb = ::agentgym::learner::v1;

LearnerService::LearnerService(LearnerServiceOptions options, TrajectoryBuffer* buffer,
                               WeightStore* weights, std::function<lpb::LearnerStatus()> status,
                               metrics::Registry* registry)
    : options_(options), buffer_(buffer), weights_(weights), status_(std::move(status)) {
  ingested_ = registry->GetCounter("agentgym_learner_ingest_messages_total",
                                   "trajectories received on Ingest streams");
  weight_bytes_ = registry->GetCounter("agentgym_learner_weight_bytes_sent_total",
                                       "weight blob bytes streamed by GetWeights");
  weight_seconds_ = registry->GetHistogram("agentgym_learner_weight_pull_seconds",
                                           "time to stream one weights version",
                                           metrics::Histogram::ExponentialBounds(0.001, 100));
  weight_bytes_per_s_ = registry->GetGauge("agentgym_learner_weight_pull_bytes_per_second",
                                           "throughput of the last complete GetWeights");
}

void LearnerService::Shutdown() { shutting_down_ = true; }

namespace {

grpc::Status NotServing(int rank) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      absl::StrCat("learner rank ", rank, " does not serve; ask rank 0"));
}

}  // namespace

grpc::Status LearnerService::Ingest(
    grpc::ServerContext* context, grpc::ServerReaderWriter<lpb::IngestAck, lpb::IngestRequest>* stream) {
  if (!options_.serving) return NotServing(options_.rank);
  lpb::IngestRequest request;
  while (!shutting_down_ && stream->Read(&request)) {
    ingested_->Increment();
    auto ack = buffer_->Offer(std::move(*request.mutable_trajectory()),
                              [context, this] { return context->IsCancelled() || shutting_down_; });
    if (!ack.ok()) return ToGrpcStatus(ack.status());
    if (!stream->Write(*ack)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  if (shutting_down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "learner is shutting down");
  return grpc::Status::OK;
}

grpc::Status LearnerService::GetWeights(grpc::ServerContext* context, const lpb::GetWeightsRequest* request,
                                        grpc::ServerWriter<lpb::WeightsChunk>* writer) {
  if (!options_.serving) return NotServing(options_.rank);
  if (shutting_down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "learner is shutting down");
  // The server default stays under gRPC's default 4 MiB receive limit with
  // room for the message framing, so a client with default settings can
  // read every chunk; a client asking for more sets its own limit.
  constexpr int64_t kDefaultClientSafeChunk = (4 << 20) - (16 << 10);
  const int64_t chunk = request->chunk_bytes() == 0
                            ? std::min<int64_t>(options_.default_chunk_bytes, kDefaultClientSafeChunk)
                            : request->chunk_bytes();
  if (chunk < 0 || chunk > (64 << 20)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("chunk_bytes ", request->chunk_bytes(), " not in [0, 64 MiB]"));
  }
  if (request->version() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "version must be >= 0 (0: latest)");
  }
  auto snapshot = weights_->Get(request->version());
  if (!snapshot.ok()) return ToGrpcStatus(snapshot.status());
  if (pulls_.fetch_add(1) >= options_.max_concurrent_pulls) {
    pulls_.fetch_sub(1);
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many concurrent weight pulls; retry");
  }
  struct Release {
    std::atomic<int>* n;
    ~Release() { n->fetch_sub(1); }
  } release{&pulls_};
  const auto start = std::chrono::steady_clock::now();
  const WeightsSnapshot& s = **snapshot;
  lpb::WeightsChunk message;
  *message.mutable_manifest() = s.manifest;
  if (!writer->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  const int64_t total = static_cast<int64_t>(s.blob.size());
  for (int64_t offset = 0; offset < total; offset += chunk) {
    if (context->IsCancelled() || shutting_down_) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "weight pull cancelled");
    }
    message.Clear();
    message.set_data(s.blob.data() + offset, std::min(chunk, total - offset));
    if (!writer->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  weight_bytes_->Increment(static_cast<double>(total));
  weight_seconds_->Observe(seconds);
  if (seconds > 0) weight_bytes_per_s_->Set(static_cast<double>(total) / seconds);
  GetLogger("learner")->debug("served weights v{} ({} bytes) in {:.3f}s", s.version, total, seconds);
  return grpc::Status::OK;
}

grpc::Status LearnerService::GetVersion(grpc::ServerContext*, const lpb::GetVersionRequest*,
                                        lpb::GetVersionResponse* response) {
  if (!options_.serving) return NotServing(options_.rank);
  const lpb::LearnerStatus status = status_();
  response->set_policy_version(status.policy_version());
  response->set_step(status.step());
  return grpc::Status::OK;
}

grpc::Status LearnerService::GetStatus(grpc::ServerContext*, const lpb::GetLearnerStatusRequest*,
                                       lpb::LearnerStatus* response) {
  if (!options_.serving) return NotServing(options_.rank);
  *response = status_();
  return grpc::Status::OK;
}

}  // namespace agentgym::learner
