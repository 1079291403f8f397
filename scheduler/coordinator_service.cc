// CoordinatorService: construction, the registry RPCs (Register, Heartbeat,
// Deregister), lease reaping and the task-fetch worker. Tasks live in
// coordinator_tasks.cc, progress and control in coordinator_control.cc,
// status in coordinator_status.cc.
#include "scheduler/coordinator_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/grpc_status.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "scheduler/coordinator_internal.h"
#include "scheduler/request_limits.h"

namespace agentgym::scheduler {

absl::Status ValidateCrossReferences(const CoordinatorOptions& options) {
  std::vector<std::string> names;
  for (const EnvSpec& e : options.envs) names.push_back(e.name);
  for (const auto& [env, track] : options.curriculum.per_env) {
    if (std::find(names.begin(), names.end(), env) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "curriculum.per_env.", env, ": env '", env, "' is not in envs (configured: ",
          absl::StrJoin(names, ", "),
          "); a track for an env the run does not train never applies: fix the name or remove "
          "the track"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CoordinatorService>> CoordinatorService::Create(
    CoordinatorOptions options, Clock* clock, metrics::Registry* metrics,
    std::unique_ptr<TaskFetcher> fetcher, metrics::JsonlWriter* jsonl) {
  if (clock == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("coordinator: clock and metrics registry are required");
  }
  if (options.max_groups_per_request <= 0 || options.max_group_size <= 0) {
    return absl::InvalidArgumentError("coordinator: request limits must be > 0");
  }
  AG_RETURN_IF_ERROR(ValidateCrossReferences(options));
  AG_ASSIGN_OR_RETURN(Curriculum curriculum, Curriculum::Create(options.curriculum, clock));
  AG_ASSIGN_OR_RETURN(TaskSampler sampler, TaskSampler::Create(options.envs, options.sampler));
  std::unique_ptr<CoordinatorService> service(
      new CoordinatorService(std::move(options), clock, metrics, std::move(fetcher), jsonl,
                             std::move(curriculum), std::move(sampler)));
  {
    absl::MutexLock lock(&service->mu_);
    if (service->fetcher_ != nullptr && service->options_.verify_config_tasks) {
      for (const EnvSpec& e : service->options_.envs) {
        if (!e.tasks.empty()) service->unverified_.insert(e.name);
      }
    }
    AG_RETURN_IF_ERROR(service->LoadStateLocked());
    if (!service->options_.state_file.empty()) {
      absl::Status writable = service->WriteStateLocked();
      if (!writable.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat(writable.message(),
                         "; the coordinator saves its curriculum there (coordinator.state_file, "
                         "--state-file): fix the path or its permissions"));
      }
    }
    service->UpdateMetricsLocked(service->StatusLocked());
  }
  if (service->fetcher_ != nullptr) {
    service->fetch_thread_ = std::thread([s = service.get()] { s->FetchLoop(); });
  }
  return service;
}

CoordinatorService::CoordinatorService(CoordinatorOptions options, Clock* clock,
                                       metrics::Registry* metrics,
                                       std::unique_ptr<TaskFetcher> fetcher,
                                       metrics::JsonlWriter* jsonl, Curriculum curriculum,
                                       TaskSampler sampler)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      fetcher_(std::move(fetcher)),
      jsonl_(jsonl),
      started_(clock->Now()),
      registry_(options_.registry, clock),
      curriculum_(std::move(curriculum)),
      sampler_(std::move(sampler)),
      progress_(options_.status_window) {}

CoordinatorService::~CoordinatorService() { Shutdown(); }

absl::StatusOr<const Component*> CoordinatorService::CallerLocked(const std::string& id,
                                                                  pb::Role role,
                                                                  const char* rpc) const {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(rpc, ": component_id is required"));
  }
  AG_ASSIGN_OR_RETURN(const Component* c, registry_.Get(id));
  if (c->role != role) {
    return absl::FailedPreconditionError(absl::StrCat(rpc, ": component '", Quote(id), "' has role ",
                                                      RoleName(c->role), "; this call is for ",
                                                      RoleName(role), " components"));
  }
  if (c->health != pb::HEALTH_UP) {
    return MarkRegisterAgain(absl::FailedPreconditionError(
        absl::StrCat(rpc, ": lease of component '", Quote(id), "' lapsed; ", kRegisterAgainHint)));
  }
  return c;
}

pb::Directives CoordinatorService::DirectivesLocked() const {
  pb::Directives d;
  d.set_training_step(progress_.step());
  d.set_policy_version(progress_.policy_version());
  d.set_paused(paused_);
  std::string learner = registry_.LearnerAddress();
  d.set_learner_address(learner.empty() ? options_.learner_address : learner);
  std::string rendezvous = registry_.RendezvousAddress();
  d.set_rendezvous_address(rendezvous.empty() ? options_.rendezvous_address : rendezvous);
  *d.mutable_horizon() = curriculum_.HorizonProto();
  for (const Component* c : registry_.Up(pb::ROLE_ENV_SERVER)) {
    pb::EnvServer* s = d.add_env_servers();
    s->set_component_id(c->id);
    s->set_address(c->address);
    *s->mutable_envs() = c->capabilities.envs();
    s->set_health(c->health);
  }
  return d;
}

void CoordinatorService::QueueTaskFetchesLocked(const Component& c) {
  if (c.role != pb::ROLE_ENV_SERVER || fetcher_ == nullptr || shutting_down_) return;
  for (const std::string& env : c.capabilities.envs()) {
    if (!sampler_.Knows(env) || fetching_.count(env) > 0 || refused_.count(env) > 0) continue;
    if (sampler_.HasTasks(env) && unverified_.count(env) == 0) continue;
    fetching_.insert(env);
    fetch_queue_.push_back(Fetch{c.address, env});
  }
}

void CoordinatorService::FetchLoop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return shutting_down_ || !fetch_queue_.empty();
    };
    mu_.Await(absl::Condition(&ready));
    if (shutting_down_) break;
    Fetch job = std::move(fetch_queue_.front());
    fetch_queue_.pop_front();
    mu_.Unlock();
    auto tasks = fetcher_->ListTrainTasks(job.address, job.env);
    mu_.Lock();
    fetching_.erase(job.env);
    TakeFetchedLocked(job.address, job.env, std::move(tasks));
  }
  fetch_queue_.clear();
  fetching_.clear();
}

