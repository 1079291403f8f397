#include "actor/actor.h"

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/random_id.h"
#include "core/status_macros.h"
#include "policy/torch_runtime.h"

namespace agentgym::actor {

absl::StatusOr<std::unique_ptr<Actor>> Actor::Create(ActorRunOptions options) {
  auto log = GetLogger("actor");
  if (options.coordinator.empty()) return absl::InvalidArgumentError("--coordinator is required");
  if (options.actor_id.empty()) options.actor_id = RandomId("actor-").substr(0, 14);
  auto actor = std::unique_ptr<Actor>(new Actor(std::move(options)));
  const ActorRunOptions& o = actor->options_;
  const ActorConfig& c = o.config;

  AG_ASSIGN_OR_RETURN(torch::Device device, policy::ParseDevice(c.device));
  torch::ScalarType dtype = torch::kFloat32;
  if (c.dtype == "bfloat16" || c.dtype == "bf16") {
    dtype = torch::kBFloat16;
  } else if (c.dtype == "float16" || c.dtype == "fp16") {
    dtype = torch::kFloat16;
  } else if (c.dtype != "float32" && c.dtype != "fp32") {
    return absl::InvalidArgumentError(absl::StrCat("model.dtype \"", c.dtype, "\" (float32, bfloat16, float16)"));
  }
  if (c.model_dir.empty()) return absl::InvalidArgumentError("model.dir is not set (the model directory)");
  AG_ASSIGN_OR_RETURN(actor->bundle_, policy::LoadPolicyBundle(c.model_dir, device, dtype));
  log->info("loaded {} ({} parameters, vocab {}, chat {})", c.model_dir, actor->bundle_.config.NumParameters(),
            actor->bundle_.tokenizer->VocabSize(), policy::ChatFormatKindName(actor->bundle_.chat_kind));

  EnvPoolOptions pool_options;
  pool_options.timeout = absl::Milliseconds(c.env_timeout_ms);
  pool_options.security = o.security;
  actor->pool_ = std::make_unique<EnvPool>(pool_options);

  scheduler::CoordinatorClientOptions co;
  co.coordinator = o.coordinator;
  co.registration.set_role(scheduler::pb::ROLE_ACTOR);
  co.registration.set_name(o.actor_id);
  co.registration.mutable_capabilities()->set_device(c.device);
  co.connect_timeout = o.coordinator_timeout;
  co.security = o.security;
  absl::StatusOr<std::unique_ptr<scheduler::CoordinatorClient>> coordinator =
      scheduler::CoordinatorClient::Connect(co);
  if (!coordinator.ok()) {
    return absl::Status(coordinator.status().code(),
                        absl::StrCat("coordinator ", o.coordinator, ": ", coordinator.status().message()));
  }
  actor->coordinator_ = std::move(*coordinator);
  actor->source_ = std::make_unique<CoordinatorTaskSource>(actor->coordinator_.get(), actor->pool_.get(),
                                                           c.group_size);
  CoordinatorTaskSource::UpdatePool(actor->coordinator_->directives(), actor->pool_.get());

  Actor* self = actor.get();
  const bool use_learner = !o.learner.empty() || o.trajectory_out.empty();
  std::vector<TrajectorySink*> sinks;
  if (use_learner) {
    WeightPullerOptions po;
    po.learner_address = [self] { return self->LearnerAddress(); };
    po.security = o.security;
    AG_ASSIGN_OR_RETURN(actor->puller_, WeightPuller::Create(po, ModelTensorSpecs(actor->bundle_.model),
                                                             &actor->slot_, /*current_version=*/0));
    LearnerSinkOptions so;
    so.learner_address = [self] { return self->LearnerAddress(); };
    so.security = o.security;
    so.on_policy_version = [self](int64_t v) { self->puller_->Want(v); };
    AG_ASSIGN_OR_RETURN(actor->learner_sink_, LearnerSink::Create(so));
    sinks.push_back(actor->learner_sink_.get());
  }
  if (!o.trajectory_out.empty()) {
    AG_ASSIGN_OR_RETURN(actor->file_sink_, JsonlFileSink::Open(o.trajectory_out));
    sinks.push_back(actor->file_sink_.get());
  }
  actor->tee_ = std::make_unique<TeeSink>(sinks);
  actor->sink_ = actor->tee_.get();

  actor->coordinator_->AddListener([self](const scheduler::pb::Directives& d) {
    CoordinatorTaskSource::UpdatePool(d, self->pool_.get());
    {
      absl::MutexLock lock(&self->mu_);
      self->directive_learner_ = d.learner_address();
    }
    if (self->puller_ != nullptr) self->puller_->Want(d.policy_version());
  });

  EngineOptions eo = c.engine;
  eo.actor_id = o.actor_id;
  eo.max_episodes = o.max_episodes;
  scheduler::CoordinatorClient* client = actor->coordinator_.get();
  eo.horizon = [client](const std::string& env) { return client->MaxTurnsFor(env); };
  // Every GetTasks answer carries the learner's latest version: groups just
  // handed out wait for those weights rather than start on older ones.
  if (actor->puller_ != nullptr) {
    eo.latest_version = [client] { return client->policy_version(); };
  }
  EngineHooks hooks;
  hooks.on_load = [self](const EngineStats& s) { self->OnLoad(s); };
  AG_ASSIGN_OR_RETURN(actor->engine_,
                      EpisodeEngine::Create(eo, &actor->bundle_, actor->source_.get(), actor->sink_,
                                            actor->pool_.get(), actor->puller_ ? &actor->slot_ : nullptr,
                                            /*initial_version=*/0, hooks));
  return actor;
}

Actor::~Actor() {
  // Order: the engine (uses everything), the coordinator client (its
  // listener uses the pool and the puller), the learner sink (its acks wake
  // the puller), then the puller.
  engine_.reset();
  if (coordinator_ != nullptr) coordinator_->Close();
  learner_sink_.reset();
  puller_.reset();
}

std::string Actor::LearnerAddress() const {
  if (!options_.learner.empty()) return options_.learner;
  absl::MutexLock lock(&mu_);
  return directive_learner_;
}

void Actor::OnLoad(const EngineStats& s) {
  scheduler::pb::ComponentLoad load;
  auto& q = *load.mutable_queue_depths();
  q["trajectories_produced"] = s.produced;
  q["trajectories_sent"] = s.sent;
  q["trajectories_acked"] = s.acked;
  q["trajectories_unacked"] = s.unacked;
  q["trajectories_env_error"] = s.env_error;
  q["trajectories_dropped"] = s.dropped;
  q["episodes_running"] = s.running;
  load.set_idle_ratio(s.idle_ratio);
  for (const EnvPool::Usage& u : pool_->usage()) {
    scheduler::pb::EnvServerUsage* e = load.add_env_usage();
    e->set_address(u.address);
    e->set_episodes(u.episodes);
    e->set_env_errors(u.env_errors);
  }
  metrics::Registry& m = metrics::Registry::Global();
  const metrics::Labels labels = {{"actor", options_.actor_id}};
  for (const auto& [key, value] : q) {
    m.GetGauge("agentgym_actor_" + key, "actor " + key + " (see docs/actor.md)", labels)->Set(value);
  }
  m.GetGauge("agentgym_actor_idle_ratio", "fraction of time the generator had nothing to run", labels)
      ->Set(s.idle_ratio);
  m.GetGauge("agentgym_actor_policy_version", "weights version the actor generates with", labels)
      ->Set(s.policy_version);
  coordinator_->SetLoad(std::move(load));
}

absl::Status Actor::Run() {
  auto log = GetLogger("actor");
  log->info("actor {} running ({} concurrent episodes, group size {})", options_.actor_id,
            options_.config.engine.concurrent_episodes, options_.config.group_size);
  absl::Status s = engine_->Run();
  if (!sink_->Flush(options_.flush_grace)) {
    log->warn("{} trajectories still unacked after {}", sink_->Unacked(), absl::FormatDuration(options_.flush_grace));
  }
  EngineStats st = engine_->stats();
  OnLoad(st);
  log->info("actor {} done: {} produced, {} sent, {} acked, {} env_error, {} dropped, {} cancelled", options_.actor_id,
            st.produced, st.sent, sink_->Acked(), st.env_error, st.dropped, st.cancelled);
  return s;
}

void Actor::Stop() {
  if (engine_ != nullptr) engine_->Stop();
}

EngineStats Actor::stats() const { return engine_->stats(); }

}  // namespace agentgym::actor
