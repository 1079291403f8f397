#include "env_server/client/env_client.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/grpc_status.h"
#include "grpcpp/alarm.h"
#include "grpcpp/create_channel.h"

namespace agentgym::env {
namespace {

// The pause before retry number `retry` (1-based).
absl::Duration BackoffBefore(const EnvClientOptions& options, int retry) {
  absl::Duration d = options.initial_backoff;
  for (int i = 1; i < retry; ++i) d = std::min(d * 2, options.max_backoff);
  return std::min(d, options.max_backoff);
}

// Whether to make another attempt after `attempts` that ended in `status`;
// sets `*backoff` to the pause before it.
bool ShouldRetry(const EnvClientOptions& options, bool retryable, const grpc::Status& status,
                 int attempts, absl::Time deadline, absl::Duration* backoff) {
  if (!retryable || status.error_code() != grpc::StatusCode::UNAVAILABLE ||
      attempts >= options.max_attempts) {
    return false;
  }
  *backoff = BackoffBefore(options, attempts);
  return absl::Now() + *backoff < deadline;  // the deadline covers the retries too
}

// Whether a call is sent once, wait_for_ready, after the channel connects
// (see EnvClientOptions::max_attempts and connect_timeout).
bool SentOnceWhenConnected(const EnvClientOptions& options, bool retryable) {
  return !retryable && options.max_attempts > 1;
}

// How long such a call waits for the channel to connect.
absl::Duration ConnectBudget(const EnvClientOptions& options) {
  return std::min(options.connect_timeout, options.timeout);
}

// How often an asynchronous call sent once looks whether its channel has
// connected.
constexpr absl::Duration kConnectPoll = absl::Milliseconds(20);

// Blocks until `channel` is connected (true) or `by` passes (false).
bool AwaitConnected(grpc::Channel* channel, absl::Time by) {
  if (channel->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY) return true;
  return channel->WaitForConnected(absl::ToChronoTime(by));
}

// The answer to a call sent once whose channel did not connect in time.
// Nothing was sent, so trying again later cannot do anything twice.
absl::Status NotConnected(const EnvClientOptions& options) {
  return absl::UnavailableError(absl::StrCat(
      "cannot connect to ", options.target, " (is a server running there?): no connection within ",
      absl::FormatDuration(ConnectBudget(options)), "; nothing was sent"));
}

void PrepareContext(const EnvClientOptions& options, bool retryable, absl::Time deadline,
                    grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(deadline));
  // A call that is never retried goes out once the channel has connected;
  // should the connection drop just then, gRPC holds the call until it is
  // back (within the deadline) and still sends it once.
  if (SentOnceWhenConnected(options, retryable)) context->set_wait_for_ready(true);
}

// The status a call with retries ends with: an attempt cut short by the
// call's deadline after earlier attempts found the server UNAVAILABLE
// reports UNAVAILABLE (the cause), not the deadline that ended the retries.
grpc::Status FinalStatus(const grpc::Status& status, const grpc::Status& previous) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
      previous.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat(previous.error_message(),
                                     "; retried until the call's deadline"));
  }
  return status;
}

absl::Status CallError(const EnvClientOptions& options, grpc::Channel* channel,
                       const grpc::Status& status, int attempts) {
  absl::Status error = FromGrpcStatus(status);
  const std::string tries = attempts > 1 ? absl::StrCat(" (", attempts, " attempts)") : "";
  // A call that waited out its deadline (or failed) while the channel could
  // not connect says so, rather than a bare "Deadline Exceeded".
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    const grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/false);
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_CONNECTING) {
      return absl::Status(error.code(), absl::StrCat("cannot connect to ", options.target,
                                                     " (is a server running there?): ",
                                                     error.message(), tries));
    }
  }
  return absl::Status(error.code(),
                      absl::StrCat("env server ", options.target, ": ", error.message(), tries));
}

// One asynchronous unary call with its retries; deletes itself when done.
// gRPC's callback threads must not block, so the backoff before a retry is
// an alarm that starts the next attempt when it fires.
template <typename Req, typename Resp>
class AsyncCall {
 public:
  using Start = std::function<void(grpc::ClientContext*, const Req*, Resp*,
                                   std::function<void(grpc::Status)>)>;
  using Done = std::function<void(absl::StatusOr<Resp>)>;

