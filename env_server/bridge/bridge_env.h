#ifndef AGENTGYM_ENV_SERVER_BRIDGE_BRIDGE_ENV_H_
#define AGENTGYM_ENV_SERVER_BRIDGE_BRIDGE_ENV_H_

// An Environment whose episodes live on an AgentGym HTTP env server. Served by
// the ordinary EnvServer machinery (sessions, TTL, limits, batching, health),
// so a bridged env is indistinguishable from a built-in one to clients, except
// that a step can fail with the upstream's UNAVAILABLE / DEADLINE_EXCEEDED /
// INTERNAL (see upstream_client.h).
//
// Each session maps to one upstream env id: created (and reset to the task) in
// NewEpisode, closed when the episode is destroyed. Closes go through a
// background thread so that Close RPCs and TTL reclaims never wait on a slow
// upstream; at destruction the pending closes get at most the close timeout
// in all, then the rest are abandoned (and logged), so a hanging upstream
// cannot hold up a shutdown. Instruction: AgentGym servers state the goal
// inside the first observation, so the bridge sets both to that text.
//
// Upstream restarts. A restarted AgentGym server hands out env ids from 0
// again, so a session's id may come to name another session's env there.
// The bridge numbers sessions in creation order and treats every session
// created before one of these events as lost (NOT_FOUND "the upstream env
// server restarted; this session is lost"; nothing more is sent upstream for
// it, not even its close):
//   - a create answers an id that a session of this bridge still holds
//     (open or waiting for its close): the server has forgotten its envs;
//   - the upstream answers NOT_FOUND for a session's id (e.g. textcraft's
//     "The id N is not valid."), to a step, reset, observation or close;
//   - the upstream cannot be connected to (it is down, or restarting).
// The checks assume ids are not reused while the server runs (AgentGym's
// servers count them up); a server that reuses the id of an env closed
// moments ago may cost sessions, never mix them.

#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/bounded_queue.h"
#include "env_server/bridge/action_parser.h"
#include "env_server/bridge/bridge_config.h"
#include "env_server/bridge/upstream_client.h"
#include "env_server/environment.h"

namespace agentgym::env::bridge {

class BridgeEnvironment final : public Environment {
 public:
  // INVALID_ARGUMENT for a config that does not hold together. Does not
  // contact the upstream (it may come up later).
  static absl::StatusOr<std::unique_ptr<BridgeEnvironment>> Create(UpstreamConfig config);
  ~BridgeEnvironment() override;  // sends pending closes (bounded by close timeouts), joins

  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;
  // Every create and step is an HTTP call to the upstream.
  bool StepsMayBlock() const override { return true; }

  const UpstreamConfig& config() const { return config_; }
  // Asks the upstream to close env `id` of session `seq` soon, unless the
  // session is lost; never blocks.
  void CloseUpstream(nlohmann::json id, uint64_t seq) const;

  // For shutdown, once the grace period is over: if an upstream call is
  // still in flight, aborts it and every later one (UNAVAILABLE, see
  // UpstreamClient::Stop) and returns true; else changes nothing.
  bool AbortIfBusy();
  // The upstream connections now (for tests and monitoring).
  UpstreamClient::PoolStats pool_stats() const { return client_->Stats(); }

 private:
  BridgeEnvironment(UpstreamConfig config, std::unique_ptr<ActionParser> parser,
                    std::unique_ptr<UpstreamClient> client);
  void CloseLoop();

  // Session bookkeeping for upstream restarts (see the class comment).
  // A new session holding upstream env `id`: its number.
  uint64_t AddSession(const nlohmann::json& id) const;
  // The session no longer holds `id` (closed upstream, or lost).
  void ForgetSession(const nlohmann::json& id, uint64_t seq) const;
  bool Lost(uint64_t seq) const;
  // Every session created so far is lost; `why` is logged.
  void LoseAllSessions(const std::string& why) const;
  // Reacts to a failed upstream call made for session `seq` (env `id`):
  // the NOT_FOUND of a lost session, or `status` itself.
  absl::Status Failed(const absl::Status& status, const nlohmann::json& id, uint64_t seq) const;
  absl::Status LostError(const nlohmann::json& id) const;

  friend class BridgeEpisode;
  const UpstreamConfig config_;
  EnvDescription description_;
  std::unique_ptr<ActionParser> parser_;
  std::unique_ptr<UpstreamClient> client_;
  // step.invalid_observation compiled; null when unset.
  std::unique_ptr<Pattern> invalid_observation_;
  struct PendingClose {
    nlohmann::json id;
    uint64_t seq = 0;
  };
  mutable BoundedQueue<PendingClose> to_close_{4096};
  mutable absl::Mutex sessions_mu_;
  mutable uint64_t next_seq_ ABSL_GUARDED_BY(sessions_mu_) = 1;
  // Sessions numbered below this are lost.
  mutable uint64_t lost_below_ ABSL_GUARDED_BY(sessions_mu_) = 0;
  // Upstream env id (as JSON text) -> the session holding it, until its
  // close has been sent.
  mutable absl::flat_hash_map<std::string, uint64_t> live_ids_ ABSL_GUARDED_BY(sessions_mu_);
  absl::Notification closer_done_;
  std::thread closer_;
};

// The text of an upstream env id for a query string: strings as they are,
// numbers as digits.
std::string IdText(const nlohmann::json& id);

}  // namespace agentgym::env::bridge

#endif  // AGENTGYM_ENV_SERVER_BRIDGE_BRIDGE_ENV_H_
