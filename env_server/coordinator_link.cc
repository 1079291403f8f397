#include "env_server/coordinator_link.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/net_address.h"

namespace agentgym::env {
namespace {

auto Log() { return GetLogger("env_server"); }

} // namespace

absl::StatusOr<std::unique_ptr<CoordinatorLink>>
CoordinatorLink::Start(CoordinatorLinkOptions options) {
  if (options.coordinator.empty()) {
    return absl::InvalidArgumentError("--coordinator: no coordinator address");
  }
  if (options.advertise.empty()) {
    return absl::InvalidArgumentError(
        "--advertise: the env server needs an address to register");
  }
  if (auto parsed = ParseHostPort(options.advertise, /*min_port=*/1);
      !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--advertise '", options.advertise, "': ", parsed.status().message()));
  }
  if (options.heartbeat_interval <= absl::ZeroDuration() ||
      options.rpc_timeout <= absl::ZeroDuration() ||
      options.retry_interval <= absl::ZeroDuration() ||
      options.attempt_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "coordinator link: intervals and timeouts must be > 0");
  }
  // A bad CA, key or token file is the operator's to fix: say so now
  // instead of retrying the registration forever.
  if (auto creds = MakeChannelCredentials(options.security); !creds.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "toward the coordinator: ", creds.status().message()));
  }
  if (options.name.empty())
    options.name = absl::StrCat("env-server@", options.advertise);
  std::unique_ptr<CoordinatorLink> link(
      new CoordinatorLink(std::move(options)));
  link->thread_ = std::thread([l = link.get()] { l->Run(); });
  return link;
}

CoordinatorLink::~CoordinatorLink() { Close(); }

scheduler::pb::ComponentLoad CoordinatorLink::Load() const {
  scheduler::pb::ComponentLoad load;
  if (options_.open_sessions) {
    (*load.mutable_queue_depths())["open_sessions"] = options_.open_sessions();
  }
  return load;
}

void CoordinatorLink::Run() {
  scheduler::CoordinatorClientOptions o;
  o.coordinator = options_.coordinator;
  o.security = options_.security;
  o.registration.set_role(scheduler::pb::ROLE_ENV_SERVER);
  o.registration.set_address(options_.advertise);
  o.registration.set_name(options_.name);
  for (const std::string &env : options_.envs)
    o.registration.mutable_capabilities()->add_envs(env);
  o.registration.mutable_capabilities()->set_max_sessions(
      options_.max_sessions);
  o.rpc_timeout = options_.rpc_timeout;
  o.connect_timeout = options_.attempt_window;
  o.retry_interval = std::min(options_.retry_interval, options_.attempt_window);
  o.heartbeat_interval = options_.heartbeat_interval;
  o.max_reconnect_backoff = absl::Seconds(2);
  o.on_registered = [coordinator = options_.coordinator,
                     hook = options_.on_registered](const std::string &id,
                                                    int64_t n) {
    Log()->info("registered with the coordinator at {} as {} (registration {})",
                coordinator, id, n);
    if (hook)
      hook(id, n);
  };
  o.on_disconnected = [coordinator =
                           options_.coordinator](const absl::Status &s) {
    Log()->warn(
        "lost the coordinator at {} ({}); serving on, will register again",
        coordinator, std::string(s.message()));
  };

  bool warned = false;
  while (!stop_.HasBeenNotified()) {
    auto client = scheduler::CoordinatorClient::Connect(o);
    if (client.ok()) {
      (*client)->SetLoad(Load());
      absl::MutexLock lock(&mu_);
      client_ = *std::move(client);
      break;
    }
    if (client.status().code() != absl::StatusCode::kUnavailable &&
        client.status().code() != absl::StatusCode::kDeadlineExceeded) {
      Log()->error(
          "the coordinator at {} refused to register this env server: {}",
          options_.coordinator, std::string(client.status().message()));
      absl::MutexLock lock(&mu_);
      gave_up_ = true;
      status_ = client.status();
      return;
    }
    if (!warned) {
      Log()->warn("no coordinator at {} yet ({}); serving anyway and retrying",
                  options_.coordinator, std::string(client.status().message()));
      warned = true;
    }
    stop_.WaitForNotificationWithTimeout(options_.retry_interval);
  }
  // Registered (or stopping): keep the reported load fresh.
  while (!stop_.WaitForNotificationWithTimeout(options_.heartbeat_interval)) {
    absl::MutexLock lock(&mu_);
    if (client_ != nullptr)
      client_->SetLoad(Load());
  }
}

bool CoordinatorLink::registered() const {
  absl::MutexLock lock(&mu_);
  return client_ != nullptr;
}

bool CoordinatorLink::WaitForRegistered(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return client_ != nullptr || gave_up_ || closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  return client_ != nullptr;
}

std::string CoordinatorLink::component_id() const {
  absl::MutexLock lock(&mu_);
  return client_ == nullptr ? "" : client_->component_id();
}

absl::Status CoordinatorLink::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

int64_t CoordinatorLink::registrations() const {
  absl::MutexLock lock(&mu_);
  return client_ == nullptr ? 0 : client_->registrations();
}

void CoordinatorLink::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_)
      return;
    closed_ = true;
  }
  stop_.Notify();
  if (thread_.joinable())
    thread_.join();
  std::unique_ptr<scheduler::CoordinatorClient> client;
  {
    absl::MutexLock lock(&mu_);
    client = std::move(client_);
  }
  if (client != nullptr) {
    client->Close(); // deregisters when the coordinator answers
    Log()->info("deregistered from the coordinator at {}",
                options_.coordinator);
  }
}

} // namespace agentgym::env
