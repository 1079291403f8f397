#ifndef AGENTGYM_CORE_GRPC_STATUS_H_
#define AGENTGYM_CORE_GRPC_STATUS_H_

// The only place that converts between absl::Status and grpc::Status: service
// and client adapters call these at the RPC edge, everything inside speaks absl.

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace agentgym {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// Sets a deadline `timeout` from now on `context`.
void SetDeadline(grpc::ClientContext& context, absl::Duration timeout);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_GRPC_STATUS_H_