  AsyncCall(Req req, Start start, bool retryable, Done done, const EnvClientOptions& options,
            grpc::Channel* channel)
      : req_(std::move(req)), start_(std::move(start)), retryable_(retryable),
        done_(std::move(done)), options_(options), channel_(channel),
        deadline_(absl::Now() + options.timeout) {}

  // Begins the call. One that is sent once first waits for the channel to
  // connect, up to the connect budget; an alarm polls the channel's state,
  // as nothing here may block.
  void Begin() {
    if (!SentOnceWhenConnected(options_, retryable_)) {
      Run();
      return;
    }
    connect_by_ = std::min(absl::Now() + ConnectBudget(options_), deadline_);
    AwaitConnection();
  }

 private:
  void AwaitConnection() {
    if (channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY) {
      Run();
      return;
    }
    if (absl::Now() >= connect_by_) {
      Finish(NotConnected(options_));
      return;
    }
    // Replacing the alarm from its own callback is safe (see OnDone).
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(absl::ToChronoTime(std::min(absl::Now() + kConnectPoll, connect_by_)),
                [this](bool) { AwaitConnection(); });
  }

  void Run() {
    context_ = std::make_unique<grpc::ClientContext>();
    PrepareContext(options_, retryable_, deadline_, context_.get());
    resp_ = Resp();
    ++attempts_;
    start_(context_.get(), &req_, &resp_, [this](grpc::Status status) { OnDone(status); });
  }

  void OnDone(const grpc::Status& status) {
    absl::Duration backoff;
    if (!status.ok() &&
        ShouldRetry(options_, retryable_, status, attempts_, deadline_, &backoff)) {
      // A fired alarm may be destroyed from its own callback (gRPC keeps its
      // state alive until the callback returns), which happens when this
      // call finishes inside the next Run().
      previous_ = status;
      alarm_ = std::make_unique<grpc::Alarm>();
      alarm_->Set(absl::ToChronoTime(absl::Now() + backoff), [this](bool) { Run(); });
      return;
    }
    if (status.ok()) {
      Finish(std::move(resp_));
    } else {
      Finish(CallError(options_, channel_, FinalStatus(status, previous_), attempts_));
    }
  }

  // Deletes this call, then reports its result. The order matters: the
  // ClientContext holds a reference to the channel, and the client may drop
  // its own as soon as the result is seen (the engine frees its env pool once
  // every reply is in). Were the context destroyed after the report, the
  // channel's last reference could fall on this gRPC callback thread; in
  // gRPC 1.51 that tears down the process-wide callback queue the thread is
  // polling (it joins itself, then polls the freed queue: a crash seen as
  // "ref_counted.h: assertion failed: prior > 0" or a SIGSEGV in
  // grpc_completion_queue_next).
  void Finish(absl::StatusOr<Resp> result) {
    Done done = std::move(done_);
    delete this;
    done(std::move(result));
  }

  Req req_;
  Start start_;
  const bool retryable_;
  Done done_;
  const EnvClientOptions& options_;
  grpc::Channel* const channel_;  // the client's; it outlives every pending call
  const absl::Time deadline_;
  absl::Time connect_by_;  // the end of the wait for a connection
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::Alarm> alarm_;
  Resp resp_;
  grpc::Status previous_;  // the failure that led to the current attempt
  int attempts_ = 0;
};

// The async stub has two overloads of each method (callback and reactor);
// this picks the callback one.
template <typename Req, typename Resp>
using AsyncMethod = void (v1::Env::Stub::async::*)(grpc::ClientContext*, const Req*, Resp*,
                                                   std::function<void(grpc::Status)>);

}  // namespace