void CoordinatorService::TakeFetchedLocked(const std::string& address, const std::string& env,
                                           absl::StatusOr<std::vector<EnvTask>> tasks) {
  const bool verifying = unverified_.count(env) > 0;
  if (!tasks.ok()) {
    if (verifying && tasks.status().code() == absl::StatusCode::kUnimplemented) {
      // A server that cannot list its tasks cannot be checked against.
      Log()->warn("env '{}': the server at {} does not implement ListTasks, so its configured "
                  "task list is used unchecked ({})",
                  env, address, tasks.status().ToString());
      unverified_.erase(env);
      BumpLocked();
      return;
    }
    Log()->warn("cannot fetch train tasks of '{}' from {}: {} (retrying on its next heartbeat{})",
                env, address, tasks.status().ToString(),
                verifying ? "; its configured tasks wait for this check" : "");
    return;
  }
  if (verifying) {
    std::set<std::string> train;
    for (const EnvTask& t : *tasks) train.insert(t.task_id);
    std::vector<EnvTask> kept;
    std::vector<std::string> refused;
    for (EnvTask& t : sampler_.TasksOf(env)) {
      if (train.count(t.task_id) > 0) {
        kept.push_back(std::move(t));
      } else {
        refused.push_back(t.task_id);
      }
    }
    unverified_.erase(env);
    BumpLocked();
    if (refused.empty()) {
      Log()->info("env '{}': all {} configured tasks are train tasks of {}", env, kept.size(),
                  address);
      return;
    }
    metrics_->GetCounter("agentgym_config_tasks_refused_total",
                         "Configured task ids that are not train tasks of their env server",
                         {{"env", env}})
        ->Increment(static_cast<double>(refused.size()));
    const size_t shown = std::min<size_t>(refused.size(), 5);
    const std::string names = absl::StrCat(
        absl::StrJoin(refused.begin(), refused.begin() + shown, ", "),
        refused.size() > shown ? absl::StrCat(" and ", refused.size() - shown, " more") : "");
    if (kept.empty()) {
      refused_.insert(env);
      Log()->error("env '{}': none of its {} configured tasks is a train task of the env "
                   "server at {} (not listed by ListTasks(train): {}); the env gets no tasks: "
                   "fix its `tasks:` in the config",
                   env, refused.size(), address, names);
      return;
    }
    Log()->error("env '{}': {} configured tasks are not train tasks of the env server at {} "
                 "and are never handed out: {}",
                 env, refused.size(), address, names);
    absl::Status set = sampler_.SetTasks(env, std::move(kept));
    if (!set.ok()) Log()->warn("env '{}': {}", env, set.ToString());
    return;
  }
  if (sampler_.HasTasks(env)) return;
  const std::vector<std::string> types = sampler_.TaskTypesOf(env);
  if (!types.empty()) {
    std::set<std::string> offered;
    for (const EnvTask& t : *tasks) offered.insert(t.task_type);
    std::vector<std::string> missing;
    *tasks = FilterByTaskTypes(*std::move(tasks), types, &missing);
    if (!missing.empty()) {
      // Logged once: the list is fetched again only while the env has no tasks.
      Log()->error("env '{}': envs[].task_types names {} that the env server at {} has no "
                   "train tasks of (it offers: {}){}",
                   env, absl::StrJoin(missing, ", "), address, absl::StrJoin(offered, ", "),
                   tasks->empty() ? "; the env gets no tasks: fix its task_types in the config"
                                  : "; the other types are used");
    }
    if (tasks->empty()) {
      refused_.insert(env);
      BumpLocked();
      return;
    }
  }
  size_t count = tasks->size();
  absl::Status set = sampler_.SetTasks(env, *std::move(tasks));
  if (set.ok()) {
    Log()->info("env '{}': {} train tasks from {}", env, count, address);
    BumpLocked();
  } else {
    Log()->warn("env '{}' from {}: {}", env, address, set.ToString());
  }
}

