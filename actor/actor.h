#ifndef AGENTGYM_ACTOR_ACTOR_H_
#define AGENTGYM_ACTOR_ACTOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "actor/actor_options.h"
#include "actor/coordinator_task_source.h"
#include "actor/env_pool.h"
#include "actor/episode_engine.h"
#include "actor/learner_sink.h"
#include "actor/trajectory_sink.h"
#include "actor/weights.h"
#include "core/grpc_security.h"
#include "policy/model_dir.h"
#include "scheduler/coordinator_client.h"

namespace agentgym::actor {

struct ActorRunOptions {
  ActorConfig config;
  std::string coordinator;     // host:port (required)
  std::string learner;         // host:port; "" = the coordinator's learner_address
  std::string actor_id;        // "" = "actor-" + a random suffix
  std::string trajectory_out;  // JSONL file; without `learner` it is the only sink
  int64_t max_episodes = 0;
  absl::Duration coordinator_timeout = absl::Seconds(30);
  // How long Run() waits at exit for the learner to ack what was sent. Long
  // enough for the learner to train through its full window (a few steps on
  // 2 cores): a trajectory it takes after the actor gave up waiting would be
  // counted twice (unacked here, trained there). The launcher allows 30 s.
  absl::Duration flush_grace = absl::Seconds(20);
  // TLS / client certificate / bearer token for every peer: the coordinator,
  // the env servers and the learner (one CA and one token per cluster).
  ClientSecurityOptions security;
};

// The agentgym-actor process as a library: loads the policy bundle, connects
// to the coordinator, builds the env pool, the sinks (learner stream and/or
// JSONL file), the weight puller and the episode engine, and reports load
// (ComponentLoad.queue_depths: trajectories_produced, _sent, _acked,
// _unacked, _env_error, _dropped, episodes_running; idle_ratio; env_usage)
// to the coordinator and to core/metrics.
//
// Thread-safety: Run() on one thread; Stop() from any (e.g. a signal watcher).
class Actor {
 public:
  // NOT_FOUND / INVALID_ARGUMENT for the model directory (missing, malformed,
  // vocab mismatch); UNAVAILABLE for an unreachable coordinator (after
  // coordinator_timeout); INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<Actor>> Create(ActorRunOptions options);
  ~Actor();

  // Runs until Stop() or max_episodes; then flushes unacked trajectories for
  // flush_grace. Errors: see EpisodeEngine::Run.
  absl::Status Run();
  void Stop();
  EngineStats stats() const;
  const std::string& actor_id() const { return options_.actor_id; }

 private:
  explicit Actor(ActorRunOptions options) : options_(std::move(options)) {}
  std::string LearnerAddress() const;
  void OnLoad(const EngineStats& stats);

  ActorRunOptions options_;
  policy::PolicyBundle bundle_;
  std::unique_ptr<EnvPool> pool_;
  std::unique_ptr<scheduler::CoordinatorClient> coordinator_;
  std::unique_ptr<CoordinatorTaskSource> source_;
  std::unique_ptr<LearnerSink> learner_sink_;
  std::unique_ptr<JsonlFileSink> file_sink_;
  std::unique_ptr<TeeSink> tee_;
  TrajectorySink* sink_ = nullptr;
  WeightSlot slot_;
  std::unique_ptr<WeightPuller> puller_;
  std::unique_ptr<EpisodeEngine> engine_;
  mutable absl::Mutex mu_;
  std::string directive_learner_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_ACTOR_H_