absl::StatusOr<std::unique_ptr<EnvClient>> EnvClient::Create(EnvClientOptions options) {
  if (options.target.empty()) return absl::InvalidArgumentError("env client: empty target");
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError("env client: max_attempts must be >= 1");
  }
  // Every call has a deadline: an infinite one would let a call to a server
  // that never answers wait forever.
  if (options.timeout <= absl::ZeroDuration() || options.timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "env client: timeout must be positive and finite; got ",
        absl::FormatDuration(options.timeout)));
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.connect_timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "env client: connect_timeout must be positive and finite; got ",
        absl::FormatDuration(options.connect_timeout)));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeChannelCredentials(options.security);
  if (!credentials.ok()) return credentials.status();
  return std::unique_ptr<EnvClient>(new EnvClient(std::move(options), *std::move(credentials)));
}

EnvClient::EnvClient(EnvClientOptions options, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : options_(std::move(options)), turns_(options_.max_tracked_sessions) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  // Reconnect quickly after a server restart instead of gRPC's default
  // back-off of up to two minutes.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  ApplyClientSecurityArgs(options_.security, &args);
  channel_ = grpc::CreateCustomChannel(options_.target, credentials, args);
  stub_ = v1::Env::NewStub(channel_);
}

bool EnvClient::WaitForReady(absl::Duration timeout) {
  return channel_->WaitForConnected(std::chrono::system_clock::now() +
                                    absl::ToChronoMilliseconds(timeout));
}

template <typename Req, typename Resp, typename Fn>
absl::StatusOr<Resp> EnvClient::Call(const Req& req, Fn method, bool retryable) {
  const absl::Time deadline = absl::Now() + options_.timeout;
  // A call sent once that would otherwise wait out its whole deadline for a
  // server that is not there answers as soon as the connect budget is spent.
  if (SentOnceWhenConnected(options_, retryable) &&
      !AwaitConnected(channel_.get(), std::min(absl::Now() + ConnectBudget(options_), deadline))) {
    return NotConnected(options_);
  }
  grpc::Status status, previous;
  int attempts = 0;
  for (absl::Duration backoff;; absl::SleepFor(backoff)) {
    grpc::ClientContext context;
    PrepareContext(options_, retryable, deadline, &context);
    Resp resp;
    ++attempts;
    status = (stub_.get()->*method)(&context, req, &resp);
    if (status.ok()) return resp;
    if (!ShouldRetry(options_, retryable, status, attempts, deadline, &backoff)) break;
    previous = status;
  }
  return CallError(options_, channel_.get(), FinalStatus(status, previous), attempts);
}

template <typename Req, typename Resp, typename Method>
void EnvClient::CallAsync(Req req, Method method, bool retryable, Callback<Resp> done) {
  auto* call = new AsyncCall<Req, Resp>(
      std::move(req),
      [stub = stub_.get(), method](grpc::ClientContext* ctx, const Req* r, Resp* resp,
                                   std::function<void(grpc::Status)> cb) {
        (stub->async()->*method)(ctx, r, resp, std::move(cb));
      },
      retryable, std::move(done), options_, channel_.get());
  call->Begin();
}

// ---- turns ----

bool EnvClient::PrepareStep(v1::StepRequest* req) {
  if (options_.check_turns && req->expected_turn() == 0) {
    if (auto turn = turns_.Get(req->session_id())) req->set_expected_turn(*turn + 1);
  }
  return req->expected_turn() > 0;
}

bool EnvClient::PrepareBatchStep(v1::BatchStepRequest* req) {
  absl::flat_hash_set<absl::string_view> seen;
  bool retryable = true;
  for (auto& item : *req->mutable_items()) {
    const bool first = seen.insert(item.session_id()).second;
    // Only a session's first item is checked: the turn of a later one
    // depends on whether the earlier ones apply (an oversized action does
    // not), and checking it would fail items that should stand alone. Such
    // a batch is not retried, as the server remembers only a session's last
    // step.
    if (first && item.expected_turn() == 0 && options_.check_turns) {
      if (auto turn = turns_.Get(item.session_id())) item.set_expected_turn(*turn + 1);
    }
    if (!first || item.expected_turn() <= 0) retryable = false;
  }
  return retryable;
}

EnvClient::StepKeys EnvClient::KeysOf(const v1::BatchStepRequest& req) {
  StepKeys keys;
  keys.reserve(req.items_size());
  for (const auto& item : req.items()) keys.emplace_back(item.session_id(), item.expected_turn());
  return keys;
}

