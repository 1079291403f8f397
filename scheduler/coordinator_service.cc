#include "scheduler/coordinator_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/grpc_status.h"
#include "core/logging.h"
#include "core/status_macros.h"

namespace agentgym::scheduler {
namespace {

std::shared_ptr<spdlog::logger> Log() { return GetLogger("coordinator"); }

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

std::string TrackName(const std::string& env) { return env.empty() ? "(default)" : env; }

}  // namespace

absl::StatusOr<std::unique_ptr<CoordinatorService>> CoordinatorService::Create(
    CoordinatorOptions options, Clock* clock, metrics::Registry* metrics,
    std::unique_ptr<TaskFetcher> fetcher, metrics::JsonlWriter* jsonl) {
  if (clock == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("coordinator: clock and metrics registry are required");
  }
  if (options.max_groups_per_request <= 0 || options.max_group_size <= 0) {
    return absl::InvalidArgumentError("coordinator: request limits must be > 0");
  }
  AG_ASSIGN_OR_RETURN(Curriculum curriculum, Curriculum::Create(options.curriculum, clock));
  AG_ASSIGN_OR_RETURN(TaskSampler sampler, TaskSampler::Create(options.envs, options.sampler));
  return std::unique_ptr<CoordinatorService>(
      new CoordinatorService(std::move(options), clock, metrics, std::move(fetcher), jsonl,
                             std::move(curriculum), std::move(sampler)));
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
      progress_(options_.status_window) {
  absl::MutexLock lock(&mu_);
  UpdateMetricsLocked(StatusLocked());
}

absl::StatusOr<const Component*> CoordinatorService::CallerLocked(const std::string& id,
                                                                  pb::Role role,
                                                                  const char* rpc) const {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(rpc, ": component_id is required"));
  }
  AG_ASSIGN_OR_RETURN(const Component* c, registry_.Get(id));
  if (c->role != role) {
    return absl::FailedPreconditionError(absl::StrCat(rpc, ": component '", id, "' has role ",
                                                      RoleName(c->role), "; this call is for ",
                                                      RoleName(role), " components"));
  }
  if (c->health != pb::HEALTH_UP) {
    return absl::FailedPreconditionError(
        absl::StrCat(rpc, ": lease of component '", id, "' lapsed; register again"));
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

std::vector<std::string> CoordinatorService::EnvsNeedingTasksLocked(const Component& c) const {
  std::vector<std::string> envs;
  if (c.role != pb::ROLE_ENV_SERVER || fetcher_ == nullptr) return envs;
  for (const std::string& env : c.capabilities.envs()) {
    if (sampler_.Knows(env) && !sampler_.HasTasks(env)) envs.push_back(env);
  }
  return envs;
}

void CoordinatorService::FetchMissingTasks(const std::string& address,
                                           const std::vector<std::string>& envs) {
  for (const std::string& env : envs) {
    auto tasks = fetcher_->ListTrainTasks(address, env);
    if (!tasks.ok()) {
      Log()->warn("cannot fetch train tasks of '{}' from {}: {} (retrying on its next heartbeat)",
                  env, address, tasks.status().ToString());
      continue;
    }
    size_t count = tasks->size();
    absl::MutexLock lock(&mu_);
    if (sampler_.HasTasks(env)) continue;  // another server's fetch won
    absl::Status set = sampler_.SetTasks(env, *std::move(tasks));
    if (set.ok()) {
      Log()->info("env '{}': {} train tasks from {}", env, count, address);
      BumpLocked();
    } else {
      Log()->warn("env '{}' from {}: {}", env, address, set.ToString());
    }
  }
}

grpc::Status CoordinatorService::Register(grpc::ServerContext*, const pb::RegisterRequest* req,
                                          pb::RegisterResponse* resp) {
  std::vector<std::string> fetch;
  {
    absl::MutexLock lock(&mu_);
    auto id = registry_.Register(*req);
    if (!id.ok()) return ToGrpcStatus(id.status());
    // A component coming back under its old id starts with a clean slate.
    RequeueLocked(*id);
    const Component* c = *registry_.Get(*id);
    Log()->info("registered {} {} at '{}' ({})", RoleName(c->role), c->id, c->address, c->name);
    fetch = EnvsNeedingTasksLocked(*c);
    resp->set_component_id(*id);
    resp->set_lease_ms(absl::ToInt64Milliseconds(options_.registry.lease));
    resp->set_heartbeat_interval_ms(absl::ToInt64Milliseconds(options_.heartbeat_interval));
    BumpLocked();
  }
  if (!fetch.empty()) FetchMissingTasks(req->address(), fetch);
  absl::MutexLock lock(&mu_);
  *resp->mutable_directives() = DirectivesLocked();
  UpdateMetricsLocked(StatusLocked());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext*, const pb::HeartbeatRequest* req,
                                           pb::HeartbeatResponse* resp) {
  if (req->component_id().empty()) return Invalid("heartbeat: component_id is required");
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
    if (depth < 0) return Invalid(absl::StrCat("heartbeat: queue depth '", name, "' is negative"));
  }
  std::vector<std::string> fetch;
  std::string address;
  {
    absl::MutexLock lock(&mu_);
    absl::Status beat = registry_.Heartbeat(req->component_id(), req->has_load() ? &load : nullptr);
    if (!beat.ok()) {
      if (beat.code() == absl::StatusCode::kFailedPrecondition) {
        RequeueLocked(req->component_id());
        BumpLocked();
      }
      return ToGrpcStatus(beat);
    }
    CompleteGroupsLocked(req->component_id(), req->completed_group_ids());
    const Component* c = *registry_.Get(req->component_id());
    fetch = EnvsNeedingTasksLocked(*c);
    address = c->address;
  }
  if (!fetch.empty()) FetchMissingTasks(address, fetch);
  absl::MutexLock lock(&mu_);
  *resp->mutable_directives() = DirectivesLocked();
  resp->set_lease_ms(absl::ToInt64Milliseconds(options_.registry.lease));
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Deregister(grpc::ServerContext*,
                                            const pb::DeregisterRequest* req,
                                            pb::DeregisterResponse*) {
  if (req->component_id().empty()) return Invalid("deregister: component_id is required");
  absl::MutexLock lock(&mu_);
  auto removed = registry_.Deregister(req->component_id());
  if (!removed.ok()) return ToGrpcStatus(removed.status());
  RequeueLocked(req->component_id());
  Log()->info("deregistered {} {}", RoleName(removed->role), removed->id);
  BumpLocked();
  UpdateMetricsLocked(StatusLocked());
  return grpc::Status::OK;
}

void CoordinatorService::CompleteGroupsLocked(
    const std::string& actor, const google::protobuf::RepeatedPtrField<std::string>& ids) {
  auto it = outstanding_.find(actor);
  if (it == outstanding_.end()) return;
  for (const std::string& id : ids) it->second.groups.erase(id);
}

void CoordinatorService::RequeueLocked(const std::string& actor) {
  auto it = outstanding_.find(actor);
  if (it == outstanding_.end()) return;
  Outstanding& out = it->second;
  int64_t moved = 0;
  for (const std::string& id : out.order) {
    auto g = out.groups.find(id);
    if (g == out.groups.end()) continue;
    g->second.set_reassigned(true);
    reassign_.push_back(std::move(g->second));
    out.groups.erase(g);
    ++moved;
  }
  outstanding_.erase(it);
  if (moved > 0) {
    Log()->info("{} unfinished groups of actor {} go to other actors", moved, actor);
    metrics_->GetCounter("agentgym_task_groups_reassigned_total",
                         "Task groups handed again after their actor's lease lapsed")
        ->Increment(static_cast<double>(moved));
  }
}

std::string CoordinatorService::PickServerLocked(const std::string& env) {
  std::vector<const Component*> servers;
  for (const Component* c : registry_.Up(pb::ROLE_ENV_SERVER)) {
    const auto& envs = c->capabilities.envs();
    if (std::find(envs.begin(), envs.end(), env) != envs.end()) servers.push_back(c);
  }
  if (servers.empty()) return "";
  return servers[round_robin_[env]++ % servers.size()]->address;
}

grpc::Status CoordinatorService::GetTasks(grpc::ServerContext*, const pb::GetTasksRequest* req,
                                          pb::GetTasksResponse* resp) {
  if (req->num_groups() <= 0 || req->num_groups() > options_.max_groups_per_request) {
    return Invalid(absl::StrCat("get_tasks: num_groups must be in 1..",
                                options_.max_groups_per_request, ", got ", req->num_groups()));
  }
  if (req->group_size() <= 0 || req->group_size() > options_.max_group_size) {
    return Invalid(absl::StrCat("get_tasks: group_size must be in 1..", options_.max_group_size,
                                ", got ", req->group_size()));
  }
  absl::MutexLock lock(&mu_);
  auto caller = CallerLocked(req->component_id(), pb::ROLE_ACTOR, "get_tasks");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  std::set<std::string> wanted;
  for (const std::string& env : req->envs()) {
    if (!sampler_.Knows(env)) {
      return Invalid(absl::StrCat("get_tasks: env '", env, "' is not configured; configured: ",
                                  absl::StrJoin(sampler_.EnvNames(), ", ")));
    }
    wanted.insert(env);
  }
  CompleteGroupsLocked(req->component_id(), req->completed_group_ids());
  *resp->mutable_directives() = DirectivesLocked();
  if (paused_) {
    resp->set_paused(true);
    return grpc::Status::OK;
  }
  std::set<std::string> allowed;
  for (const std::string& env : sampler_.EnvNames()) {
    if (!wanted.empty() && wanted.count(env) == 0) continue;
    for (const Component* c : registry_.Up(pb::ROLE_ENV_SERVER)) {
      const auto& envs = c->capabilities.envs();
      if (std::find(envs.begin(), envs.end(), env) != envs.end()) allowed.insert(env);
    }
  }
  std::vector<pb::TaskGroup> groups;
  // Groups of lapsed actors go first, whole, if their env is still wanted and
  // served; their size is the one originally asked for.
  for (auto it = reassign_.begin();
       it != reassign_.end() && static_cast<int32_t>(groups.size()) < req->num_groups();) {
    if (!it->tasks().empty() && allowed.count(it->tasks(0).env()) > 0) {
      groups.push_back(std::move(*it));
      it = reassign_.erase(it);
    } else {
      ++it;
    }
  }
  int32_t fresh = req->num_groups() - static_cast<int32_t>(groups.size());
  if (fresh > 0) {
    auto sampled = sampler_.Sample(fresh, req->group_size(), allowed);
    if (!sampled.ok() && groups.empty()) return ToGrpcStatus(sampled.status());
    if (sampled.ok()) {
      for (SampledGroup& s : *sampled) {
        pb::TaskGroup g;
        g.set_group_id(s.group_id);
        for (uint64_t seed : s.seeds) {
          pb::TaskRef* t = g.add_tasks();
          t->set_env(s.env);
          t->set_task_id(s.task.task_id);
          t->set_task_type(s.task.task_type);
          t->set_seed(seed);
          t->set_group_id(s.group_id);
          t->set_epoch(s.epoch);
        }
        groups.push_back(std::move(g));
      }
    }
  }
  Outstanding& out = outstanding_[req->component_id()];
  for (pb::TaskGroup& g : groups) {
    const std::string env = g.tasks(0).env();
    const int32_t horizon = curriculum_.MaxTurnsFor(env);
    const std::string server = PickServerLocked(env);
    for (pb::TaskRef& t : *g.mutable_tasks()) {
      t.set_max_turns(horizon);
      t.set_env_server_address(server);
    }
    metrics_->GetCounter("agentgym_task_groups_handed_total", "Task groups handed to actors",
                         {{"env", env}})
        ->Increment();
    out.order.push_back(g.group_id());
    out.groups[g.group_id()] = g;
    *resp->add_groups() = std::move(g);
  }
  // Bound what one silent actor can pin: forget its oldest groups.
  while (out.groups.size() > options_.max_outstanding_per_actor && !out.order.empty()) {
    out.groups.erase(out.order.front());
    out.order.pop_front();
  }
  while (!out.order.empty() && out.groups.count(out.order.front()) == 0) out.order.pop_front();
  return grpc::Status::OK;
}

void CoordinatorService::RecordStageChangesLocked(const std::vector<pb::StageChange>& changes) {
  for (const pb::StageChange& c : changes) {
    Log()->info("horizon track {}: stage {} -> {} (max turns {} -> {}) at step {} ({})",
                TrackName(c.env()), c.from_stage(), c.to_stage(), c.from_max_turns(),
                c.to_max_turns(), c.step(), c.reason());
    metrics_->GetCounter("agentgym_curriculum_stage_changes_total", "Horizon stage changes",
                         {{"env", TrackName(c.env())}, {"reason", c.reason()}})
        ->Increment();
    if (jsonl_ != nullptr) {
      nlohmann::json event = {{"event", "stage_change"},  {"env", TrackName(c.env())},
                              {"from_stage", c.from_stage()}, {"to_stage", c.to_stage()},
                              {"from_max_turns", c.from_max_turns()},
                              {"to_max_turns", c.to_max_turns()},
                              {"step", c.step()},          {"unix_ms", c.unix_ms()},
                              {"reason", c.reason()}};
      absl::Status written = jsonl_->WriteObject(event);
      if (!written.ok()) Log()->warn("{}", written.ToString());
    }
  }
  if (!changes.empty()) BumpLocked();
}

grpc::Status CoordinatorService::ReportProgress(grpc::ServerContext*,
                                                const pb::ReportProgressRequest* req,
                                                pb::ReportProgressResponse* resp) {
  absl::Status valid = ProgressWindow::Validate(*req);
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::MutexLock lock(&mu_);
  auto caller = CallerLocked(req->component_id(), pb::ROLE_LEARNER, "report_progress");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (req->step() < progress_.step()) {
    Log()->warn("training step went back from {} to {}: the learner resumed from a checkpoint",
                progress_.step(), req->step());
  }
  progress_.Add(*req, clock_->Now());
  Curriculum::StepSuccess success;
  for (const pb::EnvStats& e : req->env_stats()) {
    auto& s = success[e.env()];
    s.first += e.episodes();
    s.second += e.successes();
  }
  std::vector<pb::StageChange> changes = curriculum_.OnProgress(req->step(), success);
  RecordStageChangesLocked(changes);
  BumpLocked();
  pb::RunStatus status = StatusLocked();
  UpdateMetricsLocked(status);
  if (jsonl_ != nullptr) {
    nlohmann::json extra = {{"policy_version", status.policy_version()},
                            {"horizon_revision", status.horizon().revision()}};
    for (const auto& t : status.horizon().tracks()) {
      extra["horizon"][TrackName(t.env())] = {{"stage", t.stage()}, {"max_turns", t.max_turns()}};
    }
    absl::Status written = jsonl_->Write(req->step(), *metrics_, extra);
    if (!written.ok()) Log()->warn("{}", written.ToString());
  }
  *resp->mutable_directives() = DirectivesLocked();
  for (auto& c : changes) *resp->add_stage_changes() = std::move(c);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::SetHorizon(grpc::ServerContext*,
                                            const pb::SetHorizonRequest* req,
                                            pb::SetHorizonResponse* resp) {
  std::optional<int32_t> stage, max_turns;
  if (req->target_case() == pb::SetHorizonRequest::kStage) stage = req->stage();
  if (req->target_case() == pb::SetHorizonRequest::kMaxTurns) max_turns = req->max_turns();
  absl::MutexLock lock(&mu_);
  auto changes = curriculum_.SetHorizon(req->env(), stage, max_turns, req->release());
  if (!changes.ok()) return ToGrpcStatus(changes.status());
  RecordStageChangesLocked(*changes);
  UpdateMetricsLocked(StatusLocked());
  *resp->mutable_horizon() = curriculum_.HorizonProto();
  for (auto& c : *changes) *resp->add_stage_changes() = std::move(c);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Pause(grpc::ServerContext*, const pb::PauseRequest* req,
                                       pb::PauseResponse* resp) {
  absl::MutexLock lock(&mu_);
  resp->set_was_paused(paused_);
  if (!paused_) {
    Log()->info("run paused{}{}", req->reason().empty() ? "" : ": ", req->reason());
    paused_ = true;
    BumpLocked();
    UpdateMetricsLocked(StatusLocked());
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Resume(grpc::ServerContext*, const pb::ResumeRequest*,
                                        pb::ResumeResponse* resp) {
  absl::MutexLock lock(&mu_);
  resp->set_was_paused(paused_);
  if (paused_) {
    Log()->info("run resumed");
    paused_ = false;
    BumpLocked();
    UpdateMetricsLocked(StatusLocked());
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetCurriculumState(grpc::ServerContext*,
                                                    const pb::GetCurriculumStateRequest*,
                                                    pb::CurriculumState* resp) {
  absl::MutexLock lock(&mu_);
  *resp = curriculum_.State();
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::RestoreCurriculumState(
    grpc::ServerContext*, const pb::RestoreCurriculumStateRequest* req,
    pb::RestoreCurriculumStateResponse* resp) {
  if (!req->has_state()) return Invalid("restore_curriculum_state: state is required");
  absl::MutexLock lock(&mu_);
  auto changes = curriculum_.Restore(req->state());
  if (!changes.ok()) return ToGrpcStatus(changes.status());
  Log()->info("curriculum restored at step {}", req->state().step());
  RecordStageChangesLocked(*changes);
  UpdateMetricsLocked(StatusLocked());
  *resp->mutable_horizon() = curriculum_.HorizonProto();
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
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
}

pb::RunStatus CoordinatorService::Status() {
  absl::MutexLock lock(&mu_);
  return StatusLocked();
}

size_t CoordinatorService::reassign_queue_size() {
  absl::MutexLock lock(&mu_);
  return reassign_.size();
}

grpc::Status CoordinatorService::GetStatus(grpc::ServerContext*, const pb::GetStatusRequest*,
                                           pb::RunStatus* resp) {
  absl::MutexLock lock(&mu_);
  *resp = StatusLocked();
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::WatchStatus(grpc::ServerContext* context,
                                             const pb::WatchStatusRequest* req,
                                             grpc::ServerWriter<pb::RunStatus>* writer) {
  if (req->min_interval_ms() < 0 || req->max_interval_ms() < 0) {
    return Invalid("watch_status: intervals must be >= 0");
  }
  const absl::Duration min_interval =
      absl::Milliseconds(req->min_interval_ms() > 0 ? req->min_interval_ms() : 200);
  const absl::Duration max_interval = std::max(
      min_interval, absl::Milliseconds(req->max_interval_ms() > 0 ? req->max_interval_ms() : 5000));
  // Waits use real time: this paces a network stream, not the run's logic.
  // They wake every 100 ms at most to notice a cancelled stream.
  constexpr absl::Duration kPoll = absl::Milliseconds(100);
  absl::MutexLock lock(&mu_);
  while (!shutting_down_ && !context->IsCancelled()) {
    pb::RunStatus status = StatusLocked();
    const int64_t sent_revision = revision_;
    mu_.Unlock();
    bool ok = writer->Write(status);
    mu_.Lock();
    if (!ok) break;  // the client went away
    const absl::Time earliest = absl::Now() + min_interval;
    const absl::Time latest = absl::Now() + max_interval;
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return shutting_down_; };
    while (absl::Now() < earliest && !context->IsCancelled()) {
      if (mu_.AwaitWithTimeout(absl::Condition(&stop),
                               std::min(kPoll, earliest - absl::Now()))) {
        break;
      }
    }
    auto changed = [this, sent_revision]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return shutting_down_ || revision_ != sent_revision;
    };
    while (absl::Now() < latest && !context->IsCancelled()) {
      if (mu_.AwaitWithTimeout(absl::Condition(&changed), std::min(kPoll, latest - absl::Now()))) {
        break;
      }
    }
  }
  return grpc::Status::OK;
}

}  // namespace agentgym::scheduler
