#ifndef AGENTGYM_LEARNER_COMM_GLOO_COMMUNICATOR_H_
#define AGENTGYM_LEARNER_COMM_GLOO_COMMUNICATOR_H_

// Data-parallel collectives over c10d's ProcessGroupGloo, meeting at a
// TCPStore that rank 0 hosts. Two phases so rank 0 can advertise the store
// (to the coordinator) before the ranks meet:
//   auto comm = GlooCommunicator::Create(options);  // rank 0: store listening
//   comm->store_address();                           // host:port actually bound
//   comm->Join();                                    // every rank: full mesh
// A rank that cannot reach the store, or a mesh that does not form, fails
// after store_timeout; each collective after collective_timeout. Owns the
// store and the process group; not thread-safe (one driving thread).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "learner/comm/communicator.h"

namespace agentgym::learner {

struct GlooOptions {
  std::string rendezvous;  // host:port of the store (rank 0 may use port 0)
  int rank = 0;
  int world_size = 1;
  absl::Duration store_timeout = absl::Seconds(60);
  absl::Duration collective_timeout = absl::Seconds(300);
  // The address this rank's Gloo pairs bind (its own host as the others
  // reach it). Empty: the interface the machine's hostname resolves to,
  // which in a container or network namespace is often not the right one.
  // GLOO_SOCKET_IFNAME in the environment (PyTorch's convention) wins.
  std::string bind_host;
};

class GlooCommunicator : public Communicator {
 public:
  // INVALID_ARGUMENT for bad ranks or address; UNAVAILABLE when the store
  // cannot be hosted or reached in time.
  static absl::StatusOr<std::unique_ptr<GlooCommunicator>> Create(const GlooOptions& options);
  ~GlooCommunicator() override;

  std::string store_address() const;
  // Forms the process group (blocks until every rank joined, up to
  // store_timeout). DEADLINE_EXCEEDED / UNAVAILABLE naming the address.
  absl::Status Join();

  int rank() const override;
  int world_size() const override;
  absl::Status AllReduceSum(torch::Tensor& tensor) override;
  absl::Status Broadcast(std::string* bytes, int root) override;
  absl::Status Barrier() override;

 private:
  struct Impl;
  explicit GlooCommunicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_COMM_GLOO_COMMUNICATOR_H_
