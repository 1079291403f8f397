#ifndef AGENTGYM_LEARNER_COMM_NCCL_COMMUNICATOR_H_
#define AGENTGYM_LEARNER_COMM_NCCL_COMMUNICATOR_H_

// Data-parallel collectives over NCCL on one GPU per rank. The ranks meet at
// a c10d TCPStore (rank 0 hosts it) to exchange the ncclUniqueId, then every
// collective runs on a private CUDA stream. Tensors may live on the CPU (the
// Debian LibTorch has no CUDA): they are staged through a device buffer.
// Every collective waits at most collective_timeout; past it the
// communicator is aborted (ncclCommAbort) and the call returns
// DEADLINE_EXCEEDED. Built only when the CUDA toolkit with nccl.h is found
// (CMake option AG_LEARNER_NCCL). RAII: owns the communicator, the stream and
// the staging buffer; non-copyable; one driving thread.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "learner/comm/communicator.h"

namespace agentgym::learner {

struct NcclOptions {
  std::string rendezvous;  // host:port of the store rank 0 hosts
  int rank = 0;
  int world_size = 1;
  int device = 0;  // CUDA device index of this rank
  absl::Duration store_timeout = absl::Seconds(60);
  absl::Duration collective_timeout = absl::Seconds(300);
};

class NcclCommunicator : public Communicator {
 public:
  // UNAVAILABLE when the store cannot be reached or NCCL fails to
  // initialise; the message names the NCCL / CUDA error.
  static absl::StatusOr<std::unique_ptr<NcclCommunicator>> Create(const NcclOptions& options);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override;
  int world_size() const override;
  absl::Status AllReduceSum(torch::Tensor& tensor) override;
  absl::Status Broadcast(std::string* bytes, int root) override;
  absl::Status Barrier() override;

 private:
  struct Impl;
  explicit NcclCommunicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_COMM_NCCL_COMMUNICATOR_H_
