#include "scheduler/coordinator_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/grpc_status.h"
#include "core/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "scheduler/registry.h"

namespace agentgym::scheduler {
namespace {

// Completions kept while the coordinator is away; beyond this the oldest
// are dropped (the coordinator then may hand those groups out again).
constexpr size_t kMaxPendingCompletions = 65536;

std::shared_ptr<spdlog::logger> Log() { return GetLogger("coordinator_client"); }

bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// The coordinator says this component must Register again: the trailing
// metadata entry it sets on exactly those errors (registry.h), not a phrase.
bool MustRegister(const grpc::ClientContext& context, const grpc::Status& s) {
  if (s.ok()) return false;
  const auto& trailers = context.GetServerTrailingMetadata();
  return trailers.find(kRegisterAgainMetadataKey) != trailers.end();
}

// gRPC backs off reconnecting up to 120 s by default; a coordinator that was
// down for minutes would then be found only long after it is back. Cap it.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const CoordinatorClientOptions& o) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(std::clamp<int64_t>(
                  absl::ToInt64Milliseconds(o.max_reconnect_backoff), 100, 600'000)));
  return CreateSecureChannel(o.coordinator, o.security, args);
}

}  // namespace

int32_t HorizonFor(const pb::Horizon& horizon, const std::string& env) {
  int32_t fallback = 0;
  for (const pb::HorizonStage& t : horizon.tracks()) {
    if (t.env() == env) return t.max_turns();
    if (t.env().empty()) fallback = t.max_turns();
  }
  return fallback;
}

CoordinatorClient::CoordinatorClient(CoordinatorClientOptions options)
    : options_(std::move(options)),
      stub_(pb::Coordinator::NewStub(MakeChannel(options_).value())),
      component_id_(options_.registration.component_id()),
      heartbeat_interval_(options_.heartbeat_interval) {}

absl::StatusOr<std::unique_ptr<CoordinatorClient>> CoordinatorClient::Connect(
    CoordinatorClientOptions options) {
  if (options.coordinator.empty()) {
    return absl::InvalidArgumentError("coordinator client: no coordinator address");
  }
  if (options.rpc_timeout <= absl::ZeroDuration() ||
      options.heartbeat_interval <= absl::ZeroDuration() ||
      options.retry_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "coordinator client: rpc_timeout, heartbeat_interval and retry_interval must be > 0");
  }
  // Bad TLS files or a token without TLS: an error now, not a constructor
  // that cannot make its channel.
  if (absl::Status s = MakeChannel(options).status(); !s.ok()) return s;
  const absl::Time give_up = absl::Now() + options.connect_timeout;
  std::unique_ptr<CoordinatorClient> client(new CoordinatorClient(std::move(options)));
  const CoordinatorClientOptions& o = client->options_;
  for (;;) {
    absl::Status registered = client->RegisterOnce();
    if (registered.ok()) break;
    if (registered.code() != absl::StatusCode::kUnavailable &&
        registered.code() != absl::StatusCode::kDeadlineExceeded) {
      return registered;
    }
    if (absl::Now() + o.retry_interval >= give_up) {
      return absl::UnavailableError(absl::StrCat(
          "no coordinator answered at ", o.coordinator, " within ",
          absl::FormatDuration(o.connect_timeout), ": ", registered.message()));
    }
    absl::SleepFor(o.retry_interval);
  }
  client->thread_ = std::thread([c = client.get()] { c->Loop(); });
  return client;
}

CoordinatorClient::~CoordinatorClient() { Close(); }

absl::Status CoordinatorClient::RegisterOnce() {
  pb::RegisterRequest request = options_.registration;
  {
    absl::MutexLock lock(&mu_);
    request.set_component_id(component_id_);
  }
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  pb::RegisterResponse response;
  grpc::Status status = stub_->Register(&context, request, &response);
  if (!status.ok()) {
    if (Transient(status.error_code())) MarkDisconnected(status);
    absl::Status s = FromGrpcStatus(status);
    return absl::Status(s.code(), absl::StrCat("register with the coordinator at ",
                                               options_.coordinator, ": ", s.message()));
  }
  {
    absl::MutexLock lock(&mu_);
    component_id_ = response.component_id();
    ++generation_;
    if (response.heartbeat_interval_ms() > 0) {
      heartbeat_interval_ = absl::Milliseconds(response.heartbeat_interval_ms());
    }
    // The coordinator put this id's unfinished groups back in line; pending
    // completions are still sent: a late one takes its group off that line.
    Log()->info("registered with the coordinator at {} as {} (registration {})",
                options_.coordinator, component_id_, generation_);
  }
  Absorb(response.directives(), /*ok=*/true);
  if (options_.on_registered) options_.on_registered(response.component_id(), registrations());
  return absl::OkStatus();
}

