#ifndef AGENTGYM_SCHEDULER_COORDINATOR_SERVER_H_
#define AGENTGYM_SCHEDULER_COORDINATOR_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/metrics_http_server.h"
#include "core/metrics_jsonl.h"
#include "grpcpp/server.h"
#include "scheduler/coordinator_options.h"
#include "scheduler/coordinator_service.h"

namespace agentgym::scheduler {

// The coordinator process minus flag parsing: the gRPC server, the lease
// reaper thread, the /metrics endpoint and the JSONL writer. Owns all of
// them; Shutdown() (or the destructor) stops and joins everything.
// Thread-safe.
class CoordinatorServer {
 public:
  // UNAVAILABLE when the address cannot be bound; INVALID_ARGUMENT for bad
  // options. `clock` and `metrics` must outlive the server.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(
      CoordinatorServerOptions options, Clock* clock = Clock::Real(),
      metrics::Registry* metrics = &metrics::Registry::Global(),
      std::unique_ptr<TaskFetcher> fetcher = nullptr);
  ~CoordinatorServer();

  CoordinatorServer(const CoordinatorServer&) = delete;
  CoordinatorServer& operator=(const CoordinatorServer&) = delete;

  int port() const { return port_; }
  // host:port clients can dial (127.0.0.1 when listening on 0.0.0.0).
  std::string address() const;
  // host:port as bound: the listen host (IPv6 in brackets) and the actual
  // port, e.g. "0.0.0.0:7070" or "127.0.0.1:41234" for "127.0.0.1:0".
  std::string bound_address() const;
  int metrics_port() const { return http_ ? http_->port() : 0; }
  CoordinatorService& service() { return *service_; }

  void Shutdown();
  // Blocks until Shutdown() is called (e.g. from a signal watcher).
  void Wait();

 private:
  CoordinatorServer() = default;

  std::string host_;
  int port_ = 0;
  std::unique_ptr<metrics::JsonlWriter> jsonl_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::MetricsHttpServer> http_;
  absl::Notification stop_;
  std::thread reaper_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_COORDINATOR_SERVER_H_
