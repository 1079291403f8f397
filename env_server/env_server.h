#ifndef AGENTGYM_ENV_SERVER_ENV_SERVER_H_
#define AGENTGYM_ENV_SERVER_ENV_SERVER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/grpc_security.h"
#include "env_server/env_callback_service.h"
#include "env_server/env_service.h"
#include "grpcpp/server.h"

namespace agentgym::env {

struct EnvServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  std::vector<std::string> envs;       // empty: every registered env
  std::map<std::string, EnvOptions> env_options;  // env name → its options
  EnvServiceOptions service;
  absl::Duration reap_interval = absl::Seconds(5);
  // kCallback runs each RPC inline on gRPC's threads (fastest, for envs whose
  // steps take microseconds: every built-in env); kSync hands each RPC to a
  // worker thread of gRPC's synchronous server, which envs whose steps block
  // (the HTTP bridge) need. kAuto is kCallback unless some served env says
  // StepsMayBlock(). See EnvCallbackService.
  enum class GrpcApi { kSync, kCallback, kAuto };
  GrpcApi grpc_api = GrpcApi::kSync;
  // gRPC's limit on one message each way (batches of many sessions are
  // large). A request or response over it is answered by gRPC itself with
  // RESOURCE_EXHAUSTED ("... larger than max"); Start refuses a
  // service.max_action_bytes that would not fit in one StepRequest.
  int max_message_bytes = 64 << 20;
  // TLS, mutual TLS and a bearer token (core/grpc_security.h). Without TLS
  // and a token the server listens on loopback only unless
  // security.allow_insecure_remote.
  ServerSecurityOptions security;
};

// Room a StepRequest needs beyond its action (tags, lengths, session id).
inline constexpr int64_t kStepRequestOverheadBytes = 1024;
// The largest max_sessions and max_batch_items a server accepts: far beyond
// what one process can hold, so a larger value is a typo (or a number CLI11
// saturated to 2^63 - 1 without saying so).
inline constexpr int64_t kMaxSessionsLimit = 1'000'000;
inline constexpr int64_t kMaxBatchItemsLimit = 1'000'000;

// A running `agentgym-env-server`: the Env service plus gRPC health checking
// and server reflection, and a reaper thread that reclaims idle sessions.
// Thread-safe; Shutdown() may be called from any thread (e.g. a signal
// watcher) and the destructor shuts down and joins.
class EnvServer {
 public:
  // Builds the envs (INVALID_ARGUMENT / NOT_FOUND from their factories),
  // binds and starts serving. INVALID_ARGUMENT for a bad address or limits
  // that do not fit together (an action larger than a message); UNAVAILABLE
  // when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<EnvServer>> Start(EnvServerOptions options);
  // Serves the given envs instead of building them from the registry
  // (options.envs and options.env_options are ignored).
  static absl::StatusOr<std::unique_ptr<EnvServer>> StartWithEnvs(
      EnvServerOptions options, std::map<std::string, std::unique_ptr<Environment>> envs);
  ~EnvServer();

  int port() const { return port_; }
  // The API serving the Env service: kSync or kCallback (kAuto resolved).
  EnvServerOptions::GrpcApi grpc_api() const { return grpc_api_; }
  std::string address() const;
  EnvService& service() { return *service_; }

  // Stops accepting calls, lets in-flight ones finish until `grace`, joins.
  void Shutdown(absl::Duration grace = absl::Seconds(5));
  // Blocks until Shutdown() has completed.
  void Wait();

 private:
  EnvServer() = default;
  void ReapLoop(absl::Duration interval);

  std::string host_;
  int port_ = 0;
  EnvServerOptions::GrpcApi grpc_api_ = EnvServerOptions::GrpcApi::kSync;
  std::unique_ptr<EnvService> service_;
  std::unique_ptr<EnvCallbackService> callback_service_;  // kCallback only
  std::unique_ptr<grpc::Server> server_;
  absl::Notification stop_reaper_;
  absl::Notification shut_down_;
  absl::Mutex shutdown_mu_;
  std::thread reaper_;
};

// Builds the named envs from the registry; all registered ones when `names`
// is empty.
absl::StatusOr<std::map<std::string, std::unique_ptr<Environment>>> BuildEnvs(
    const std::vector<std::string>& names,
    const std::map<std::string, EnvOptions>& options);

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_ENV_SERVER_H_