absl::Status CoordinatorClient::Reregister(int64_t generation) {
  absl::MutexLock serial(&register_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (generation_ != generation) return absl::OkStatus();  // another thread did it
  }
  return RegisterOnce();
}

void CoordinatorClient::Absorb(const pb::Directives& directives, bool ok) {
  absl::MutexLock lock(&mu_);
  connected_ = ok;
  directives_ = directives;
  if (!google::protobuf::util::MessageDifferencer::Equals(directives_, dispatched_)) {
    dispatch_pending_ = true;
  }
}

grpc::Status CoordinatorClient::CallWithReregister(
    const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  for (int attempt = 0;; ++attempt) {
    int64_t generation;
    {
      absl::MutexLock lock(&mu_);
      generation = generation_;
    }
    grpc::ClientContext context;
    SetDeadline(context, options_.rpc_timeout);
    grpc::Status status = call(context);
    if (attempt == 0 && MustRegister(context, status)) {
      Log()->warn("coordinator: {}; registering again", status.error_message());
      absl::Status again = Reregister(generation);
      if (!again.ok()) return ToGrpcStatus(again);
      continue;
    }
    if (Transient(status.error_code())) MarkDisconnected(status);
    return status;
  }
}

void CoordinatorClient::Beat() {
  pb::HeartbeatRequest request;
  int64_t generation;
  std::vector<std::string> sent;
  {
    absl::MutexLock lock(&mu_);
    request.set_component_id(component_id_);
    *request.mutable_load() = load_;
    sent.swap(completed_);
    for (const std::string& id : sent) request.add_completed_group_ids(id);
    generation = generation_;
  }
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  pb::HeartbeatResponse response;
  grpc::Status status = stub_->Heartbeat(&context, request, &response);
  if (status.ok()) {
    bool was_connected;
    {
      absl::MutexLock lock(&mu_);
      was_connected = connected_;
    }
    if (!was_connected) Log()->info("coordinator at {} answers again", options_.coordinator);
    Absorb(response.directives(), /*ok=*/true);
    return;
  }
  if (MustRegister(context, status)) {
    Log()->warn("coordinator: {}; registering again", status.error_message());
    absl::Status again = Reregister(generation);
    if (!again.ok()) Log()->warn("{}", again.ToString());
    return;
  }
  MarkDisconnected(status);
  absl::MutexLock lock(&mu_);
  // Send them again on the next beat.
  completed_.insert(completed_.begin(), sent.begin(), sent.end());
  if (completed_.size() > kMaxPendingCompletions) {
    completed_.erase(completed_.begin(),
                     completed_.begin() + (completed_.size() - kMaxPendingCompletions));
  }
}

void CoordinatorClient::MarkDisconnected(const grpc::Status& status) {
  bool was_connected;
  {
    absl::MutexLock lock(&mu_);
    was_connected = connected_;
    connected_ = false;
  }
  if (!was_connected) return;
  absl::Status s = FromGrpcStatus(status);
  Log()->warn("the coordinator at {} does not answer: {} (keeping the last directives)",
              options_.coordinator, s.ToString());
  if (options_.on_disconnected) options_.on_disconnected(s);
}

void CoordinatorClient::DispatchListeners() {
  std::vector<std::shared_ptr<Listener>> to_call;
  pb::Directives directives;
  {
    absl::MutexLock lock(&mu_);
    if (!dispatch_pending_) return;
    dispatch_pending_ = false;
    directives = directives_;
    const bool changed =
        !google::protobuf::util::MessageDifferencer::Equals(directives, dispatched_);
    dispatched_ = directives;
    for (const auto& l : listeners_) {
      if (changed || !l->called) to_call.push_back(l);
      l->called = true;
    }
  }
  for (const auto& l : to_call) l->fn(directives);
}

void CoordinatorClient::Loop() {
  absl::MutexLock lock(&mu_);
  absl::Time next_beat = absl::Now() + heartbeat_interval_;
  while (!stop_) {
    auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stop_ || dispatch_pending_ || beat_soon_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&wake), next_beat);
    if (stop_) break;
    const bool due = beat_soon_ || absl::Now() >= next_beat;
    beat_soon_ = false;
    mu_.Unlock();
    if (due) Beat();
    DispatchListeners();
    mu_.Lock();
    if (due) next_beat = absl::Now() + heartbeat_interval_;
  }
}

void CoordinatorClient::AddListener(DirectivesListener listener) {
  absl::MutexLock lock(&mu_);
  listeners_.push_back(std::make_shared<Listener>(Listener{std::move(listener), false}));
  dispatch_pending_ = true;
}

std::string CoordinatorClient::component_id() const {
  absl::MutexLock lock(&mu_);
  return component_id_;
}

