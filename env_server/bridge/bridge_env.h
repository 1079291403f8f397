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

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
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
  // Asks the upstream to close env `id` soon; never blocks.
  void CloseUpstream(nlohmann::json id) const;

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

  friend class BridgeEpisode;
  const UpstreamConfig config_;
  EnvDescription description_;
  std::unique_ptr<ActionParser> parser_;
  std::unique_ptr<UpstreamClient> client_;
  mutable BoundedQueue<nlohmann::json> to_close_{4096};
  absl::Notification closer_done_;
  std::thread closer_;
};

// The text of an upstream env id for a query string: strings as they are,
// numbers as digits.
std::string IdText(const nlohmann::json& id);

}  // namespace agentgym::env::bridge

#endif  // AGENTGYM_ENV_SERVER_BRIDGE_BRIDGE_ENV_H_
