#include "scheduler/coordinator_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/grpc_server.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "core/status_macros.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace agentgym::scheduler {

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    CoordinatorServerOptions options, Clock* clock, metrics::Registry* metrics,
    std::unique_ptr<TaskFetcher> fetcher) {
  AG_ASSIGN_OR_RETURN(HostPort listen, ParseHostPort(options.listen));
  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer());
  server->host_ = listen.host;
  if (!options.metrics_jsonl.empty()) {
    AG_ASSIGN_OR_RETURN(server->jsonl_, metrics::JsonlWriter::Open(options.metrics_jsonl, clock));
  }
  if (fetcher == nullptr) {
    AG_ASSIGN_OR_RETURN(fetcher, MakeGrpcTaskFetcher(options.env_server_security, options.list_tasks_timeout));
  }
  AG_ASSIGN_OR_RETURN(server->service_,
                      CoordinatorService::Create(options.service, clock, metrics,
                                                 std::move(fetcher), server->jsonl_.get()));
  AG_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                      MakeServerCredentials(options.security, options.listen));
  grpc::ServerBuilder builder;
  ApplyServerDefaults(builder);
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("coordinator cannot listen on ", options.listen,
                     " (address in use or not local?)"));
  }
  if (!options.metrics_listen.empty()) {
    auto http = metrics::MetricsHttpServer::Start(options.metrics_listen, metrics);
    if (!http.ok()) {
      server->Shutdown();
      return http.status();
    }
    server->http_ = *std::move(http);
  }
  server->reaper_ = std::thread([s = server.get(), interval = options.reap_interval] {
    while (!s->stop_.WaitForNotificationWithTimeout(interval)) s->service_->Reap();
  });
  GetLogger("coordinator")->info("coordinator listening on {}:{}", listen.host, server->port_);
  return server;
}

std::string CoordinatorServer::address() const {
  if (host_ == "0.0.0.0" || host_ == "::") return absl::StrCat("127.0.0.1:", port_);
  return bound_address();
}

std::string CoordinatorServer::bound_address() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", host_, v6 ? "]" : "", ":", port_);
}

void CoordinatorServer::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (reaper_.joinable()) reaper_.join();
  if (service_) service_->Shutdown();  // ends WatchStatus streams
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (http_) http_->Stop();
}

void CoordinatorServer::Wait() { stop_.WaitForNotification(); }

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

}  // namespace agentgym::scheduler