absl::StatusOr<v1::StepResult> EnvClient::LearnStep(const std::string& session_id,
                                                    int32_t expected_turn,
                                                    absl::StatusOr<v1::StepResult> result) {
  if (!result.ok()) {
    // The session is gone or its turn is not what we thought: know nothing.
    // Other errors (e.g. a lost reply) leave the turn as it was, so that
    // repeating the same step is still recognised by the server.
    const absl::StatusCode code = result.status().code();
    if (options_.check_turns &&
        (code == absl::StatusCode::kNotFound || code == absl::StatusCode::kFailedPrecondition)) {
      turns_.Forget(session_id);
    }
    return result;
  }
  if (expected_turn > 0 && result->turn() != expected_turn) {
    turns_.Forget(session_id);
    return absl::FailedPreconditionError(absl::StrCat(
        "env server ", options_.target, ": session '", session_id, "' answered a step sent as turn ",
        expected_turn, " with turn ", result->turn(),
        ": the server ", kIgnoredExpectedTurn, " (or another client stepped the session), so "
        "this step may have been applied at another turn or twice"));
  }
  if (options_.check_turns) {
    // An ended episode takes no more steps until Reset (which says turn 0).
    if (result->done() || result->truncated()) {
      turns_.Forget(session_id);
    } else {
      turns_.Set(session_id, result->turn());
    }
  }
  return result;
}

void EnvClient::LearnBatchStep(const StepKeys& keys, absl::StatusOr<v1::BatchStepResponse>* resp) {
  if (!resp->ok()) return;
  const int n = std::min<int>((*resp)->items_size(), static_cast<int>(keys.size()));
  for (int i = 0; i < n; ++i) {
    auto* item = (*resp)->mutable_items(i);
    absl::StatusOr<v1::StepResult> result;
    if (item->has_error() && item->error().code() != 0) {
      result = absl::Status(static_cast<absl::StatusCode>(item->error().code()),
                            item->error().message());
    } else {
      result = std::move(*item->mutable_result());
    }
    result = LearnStep(keys[i].first, keys[i].second, std::move(result));
    if (result.ok()) {
      *item->mutable_result() = *std::move(result);
    } else {
      item->clear_result();
      item->mutable_error()->set_code(static_cast<int>(result.status().code()));
      item->mutable_error()->set_message(std::string(result.status().message()));
    }
  }
}

void EnvClient::LearnCreated(const absl::StatusOr<v1::CreateResponse>& resp) {
  if (options_.check_turns && resp.ok()) turns_.Set(resp->session_id(), 0);
}

void EnvClient::LearnBatchCreated(const absl::StatusOr<v1::BatchCreateResponse>& resp) {
  if (!options_.check_turns || !resp.ok()) return;
  for (const auto& item : resp->items()) {
    if (item.error().code() == 0 && !item.created().session_id().empty()) {
      turns_.Set(item.created().session_id(), 0);
    }
  }
}

void EnvClient::LearnReset(const std::string& session_id, const absl::Status& status) {
  if (!options_.check_turns) return;
  if (status.ok()) {
    turns_.Set(session_id, 0);
  } else if (status.code() == absl::StatusCode::kNotFound) {
    turns_.Forget(session_id);
  }
}

void EnvClient::LearnClosed(const std::string& session_id, const absl::Status& status) {
  if (status.ok() || status.code() == absl::StatusCode::kNotFound) turns_.Forget(session_id);
}

void EnvClient::LearnBatchClosed(const v1::BatchCloseRequest& req,
                                 const absl::StatusOr<v1::BatchCloseResponse>& resp) {
  if (!resp.ok()) return;
  const int n = std::min(req.session_ids_size(), resp->errors_size());
  for (int i = 0; i < n; ++i) {
    const int code = resp->errors(i).code();
    if (code == 0 || code == static_cast<int>(absl::StatusCode::kNotFound)) {
      turns_.Forget(req.session_ids(i));
    }
  }
}

// ---- synchronous calls ----

