#ifndef AGENTGYM_SCHEDULER_COORDINATOR_SERVICE_H_
#define AGENTGYM_SCHEDULER_COORDINATOR_SERVICE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agentgym/coordinator/v1/coordinator.grpc.pb.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/metrics_jsonl.h"
#include "scheduler/curriculum.h"
#include "scheduler/progress_window.h"
#include "scheduler/registry.h"
#include "scheduler/run_accounting.h"
#include "scheduler/task_fetcher.h"
#include "scheduler/task_sampler.h"

namespace agentgym::scheduler {

struct CoordinatorOptions {
  RegistryOptions registry;
  absl::Duration heartbeat_interval = absl::Seconds(3);
  CurriculumOptions curriculum;
  std::vector<EnvSpec> envs;
  SamplerOptions sampler;
  size_t status_window = 20;  // progress reports in the status window
  // Used while no learner rank 0 has registered one (e.g. fixed deployments).
  std::string learner_address;
  std::string rendezvous_address;
  // Where the curriculum (stage of every track, adaptive window, history) and
  // the paused flag are saved on every change and loaded at start, so a
  // restarted coordinator continues in the right stage. Empty: not saved.
  std::string state_file;
  // Check an env's task list from config against the train tasks its env
  // server lists (ListTasks, split TRAIN) before handing any of it out;
  // configured ids the server does not list as train tasks are dropped.
  // Needs a TaskFetcher (without one, only the id check applies). See
  // docs/coordinator.md, "Where task lists come from".
  bool verify_config_tasks = true;
  size_t max_outstanding_per_actor = 4096;
  // Task entries (a group of size k is k) handed out and not finished: per
  // actor, and over all actors together with the reassignment queue. A
  // GetTasks that would pass either is RESOURCE_EXHAUSTED naming the limit,
  // so no client can grow the coordinator's memory without bound.
  size_t max_outstanding_tasks_per_actor = 65536;
  size_t max_outstanding_tasks = 1048576;
  // num_groups * group_size of one GetTasks at most, so that an answer stays
  // well under gRPC's default 4 MB message limit.
  int32_t max_tasks_per_request = 16384;
  // Groups of lapsed actors waiting for an actor that asks their group size;
  // beyond this many the oldest are dropped (logged and counted).
  size_t max_reassign_queue = 65536;
  int32_t max_groups_per_request = 1024;
  int32_t max_group_size = 256;
};

// INVALID_ARGUMENT, naming the key, when options refer to things that are
// not there: a curriculum track (curriculum.per_env.<env>) for an env that is
// not in `envs`.
absl::Status ValidateCrossReferences(const CoordinatorOptions& options);

// The Coordinator gRPC service (sync API): registry with leases, task
// sampling and reassignment, the horizon curriculum, pause/resume, and run
// status. Every handler validates its request and answers with a gRPC status
// that says what was wrong. All state sits behind one mutex. Task lists of
// envs the config does not list are fetched from env servers by one worker
// thread the service owns, so Register and Heartbeat never wait on an env
// server. Thread-safe. The clock, metrics registry and JSONL writer are not
// owned and must outlive the service; the JSONL writer may be null.
// Every unary method is served raw (WithRawCallbackMethod_*), WatchStatus
// on the sync API.
using CoordinatorRawBase = pb::Coordinator::WithRawCallbackMethod_Register<
    pb::Coordinator::WithRawCallbackMethod_Heartbeat<
    pb::Coordinator::WithRawCallbackMethod_Deregister<
    pb::Coordinator::WithRawCallbackMethod_GetTasks<
    pb::Coordinator::WithRawCallbackMethod_ReportProgress<
    pb::Coordinator::WithRawCallbackMethod_GetStatus<
    pb::Coordinator::WithRawCallbackMethod_SetHorizon<
    pb::Coordinator::WithRawCallbackMethod_Pause<
    pb::Coordinator::WithRawCallbackMethod_Resume<
    pb::Coordinator::WithRawCallbackMethod_GetCurriculumState<
    pb::Coordinator::WithRawCallbackMethod_RestoreCurriculumState<
    pb::Coordinator::Service>>>>>>>>>>>;

class CoordinatorService final : public CoordinatorRawBase {
 public:
  // INVALID_ARGUMENT when the options do not make a run (bad curriculum, no
  // envs), or a state file that does not fit the config; UNAVAILABLE when
  // the state file exists but cannot be read; FAILED_PRECONDITION when it
  // cannot be written (checked by writing the start state, so a bad path
  // stops the start instead of failing every later save). `fetcher` may be null when every env
  // lists its tasks in config.
  static absl::StatusOr<std::unique_ptr<CoordinatorService>> Create(
      CoordinatorOptions options, Clock* clock, metrics::Registry* metrics,
      std::unique_ptr<TaskFetcher> fetcher, metrics::JsonlWriter* jsonl = nullptr);

