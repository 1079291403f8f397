#include "env_server/env_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/grpc_status.h"
#include "core/text.h"
#include "env_server/batch_fanout.h"
#include "env_server/proto_convert.h"
#include "env_server/task_ids.h"

namespace agentgym::env {
namespace {

void SetItemError(const absl::Status& status, v1::ItemError* out) {
  out->set_code(static_cast<int>(status.code()));
  out->set_message(std::string(status.message()));
}

bool AnyStepsMayBlock(const std::map<std::string, std::unique_ptr<Environment>>& envs) {
  for (const auto& [name, env] : envs) {
    if (env->StepsMayBlock()) return true;
  }
  return false;
}

}  // namespace

EnvService::EnvService(std::map<std::string, std::unique_ptr<Environment>> envs,
                       EnvServiceOptions options)
    : envs_(std::move(envs)),
      options_(std::move(options)),
      steps_may_block_(AnyStepsMayBlock(envs_)),
      sessions_(options_.sessions),
      faults_(options_.faults.enabled()
                  ? std::make_unique<FaultInjector>(options_.faults, options_.metrics)
                  : nullptr),
      steps_total_(options_.metrics->GetCounter("agentgym_env_steps_total",
                                                "Env steps served")),
      step_replays_(options_.metrics->GetCounter(
          "agentgym_env_step_replays_total",
          "Repeated steps (same expected_turn and action) answered from the last result")),
      episodes_created_(options_.metrics->GetCounter("agentgym_env_sessions_created_total",
                                                     "Env sessions created")),
      open_sessions_(options_.metrics->GetGauge("agentgym_env_sessions_open",
                                                "Env sessions open now")),
      sessions_evicted_(options_.metrics->GetCounter(
          "agentgym_env_sessions_evicted_total", "Env sessions reclaimed after idling")),
      step_seconds_(options_.metrics->GetHistogram(
          "agentgym_env_step_seconds", "Time to apply one action in the env",
          metrics::Histogram::ExponentialBounds(1e-6, 1.0))) {}

absl::Status EnvService::Count(absl::Status status) const {
  if (!status.ok()) {
    options_.metrics
        ->GetCounter("agentgym_env_rpc_errors_total", "Env RPC errors by code",
                     {{"code", absl::StatusCodeToString(status.code())}})
        ->Increment();
  }
  return status;
}

absl::StatusOr<const Environment*> EnvService::FindEnv(const std::string& name) const {
  auto it = envs_.find(name);
  if (it == envs_.end()) {
    std::vector<std::string> names;
    for (const auto& [n, e] : envs_) names.push_back(n);
    return absl::NotFoundError(absl::StrCat("this server has no env '", TruncateForMessage(name),
                                            "' (it serves: ", absl::StrJoin(names, ", "), ")"));
  }
  return it->second.get();
}

absl::Status EnvService::ValidateAction(const std::string& action) const {
  if (static_cast<int64_t>(action.size()) > options_.max_action_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the action is ", action.size(),
                                                   " bytes; the limit is ",
                                                   options_.max_action_bytes));
  }
  if (!IsValidUtf8(action)) {
    return absl::InvalidArgumentError("the action is not valid UTF-8 text");
  }
  return absl::OkStatus();
}

absl::Status EnvService::ValidateSplit(int split) {
  if (!v1::Split_IsValid(split)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown split value ", split, " (0 unspecified, 1 train, 2 test)"));
  }
  return absl::OkStatus();
}

