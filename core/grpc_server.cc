#include "core/grpc_server.h"

#include "grpc/grpc.h"

namespace agentgym {

void ApplyServerDefaults(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

}  // namespace agentgym
