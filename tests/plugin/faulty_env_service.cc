#include "tests/plugin/faulty_env_service.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "env_server/testing/counter_env.h"
#include "grpcpp/server_builder.h"

namespace agentgym::env::testing {
namespace {

bool LooksLikeUtf8(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;  // good enough for the probes: reject non-ASCII
  }
  return true;
}

// Forwards every call to the real service, bending the one rule `fault_` names.
class FaultyService final : public v1::Env::Service {
 public:
  FaultyService(EnvService* inner, Fault fault, int64_t advertised_max_sessions)
      : inner_(inner), fault_(fault), advertised_max_sessions_(advertised_max_sessions) {}

  grpc::Status ListEnvs(grpc::ServerContext* c, const v1::ListEnvsRequest* req,
                        v1::ListEnvsResponse* resp) override {
    grpc::Status s = inner_->ListEnvs(c, req, resp);
    resp->set_max_sessions(advertised_max_sessions_);
    return s;
  }
  grpc::Status ListTasks(grpc::ServerContext* c, const v1::ListTasksRequest* req,
                         v1::ListTasksResponse* resp) override {
    return inner_->ListTasks(c, req, resp);
  }
  grpc::Status Create(grpc::ServerContext* c, const v1::CreateRequest* req,
                      v1::CreateResponse* resp) override {
    return inner_->Create(c, req, resp);
  }
  grpc::Status Step(grpc::ServerContext* c, const v1::StepRequest* req,
                    v1::StepResponse* resp) override {
    v1::StepRequest patched = *req;
    if (fault_ == Fault::kAcceptsNonUtf8 && !LooksLikeUtf8(req->action())) patched.set_action("x");
    if (fault_ == Fault::kIgnoresExpectedTurn) patched.clear_expected_turn();
    if (fault_ == Fault::kRejectsEmptyAction && req->action().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty action");
    }
    grpc::Status s = inner_->Step(c, &patched, resp);
    if (fault_ == Fault::kAppliesOutOfTurnSteps &&
        s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
        absl::StrContains(s.error_message(), "out of order")) {
      patched.clear_expected_turn();
      s = inner_->Step(c, &patched, resp);
    }
    if (fault_ == Fault::kUnknownSessionIsOk && s.error_code() == grpc::StatusCode::NOT_FOUND) {
      resp->mutable_result()->set_observation("ok");
      return grpc::Status::OK;
    }
    if (fault_ == Fault::kStepsAfterEnd &&
        s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      resp->mutable_result()->set_observation("still going");
      resp->mutable_result()->set_done(true);
      return grpc::Status::OK;
    }
    if (fault_ == Fault::kNondeterministic && s.ok()) {
      resp->mutable_result()->mutable_observation()->append(absl::StrCat(" #", ++counter_));
    }
    return s;
  }
  grpc::Status Reset(grpc::ServerContext* c, const v1::ResetRequest* req,
                     v1::ResetResponse* resp) override {
    return inner_->Reset(c, req, resp);
  }
  grpc::Status Close(grpc::ServerContext* c, const v1::CloseRequest* req,
                     v1::CloseResponse* resp) override {
    grpc::Status s = inner_->Close(c, req, resp);
    if (fault_ == Fault::kCloseUnknownIsInternal &&
        s.error_code() == grpc::StatusCode::NOT_FOUND) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "oops");
    }
    return s;
  }
  grpc::Status BatchCreate(grpc::ServerContext* c, const v1::BatchCreateRequest* req,
                           v1::BatchCreateResponse* resp) override {
    return inner_->BatchCreate(c, req, resp);
  }
  grpc::Status BatchStep(grpc::ServerContext* c, const v1::BatchStepRequest* req,
                         v1::BatchStepResponse* resp) override {
    v1::BatchStepRequest patched = *req;
    if (fault_ == Fault::kBatchIgnoresExpectedTurn) {
      for (auto& item : *patched.mutable_items()) item.clear_expected_turn();
    }
    grpc::Status s = inner_->BatchStep(c, &patched, resp);
    if (fault_ == Fault::kBatchOutOfOrder) {
      std::reverse(resp->mutable_items()->begin(), resp->mutable_items()->end());
    }
    return s;
  }
  grpc::Status BatchClose(grpc::ServerContext* c, const v1::BatchCloseRequest* req,
                          v1::BatchCloseResponse* resp) override {
    return inner_->BatchClose(c, req, resp);
  }

 private:
  EnvService* inner_;
  const Fault fault_;
  const int64_t advertised_max_sessions_;
  std::atomic<int> counter_{0};
};

}  // namespace

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kNone: return "none";
    case Fault::kUnknownSessionIsOk: return "unknown_session_is_ok";
    case Fault::kAcceptsNonUtf8: return "accepts_non_utf8";
    case Fault::kRejectsEmptyAction: return "rejects_empty_action";
    case Fault::kNondeterministic: return "nondeterministic";
    case Fault::kBatchOutOfOrder: return "batch_out_of_order";
    case Fault::kNeverReclaims: return "never_reclaims";
    case Fault::kStepsAfterEnd: return "steps_after_end";
    case Fault::kCloseUnknownIsInternal: return "close_unknown_is_internal";
    case Fault::kNoSessionCap: return "no_session_cap";
    case Fault::kIgnoresExpectedTurn: return "ignores_expected_turn";
    case Fault::kBatchIgnoresExpectedTurn: return "batch_ignores_expected_turn";
    case Fault::kAppliesOutOfTurnSteps: return "applies_out_of_turn_steps";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<FaultyEnvServer>> FaultyEnvServer::Start(Fault fault,
                                                                       int64_t max_sessions) {
  std::unique_ptr<FaultyEnvServer> server(new FaultyEnvServer());
  std::map<std::string, std::unique_ptr<Environment>> envs;
  envs.emplace("counter", MakeCounterEnv());
  EnvServiceOptions options;
  options.sessions.max_sessions = fault == Fault::kNoSessionCap ? 1 << 20 : max_sessions;
  options.sessions.default_idle_ttl = absl::Minutes(10);
  options.max_action_bytes = 1024;
  options.max_batch_items = 64;
  server->inner_ = std::make_unique<EnvService>(std::move(envs), options);
  server->service_ = std::make_unique<FaultyService>(server->inner_.get(), fault, max_sessions);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) return absl::UnavailableError("cannot listen");
  server->address_ = absl::StrCat("127.0.0.1:", port);
  if (fault != Fault::kNeverReclaims) {
    server->reaper_ = std::thread([s = server.get()] {
      while (!s->stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
        s->inner_->EvictIdle();
      }
    });
  }
  return server;
}

FaultyEnvServer::~FaultyEnvServer() {
  server_->Shutdown(std::chrono::system_clock::now());
  stop_.Notify();
  if (reaper_.joinable()) reaper_.join();
}

}  // namespace agentgym::env::testing
