#include "env_server/client/env_client.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/grpc_status.h"
#include "grpcpp/create_channel.h"

namespace agentgym::env {

absl::StatusOr<std::unique_ptr<EnvClient>> EnvClient::Create(EnvClientOptions options) {
  if (options.target.empty()) return absl::InvalidArgumentError("env client: empty target");
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError("env client: max_attempts must be >= 1");
  }
  return std::unique_ptr<EnvClient>(new EnvClient(std::move(options)));
}

EnvClient::EnvClient(EnvClientOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  // Reconnect quickly after a server restart instead of gRPC's default
  // back-off of up to two minutes.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ = grpc::CreateCustomChannel(options_.target, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Env::NewStub(channel_);
}

bool EnvClient::WaitForReady(absl::Duration timeout) {
  return channel_->WaitForConnected(std::chrono::system_clock::now() +
                                    absl::ToChronoMilliseconds(timeout));
}

absl::Duration EnvClient::Backoff(int attempt) const {
  absl::Duration d = options_.initial_backoff;
  for (int i = 0; i < attempt; ++i) d = std::min(d * 2, options_.max_backoff);
  return d;
}

template <typename Req, typename Resp, typename Fn>
absl::StatusOr<Resp> EnvClient::Call(const Req& req, Fn method) {
  grpc::Status status;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) absl::SleepFor(Backoff(attempt - 1));
    grpc::ClientContext context;
    SetDeadline(context, options_.timeout);
    Resp resp;
    status = (stub_.get()->*method)(&context, req, &resp);
    if (status.ok()) return resp;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  absl::Status error = FromGrpcStatus(status);
  return absl::Status(error.code(), absl::StrCat("env server ", options_.target, ": ",
                                                 error.message()));
}

absl::StatusOr<v1::ListEnvsResponse> EnvClient::ListEnvs() {
  return Call<v1::ListEnvsRequest, v1::ListEnvsResponse>(v1::ListEnvsRequest(),
                                                          &v1::Env::Stub::ListEnvs);
}

absl::StatusOr<v1::ListTasksResponse> EnvClient::ListTasks(const v1::ListTasksRequest& req) {
  return Call<v1::ListTasksRequest, v1::ListTasksResponse>(req, &v1::Env::Stub::ListTasks);
}

absl::StatusOr<v1::CreateResponse> EnvClient::Create(const v1::CreateRequest& req) {
  return Call<v1::CreateRequest, v1::CreateResponse>(req, &v1::Env::Stub::Create);
}

absl::StatusOr<v1::StepResult> EnvClient::Step(const std::string& session_id,
                                               const std::string& action) {
  v1::StepRequest req;
  req.set_session_id(session_id);
  req.set_action(action);
  auto resp = Call<v1::StepRequest, v1::StepResponse>(req, &v1::Env::Stub::Step);
  if (!resp.ok()) return resp.status();
  return std::move(*resp->mutable_result());
}

absl::StatusOr<v1::ResetResponse> EnvClient::Reset(const v1::ResetRequest& req) {
  return Call<v1::ResetRequest, v1::ResetResponse>(req, &v1::Env::Stub::Reset);
}

absl::Status EnvClient::Close(const std::string& session_id) {
  v1::CloseRequest req;
  req.set_session_id(session_id);
  return Call<v1::CloseRequest, v1::CloseResponse>(req, &v1::Env::Stub::Close).status();
}

absl::StatusOr<v1::BatchCreateResponse> EnvClient::BatchCreate(
    const v1::BatchCreateRequest& req) {
  return Call<v1::BatchCreateRequest, v1::BatchCreateResponse>(req,
                                                               &v1::Env::Stub::BatchCreate);
}

absl::StatusOr<v1::BatchStepResponse> EnvClient::BatchStep(const v1::BatchStepRequest& req) {
  return Call<v1::BatchStepRequest, v1::BatchStepResponse>(req, &v1::Env::Stub::BatchStep);
}

absl::StatusOr<v1::BatchCloseResponse> EnvClient::BatchClose(
    const v1::BatchCloseRequest& req) {
  return Call<v1::BatchCloseRequest, v1::BatchCloseResponse>(req, &v1::Env::Stub::BatchClose);
}

namespace {

// One asynchronous unary call with its retries; deletes itself when done.
// gRPC's callback threads must not block, so instead of sleeping between
// attempts a retry is re-issued at once with wait_for_ready: it waits (up to
// its deadline) for the channel to reconnect.
template <typename Req, typename Resp>
class AsyncCall {
 public:
  using Start = std::function<void(grpc::ClientContext*, const Req*, Resp*,
                                   std::function<void(grpc::Status)>)>;
  using Done = std::function<void(absl::StatusOr<Resp>)>;

  AsyncCall(Req req, Start start, Done done, const EnvClientOptions& options)
      : req_(std::move(req)), start_(std::move(start)), done_(std::move(done)),
        options_(options) {}

