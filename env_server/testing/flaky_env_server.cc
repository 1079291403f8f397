#include "env_server/testing/flaky_env_server.h"

#include "absl/strings/str_cat.h"
#include "env_server/testing/counter_env.h"
#include "grpcpp/server_builder.h"

namespace agentgym::env::testing {
namespace {

template <typename Req, typename Resp>
using Method = grpc::Status (EnvService::*)(grpc::ServerContext*, const Req*, Resp*);

// Forwards every method to the real service, failing the calls the server's
// plan says to.
class FlakyService final : public v1::Env::Service {
 public:
  FlakyService(FlakyEnvServer* server, EnvService* inner) : server_(server), inner_(inner) {}

  grpc::Status ListEnvs(grpc::ServerContext* c, const v1::ListEnvsRequest* req,
                        v1::ListEnvsResponse* resp) override {
    return Forward("ListEnvs", c, req, resp, &EnvService::ListEnvs);
  }
  grpc::Status ListTasks(grpc::ServerContext* c, const v1::ListTasksRequest* req,
                         v1::ListTasksResponse* resp) override {
    return Forward("ListTasks", c, req, resp, &EnvService::ListTasks);
  }
  grpc::Status Create(grpc::ServerContext* c, const v1::CreateRequest* req,
                      v1::CreateResponse* resp) override {
    return Forward("Create", c, req, resp, &EnvService::Create);
  }
  grpc::Status Step(grpc::ServerContext* c, const v1::StepRequest* req,
                    v1::StepResponse* resp) override {
    v1::StepRequest patched = *req;
    if (server_->ignore_expected_turns()) patched.clear_expected_turn();
    return Forward("Step", c, &patched, resp, &EnvService::Step);
  }
  grpc::Status Reset(grpc::ServerContext* c, const v1::ResetRequest* req,
                     v1::ResetResponse* resp) override {
    return Forward("Reset", c, req, resp, &EnvService::Reset);
  }
  grpc::Status Close(grpc::ServerContext* c, const v1::CloseRequest* req,
                     v1::CloseResponse* resp) override {
    return Forward("Close", c, req, resp, &EnvService::Close);
  }
  grpc::Status BatchCreate(grpc::ServerContext* c, const v1::BatchCreateRequest* req,
                           v1::BatchCreateResponse* resp) override {
    return Forward("BatchCreate", c, req, resp, &EnvService::BatchCreate);
  }
  grpc::Status BatchStep(grpc::ServerContext* c, const v1::BatchStepRequest* req,
                         v1::BatchStepResponse* resp) override {
    v1::BatchStepRequest patched = *req;
    if (server_->ignore_expected_turns()) {
      for (auto& item : *patched.mutable_items()) item.clear_expected_turn();
    }
    return Forward("BatchStep", c, &patched, resp, &EnvService::BatchStep);
  }
  grpc::Status BatchClose(grpc::ServerContext* c, const v1::BatchCloseRequest* req,
                          v1::BatchCloseResponse* resp) override {
    return Forward("BatchClose", c, req, resp, &EnvService::BatchClose);
  }

 private:
  template <typename Req, typename Resp>
  grpc::Status Forward(const char* name, grpc::ServerContext* context, const Req* req,
                       Resp* resp, Method<Req, Resp> method) {
    const FlakyEnvServer::Injected injected =
        server_->OnCall(name, absl::FromChrono(context->deadline()));
    const grpc::Status lost(grpc::StatusCode::UNAVAILABLE,
                            absl::StrCat("injected: ", name, " lost"));
    if (injected.fail && injected.when == FlakyEnvServer::Fail::kBeforeApplying) return lost;
    grpc::Status status = (inner_->*method)(context, req, resp);
    if (injected.fail) return lost;  // applied; the reply never arrives
    return status;
  }

  FlakyEnvServer* const server_;
  EnvService* const inner_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FlakyEnvServer>> FlakyEnvServer::Start() {
  std::unique_ptr<FlakyEnvServer> server(new FlakyEnvServer());
  std::map<std::string, std::unique_ptr<Environment>> envs;
  envs.emplace("counter", MakeCounterEnv());
  EnvServiceOptions options;
  options.sessions.max_sessions = 64;
  options.metrics = &server->metrics_;
  server->inner_ = std::make_unique<EnvService>(std::move(envs), options);
  server->service_ = std::make_unique<FlakyService>(server.get(), server->inner_.get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    return absl::UnavailableError("flaky env server: cannot listen on 127.0.0.1:0");
  }
  server->address_ = absl::StrCat("127.0.0.1:", port);
  return server;
}

FlakyEnvServer::~FlakyEnvServer() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
}

void FlakyEnvServer::FailNext(const std::string& method, int count, Fail when) {
  absl::MutexLock lock(&mu_);
  plans_[method] = Plan{count, when};
}

void FlakyEnvServer::IgnoreExpectedTurns(bool ignore) {
  absl::MutexLock lock(&mu_);
  ignore_expected_turns_ = ignore;
}

bool FlakyEnvServer::ignore_expected_turns() const {
  absl::MutexLock lock(&mu_);
  return ignore_expected_turns_;
}

int FlakyEnvServer::calls(const std::string& method) const {
  absl::MutexLock lock(&mu_);
  auto it = seen_.find(method);
  return it == seen_.end() ? 0 : static_cast<int>(it->second.size());
}

std::vector<absl::Time> FlakyEnvServer::deadlines(const std::string& method) const {
  absl::MutexLock lock(&mu_);
  auto it = seen_.find(method);
  return it == seen_.end() ? std::vector<absl::Time>() : it->second;
}

FlakyEnvServer::Injected FlakyEnvServer::OnCall(const std::string& method, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  seen_[method].push_back(deadline);
  Plan& plan = plans_[method];
  if (plan.remaining <= 0) return Injected{};
  --plan.remaining;
  return Injected{true, plan.when};
}

}  // namespace agentgym::env::testing
