#include "actor/testing/fake_learner.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace agentgym::actor::testing {

namespace lpb = ::agentgym::learner::v1;

grpc::Status FakeLearner::Ingest(grpc::ServerContext* ctx,
                                 grpc::ServerReaderWriter<lpb::IngestAck, lpb::IngestRequest>* stream) {
  lpb::IngestRequest req;
  while (stream->Read(&req)) {
    lpb::IngestAck ack;
    {
      absl::MutexLock lock(&mu_);
      ++received_;
      if (ack_limit_ >= 0 && acks_ >= ack_limit_) continue;  // "crashing": lost
      const std::string& id = req.trajectory().trajectory_id();
      ack.set_trajectory_id(id);
      ack.set_status(lpb::ACK_STATUS_ACCEPTED);
      ack.set_duplicate(!taken_.insert(id).second);
      if (ack.duplicate()) ++duplicates_;
      if (!ack.duplicate()) taken_at_[id] = step_;
      ack.set_policy_version(version_);
      ack.set_step(step_);
      ack.set_checkpoint_step(checkpoint_step_);
      ++acks_;
    }
    if (!stream->Write(ack)) break;
  }
  return grpc::Status::OK;
}

void FakeLearner::SetSteps(int64_t step, int64_t checkpoint_step) {
  absl::MutexLock lock(&mu_);
  step_ = step;
  checkpoint_step_ = checkpoint_step;
}

void FakeLearner::ForgetUncheckpointed() {
  absl::MutexLock lock(&mu_);
  for (auto it = taken_at_.begin(); it != taken_at_.end();) {
    if (it->second >= checkpoint_step_) {
      taken_.erase(it->first);
      it = taken_at_.erase(it);
    } else {
      ++it;
    }
  }
}

grpc::Status FakeLearner::GetVersion(grpc::ServerContext*, const lpb::GetVersionRequest*,
                                     lpb::GetVersionResponse* resp) {
  absl::MutexLock lock(&mu_);
  resp->set_policy_version(version_);
  return grpc::Status::OK;
}

grpc::Status FakeLearner::GetWeights(grpc::ServerContext* ctx, const lpb::GetWeightsRequest* req,
                                     grpc::ServerWriter<lpb::WeightsChunk>* writer) {
  lpb::WeightsChunk head;
  std::string blob;
  bool break_mid = false;
  {
    absl::MutexLock lock(&mu_);
    ++pulls_;
    if (weights_.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no weights");
    if (req->version() != 0 && req->version() != weights_version_) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("version ", req->version(), " not served"));
    }
    lpb::WeightsManifest* m = head.mutable_manifest();
    m->set_version(weights_version_);
    bool first = true;
    for (const auto& [name, t] : weights_) {
      torch::Tensor c = t.to(torch::kFloat32).contiguous();
      lpb::TensorEntry* e = m->add_tensors();
      e->set_name(name);
      e->set_dtype("F32");
      for (int64_t d : c.sizes()) e->add_shape(d);
      if (corrupt_ && first) e->set_shape(0, e->shape(0) + 1);
      first = false;
      e->set_offset(static_cast<int64_t>(blob.size()));
      e->set_length(c.numel() * 4);
      blob.append(static_cast<const char*>(c.data_ptr()), c.numel() * 4);
    }
    m->set_total_bytes(static_cast<int64_t>(blob.size()));
    break_mid = break_mid_;
  }
  if (!writer->Write(head)) return grpc::Status::OK;
  const size_t chunk = req->chunk_bytes() > 0 ? req->chunk_bytes() : 4096;
  for (size_t at = 0; at < blob.size(); at += chunk) {
    lpb::WeightsChunk c;
    c.set_data(blob.substr(at, chunk));
    if (!writer->Write(c)) return grpc::Status::OK;
    if (break_mid) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "learner went away mid-stream");
  }
  return grpc::Status::OK;
}

void FakeLearner::SetAckLimit(int64_t limit) {
  absl::MutexLock lock(&mu_);
  ack_limit_ = limit;
}
void FakeLearner::SetPolicyVersion(int64_t v) {
  absl::MutexLock lock(&mu_);
  version_ = v;
}
void FakeLearner::SetWeights(int64_t version, std::map<std::string, torch::Tensor> tensors) {
  absl::MutexLock lock(&mu_);
  weights_version_ = version;
  weights_ = std::move(tensors);
}
void FakeLearner::SetCorruptShapes(bool corrupt) {
  absl::MutexLock lock(&mu_);
  corrupt_ = corrupt;
}
void FakeLearner::SetBreakMidStream(bool broken) {
  absl::MutexLock lock(&mu_);
  break_mid_ = broken;
}
int64_t FakeLearner::received() const {
  absl::MutexLock lock(&mu_);
  return received_;
}
int64_t FakeLearner::taken() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(taken_.size());
}
int64_t FakeLearner::duplicates() const {
  absl::MutexLock lock(&mu_);
  return duplicates_;
}
std::set<std::string> FakeLearner::ids() const {
  absl::MutexLock lock(&mu_);
  return taken_;
}
int64_t FakeLearner::weight_pulls() const {
  absl::MutexLock lock(&mu_);
  return pulls_;
}
bool FakeLearner::WaitForReceived(int64_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return received_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

absl::StatusOr<FakeLearnerServer> StartFakeLearner(FakeLearner* service, int port) {
  FakeLearnerServer out;
  grpc::ServerBuilder b;
  b.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(), &out.port);
  b.RegisterService(service);
  out.server = b.BuildAndStart();
  if (out.server == nullptr || out.port == 0) return absl::UnavailableError(absl::StrCat("cannot bind port ", port));
  return out;
}

}  // namespace agentgym::actor::testing
