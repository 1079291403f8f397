#ifndef AGENTGYM_ACTOR_EPISODE_ENGINE_H_
#define AGENTGYM_ACTOR_EPISODE_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "actor/engine_options.h"
#include "actor/env_pool.h"
#include "actor/task_source.h"
#include "actor/trajectory_sink.h"
#include "actor/weights.h"
#include "core/bounded_queue.h"
#include "policy/generator.h"
#include "policy/model_dir.h"

namespace agentgym::actor {

// What the engine has done so far (cumulative unless noted).
struct EngineStats {
  int64_t produced = 0;   // episode attempts finished, any end reason
  int64_t sent = 0;       // handed to the sink
  int64_t acked = 0;      // acknowledged by the sink
  int64_t unacked = 0;    // now
  int64_t env_error = 0;  // attempts that ended env_error (sent, never trained)
  int64_t dropped = 0;    // members of groups dropped or discarded for a rerun
  int64_t cancelled = 0;  // ended by shutdown, not sent
  int64_t running = 0;    // episodes alive now
  int64_t groups_completed = 0;
  int64_t groups_rerun = 0;
  int64_t groups_dropped = 0;
  int64_t tokens_sampled = 0;
  int64_t turns = 0;
  // Wall time spent computing with the policy: Generator::Step (prefill and
  // decode) plus the shared prefill and fork of groups.
  double generate_seconds = 0;
  int64_t weight_swaps = 0;
  int64_t policy_version = 0;
  // Fraction of wall time the generator had nothing to run, since the
  // previous report (EngineHooks::on_load) or since start.
  double idle_ratio = 0;
  double total_idle_ratio = 0;  // since start
};

struct EngineHooks {
  // Every EngineOptions::load_interval, on the scheduler thread; must not block.
  std::function<void(const EngineStats&)> on_load;
};

// The rollout engine: runs many multi-turn episodes at once in ONE continuous
// batch on one scheduler thread (the thread that calls Run), which owns the
// policy::Generator.
//
// Episode: Env.Create (one BatchCreate per server per start pass) -> prompt
// (system prompt with the env's action format, user turn = instruction +
// first observation, generation header) -> agent turn (stops at the chat
// format's end-of-turn token or max_new_tokens) -> Env.Step with the decoded
// action (asynchronous, with a deadline) -> observation appended as the next
// user turn with Generator::Extend (KV cache kept) -> ... until done,
// truncated, horizon, token budget, context full or env error; then Close.
// Env replies arrive on a bounded event queue from gRPC threads; episodes
// waiting on envs never block generating ones.
//
// Groups: members share the prompt, which is prefilled once and forked
// (Generator::Prefill / Fork); member i samples with seed
// Mix(Mix(task seed, i), attempt). A member that ends env_error aborts its
// group; the group is rerun whole on fresh sessions up to group_retries
// times, then dropped. Only whole groups are sent (plus the env_error
// member of a failed attempt, so the learner can count it).
//
// Weights: between generator steps the engine takes a WeightUpdate from the
// slot (if any) and copies it into the model; each turn records the version
// it started under.
//
// Thread-safety: Run() on one thread; Stop() and stats() from any thread.
// Does not own the bundle, source, sink, pool or slot; they must outlive it.
class EpisodeEngine {
 public:
  // INVALID_ARGUMENT for bad options (non-positive concurrency or budget, bad
  // sampling params) or missing parts.
  static absl::StatusOr<std::unique_ptr<EpisodeEngine>> Create(EngineOptions options, policy::PolicyBundle* bundle,
                                                               TaskSource* source, TrajectorySink* sink,
                                                               EnvPool* pool, WeightSlot* slot,
                                                               int64_t initial_version, EngineHooks hooks = {});
  ~EpisodeEngine();

  // Runs until the source is exhausted (or max_episodes have started) and
  // every episode has finished, or until Stop(). OK then; NOT_FOUND for an
  // env no server serves; INTERNAL when generation fails.
  absl::Status Run();
  // Stops starting episodes and cancels running ones (end_reason cancelled,
  // not sent); Run() returns once their env calls are answered (at most
  // shutdown_grace). Thread-safe, idempotent.
  void Stop();
  EngineStats stats() const;

 private:
  struct Episode;
  struct GroupRun;
  struct EnvEvent;
  struct StartSpec {
    TaskGroupSpec spec;
    int attempt = 0;
  };