absl::Status EnvService::CheckBatchSize(int items) const {
  if (items > options_.max_batch_items) {
    return absl::InvalidArgumentError(absl::StrCat("the batch has ", items,
                                                   " items; the limit is ",
                                                   options_.max_batch_items));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListEnvsResponse> EnvService::ListEnvs() const {
  v1::ListEnvsResponse resp;
  for (const auto& [name, env] : envs_) ToProto(env->Describe(), resp.add_envs());
  resp.set_max_sessions(options_.sessions.max_sessions);
  resp.set_max_action_bytes(options_.max_action_bytes);
  resp.set_max_batch_items(options_.max_batch_items);
  resp.set_max_message_bytes(options_.max_message_bytes);
  resp.set_session_idle_ttl_ms(absl::ToInt64Milliseconds(sessions_.default_idle_ttl()));
  resp.set_server_version("agentgym-env-server/0.1");
  return resp;
}

absl::StatusOr<v1::ListTasksResponse> EnvService::ListTasks(
    const v1::ListTasksRequest& req) const {
  auto env = FindEnv(req.env());
  if (!env.ok()) return env.status();
  if (req.page_size() < 0) return absl::InvalidArgumentError("page_size must be >= 0");
  if (auto s = ValidateSplit(req.split()); !s.ok()) return s;
  const EnvDescription& d = (*env)->Describe();
  if (!req.task_type().empty() && TaskCount(d, req.task_type(), Split::kTrain) == 0 &&
      TaskCount(d, req.task_type(), Split::kTest) == 0) {
    return absl::NotFoundError(absl::StrCat("env '", d.name, "' has no task type '",
                                            TruncateForMessage(req.task_type()), "'"));
  }
  int64_t offset = 0;
  // Only the canonical digits a previous page returned: SimpleAtoi alone
  // would also take "+5", " 5" and "-0".
  if (!req.page_token().empty() &&
      (!absl::SimpleAtoi(req.page_token(), &offset) || offset < 0 ||
       absl::StrCat(offset) != req.page_token())) {
    return absl::InvalidArgumentError("bad page_token (use the one a previous page returned)");
  }
  int32_t page_size = req.page_size() == 0 ? 1000 : std::min(req.page_size(), options_.max_page_size);
  Split split = FromProto(req.split());
  v1::ListTasksResponse resp;
  int64_t position = 0;  // index into the concatenation of the selected types
  for (const auto& t : d.task_types) {
    if (!req.task_type().empty() && t.name != req.task_type()) continue;
    int64_t count = TaskCount(d, t.name, split);
    for (int64_t i = std::max<int64_t>(0, offset - position);
         i < count && resp.tasks_size() < page_size; ++i) {
      v1::TaskRef* ref = resp.add_tasks();
      TaskKey key{t.name, split, i};
      ref->set_task_id(FormatTaskId(key));
      ref->set_task_type(t.name);
      ref->set_split(ToProto(split));
      ref->set_min_turns(std::max<int32_t>(0, (*env)->MinTurns(key)));
    }
    position += count;
  }
  resp.set_total(position);
  if (offset + resp.tasks_size() < position) {
    resp.set_next_page_token(absl::StrCat(offset + resp.tasks_size()));
  }
  return resp;
}

absl::StatusOr<v1::CreateResponse> EnvService::CreateSession(const v1::CreateRequest& req) {
  auto env = FindEnv(req.env());
  if (!env.ok()) return env.status();
  const EnvDescription& d = (*env)->Describe();
  if (req.idle_ttl_ms() < 0) return absl::InvalidArgumentError("idle_ttl_ms must be >= 0");
  absl::StatusOr<TaskKey> key;
  if (req.task_case() == v1::CreateRequest::kSample) {
    if (auto s = ValidateSplit(req.sample().split()); !s.ok()) return s;
  }
  if (req.task_case() == v1::CreateRequest::kTaskId) {
    key = ParseTaskId(req.task_id(), d);
  } else {
    key = SampleTask(d, FromProto(req.sample().split()), req.sample().task_type(), req.seed());
  }
  if (!key.ok()) return key.status();
  auto created = sessions_.Create(*env, *key, req.seed(), absl::Milliseconds(req.idle_ttl_ms()));
  if (!created.ok()) return created.status();
  episodes_created_->Increment();
  open_sessions_->Set(static_cast<double>(sessions_.size()));
  v1::CreateResponse resp;
  resp.set_session_id(created->session_id);
  resp.mutable_task()->set_task_id(FormatTaskId(*key));
  resp.mutable_task()->set_task_type(key->type);
  resp.mutable_task()->set_split(ToProto(key->split));
  resp.set_instruction(std::move(created->start.instruction));
  resp.set_observation(std::move(created->start.observation));
  for (const auto& t : d.task_types) {
    if (t.name == key->type) resp.set_recommended_max_turns(t.recommended_max_turns);
  }
  if (!created->start.info.empty()) JsonToStruct(created->start.info, resp.mutable_info());
  return resp;
}

absl::StatusOr<v1::StepResult> EnvService::StepSession(const v1::StepRequest& req) {
  if (auto s = ValidateAction(req.action()); !s.ok()) return s;
  if (req.expected_turn() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected_turn is ", req.expected_turn(), "; it must be >= 0 (0: unchecked)"));
  }
  // Before the session is touched: a retry (with expected_turn) applies it
  // exactly once.
  if (faults_ != nullptr && faults_->FailStep()) return FaultInjector::StepFailure();
  absl::Time start = absl::Now();
  auto stepped = sessions_.Step(req.session_id(), req.action(), req.expected_turn());
  if (!stepped.ok()) return stepped.status();
  if (stepped->replayed) {
    step_replays_->Increment();
  } else {
    step_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    steps_total_->Increment();
  }
  v1::StepResult result;
  ToProto(stepped->outcome, stepped->turn, &result);
  result.set_replayed(stepped->replayed);
  return result;
}

absl::StatusOr<v1::ResetResponse> EnvService::ResetSession(const v1::ResetRequest& req) {
  std::optional<uint64_t> seed;
  if (req.has_seed()) seed = req.seed();
  auto start = sessions_.Reset(req.session_id(), seed);
  if (!start.ok()) return start.status();
  v1::ResetResponse resp;
  resp.set_instruction(std::move(start->instruction));
  resp.set_observation(std::move(start->observation));
  return resp;
}

absl::Status EnvService::CloseSession(const std::string& session_id) {
  absl::Status status = sessions_.Close(session_id);
  open_sessions_->Set(static_cast<double>(sessions_.size()));
  return status;
}

int64_t EnvService::EvictIdle() {
  int64_t evicted = sessions_.EvictIdle();
  sessions_evicted_->Increment(static_cast<double>(evicted));
  open_sessions_->Set(static_cast<double>(sessions_.size()));
  return evicted;
}

// ---- gRPC edge ----

grpc::Status EnvService::WithFaults(grpc::ServerContext* context,
                                    absl::FunctionRef<grpc::Status()> body) const {
  if (faults_ == nullptr) return body();
  grpc::Status status = faults_->DropCall() ? ToGrpcStatus(Count(FaultInjector::Dropped()))
                                            : body();
  // The synchronous API holds a worker thread per call anyway, so waiting
  // here delays only this call.
  if (context != nullptr) absl::SleepFor(faults_->ReplyDelay());
  return status;
}

grpc::Status EnvService::ListEnvs(grpc::ServerContext*, const v1::ListEnvsRequest*,
                                  v1::ListEnvsResponse* resp) {
  auto r = ListEnvs();
  if (!r.ok()) return ToGrpcStatus(Count(r.status()));
  *resp = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EnvService::ListTasks(grpc::ServerContext*, const v1::ListTasksRequest* req,
                                   v1::ListTasksResponse* resp) {
  auto r = ListTasks(*req);
  if (!r.ok()) return ToGrpcStatus(Count(r.status()));
  *resp = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status EnvService::Create(grpc::ServerContext* context, const v1::CreateRequest* req,
                                v1::CreateResponse* resp) {
  return WithFaults(context, [&]() -> grpc::Status {
    auto r = CreateSession(*req);
    if (!r.ok()) return ToGrpcStatus(Count(r.status()));
    *resp = *std::move(r);
    return grpc::Status::OK;
  });
}

grpc::Status EnvService::Step(grpc::ServerContext* context, const v1::StepRequest* req,
                              v1::StepResponse* resp) {
  return WithFaults(context, [&]() -> grpc::Status {
    auto r = StepSession(*req);
    if (!r.ok()) return ToGrpcStatus(Count(r.status()));
    *resp->mutable_result() = *std::move(r);
    return grpc::Status::OK;
  });
}

grpc::Status EnvService::Reset(grpc::ServerContext* context, const v1::ResetRequest* req,
                               v1::ResetResponse* resp) {
  return WithFaults(context, [&]() -> grpc::Status {
    auto r = ResetSession(*req);
    if (!r.ok()) return ToGrpcStatus(Count(r.status()));
    *resp = *std::move(r);
    return grpc::Status::OK;
  });
}

grpc::Status EnvService::Close(grpc::ServerContext* context, const v1::CloseRequest* req,
                               v1::CloseResponse*) {
  return WithFaults(context, [&]() -> grpc::Status {
    return ToGrpcStatus(Count(CloseSession(req->session_id())));
  });
}

void EnvService::RunBatchItems(const std::vector<absl::string_view>& keys,
                               absl::FunctionRef<void(size_t)> run) const {
  if (!steps_may_block_) {
    for (size_t i = 0; i < keys.size(); ++i) run(i);
    return;
  }
  RunGroupedConcurrently(keys, options_.max_batch_threads, run);
}

grpc::Status EnvService::BatchCreate(grpc::ServerContext* context,
                                     const v1::BatchCreateRequest* req,
                                     v1::BatchCreateResponse* resp) {
  return WithFaults(context, [&]() -> grpc::Status {
    if (auto s = CheckBatchSize(req->items_size()); !s.ok()) return ToGrpcStatus(Count(s));
    // Every create is its own session: all items are independent.
    std::vector<std::string> indices;
    indices.reserve(req->items_size());
    for (int i = 0; i < req->items_size(); ++i) {
      indices.push_back(absl::StrCat(i));
      resp->add_items();
    }
    RunBatchItems({indices.begin(), indices.end()}, [&](size_t i) {
      auto* out = resp->mutable_items(static_cast<int>(i));
      auto r = CreateSession(req->items(static_cast<int>(i)));
      if (r.ok()) {
        *out->mutable_created() = *std::move(r);
      } else {
        SetItemError(Count(r.status()), out->mutable_error());
      }
    });
    return grpc::Status::OK;
  });
}

grpc::Status EnvService::BatchStep(grpc::ServerContext* context,
                                   const v1::BatchStepRequest* req,
                                   v1::BatchStepResponse* resp) {
  return WithFaults(context, [&]() -> grpc::Status {
    if (auto s = CheckBatchSize(req->items_size()); !s.ok()) return ToGrpcStatus(Count(s));
    resp->mutable_items()->Reserve(req->items_size());
    std::vector<absl::string_view> sessions;
    sessions.reserve(req->items_size());
    for (const auto& item : req->items()) {
      sessions.push_back(item.session_id());
      resp->add_items();
    }
    RunBatchItems(sessions, [&](size_t i) {
      auto* out = resp->mutable_items(static_cast<int>(i));
      auto r = StepSession(req->items(static_cast<int>(i)));
      if (r.ok()) {
        *out->mutable_result() = *std::move(r);
      } else {
        SetItemError(Count(r.status()), out->mutable_error());
      }
    });
    return grpc::Status::OK;
  });
}

grpc::Status EnvService::BatchClose(grpc::ServerContext* context,
                                    const v1::BatchCloseRequest* req,
                                    v1::BatchCloseResponse* resp) {
  return WithFaults(context, [&]() -> grpc::Status {
    if (auto s = CheckBatchSize(req->session_ids_size()); !s.ok()) {
      return ToGrpcStatus(Count(s));
    }
    for (const auto& id : req->session_ids()) {
      SetItemError(Count(CloseSession(id)), resp->add_errors());
    }
    return grpc::Status::OK;
  });
}

}  // namespace agentgym::env
