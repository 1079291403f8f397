#ifndef AGENTGYM_CORE_GRPC_SERVER_H_
#define AGENTGYM_CORE_GRPC_SERVER_H_

#include "grpcpp/server_builder.h"

namespace agentgym {

// Settings every agentgym gRPC server shares; call before BuildAndStart().
// gRPC turns SO_REUSEPORT on by default, so a second server on a port that is
// already taken "starts" and the kernel splits connections between the two
// (sessions then vanish at random, or a run gets two coordinators). With it
// off, the second server fails to bind and says so.
void ApplyServerDefaults(grpc::ServerBuilder& builder);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_GRPC_SERVER_H_
