#ifndef AGENTGYM_ACTOR_WEIGHTS_H_
#define AGENTGYM_ACTOR_WEIGHTS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agentgym/learner/v1/learner.grpc.pb.h"
#include "policy/model.h"
#include "core/grpc_security.h"

namespace agentgym::actor {

namespace lpb = ::agentgym::learner::v1;

// A full set of weights of one policy version, as CPU tensors by HF name.
struct WeightUpdate {
  int64_t version = 0;
  std::map<std::string, torch::Tensor> tensors;
};

// Name, shape and dtype of every model tensor, to check pulled weights.
struct TensorSpec {
  std::vector<int64_t> shape;
  torch::ScalarType dtype = torch::kFloat32;
};
std::map<std::string, TensorSpec> ModelTensorSpecs(policy::CausalLm& model);

// The hand-over point between the puller thread (Offer) and the scheduler
// thread (Take, between generator steps). Holds at most one update: a newer
// one replaces an older one not yet taken. Thread-safe.
class WeightSlot {
 public:
  void Offer(WeightUpdate update);
  std::optional<WeightUpdate> Take();
  // Blocks until an update is pending or `timeout`; true if one is.
  bool WaitForPending(absl::Duration timeout);

 private:
  absl::Mutex mu_;
  std::optional<WeightUpdate> pending_ ABSL_GUARDED_BY(mu_);
};

// Copies `update` into the model's parameters (NoGradGuard, copy_ converting
// dtype/device). INVALID_ARGUMENT (model unchanged) when a name is missing or a
// shape differs; INTERNAL when LibTorch fails. Run on the thread that owns
// the generator, between steps.
absl::Status ApplyWeights(const WeightUpdate& update, policy::CausalLm& model);

// Builds CPU tensors from a GetWeights manifest and its blob, checking every
// entry against `specs`: same names (all of them), shapes, byte lengths
// (dtype F32 / BF16 / F16), ranges inside total_bytes and blob size.
absl::StatusOr<WeightUpdate> DecodeWeights(const lpb::WeightsManifest& manifest, const std::string& blob,
                                           const std::map<std::string, TensorSpec>& specs);

struct WeightPullerOptions {
  // The learner's address, asked before every pull ("" = not known yet).
  std::function<std::string()> learner_address;
  absl::Duration timeout = absl::Seconds(120);  // deadline of one whole pull
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
  int64_t chunk_bytes = 0;  // 0: the server's default
  // TLS / client certificate / bearer token for the learner.
  ClientSecurityOptions security;
};

// A thread that pulls GetWeights(version) whenever a newer version than the
// last one pulled is wanted, verifies it and offers it to a WeightSlot. A
// failed or partial pull keeps the old weights and is retried with backoff
// (a newer wanted version supersedes it). Thread-safe; the destructor stops
// and joins the thread (an in-flight pull is cancelled).
class WeightPuller {
 public:
  static absl::StatusOr<std::unique_ptr<WeightPuller>> Create(WeightPullerOptions options,
                                                              std::map<std::string, TensorSpec> specs,
                                                              WeightSlot* slot, int64_t current_version);
  ~WeightPuller();

  // Asks for `version` (pulled when newer than what was last pulled).
  void Want(int64_t version);
  int64_t pulled_version() const;
  int64_t failures() const;
  // Blocks until failures() >= n or `timeout`; true if so.
  bool WaitForFailures(int64_t n, absl::Duration timeout) const;
  void Stop();

 private:
  WeightPuller(WeightPullerOptions options, std::map<std::string, TensorSpec> specs, WeightSlot* slot,
               int64_t current_version);
  void Loop();
  absl::StatusOr<WeightUpdate> PullOnce(const std::string& address, int64_t version);

  const WeightPullerOptions options_;
  const std::map<std::string, TensorSpec> specs_;
  WeightSlot* const slot_;
  mutable absl::Mutex mu_;
  int64_t wanted_ ABSL_GUARDED_BY(mu_);
  int64_t pulled_ ABSL_GUARDED_BY(mu_);
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;  // cancelled by Stop
  std::thread thread_;
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_WEIGHTS_H_