  EpisodeEngine(EngineOptions options, policy::PolicyBundle* bundle, TaskSource* source, TrajectorySink* sink,
                EnvPool* pool, WeightSlot* slot, int64_t initial_version, EngineHooks hooks);

  // Fetch thread.
  void FetchLoop();
  bool SourceDone() const;
  // Scheduler thread (all below).
  void StartPending();
  // Whether to run a generator step now; with round_synchronous, also opens
  // and closes the rounds (see EngineOptions::round_synchronous).
  bool ShouldStep();
  // Whether new groups wait for weights newer than version_ (see
  // EngineOptions::latest_version).
  bool WaitingForWeights();
  void StartGroup(StartSpec spec);
  void HandleEvent(EnvEvent event);
  void OnCreated(Episode& ep, absl::StatusOr<env::v1::CreateResponse> created);
  void StartGeneration(GroupRun& g);
  absl::Status StartSequences(GroupRun& g, const std::vector<Episode*>& members);
  void OnTurnFinished(Episode& ep);
  void OnStepped(Episode& ep, absl::StatusOr<env::v1::StepResult> result, absl::Duration latency);
  void EndEpisode(Episode& ep, tpb::EndReason reason, const std::string& detail);
  void CompleteGroup(GroupRun& g);
  void MaybeErase(uint64_t uid);
  // Erases the episodes ended since the last sweep whose calls are answered.
  void Sweep();
  void ApplyPendingWeights();
  void CancelAll();
  void CloseSession(Episode& ep);
  void ReportLoad(bool force);
  policy::SamplingParams ParamsFor(const Episode& ep) const;
  std::string SystemPrompt(const std::string& env) const;

  const EngineOptions options_;
  policy::PolicyBundle* const bundle_;
  TaskSource* const source_;
  TrajectorySink* const sink_;
  EnvPool* const pool_;
  WeightSlot* const slot_;
  const EngineHooks hooks_;
  std::unique_ptr<policy::Generator> generator_;
  BoundedQueue<EnvEvent>* events_ = nullptr;  // owned below; pointer for callbacks
  std::unique_ptr<BoundedQueue<EnvEvent>> events_owner_;

  // Scheduler-thread state.
  std::map<uint64_t, std::unique_ptr<Episode>> episodes_;
  std::map<int64_t, uint64_t> seq_to_episode_;
  std::map<uint64_t, std::unique_ptr<GroupRun>> groups_;
  std::deque<StartSpec> reruns_;
  std::vector<uint64_t> ended_;  // ended since the last Sweep
  uint64_t next_uid_ = 1;
  uint64_t next_group_key_ = 1;
  uint64_t next_trajectory_ = 0;
  int64_t started_ = 0;  // episode attempts started from fresh groups
  int64_t version_ = 0;
  absl::Time weights_awaited_since_ = absl::InfiniteFuture();  // newer version known since
  bool stopping_ = false;
  // round_synchronous: a turn's batch is being generated; env replies that
  // arrive meanwhile wait in events_ until every sequence of it has stopped.
  bool round_open_ = false;
  absl::Status fatal_;
  absl::Time started_at_;
  absl::Time last_report_;
  absl::Duration idle_total_;
  absl::Duration idle_since_report_;

  // Shared with the fetch thread.
  mutable absl::Mutex fetch_mu_;
  std::deque<TaskGroupSpec> fetched_ ABSL_GUARDED_BY(fetch_mu_);
  bool source_exhausted_ ABSL_GUARDED_BY(fetch_mu_) = false;
  bool fetch_stop_ ABSL_GUARDED_BY(fetch_mu_) = false;
  bool fetch_wanted_ ABSL_GUARDED_BY(fetch_mu_) = true;  // false once max_episodes are started
  absl::Status fetch_fatal_ ABSL_GUARDED_BY(fetch_mu_);
  size_t prefetch_groups_ = 1;
  std::thread fetcher_;

  // Pending Close calls (callbacks on gRPC threads).
  absl::Mutex close_mu_;
  int64_t closes_pending_ ABSL_GUARDED_BY(close_mu_) = 0;

  std::atomic<bool> stop_requested_{false};
  mutable absl::Mutex stats_mu_;
  EngineStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

// The action text sent to the env: the agent's decoded turn without its
// end-of-turn token, with invalid UTF-8 (a byte token cut mid-character)
// replaced by U+FFFD so the env never refuses the request itself.
std::string SanitizeUtf8(const std::string& text);

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_EPISODE_ENGINE_H_
