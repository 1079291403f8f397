// CoordinatorService: run status (GetStatus, WatchStatus) and the metrics
// that mirror it.

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "scheduler/coordinator_internal.h"
#include "scheduler/coordinator_service.h"

namespace agentgym::scheduler {

pb::RunStatus CoordinatorService::StatusLocked() const {
  const absl::Time now = clock_->Now();
  pb::RunStatus status;
  progress_.Fill(status);
  *status.mutable_accounting() = accounting_.Combine(status.accounting());
  status.set_paused(paused_);
  *status.mutable_horizon() = curriculum_.HorizonProto();
  std::string learner = registry_.LearnerAddress();
  status.set_learner_address(learner.empty() ? options_.learner_address : learner);
  std::string rendezvous = registry_.RendezvousAddress();
  status.set_rendezvous_address(rendezvous.empty() ? options_.rendezvous_address : rendezvous);
  status.set_status_unix_ms(absl::ToUnixMillis(now));
  status.set_uptime_ms(absl::ToInt64Milliseconds(now - started_));
  status.set_status_revision(revision_);

  // Every configured env appears, with its current horizon, even before the
  // first report mentions it.
  std::map<std::string, pb::EnvWindowStats*> envs;
  for (auto& e : *status.mutable_envs()) envs[e.env()] = &e;
  for (const std::string& env : sampler_.EnvNames()) {
    if (envs.count(env) == 0) {
      pb::EnvWindowStats* e = status.add_envs();
      e->set_env(env);
      envs[env] = e;
    }
  }
  for (auto& e : *status.mutable_envs()) {
    e.set_max_turns(curriculum_.MaxTurnsFor(e.env()));
    const bool held = unverified_.count(e.env()) > 0;
    const bool refused = refused_.count(e.env()) > 0;
    const size_t tasks = sampler_.TasksOf(e.env()).size();
    e.set_train_tasks(held || refused ? 0 : static_cast<int64_t>(tasks));
    e.set_tasks_state(refused ? "refused" : (held || tasks == 0) ? "waiting" : "ready");
    if (auto fit = curriculum_.FitTurnsFor(e.env()); fit && !held && !refused) {
      TaskSampler::FitCount n = sampler_.CountFitting(e.env(), *fit);
      e.set_tasks_fitting_horizon(n.fitting);
      e.set_tasks_unknown_length(n.unknown);
    }
  }

  struct Usage {
    int64_t episodes = 0, errors = 0;
  };
  std::map<std::string, Usage> usage;  // by env server address
  double idle_sum = 0;
  int idle_count = 0;
  // Every field a client sends is capped (request_limits.h), so one
  // component is at most a few hundred KB; listing them up to this budget
  // keeps the whole status far below gRPC's default 4 MB client limit.
  constexpr size_t kComponentBytes = 1536 * 1024;
  constexpr size_t kMaxEnvServersListed = 1024;
  size_t listed_bytes = 0;
  int64_t omitted = 0;
  for (const Component* c : registry_.List()) {
    if (c->role == pb::ROLE_ACTOR) {
      // Counts are cumulative per actor, so a lapsed actor's still count.
      for (const auto& u : c->load.env_usage()) {
        usage[u.address()].episodes += u.episodes();
        usage[u.address()].errors += u.env_errors();
      }
      if (c->health == pb::HEALTH_UP && c->load.has_idle_ratio()) {
        idle_sum += c->load.idle_ratio();
        ++idle_count;
      }
    }
    if (c->role == pb::ROLE_ENV_SERVER) usage[c->address];  // listed even when unused
    if (listed_bytes >= kComponentBytes) {
      ++omitted;
      continue;
    }
    pb::ComponentStatus* s = status.add_components();
    s->set_component_id(c->id);
    s->set_role(c->role);
    s->set_address(c->address);
    s->set_name(c->name);
    *s->mutable_capabilities() = c->capabilities;
    s->set_health(c->health);
    s->set_last_heartbeat_unix_ms(absl::ToUnixMillis(c->last_heartbeat));
    s->set_heartbeat_age_ms(absl::ToInt64Milliseconds(now - c->last_heartbeat));
    s->set_registered_unix_ms(absl::ToUnixMillis(c->registered));
    *s->mutable_load() = c->load;
    if (auto it = outstanding_.find(c->id); it != outstanding_.end()) {
      s->set_outstanding_groups(static_cast<int64_t>(it->second.groups.size()));
    }
    const std::string prefix = c->name.empty() ? c->id : c->name;
    for (const auto& [queue, depth] : c->load.queue_depths()) {
      (*status.mutable_queue_depths())[absl::StrCat(prefix, "/", queue)] = depth;
    }
    listed_bytes += s->ByteSizeLong();
  }
  status.set_components_omitted(omitted);
  status.set_rollout_idle_ratio(idle_count > 0 ? idle_sum / idle_count : -1);
  // Groups of lapsed actors waiting for an actor that asks their size.
  if (!reassign_.empty()) {
    (*status.mutable_queue_depths())["coordinator/reassign"] =
        static_cast<int64_t>(reassign_.size());
  }
  std::map<std::string, pb::Health> server_health;  // by address; UP wins over DOWN
  for (const Component* c : registry_.List()) {
    if (c->role != pb::ROLE_ENV_SERVER) continue;
    auto [it, fresh] = server_health.emplace(c->address, c->health);
    if (!fresh && c->health == pb::HEALTH_UP) it->second = c->health;
  }
  int64_t servers_omitted = 0;
  for (const auto& [address, u] : usage) {
    if (static_cast<size_t>(status.env_servers_size()) >= kMaxEnvServersListed) {
      ++servers_omitted;
      continue;
    }
    pb::EnvServerHealth* h = status.add_env_servers();
    h->set_address(address);
    h->set_episodes(u.episodes);
    h->set_env_errors(u.errors);
    h->set_error_rate(u.episodes > 0 ? static_cast<double>(u.errors) / u.episodes : 0.0);
    auto health = server_health.find(address);
    h->set_health(health == server_health.end() ? pb::HEALTH_UNSPECIFIED : health->second);
  }
  status.set_env_servers_omitted(servers_omitted);
  const auto& history = curriculum_.history();
  size_t first = history.size() > 10 ? history.size() - 10 : 0;
  for (size_t i = first; i < history.size(); ++i) *status.add_recent_stage_changes() = history[i];
  *status.mutable_curriculum_guard() = curriculum_.guard_status();
  return status;
}

void CoordinatorService::UpdateMetricsLocked(const pb::RunStatus& s) {
  metrics::Registry& m = *metrics_;
  m.GetGauge("agentgym_training_step", "Last training step reported")->Set(s.training_step());
  m.GetGauge("agentgym_policy_version", "Current policy version")->Set(s.policy_version());
  m.GetGauge("agentgym_paused", "1 while the run is paused")->Set(s.paused() ? 1 : 0);
  for (const auto& t : s.horizon().tracks()) {
    metrics::Labels env = {{"env", t.env().empty() ? "(default)" : t.env()}};
    m.GetGauge("agentgym_horizon_max_turns", "Current horizon (max turns per episode)", env)
        ->Set(t.max_turns());
    m.GetGauge("agentgym_horizon_stage", "Current horizon stage index", env)->Set(t.stage());
  }
  std::map<std::string, int> up = {{"env_server", 0}, {"actor", 0}, {"learner", 0}};
  for (const auto& c : s.components()) {
    if (c.health() == pb::HEALTH_UP) ++up[RoleName(c.role())];
  }
  for (const auto& [role, count] : up) {
    m.GetGauge("agentgym_components_up", "Registered components with a live lease",
               {{"role", role}})
        ->Set(count);
  }
  const pb::Accounting& a = s.accounting();
  const char* help = "Trajectory accounting (cumulative, actors and learner together)";
  for (auto [outcome, v] : {std::pair<const char*, int64_t>{"produced", a.produced()},
                            {"trained", a.trained()},
                            {"stale", a.stale()},
                            {"rejected", a.rejected()},
                            {"env_error", a.env_error()},
                            {"dropped", a.dropped()},
                            {"in_flight", a.in_flight()}}) {
    m.GetGauge("agentgym_trajectories", help, {{"outcome", outcome}})->Set(static_cast<double>(v));
  }
  m.GetGauge("agentgym_trajectories_per_second", "Trained trajectories per second (window)")
      ->Set(s.trajectories_per_s());
  m.GetGauge("agentgym_tokens_per_second", "Trained tokens per second (window)")
      ->Set(s.tokens_per_s());
  m.GetGauge("agentgym_staleness_mean", "Mean policy lag of trained trajectories (window)")
      ->Set(s.staleness_mean());
  m.GetGauge("agentgym_trainer_idle_ratio", "Trainer idle ratio; -1 before the first report")
      ->Set(s.trainer_idle_ratio());
  m.GetGauge("agentgym_rollout_idle_ratio", "Mean actor idle ratio; -1 when none reported")
      ->Set(s.rollout_idle_ratio());
  m.GetGauge("agentgym_weight_sync_latency_ms", "Last weight-sync latency; -1 before any")
      ->Set(s.weight_sync_latency_ms());
  for (const auto& e : s.envs()) {
    if (e.episodes() == 0) continue;
    m.GetGauge("agentgym_env_success_rate", "Success rate per env (window)", {{"env", e.env()}})
        ->Set(e.success_rate());
    m.GetGauge("agentgym_env_mean_reward", "Mean episode reward per env (window)",
               {{"env", e.env()}})
        ->Set(e.mean_reward());
  }
  for (const auto& h : s.env_servers()) {
    m.GetGauge("agentgym_env_server_error_rate", "Env errors per episode, per env server",
               {{"address", h.address()}})
        ->Set(h.error_rate());
  }
}

grpc::Status CoordinatorService::GetStatus(grpc::ServerContextBase*, const pb::GetStatusRequest*,
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
  if (req->min_interval_ms() > 0 && req->max_interval_ms() > 0 &&
      req->min_interval_ms() > req->max_interval_ms()) {
    return Invalid(absl::StrCat("watch_status: min_interval_ms (", req->min_interval_ms(),
                                ") must not exceed max_interval_ms (", req->max_interval_ms(), ")"));
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
  // A watcher must be able to tell "the coordinator went away" from "done".
  if (shutting_down_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down");
  }
  return grpc::Status::OK;
}

}  // namespace agentgym::scheduler
