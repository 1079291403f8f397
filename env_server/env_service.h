#ifndef AGENTGYM_ENV_SERVER_ENV_SERVICE_H_
#define AGENTGYM_ENV_SERVER_ENV_SERVICE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agentgym/env/v1/env.grpc.pb.h"
#include "core/metrics.h"
#include "env_server/environment.h"
#include "env_server/fault_injector.h"
#include "env_server/session_store.h"

namespace agentgym::env {

struct EnvServiceOptions {
  SessionStoreOptions sessions;
  int64_t max_action_bytes = 64 * 1024;
  int64_t max_batch_items = 4096;
  int32_t max_page_size = 10000;
  // The gRPC message limit the server runs with; only reported by ListEnvs
  // (0: not known). EnvServer sets it.
  int64_t max_message_bytes = 0;
  // When some env's steps may block (Environment::StepsMayBlock), the items of
  // one BatchCreate / BatchStep run on up to this many threads at once, so a
  // slow upstream delays only its own items.
  int max_batch_threads = 64;
  metrics::Registry* metrics = &metrics::Registry::Global();  // not owned
  // Injected faults (none by default): see FaultInjector.
  FaultOptions faults;
};

// The Env contract over a set of in-process environments.
//
// The logic lives in absl-returning methods (tested directly); the gRPC
// overrides only convert at the edge. Thread-safe: the env map is immutable
// after construction and the session store does its own locking.
class EnvService final : public v1::Env::Service {
 public:
  // `envs` maps env name → environment; names must match Describe().name.
  EnvService(std::map<std::string, std::unique_ptr<Environment>> envs,
             EnvServiceOptions options);

  absl::StatusOr<v1::ListEnvsResponse> ListEnvs() const;
  absl::StatusOr<v1::ListTasksResponse> ListTasks(const v1::ListTasksRequest& req) const;
  absl::StatusOr<v1::CreateResponse> CreateSession(const v1::CreateRequest& req);
  absl::StatusOr<v1::StepResult> StepSession(const v1::StepRequest& req);
  absl::StatusOr<v1::ResetResponse> ResetSession(const v1::ResetRequest& req);
  absl::Status CloseSession(const std::string& session_id);
  // Reclaims idle sessions (see SessionStore::EvictIdle); returns how many.
  int64_t EvictIdle();

  SessionStore& sessions() { return sessions_; }
  // The fault injector; null when no fault is configured. The callback API
  // (EnvCallbackService) takes reply delays from it; everything else is
  // applied here.
  FaultInjector* faults() const { return faults_.get(); }
  const std::map<std::string, std::unique_ptr<Environment>>& envs() const { return envs_; }

  // gRPC edge.
  grpc::Status ListEnvs(grpc::ServerContext*, const v1::ListEnvsRequest*,
                        v1::ListEnvsResponse*) override;
  grpc::Status ListTasks(grpc::ServerContext*, const v1::ListTasksRequest*,
                         v1::ListTasksResponse*) override;
  grpc::Status Create(grpc::ServerContext*, const v1::CreateRequest*,
                      v1::CreateResponse*) override;
  grpc::Status Step(grpc::ServerContext*, const v1::StepRequest*, v1::StepResponse*) override;
  grpc::Status Reset(grpc::ServerContext*, const v1::ResetRequest*,
                     v1::ResetResponse*) override;
  grpc::Status Close(grpc::ServerContext*, const v1::CloseRequest*,
                     v1::CloseResponse*) override;
  grpc::Status BatchCreate(grpc::ServerContext*, const v1::BatchCreateRequest*,
                           v1::BatchCreateResponse*) override;
  grpc::Status BatchStep(grpc::ServerContext*, const v1::BatchStepRequest*,
                         v1::BatchStepResponse*) override;
  grpc::Status BatchClose(grpc::ServerContext*, const v1::BatchCloseRequest*,
                          v1::BatchCloseResponse*) override;

 private:
  absl::StatusOr<const Environment*> FindEnv(const std::string& name) const;
  absl::Status ValidateAction(const std::string& action) const;
  static absl::Status ValidateSplit(int split);  // INVALID_ARGUMENT for unknown values
  absl::Status CheckBatchSize(int items) const;
  // Counts `status` under its code and returns it unchanged.
  absl::Status Count(absl::Status status) const;
  // A session call's gRPC edge with the configured faults: a dropped call
  // returns UNAVAILABLE without running `body`; on the synchronous API
  // (context != null) the reply is then held for the drawn delay (the
  // callback API passes a null context and delays on a gRPC alarm instead).
  grpc::Status WithFaults(grpc::ServerContext* context,
                          absl::FunctionRef<grpc::Status()> body) const;
  // Runs run(i) for the items of a batch: in order on the calling thread, or
  // concurrently when steps may block (items with equal keys stay in order).
  void RunBatchItems(const std::vector<absl::string_view>& keys,
                     absl::FunctionRef<void(size_t)> run) const;

  const std::map<std::string, std::unique_ptr<Environment>> envs_;
  const EnvServiceOptions options_;
  const bool steps_may_block_;
  SessionStore sessions_;
  const std::unique_ptr<FaultInjector> faults_;  // null: no faults
  metrics::Counter* steps_total_;
  metrics::Counter* step_replays_;
  metrics::Counter* episodes_created_;
  metrics::Gauge* open_sessions_;
  metrics::Counter* sessions_evicted_;
  metrics::Histogram* step_seconds_;
};

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_ENV_SERVICE_H_