absl::StatusOr<v1::ListEnvsResponse> EnvClient::ListEnvs() {
  return Call<v1::ListEnvsRequest, v1::ListEnvsResponse>(v1::ListEnvsRequest(),
                                                          &v1::Env::Stub::ListEnvs, true);
}

absl::StatusOr<v1::ListTasksResponse> EnvClient::ListTasks(const v1::ListTasksRequest& req) {
  return Call<v1::ListTasksRequest, v1::ListTasksResponse>(req, &v1::Env::Stub::ListTasks, true);
}

absl::StatusOr<v1::CreateResponse> EnvClient::Create(const v1::CreateRequest& req) {
  auto resp = Call<v1::CreateRequest, v1::CreateResponse>(req, &v1::Env::Stub::Create, false);
  LearnCreated(resp);
  return resp;
}

absl::StatusOr<v1::StepResult> EnvClient::Step(const std::string& session_id,
                                               const std::string& action) {
  v1::StepRequest req;
  req.set_session_id(session_id);
  req.set_action(action);
  return Step(std::move(req));
}

absl::StatusOr<v1::StepResult> EnvClient::Step(v1::StepRequest req) {
  const bool retryable = PrepareStep(&req);
  auto resp = Call<v1::StepRequest, v1::StepResponse>(req, &v1::Env::Stub::Step, retryable);
  absl::StatusOr<v1::StepResult> result =
      resp.ok() ? absl::StatusOr<v1::StepResult>(std::move(*resp->mutable_result()))
                : absl::StatusOr<v1::StepResult>(resp.status());
  return LearnStep(req.session_id(), req.expected_turn(), std::move(result));
}

absl::StatusOr<v1::ResetResponse> EnvClient::Reset(const v1::ResetRequest& req) {
  auto resp = Call<v1::ResetRequest, v1::ResetResponse>(req, &v1::Env::Stub::Reset, true);
  LearnReset(req.session_id(), resp.status());
  return resp;
}

absl::Status EnvClient::Close(const std::string& session_id) {
  v1::CloseRequest req;
  req.set_session_id(session_id);
  absl::Status status =
      Call<v1::CloseRequest, v1::CloseResponse>(req, &v1::Env::Stub::Close, true).status();
  LearnClosed(session_id, status);
  return status;
}

absl::StatusOr<v1::BatchCreateResponse> EnvClient::BatchCreate(
    const v1::BatchCreateRequest& req) {
  auto resp = Call<v1::BatchCreateRequest, v1::BatchCreateResponse>(
      req, &v1::Env::Stub::BatchCreate, false);
  LearnBatchCreated(resp);
  return resp;
}

absl::StatusOr<v1::BatchStepResponse> EnvClient::BatchStep(const v1::BatchStepRequest& req) {
  v1::BatchStepRequest prepared = req;
  const bool retryable = PrepareBatchStep(&prepared);
  auto resp = Call<v1::BatchStepRequest, v1::BatchStepResponse>(
      prepared, &v1::Env::Stub::BatchStep, retryable);
  LearnBatchStep(KeysOf(prepared), &resp);
  return resp;
}

absl::StatusOr<v1::BatchCloseResponse> EnvClient::BatchClose(
    const v1::BatchCloseRequest& req) {
  auto resp = Call<v1::BatchCloseRequest, v1::BatchCloseResponse>(
      req, &v1::Env::Stub::BatchClose, true);
  LearnBatchClosed(req, resp);
  return resp;
}

// ---- asynchronous calls ----

void EnvClient::StepAsync(const std::string& session_id, const std::string& action,
                          StepCallback done) {
  v1::StepRequest req;
  req.set_session_id(session_id);
  req.set_action(action);
  const bool retryable = PrepareStep(&req);
  const int32_t expected_turn = req.expected_turn();
  CallAsync<v1::StepRequest, v1::StepResponse>(
      std::move(req), AsyncMethod<v1::StepRequest, v1::StepResponse>(&v1::Env::Stub::async::Step),
      retryable,
      [this, session_id, expected_turn, done = std::move(done)](
          absl::StatusOr<v1::StepResponse> resp) {
        absl::StatusOr<v1::StepResult> result =
            resp.ok() ? absl::StatusOr<v1::StepResult>(std::move(*resp->mutable_result()))
                      : absl::StatusOr<v1::StepResult>(resp.status());
        // Learned before `done` runs, so a next step issued from it is sent
        // with the new turn.
        done(LearnStep(session_id, expected_turn, std::move(result)));
      });
}

