#include "env_server/env_server.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/grpc_server.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "env_server/env_registry.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"

namespace agentgym::env {

absl::StatusOr<std::map<std::string, std::unique_ptr<Environment>>> BuildEnvs(
    const std::vector<std::string>& names,
    const std::map<std::string, EnvOptions>& options) {
  std::vector<std::string> wanted = names.empty() ? EnvRegistry::Global().Names() : names;
  for (const auto& [name, opts] : options) {
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("options given for env '", name, "', which this server does not serve"));
    }
  }
  std::map<std::string, std::unique_ptr<Environment>> envs;
  for (const auto& name : wanted) {
    auto it = options.find(name);
    auto env = EnvRegistry::Global().Create(name, it == options.end() ? EnvOptions{} : it->second);
    if (!env.ok()) {
      return absl::Status(env.status().code(),
                          absl::StrCat("env '", name, "': ", env.status().message()));
    }
    if ((*env)->Describe().name != name) {
      return absl::InternalError(absl::StrCat("env registered as '", name,
                                              "' describes itself as '",
                                              (*env)->Describe().name, "'"));
    }
    envs.emplace(name, *std::move(env));
  }
  return envs;
}

absl::StatusOr<std::unique_ptr<EnvServer>> EnvServer::Start(EnvServerOptions options) {
  auto envs = BuildEnvs(options.envs, options.env_options);
  if (!envs.ok()) return envs.status();
  return StartWithEnvs(std::move(options), *std::move(envs));
}

absl::StatusOr<std::unique_ptr<EnvServer>> EnvServer::StartWithEnvs(
    EnvServerOptions options, std::map<std::string, std::unique_ptr<Environment>> envs) {
  if (auto listen = ParseHostPort(options.listen); !listen.ok()) return listen.status();
  const int64_t sessions = options.service.sessions.max_sessions;
  const int64_t batch = options.service.max_batch_items;
  if (sessions < 1 || sessions > kMaxSessionsLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_sessions is ", sessions,
                                                   "; it must be from 1 to ", kMaxSessionsLimit));
  }
  if (batch < 1 || batch > kMaxBatchItemsLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_batch_items is ", batch,
                                                   "; it must be from 1 to ", kMaxBatchItemsLimit));
  }
  if (options.max_message_bytes < 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_message_bytes is ", options.max_message_bytes, "; it must be at least 4096"));
  }
  // Otherwise an action between the two limits would get gRPC's
  // RESOURCE_EXHAUSTED instead of the service's INVALID_ARGUMENT.
  const int64_t max_action = options.max_message_bytes - kStepRequestOverheadBytes;
  if (options.service.max_action_bytes > max_action) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_action_bytes is ", options.service.max_action_bytes,
        ", more than fits in one gRPC message: at most ", max_action, " (max_message_bytes ",
        options.max_message_bytes, " less ", kStepRequestOverheadBytes,
        " bytes for the rest of the request)"));
  }
  options.service.max_message_bytes = options.max_message_bytes;
  std::unique_ptr<EnvServer> server(new EnvServer());
  server->service_ = std::make_unique<EnvService>(std::move(envs), options.service);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.security, options.listen);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ApplyServerDefaults(builder);
  int bound_port = 0;
  builder.AddListeningPort(options.listen, *credentials, &bound_port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  EnvServerOptions::GrpcApi api = options.grpc_api;
  if (api == EnvServerOptions::GrpcApi::kAuto) {
    api = EnvServerOptions::GrpcApi::kCallback;
    for (const auto& [name, env] : server->service_->envs()) {
      if (env->StepsMayBlock()) api = EnvServerOptions::GrpcApi::kSync;
    }
  }
  server->grpc_api_ = api;
  if (api == EnvServerOptions::GrpcApi::kCallback) {
    server->callback_service_ = std::make_unique<EnvCallbackService>(server->service_.get());
    builder.RegisterService(server->callback_service_.get());
  } else {
    builder.RegisterService(server->service_.get());
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || bound_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on '", options.listen, "'"));
  }
  // The default health service reports "" as SERVING; name the Env service
  // too, so probes that ask for it by name (Kubernetes, grpc_health_probe
  // -service) see it.
  if (auto* health = server->server_->GetHealthCheckService()) {
    health->SetServingStatus(v1::Env::service_full_name(), true);
  }
  server->port_ = bound_port;
  server->host_ = options.listen.substr(0, options.listen.rfind(':'));
  server->reaper_ = std::thread([s = server.get(), interval = options.reap_interval] {
    s->ReapLoop(interval);
  });
  std::vector<std::string> names;
  for (const auto& [name, env] : server->service_->envs()) names.push_back(name);
  GetLogger("env_server")
      ->info("serving envs [{}] on {} ({} gRPC API)", absl::StrJoin(names, ", "),
             server->address(), api == EnvServerOptions::GrpcApi::kCallback ? "callback" : "sync");
  return server;
}

std::string EnvServer::address() const { return absl::StrCat(host_, ":", port_); }

void EnvServer::ReapLoop(absl::Duration interval) {
  while (!stop_reaper_.WaitForNotificationWithTimeout(interval)) {
    int64_t evicted = service_->EvictIdle();
    if (evicted > 0) {
      GetLogger("env_server")->info("reclaimed {} idle sessions ({} open)", evicted,
                                    service_->sessions().size());
    }
  }
}

void EnvServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_.HasBeenNotified()) return;
  if (server_ == nullptr) {  // Start failed before serving (e.g. bad address)
    shut_down_.Notify();
    return;
  }
  // Health checks answer NOT_SERVING while in-flight calls drain.
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
  stop_reaper_.Notify();
  if (reaper_.joinable()) reaper_.join();
  GetLogger("env_server")->info("shut down ({} sessions dropped)", service_->sessions().size());
  shut_down_.Notify();
}

void EnvServer::Wait() { shut_down_.WaitForNotification(); }

EnvServer::~EnvServer() { Shutdown(absl::ZeroDuration()); }

}  // namespace agentgym::env