pb::Directives CoordinatorClient::directives() const {
  absl::MutexLock lock(&mu_);
  return directives_;
}

int32_t CoordinatorClient::MaxTurnsFor(const std::string& env) const {
  absl::MutexLock lock(&mu_);
  return HorizonFor(directives_.horizon(), env);
}

int64_t CoordinatorClient::policy_version() const {
  absl::MutexLock lock(&mu_);
  return directives_.policy_version();
}

bool CoordinatorClient::paused() const {
  absl::MutexLock lock(&mu_);
  return directives_.paused();
}

int64_t CoordinatorClient::registrations() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

bool CoordinatorClient::connected() const {
  absl::MutexLock lock(&mu_);
  return connected_;
}

void CoordinatorClient::SetLoad(pb::ComponentLoad load) {
  absl::MutexLock lock(&mu_);
  load_ = std::move(load);
}

void CoordinatorClient::BeatSoon() {
  absl::MutexLock lock(&mu_);
  beat_soon_ = true;
}

void CoordinatorClient::CompleteGroups(const std::vector<std::string>& group_ids) {
  absl::MutexLock lock(&mu_);
  completed_.insert(completed_.end(), group_ids.begin(), group_ids.end());
}

absl::StatusOr<pb::GetTasksResponse> CoordinatorClient::GetTasks(
    int32_t num_groups, int32_t group_size, const std::vector<std::string>& envs) {
  pb::GetTasksResponse response;
  std::vector<std::string> sent;
  int64_t generation = 0;
  grpc::Status status = CallWithReregister([&](grpc::ClientContext& context) {
    pb::GetTasksRequest request;
    {
      absl::MutexLock lock(&mu_);
      request.set_component_id(component_id_);
      generation = generation_;
      sent.insert(sent.end(), completed_.begin(), completed_.end());
      completed_.clear();
    }
    request.set_num_groups(num_groups);
    request.set_group_size(group_size);
    for (const std::string& env : envs) request.add_envs(env);
    for (const std::string& id : sent) request.add_completed_group_ids(id);
    response.Clear();
    return stub_->GetTasks(&context, request, &response);
  });
  if (!status.ok()) {
    if (Transient(status.error_code())) {
      absl::MutexLock lock(&mu_);
      if (generation_ == generation) completed_.insert(completed_.begin(), sent.begin(), sent.end());
    }
    return FromGrpcStatus(status);
  }
  Absorb(response.directives(), /*ok=*/true);
  return response;
}

absl::StatusOr<pb::ReportProgressResponse> CoordinatorClient::ReportProgress(
    pb::ReportProgressRequest request) {
  pb::ReportProgressResponse response;
  grpc::Status status = CallWithReregister([&](grpc::ClientContext& context) {
    request.set_component_id(component_id());
    response.Clear();
    return stub_->ReportProgress(&context, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  Absorb(response.directives(), /*ok=*/true);
  return response;
}

absl::StatusOr<pb::CurriculumState> CoordinatorClient::GetCurriculumState() {
  pb::CurriculumState state;
  grpc::Status status = CallWithReregister([&](grpc::ClientContext& context) {
    return stub_->GetCurriculumState(&context, pb::GetCurriculumStateRequest(), &state);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return state;
}

absl::StatusOr<pb::Horizon> CoordinatorClient::RestoreCurriculumState(
    const pb::CurriculumState& state) {
  pb::RestoreCurriculumStateRequest request;
  *request.mutable_state() = state;
  pb::RestoreCurriculumStateResponse response;
  grpc::Status status = CallWithReregister([&](grpc::ClientContext& context) {
    return stub_->RestoreCurriculumState(&context, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return response.horizon();
}

bool CoordinatorClient::WaitFor(const std::function<bool(const pb::Directives&)>& ready,
                                absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto holds = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return ready(directives_); };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

void CoordinatorClient::Close() {
  bool deregister;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    stop_ = true;
    // Without an answering coordinator the lease simply lapses; do not wait
    // on a dead address at shutdown.
    deregister = options_.deregister_on_close && generation_ > 0 && connected_;
  }
  if (thread_.joinable()) thread_.join();
  if (!deregister) return;
  // Deregistering puts unfinished groups back in line: report the finished
  // ones first so they are not handed out again, and the latest load with
  // them (an actor's final counts are what the run's accounting keeps).
  Beat();
  pb::DeregisterRequest request;
  request.set_component_id(component_id());
  grpc::ClientContext context;
  SetDeadline(context, options_.rpc_timeout);
  pb::DeregisterResponse response;
  grpc::Status status = stub_->Deregister(&context, request, &response);
  if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
    Log()->warn("deregister {} from the coordinator at {}: {}", request.component_id(),
                options_.coordinator, status.error_message());
  }
}

}  // namespace agentgym::scheduler