  // The unary RPCs. gRPC calls them through the raw handlers below, which
  // parse the request themselves (so undecodable bytes are INVALID_ARGUMENT
  // naming the message, not INTERNAL); tests and in-process callers may call
  // them directly. `context` (may be null) receives the trailing metadata.
  grpc::Status Register(grpc::ServerContextBase*, const pb::RegisterRequest*,
                        pb::RegisterResponse*);
  grpc::Status Heartbeat(grpc::ServerContextBase*, const pb::HeartbeatRequest*,
                         pb::HeartbeatResponse*);
  grpc::Status Deregister(grpc::ServerContextBase*, const pb::DeregisterRequest*,
                          pb::DeregisterResponse*);
  grpc::Status GetTasks(grpc::ServerContextBase*, const pb::GetTasksRequest*,
                        pb::GetTasksResponse*);
  grpc::Status ReportProgress(grpc::ServerContextBase*, const pb::ReportProgressRequest*,
                              pb::ReportProgressResponse*);
  grpc::Status GetStatus(grpc::ServerContextBase*, const pb::GetStatusRequest*, pb::RunStatus*);
  grpc::Status SetHorizon(grpc::ServerContextBase*, const pb::SetHorizonRequest*,
                          pb::SetHorizonResponse*);
  grpc::Status Pause(grpc::ServerContextBase*, const pb::PauseRequest*, pb::PauseResponse*);
  grpc::Status Resume(grpc::ServerContextBase*, const pb::ResumeRequest*, pb::ResumeResponse*);
  grpc::Status GetCurriculumState(grpc::ServerContextBase*, const pb::GetCurriculumStateRequest*,
                                  pb::CurriculumState*);
  grpc::Status RestoreCurriculumState(grpc::ServerContextBase*,
                                      const pb::RestoreCurriculumStateRequest*,
                                      pb::RestoreCurriculumStateResponse*);
  // Server streaming stays on the sync API.
  grpc::Status WatchStatus(grpc::ServerContext*, const pb::WatchStatusRequest*,
                           grpc::ServerWriter<pb::RunStatus>*) override;

