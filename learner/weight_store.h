#ifndef AGENTGYM_LEARNER_WEIGHT_STORE_H_
#define AGENTGYM_LEARNER_WEIGHT_STORE_H_

// Published policy versions, ready to stream: a manifest (every tensor's HF
// name, dtype, shape, byte range) and one packed blob holding each tensor's
// contiguous little-endian bytes, in manifest order, each at an offset
// aligned to 64 bytes. A snapshot is a copy taken at publish time, so
// serving never races training.
//
// WeightStore keeps the latest `keep` versions. Get hands out shared_ptrs:
// a GetWeights stream in flight holds its snapshot alive even after a newer
// version replaced it. Thread-safe.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agentgym/learner/v1/learner.pb.h"
#include "policy/model.h"

namespace agentgym::learner {

struct WeightsSnapshot {
  int64_t version = 0;
  learner::v1::WeightsManifest manifest;
  std::string blob;
};

constexpr int64_t kWeightAlignment = 64;

// Copies the model's weights (policy::NamedWeights, sorted by name) to the
// CPU. INTERNAL when LibTorch fails; INVALID_ARGUMENT for an unsupported dtype.
absl::StatusOr<std::shared_ptr<const WeightsSnapshot>> SnapshotWeights(policy::CausalLm& model,
                                                                       int64_t version);

class WeightStore {
 public:
  explicit WeightStore(size_t keep = 2) : keep_(keep == 0 ? 1 : keep) {}
  void Publish(std::shared_ptr<const WeightsSnapshot> snapshot);
  // version 0 (or the latest's number): the latest. NOT_FOUND for a version
  // not (or no longer) kept; FAILED_PRECONDITION before the first publish.
  absl::StatusOr<std::shared_ptr<const WeightsSnapshot>> Get(int64_t version) const;
  int64_t latest_version() const;  // -1 before the first publish

 private:
  const size_t keep_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<const WeightsSnapshot>> versions_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_WEIGHT_STORE_H_
