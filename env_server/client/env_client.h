#ifndef AGENTGYM_ENV_SERVER_CLIENT_ENV_CLIENT_H_
#define AGENTGYM_ENV_SERVER_CLIENT_ENV_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/grpc_security.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agentgym/env/v1/env.grpc.pb.h"
#include "env_server/client/turn_tracker.h"
#include "grpcpp/channel.h"

namespace agentgym::env {

struct EnvClientOptions {
  std::string target;  // host:port
  // Deadline of each whole call, from the moment it is made: every attempt
  // and every backoff between attempts fit inside it, so a call returns (or
  // its callback runs) within `timeout`.
  absl::Duration timeout = absl::Seconds(30);
  // Attempts per call at most (1: no retries). A call is retried only when
  // it failed UNAVAILABLE and repeating it cannot do anything twice:
  // ListEnvs, ListTasks, Reset, Close, BatchClose, and a Step / BatchStep
  // whose every item carries StepRequest.expected_turn (with each session at
  // most once in a batch), which the server applies at most once (see
  // check_turns). Create, BatchCreate and unchecked steps are sent once;
  // with max_attempts > 1 they first wait for the channel to connect (up to
  // connect_timeout) and are then sent wait_for_ready, so a server that is
  // restarting is waited for briefly, gRPC never sends them twice, and a
  // server that is not there is answered UNAVAILABLE "cannot connect".
  int max_attempts = 4;
  // How long a call that is sent once (above) waits for the channel to
  // connect before it answers UNAVAILABLE "cannot connect to TARGET (is a
  // server running there?)" rather than waiting out its whole deadline; the
  // call's deadline caps it.
  absl::Duration connect_timeout = absl::Seconds(2);
  // Before retry k (k = 1, 2, ...): initial_backoff * 2^(k-1), at most
  // max_backoff. No retry starts when its backoff would end past the
  // deadline.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  // Remember each session's turn (0 after Create or Reset, StepResult.turn
  // after a step) and send expected_turn = turn + 1 with every step of it, so
  // that a retried step is applied once. Turn this off only to step one
  // session from several threads at once on purpose: those steps race for
  // the same turn, and unchecked steps are never retried.
  bool check_turns = true;
  // Sessions whose turn is remembered at most; beyond that the least
  // recently used are forgotten and their steps go unchecked until a step
  // result tells the turn again.
  size_t max_tracked_sessions = 1 << 16;
  int max_message_bytes = 64 << 20;
  // TLS (a CA), a client certificate and a bearer token
  // (core/grpc_security.h); nothing set: plaintext.
  ClientSecurityOptions security;
};

// In the message of the FAILED_PRECONDITION the client gives for a step whose
// reply has another turn than it was sent as: the server applied a step it
// should have refused (or replayed), so it does not honour expected_turn.
inline constexpr absl::string_view kIgnoredExpectedTurn =
    "does not honour StepRequest.expected_turn";

// A client of any Env server (C++, Python SDK, HTTP bridge). Every call has a
// deadline that covers its retries; calls that are safe to repeat are retried
// on UNAVAILABLE; errors come back as absl::Status with the server's code and
// message.
//
// Turns: the client tracks the turn of every session it creates, resets or
// steps, and sends each step with StepRequest.expected_turn. A result whose
// turn is not the one the step was sent as (a server that ignores
// expected_turn, or a session stepped by someone else) is returned as
// FAILED_PRECONDITION saying so, because the step may then have been applied
// at another turn or twice. Steps of one session are meant to be sequential:
// send the next once the previous one has returned.
//
// Thread-safe: one client may be shared by many threads (gRPC multiplexes
// calls over one channel).
class EnvClient {
 public:
  // INVALID_ARGUMENT for an empty target, max_attempts < 1, or a timeout or
  // connect_timeout that is not positive and finite. Does not wait for the
  // server.
  static absl::StatusOr<std::unique_ptr<EnvClient>> Create(EnvClientOptions options);

  // True once the channel is connected, false after `timeout`.
  bool WaitForReady(absl::Duration timeout);

  absl::StatusOr<v1::ListEnvsResponse> ListEnvs();
  absl::StatusOr<v1::ListTasksResponse> ListTasks(const v1::ListTasksRequest& req);
  absl::StatusOr<v1::CreateResponse> Create(const v1::CreateRequest& req);
  absl::StatusOr<v1::StepResult> Step(const std::string& session_id, const std::string& action);
  // As above; a request that sets expected_turn keeps it (a retry of a step
  // whose reply was lost, or a check of the server's turn handling), one
  // that leaves it 0 gets the session's next turn as above.
  absl::StatusOr<v1::StepResult> Step(v1::StepRequest req);
  absl::StatusOr<v1::ResetResponse> Reset(const v1::ResetRequest& req);
  // A Close retried after its first attempt closed the session answers
  // NOT_FOUND (likewise for BatchClose items).
  absl::Status Close(const std::string& session_id);
  absl::StatusOr<v1::BatchCreateResponse> BatchCreate(const v1::BatchCreateRequest& req);
  // An item whose expected_turn is 0 gets its session's next turn when the
  // client knows it and it is the session's first item in the batch (later
  // items of a session go unchecked: their turn depends on whether the
  // earlier ones apply); items that set it keep it. A result with another
  // turn than its item was sent as becomes an ItemError
  // (FAILED_PRECONDITION).
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
  // Sessions whose turn the client remembers now.
  size_t tracked_sessions() const { return turns_.size(); }

 private:
  // (session id, expected_turn) of each item of a step request, in order.
  using StepKeys = std::vector<std::pair<std::string, int32_t>>;

  EnvClient(EnvClientOptions options, std::shared_ptr<grpc::ChannelCredentials> credentials);
  template <typename Req, typename Resp, typename Fn>
  absl::StatusOr<Resp> Call(const Req& req, Fn method, bool retryable);
  // Starts `method` (a Stub::async() member) on `req` with deadline and
  // retries; `done` gets the response or the error.
  template <typename Req, typename Resp, typename Method>
  void CallAsync(Req req, Method method, bool retryable, Callback<Resp> done);

  // Fills in expected_turn where the client knows it; true when the step(s)
  // may be retried (every item checked, no session twice).
  bool PrepareStep(v1::StepRequest* req);
  bool PrepareBatchStep(v1::BatchStepRequest* req);
  static StepKeys KeysOf(const v1::BatchStepRequest& req);
  // Learns the session's turn from a step's outcome; turns a result whose
  // turn is not `expected_turn` (> 0) into FAILED_PRECONDITION.
  absl::StatusOr<v1::StepResult> LearnStep(const std::string& session_id, int32_t expected_turn,
                                           absl::StatusOr<v1::StepResult> result);
  void LearnBatchStep(const StepKeys& keys, absl::StatusOr<v1::BatchStepResponse>* resp);
  void LearnCreated(const absl::StatusOr<v1::CreateResponse>& resp);
  void LearnBatchCreated(const absl::StatusOr<v1::BatchCreateResponse>& resp);
  void LearnReset(const std::string& session_id, const absl::Status& status);
  void LearnClosed(const std::string& session_id, const absl::Status& status);
  void LearnBatchClosed(const v1::BatchCloseRequest& req,
                        const absl::StatusOr<v1::BatchCloseResponse>& resp);

  const EnvClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;  // shared with stub_
  std::unique_ptr<v1::Env::Stub> stub_;
  TurnTracker turns_;
};

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_CLIENT_ENV_CLIENT_H_
