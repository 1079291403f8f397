#ifndef AGENTGYM_LEARNER_COMM_COMMUNICATOR_H_
#define AGENTGYM_LEARNER_COMM_COMMUNICATOR_H_

// The collectives the learner needs across data-parallel ranks. comm/ is
// the only place that knows c10d (Gloo on CPU, NCCL on GPU); the rest of the
// learner sees this interface. Every call has a deadline (the
// implementation's collective timeout) and returns DEADLINE_EXCEEDED or
// UNAVAILABLE instead of hanging when a peer is gone. Calls must be made in
// the same order on every rank. Not thread-safe: one thread drives it.

#include <memory>
#include <string>

#include <torch/torch.h>

#include "absl/status/status.h"

namespace agentgym::learner {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // In place: every rank ends with the element-wise sum (float32/float64,
  // CPU or the collective's device).
  virtual absl::Status AllReduceSum(torch::Tensor& tensor) = 0;
  // Rank `root`'s bytes end up in `*bytes` on every rank.
  virtual absl::Status Broadcast(std::string* bytes, int root) = 0;
  virtual absl::Status Barrier() = 0;
};

// World size 1: every collective is the identity.
std::unique_ptr<Communicator> MakeLocalCommunicator();

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_COMM_COMMUNICATOR_H_