  void Run() {
    context_ = std::make_unique<grpc::ClientContext>();
    SetDeadline(*context_, options_.timeout);
    if (attempt_ > 0) context_->set_wait_for_ready(true);  // wait for reconnection
    resp_ = Resp();
    start_(context_.get(), &req_, &resp_, [this](grpc::Status status) { OnDone(status); });
  }

 private:
  void OnDone(const grpc::Status& status) {
    if (!status.ok() && status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        ++attempt_ < options_.max_attempts) {
      Run();
      return;
    }
    if (status.ok()) {
      done_(std::move(resp_));
    } else {
      absl::Status error = FromGrpcStatus(status);
      done_(absl::Status(error.code(), absl::StrCat("env server ", options_.target, ": ",
                                                    error.message())));
    }
    delete this;
  }

  Req req_;
  Start start_;
  Done done_;
  const EnvClientOptions& options_;
  std::unique_ptr<grpc::ClientContext> context_;
  Resp resp_;
  int attempt_ = 0;
};

}  // namespace

template <typename Req, typename Resp, typename Method>
void EnvClient::CallAsync(Req req, Method method, Callback<Resp> done) {
  auto* call = new AsyncCall<Req, Resp>(
      std::move(req),
      [stub = stub_.get(), method](grpc::ClientContext* ctx, const Req* r, Resp* resp,
                                   std::function<void(grpc::Status)> cb) {
        (stub->async()->*method)(ctx, r, resp, std::move(cb));
      },
      std::move(done), options_);
  call->Run();
}

namespace {
// The async stub has two overloads of each method (callback and reactor);
// this picks the callback one.
template <typename Req, typename Resp>
using AsyncMethod = void (v1::Env::Stub::async::*)(grpc::ClientContext*, const Req*, Resp*,
                                                   std::function<void(grpc::Status)>);
}  // namespace

void EnvClient::StepAsync(const std::string& session_id, const std::string& action,
                          StepCallback done) {
  v1::StepRequest req;
  req.set_session_id(session_id);
  req.set_action(action);
  CallAsync<v1::StepRequest, v1::StepResponse>(
      std::move(req), AsyncMethod<v1::StepRequest, v1::StepResponse>(&v1::Env::Stub::async::Step),
      [done = std::move(done)](absl::StatusOr<v1::StepResponse> resp) {
        if (!resp.ok()) {
          done(resp.status());
        } else {
          done(std::move(*resp->mutable_result()));
        }
      });
}

void EnvClient::BatchStepAsync(v1::BatchStepRequest req, BatchStepCallback done) {
  CallAsync<v1::BatchStepRequest, v1::BatchStepResponse>(
      std::move(req),
      AsyncMethod<v1::BatchStepRequest, v1::BatchStepResponse>(&v1::Env::Stub::async::BatchStep),
      std::move(done));
}

void EnvClient::CreateAsync(v1::CreateRequest req, Callback<v1::CreateResponse> done) {
  CallAsync<v1::CreateRequest, v1::CreateResponse>(
      std::move(req),
      AsyncMethod<v1::CreateRequest, v1::CreateResponse>(&v1::Env::Stub::async::Create),
      std::move(done));
}

void EnvClient::ResetAsync(v1::ResetRequest req, Callback<v1::ResetResponse> done) {
  CallAsync<v1::ResetRequest, v1::ResetResponse>(
      std::move(req),
      AsyncMethod<v1::ResetRequest, v1::ResetResponse>(&v1::Env::Stub::async::Reset),
      std::move(done));
}

void EnvClient::CloseAsync(const std::string& session_id,
                           std::function<void(absl::Status)> done) {
  v1::CloseRequest req;
  req.set_session_id(session_id);
  CallAsync<v1::CloseRequest, v1::CloseResponse>(
      std::move(req),
      AsyncMethod<v1::CloseRequest, v1::CloseResponse>(&v1::Env::Stub::async::Close),
      [done = std::move(done)](absl::StatusOr<v1::CloseResponse> resp) { done(resp.status()); });
}

void EnvClient::BatchCreateAsync(v1::BatchCreateRequest req,
                                 Callback<v1::BatchCreateResponse> done) {
  CallAsync<v1::BatchCreateRequest, v1::BatchCreateResponse>(
      std::move(req),
      AsyncMethod<v1::BatchCreateRequest, v1::BatchCreateResponse>(
          &v1::Env::Stub::async::BatchCreate),
      std::move(done));
}

void EnvClient::BatchCloseAsync(v1::BatchCloseRequest req,
                                Callback<v1::BatchCloseResponse> done) {
  CallAsync<v1::BatchCloseRequest, v1::BatchCloseResponse>(
      std::move(req),
      AsyncMethod<v1::BatchCloseRequest, v1::BatchCloseResponse>(
          &v1::Env::Stub::async::BatchClose),
      std::move(done));
}

}  // namespace agentgym::env