  // Raw handlers (coordinator_raw.cc): parse, call the method above, serialize.
  using RawReactor = grpc::ServerUnaryReactor;
  using Raw = grpc::ByteBuffer;
  RawReactor* Register(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* Heartbeat(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* Deregister(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* GetTasks(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* ReportProgress(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* GetStatus(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* SetHorizon(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* Pause(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* Resume(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* GetCurriculumState(grpc::CallbackServerContext*, const Raw*, Raw*) override;
  RawReactor* RestoreCurriculumState(grpc::CallbackServerContext*, const Raw*, Raw*) override;

  // Marks components whose lease lapsed DOWN and puts the unfinished groups
  // of lapsed actors back in line for other actors. Returns how many lapsed.
  // The server calls it periodically; tests call it after moving the clock.
  int Reap();

  // Ends every WatchStatus stream so the gRPC server can shut down, and
  // stops and joins the task-fetch worker. Idempotent; the destructor calls it.
  void Shutdown();
  ~CoordinatorService() override;

  pb::RunStatus Status();
  size_t reassign_queue_size();
  // Entries the service keeps about unfinished groups of every actor (both
  // indexes); tests check it stays bounded.
  size_t outstanding_entries();
  // Blocks until no task fetch is queued or running (tests; returns false on
  // timeout).
  bool WaitForTaskFetches(absl::Duration timeout);

 private:
  // An actor's unfinished groups. Both indexes hold exactly the unfinished
  // groups (a completion removes a group from both), so what an actor pins
  // is bounded by max_outstanding_per_actor however it completes them.
  struct Outstanding {
    struct Entry {
      uint64_t seq = 0;  // key in `order`
      pb::TaskGroup group;
    };
    uint64_t next_seq = 0;
    size_t tasks = 0;  // task entries of `groups`
    std::map<uint64_t, std::string> order;  // hand-out order -> group id
    std::map<std::string, Entry> groups;    // by group id
  };

  CoordinatorService(CoordinatorOptions options, Clock* clock, metrics::Registry* metrics,
                     std::unique_ptr<TaskFetcher> fetcher, metrics::JsonlWriter* jsonl,
                     Curriculum curriculum, TaskSampler sampler);

  pb::Directives DirectivesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  pb::RunStatus StatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<const Component*> CallerLocked(const std::string& id, pb::Role role,
                                                const char* rpc) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes finished groups off `actor`'s unfinished list, or off the
  // reassignment queue when they went there since (a late completion).
  void CompleteGroupsLocked(const std::string& actor,
                            const google::protobuf::RepeatedPtrField<std::string>& ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RequeueLocked(const std::string& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordStageChangesLocked(const std::vector<pb::StageChange>& changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateMetricsLocked(const pb::RunStatus& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { ++revision_; }
  std::string PickServerLocked(const std::string& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a task-list fetch for every configured env that `c` (an env
  // server) serves and that has no tasks, or a config list not yet checked,
  // and no fetch pending. A failed fetch is logged and queued again on the
  // server's next heartbeat.
  void QueueTaskFetchesLocked(const Component& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FetchLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Applies what a fetch for `env` from `address` returned.
  void TakeFetchedLocked(const std::string& address, const std::string& env,
                         absl::StatusOr<std::vector<EnvTask>> tasks)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the curriculum and paused flag to options_.state_file (if set);
  // a failure is logged once until a write succeeds again, and counted.
  void SaveStateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One write; FAILED_PRECONDITION naming the path and the reason.
  absl::Status WriteStateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status LoadStateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const CoordinatorOptions options_;
  Clock* const clock_;
  metrics::Registry* const metrics_;
  const std::unique_ptr<TaskFetcher> fetcher_;
  metrics::JsonlWriter* const jsonl_;
  const absl::Time started_;

  mutable absl::Mutex mu_;
  Registry registry_ ABSL_GUARDED_BY(mu_);
  Curriculum curriculum_ ABSL_GUARDED_BY(mu_);
  TaskSampler sampler_ ABSL_GUARDED_BY(mu_);
  ProgressWindow progress_ ABSL_GUARDED_BY(mu_);
  RunAccounting accounting_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Outstanding> outstanding_ ABSL_GUARDED_BY(mu_);  // by actor id
  // Unfinished groups of lapsed actors, waiting for an actor that asks their
  // size, in the order they came back (key: the ".rN" of their fresh id).
  // By the id they had before, too, so a late completion from the lapsed
  // actor (sent after it registered again) takes its group off the queue.
  struct Waiting {
    pb::TaskGroup group;
    std::string previous_id;
  };
  std::map<uint64_t, Waiting> reassign_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> reassign_by_previous_ ABSL_GUARDED_BY(mu_);
  uint64_t reassign_seq_ ABSL_GUARDED_BY(mu_) = 0;
  size_t reassign_tasks_ ABSL_GUARDED_BY(mu_) = 0;  // task entries in reassign_
  // Task entries of every actor's unfinished groups plus the waiting ones.
  size_t TrackedTasksLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::map<std::string, uint64_t> round_robin_ ABSL_GUARDED_BY(mu_);  // by env
  // Flow control from the learner's last report (ReportProgressRequest):
  // no group is handed out while this many are ahead of training (0: no
  // limit); the learner's buffered groups count towards it.
  int64_t max_groups_ahead_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t learner_buffered_groups_ ABSL_GUARDED_BY(mu_) = 0;
  // Groups handed out and not trained yet, as the flow control counts them.
  int64_t GroupsAheadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool state_save_failing_ ABSL_GUARDED_BY(mu_) = false;
  struct Fetch {
    std::string address, env;
  };
  std::deque<Fetch> fetch_queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> fetching_ ABSL_GUARDED_BY(mu_);  // envs queued or in flight
  // Envs whose task list from config waits for the check against an env
  // server's train list; they get no tasks until it ran.
  std::set<std::string> unverified_ ABSL_GUARDED_BY(mu_);
  // Envs none of whose configured tasks is a train task of their server, or
  // whose `task_types` match no fetched task; never fetched again.
  std::set<std::string> refused_ ABSL_GUARDED_BY(mu_);
  std::thread fetch_thread_;  // started in Create when there is a fetcher
};

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_COORDINATOR_SERVICE_H_