bool CoordinatorService::WaitForTaskFetches(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return shutting_down_ || fetching_.empty();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

grpc::Status CoordinatorService::Register(grpc::ServerContextBase*, const pb::RegisterRequest* req,
                                          pb::RegisterResponse* resp) {
  if (absl::Status valid = CheckRegisterRequest(*req); !valid.ok()) return ToGrpcStatus(valid);
  absl::MutexLock lock(&mu_);
  auto id = registry_.Register(*req);
  if (!id.ok()) return ToGrpcStatus(id.status());
  // A component coming back under its old id starts with a clean slate.
  RequeueLocked(*id);
  const Component* c = *registry_.Get(*id);
  if (c->role == pb::ROLE_ACTOR) {
    auto incarnation = c->capabilities.extra().find(kIncarnationKey);
    accounting_.OnActorRegistered(
        *id, incarnation == c->capabilities.extra().end() ? "" : incarnation->second);
    SaveStateLocked();
  }
  Log()->info("registered {} {} at '{}' ({})", RoleName(c->role), c->id, c->address, c->name);
  QueueTaskFetchesLocked(*c);
  resp->set_component_id(*id);
  resp->set_lease_ms(absl::ToInt64Milliseconds(options_.registry.lease));
  resp->set_heartbeat_interval_ms(absl::ToInt64Milliseconds(options_.heartbeat_interval));
  BumpLocked();
  *resp->mutable_directives() = DirectivesLocked();
  UpdateMetricsLocked(StatusLocked());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContextBase* context,
                                           const pb::HeartbeatRequest* req,
                                           pb::HeartbeatResponse* resp) {
  if (req->component_id().empty()) return Invalid("heartbeat: component_id is required");
  if (absl::Status valid = CheckHeartbeatRequest(*req); !valid.ok()) return ToGrpcStatus(valid);
  const auto& load = req->load();
  if (load.has_idle_ratio() && (load.idle_ratio() < 0 || load.idle_ratio() > 1)) {
    return Invalid(absl::StrCat("heartbeat: idle_ratio must be in [0, 1], got ", load.idle_ratio()));
  }
  for (const auto& u : load.env_usage()) {
    if (u.episodes() < 0 || u.env_errors() < 0) {
      return Invalid("heartbeat: env_usage counts must be >= 0");
    }
  }
  for (const auto& [name, depth] : load.queue_depths()) {
    if (depth < 0) {
      return Invalid(absl::StrCat("heartbeat: queue depth '", Quote(name), "' is negative"));
    }
  }
  absl::MutexLock lock(&mu_);
  absl::Status beat = registry_.Heartbeat(req->component_id(), req->has_load() ? &load : nullptr);
  if (!beat.ok()) {
    if (beat.code() == absl::StatusCode::kFailedPrecondition) {
      RequeueLocked(req->component_id());
      // What it finished still counts: those groups need not run again.
      CompleteGroupsLocked(req->component_id(), req->completed_group_ids());
      BumpLocked();
    }
    return Reply(context, beat);
  }
  CompleteGroupsLocked(req->component_id(), req->completed_group_ids());
  const Component* c = *registry_.Get(req->component_id());
  if (c->role == pb::ROLE_ACTOR && req->has_load()) accounting_.OnActorLoad(c->id, load);
  // A learner waiting for data says how many groups it still holds ready
  // (stale ones leave its buffer between steps): the flow-control window
  // must not count groups it no longer has, or no actor would get work.
  if (c->role == pb::ROLE_LEARNER && req->has_load()) {
    if (auto it = load.queue_depths().find(kReadyGroupsDepth); it != load.queue_depths().end()) {
      learner_buffered_groups_ = it->second;
    }
    if (auto it = load.queue_depths().find(kMaxGroupsAheadDepth); it != load.queue_depths().end()) {
      max_groups_ahead_ = it->second;
    }
  }
  QueueTaskFetchesLocked(*c);
  *resp->mutable_directives() = DirectivesLocked();
  resp->set_lease_ms(absl::ToInt64Milliseconds(options_.registry.lease));
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Deregister(grpc::ServerContextBase* context,
                                            const pb::DeregisterRequest* req,
                                            pb::DeregisterResponse*) {
  if (req->component_id().empty()) return Invalid("deregister: component_id is required");
  if (absl::Status valid = CheckComponentId("deregister", req->component_id()); !valid.ok()) {
    return ToGrpcStatus(valid);
  }
  absl::MutexLock lock(&mu_);
  auto removed = registry_.Deregister(req->component_id());
  if (!removed.ok()) return Reply(context, removed.status());
  RequeueLocked(req->component_id());
  if (removed->role == pb::ROLE_ACTOR) {
    accounting_.OnActorGone(removed->id);
    SaveStateLocked();  // retired counters outlive a coordinator restart
  }
  Log()->info("deregistered {} {}", RoleName(removed->role), removed->id);
  BumpLocked();
  UpdateMetricsLocked(StatusLocked());
  return grpc::Status::OK;
}

int CoordinatorService::Reap() {
  absl::MutexLock lock(&mu_);
  std::vector<Component> lapsed = registry_.Reap();
  for (const Component& c : lapsed) {
    Log()->warn("lease of {} {} at '{}' lapsed: marked down", RoleName(c.role), c.id, c.address);
    metrics_->GetCounter("agentgym_component_leases_lapsed_total", "Leases that lapsed",
                         {{"role", RoleName(c.role)}})
        ->Increment();
    if (c.role == pb::ROLE_ACTOR) RequeueLocked(c.id);
  }
  if (!lapsed.empty()) {
    BumpLocked();
    UpdateMetricsLocked(StatusLocked());
  }
  return static_cast<int>(lapsed.size());
}

void CoordinatorService::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  if (fetch_thread_.joinable()) fetch_thread_.join();
}

pb::RunStatus CoordinatorService::Status() {
  absl::MutexLock lock(&mu_);
  return StatusLocked();
}

size_t CoordinatorService::outstanding_entries() {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [actor, out] : outstanding_) n += out.order.size() + out.groups.size();
  return n;
}

size_t CoordinatorService::reassign_queue_size() {
  absl::MutexLock lock(&mu_);
  return reassign_.size();
}

}  // namespace agentgym::scheduler
