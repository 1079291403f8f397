#ifndef AGENTGYM_SCHEDULER_COORDINATOR_CLIENT_H_
#define AGENTGYM_SCHEDULER_COORDINATOR_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agentgym/coordinator/v1/coordinator.grpc.pb.h"
#include "core/grpc_security.h"

namespace agentgym::scheduler {

namespace pb = ::agentgym::coordinator::v1;

struct CoordinatorClientOptions {
  std::string coordinator;           // host:port of agentgym-coordinator
  pb::RegisterRequest registration;  // role, address, name, capabilities (id optional)
  absl::Duration rpc_timeout = absl::Seconds(5);  // deadline of every call
  // Connect() keeps trying this long while no coordinator answers (it may
  // start after the component).
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration retry_interval = absl::Milliseconds(500);
  // Used until the coordinator suggests a period in its RegisterResponse.
  absl::Duration heartbeat_interval = absl::Seconds(3);
  // Longest wait between reconnection attempts while the coordinator is down.
  absl::Duration max_reconnect_backoff = absl::Seconds(2);
  bool deregister_on_close = true;
  // TLS / client certificate / bearer token for the coordinator
  // (core/grpc_security.h); nothing set: plaintext.
  ClientSecurityOptions security;
  // Optional hooks for logs and metrics; they run on the thread that made
  // the call (Connect's, the heartbeat thread, or a GetTasks caller) and must
  // not block. on_registered gets the id and the registration count (1 for
  // the first); on_disconnected runs when a call finds no coordinator after
  // the previous one succeeded.
  std::function<void(const std::string& component_id, int64_t registration)> on_registered;
  std::function<void(const absl::Status& status)> on_disconnected;
};

// The horizon (max turns) a new episode of `env` gets under `horizon`: the
// env's own track, else the default track (env ""); 0 when neither exists.
int32_t HorizonFor(const pb::Horizon& horizon, const std::string& env);

// One component's connection to the coordinator: registers, keeps the lease
// alive from a heartbeat thread it owns, and keeps the latest Directives
// (horizon per env, policy version, paused, learner and rendezvous
// addresses, live env servers) from every answer it gets.
//
// How changes reach a component: every Heartbeat, GetTasks and
// ReportProgress answer carries the Directives; when they differ from the
// last ones seen, listeners run on the heartbeat thread. So a stage change
// reaches an actor within one heartbeat interval, or at once on its next
// GetTasks. An actor starts each episode with MaxTurnsFor(env) (new
// episodes get the new horizon) and leaves running episodes alone.
//
// Failures: when the lease lapsed (FAILED_PRECONDITION) or the coordinator
// forgot the id (NOT_FOUND, e.g. after a coordinator restart) the client
// registers again under the same id and retries the call once. While no
// coordinator answers, the last Directives stay in force and beats go on.
//
// Thread-safe. Close() (or the destructor) stops and joins the thread and
// deregisters.
class CoordinatorClient {
 public:
  using DirectivesListener = std::function<void(const pb::Directives&)>;

  // Registers and starts heartbeats. INVALID_ARGUMENT for a registration the
  // coordinator refuses (its message); UNAVAILABLE when no coordinator
  // answered within connect_timeout.
  static absl::StatusOr<std::unique_ptr<CoordinatorClient>> Connect(
      CoordinatorClientOptions options);
  ~CoordinatorClient();

  CoordinatorClient(const CoordinatorClient&) = delete;
  CoordinatorClient& operator=(const CoordinatorClient&) = delete;

  // `listener` runs on the heartbeat thread, once soon after being added and
  // then whenever the Directives change. It may call this client's methods.
  void AddListener(DirectivesListener listener);

  std::string component_id() const;
  pb::Directives directives() const;
  int32_t MaxTurnsFor(const std::string& env) const;
  // The learner's latest published version, as of the last answer.
  int64_t policy_version() const;
  bool paused() const;
  // 1 after Connect, +1 for every re-registration.
  int64_t registrations() const;
  // Whether the coordinator answered the last call.
  bool connected() const;

  // Load reported with every heartbeat (queue depths, idle ratio, per env
  // server usage).
  void SetLoad(pb::ComponentLoad load);
  // Sends a heartbeat (with the current load) now instead of at the next
  // interval, e.g. when a learner's buffer changed while it waits for data.
  void BeatSoon();
  // Finished task groups, sent with the next heartbeat or GetTasks call
  // (also after registering again: a late completion spares its group a
  // rerun on another actor).
  void CompleteGroups(const std::vector<std::string>& group_ids);

  // Actors. Statuses as the coordinator returns them (UNAVAILABLE: no live
  // env server, or no coordinator).
  absl::StatusOr<pb::GetTasksResponse> GetTasks(int32_t num_groups, int32_t group_size,
                                                const std::vector<std::string>& envs = {});
  // Learners; component_id is filled in.
  absl::StatusOr<pb::ReportProgressResponse> ReportProgress(pb::ReportProgressRequest request);
  // Learner checkpoints: save the state with the checkpoint, restore it on
  // resume.
  absl::StatusOr<pb::CurriculumState> GetCurriculumState();
  absl::StatusOr<pb::Horizon> RestoreCurriculumState(const pb::CurriculumState& state);

  // Blocks until `ready(directives())` holds (true) or `timeout` passes
  // (false), e.g. to wait for the learner address at start-up.
  bool WaitFor(const std::function<bool(const pb::Directives&)>& ready, absl::Duration timeout);

  void Close();

 private:
  explicit CoordinatorClient(CoordinatorClientOptions options);

  // Registers under the current id unless another thread already did so
  // since `generation` was read.
  absl::Status Reregister(int64_t generation) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RegisterOnce() ABSL_LOCKS_EXCLUDED(mu_);
  void Absorb(const pb::Directives& directives, bool ok) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `call` with a fresh deadline; on a lapsed lease or forgotten id,
  // re-registers and runs it once more.
  grpc::Status CallWithReregister(const std::function<grpc::Status(grpc::ClientContext&)>& call);
  void MarkDisconnected(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  void Beat();
  void DispatchListeners();
  void Loop();

  const CoordinatorClientOptions options_;
  std::unique_ptr<pb::Coordinator::Stub> stub_;
  absl::Mutex register_mu_;  // serialises re-registrations

  mutable absl::Mutex mu_;
  std::string component_id_ ABSL_GUARDED_BY(mu_);
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // registrations so far
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_);
  pb::Directives directives_ ABSL_GUARDED_BY(mu_);
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  pb::ComponentLoad load_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> completed_ ABSL_GUARDED_BY(mu_);
  struct Listener {
    DirectivesListener fn;
    bool called = false;
  };
  std::vector<std::shared_ptr<Listener>> listeners_ ABSL_GUARDED_BY(mu_);
  pb::Directives dispatched_ ABSL_GUARDED_BY(mu_);  // what listeners last saw
  bool dispatch_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool beat_soon_ ABSL_GUARDED_BY(mu_) = false;  // BeatSoon() asked for a beat
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_COORDINATOR_CLIENT_H_
