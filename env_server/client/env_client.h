#ifndef AGENTGYM_ENV_SERVER_CLIENT_ENV_CLIENT_H_
#define AGENTGYM_ENV_SERVER_CLIENT_ENV_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentgym/env/v1/env.grpc.pb.h"
#include "grpcpp/channel.h"

namespace agentgym::env {

struct EnvClientOptions {
  std::string target;  // host:port
  absl::Duration timeout = absl::Seconds(30);  // deadline of every call
  // Calls that fail with UNAVAILABLE (the server could not be reached; the
  // request was not processed) are retried with exponential backoff.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  int max_message_bytes = 64 << 20;
};

// A client of any Env server (C++, Python SDK, HTTP bridge). Every call has a
// deadline; UNAVAILABLE is retried; errors come back as absl::Status with the
// server's code and message. Thread-safe: one client may be shared by many
// threads (gRPC multiplexes calls over one channel).
class EnvClient {
 public:
  // INVALID_ARGUMENT for an empty target. Does not wait for the server.
  static absl::StatusOr<std::unique_ptr<EnvClient>> Create(EnvClientOptions options);

  // True once the channel is connected, false after `timeout`.
  bool WaitForReady(absl::Duration timeout);

  absl::StatusOr<v1::ListEnvsResponse> ListEnvs();
  absl::StatusOr<v1::ListTasksResponse> ListTasks(const v1::ListTasksRequest& req);
  absl::StatusOr<v1::CreateResponse> Create(const v1::CreateRequest& req);
  absl::StatusOr<v1::StepResult> Step(const std::string& session_id, const std::string& action);
  absl::StatusOr<v1::ResetResponse> Reset(const v1::ResetRequest& req);
  absl::Status Close(const std::string& session_id);
  absl::StatusOr<v1::BatchCreateResponse> BatchCreate(const v1::BatchCreateRequest& req);
  absl::StatusOr<v1::BatchStepResponse> BatchStep(const v1::BatchStepRequest& req);
  absl::StatusOr<v1::BatchCloseResponse> BatchClose(const v1::BatchCloseRequest& req);

  // Asynchronous forms: return at once; `done` runs on a gRPC thread when the
  // call (with its retries) completes. Keep `done` short and non-blocking.
  // The client must outlive every pending call.
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;
  using StepCallback = Callback<v1::StepResult>;
  using BatchStepCallback = Callback<v1::BatchStepResponse>;
  void StepAsync(const std::string& session_id, const std::string& action, StepCallback done);
  void BatchStepAsync(v1::BatchStepRequest req, BatchStepCallback done);
  void CreateAsync(v1::CreateRequest req, Callback<v1::CreateResponse> done);
  void ResetAsync(v1::ResetRequest req, Callback<v1::ResetResponse> done);
  void CloseAsync(const std::string& session_id, std::function<void(absl::Status)> done);
  void BatchCreateAsync(v1::BatchCreateRequest req, Callback<v1::BatchCreateResponse> done);
  void BatchCloseAsync(v1::BatchCloseRequest req, Callback<v1::BatchCloseResponse> done);

  const EnvClientOptions& options() const { return options_; }

 private:
  explicit EnvClient(EnvClientOptions options);
  template <typename Req, typename Resp, typename Fn>
  absl::StatusOr<Resp> Call(const Req& req, Fn method);
  absl::Duration Backoff(int attempt) const;
  // Starts `method` (a Stub::async() member) on `req` with deadline and
  // retries; `done` gets the response or the error.
  template <typename Req, typename Resp, typename Method>
  void CallAsync(Req req, Method method, Callback<Resp> done);

  const EnvClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;  // shared with stub_
  std::unique_ptr<v1::Env::Stub> stub_;
};

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_CLIENT_ENV_CLIENT_H_
