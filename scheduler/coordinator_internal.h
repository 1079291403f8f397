#ifndef AGENTGYM_SCHEDULER_COORDINATOR_INTERNAL_H_
#define AGENTGYM_SCHEDULER_COORDINATOR_INTERNAL_H_

// Small helpers shared by the coordinator_*.cc files that implement
// CoordinatorService. Not part of the library's interface.

#include <memory>
#include <string>

#include "core/grpc_status.h"
#include "core/logging.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "scheduler/registry.h"

namespace agentgym::scheduler {

inline std::shared_ptr<spdlog::logger> Log() { return GetLogger("coordinator"); }

// The RPC status for `status`; a "register again" error (registry.h) also
// gets the trailing metadata entry that says so. `context` may be null
// (in-process calls).
inline grpc::Status Reply(grpc::ServerContextBase* context, const absl::Status& status) {
  if (context != nullptr && IsRegisterAgain(status)) {
    context->AddTrailingMetadata(kRegisterAgainMetadataKey, "1");
  }
  return ToGrpcStatus(status);
}

inline grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Tracks are named by env; the default track (env "") prints as "(default)".
inline std::string TrackName(const std::string& env) { return env.empty() ? "(default)" : env; }

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_COORDINATOR_INTERNAL_H_