void EnvClient::BatchStepAsync(v1::BatchStepRequest req, BatchStepCallback done) {
  const bool retryable = PrepareBatchStep(&req);
  StepKeys keys = KeysOf(req);
  CallAsync<v1::BatchStepRequest, v1::BatchStepResponse>(
      std::move(req),
      AsyncMethod<v1::BatchStepRequest, v1::BatchStepResponse>(&v1::Env::Stub::async::BatchStep),
      retryable,
      [this, keys = std::move(keys), done = std::move(done)](
          absl::StatusOr<v1::BatchStepResponse> resp) {
        LearnBatchStep(keys, &resp);
        done(std::move(resp));
      });
}

void EnvClient::CreateAsync(v1::CreateRequest req, Callback<v1::CreateResponse> done) {
  CallAsync<v1::CreateRequest, v1::CreateResponse>(
      std::move(req),
      AsyncMethod<v1::CreateRequest, v1::CreateResponse>(&v1::Env::Stub::async::Create),
      /*retryable=*/false, [this, done = std::move(done)](absl::StatusOr<v1::CreateResponse> resp) {
        LearnCreated(resp);
        done(std::move(resp));
      });
}

void EnvClient::ResetAsync(v1::ResetRequest req, Callback<v1::ResetResponse> done) {
  std::string session_id = req.session_id();
  CallAsync<v1::ResetRequest, v1::ResetResponse>(
      std::move(req),
      AsyncMethod<v1::ResetRequest, v1::ResetResponse>(&v1::Env::Stub::async::Reset),
      /*retryable=*/true,
      [this, session_id = std::move(session_id),
       done = std::move(done)](absl::StatusOr<v1::ResetResponse> resp) {
        LearnReset(session_id, resp.status());
        done(std::move(resp));
      });
}

void EnvClient::CloseAsync(const std::string& session_id,
                           std::function<void(absl::Status)> done) {
  v1::CloseRequest req;
  req.set_session_id(session_id);
  CallAsync<v1::CloseRequest, v1::CloseResponse>(
      std::move(req),
      AsyncMethod<v1::CloseRequest, v1::CloseResponse>(&v1::Env::Stub::async::Close),
      /*retryable=*/true,
      [this, session_id, done = std::move(done)](absl::StatusOr<v1::CloseResponse> resp) {
        LearnClosed(session_id, resp.status());
        done(resp.status());
      });
}

void EnvClient::BatchCreateAsync(v1::BatchCreateRequest req,
                                 Callback<v1::BatchCreateResponse> done) {
  CallAsync<v1::BatchCreateRequest, v1::BatchCreateResponse>(
      std::move(req),
      AsyncMethod<v1::BatchCreateRequest, v1::BatchCreateResponse>(
          &v1::Env::Stub::async::BatchCreate),
      /*retryable=*/false,
      [this, done = std::move(done)](absl::StatusOr<v1::BatchCreateResponse> resp) {
        LearnBatchCreated(resp);
        done(std::move(resp));
      });
}

void EnvClient::BatchCloseAsync(v1::BatchCloseRequest req,
                                Callback<v1::BatchCloseResponse> done) {
  v1::BatchCloseRequest ids = req;  // for learning which sessions are gone
  CallAsync<v1::BatchCloseRequest, v1::BatchCloseResponse>(
      std::move(req),
      AsyncMethod<v1::BatchCloseRequest, v1::BatchCloseResponse>(
          &v1::Env::Stub::async::BatchClose),
      /*retryable=*/true,
      [this, ids = std::move(ids), done = std::move(done)](
          absl::StatusOr<v1::BatchCloseResponse> resp) {
        LearnBatchClosed(ids, resp);
        done(std::move(resp));
      });
}

}  // namespace agentgym::env
