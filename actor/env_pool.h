#ifndef AGENTGYM_ACTOR_ENV_POOL_H_
#define AGENTGYM_ACTOR_ENV_POOL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agentgym/env/v1/env.pb.h"
#include "core/grpc_security.h"
#include "env_server/client/env_client.h"

namespace agentgym::actor {

struct EnvPoolOptions {
  absl::Duration timeout = absl::Seconds(30);  // deadline of every env call
  // After a failure (unreachable, deadline) a server is avoided for this long,
  // doubling per consecutive failure up to max_down; then it is tried again.
  absl::Duration down_initial = absl::Milliseconds(500);
  absl::Duration down_max = absl::Seconds(15);
  // TLS / client certificate / bearer token for every env server.
  ClientSecurityOptions security;
};

// The env servers an actor may use: one EnvClient per address (created on
// first use), which envs each serves, their health, per-server usage, and
// the EnvInfo (action format) of every env seen.
//
// Server choice (Pick): the suggested server when it is up, else another up
// server that serves the env (round robin), else the least recently failed
// one; a failed server is avoided for a backoff window and used again once it
// answers. Thread-safe; clients live as long as the pool.
class EnvPool {
 public:
  explicit EnvPool(EnvPoolOptions options) : options_(options) {}

  // Replaces the known servers (address -> envs), e.g. from the coordinator's
  // Directives; clients of servers that left stay alive (pending calls).
  void SetServers(const std::map<std::string, std::vector<std::string>>& servers);
  void AddServer(const std::string& address, const std::vector<std::string>& envs);

  // A client for `address` (created on first use). INVALID_ARGUMENT for an
  // empty address.
  absl::StatusOr<env::EnvClient*> Client(const std::string& address);

  // Where to run an episode of `env`; "" when no server is known for it.
  std::string Pick(const std::string& env, const std::string& suggested);

  // Outcome of a call to `address`: failures that mean the server is away
  // (UNAVAILABLE, DEADLINE_EXCEEDED) start its backoff window; an OK answer
  // ends it.
  void ReportCall(const std::string& address, const absl::Status& status);
  // Per-server usage for ComponentLoad.env_usage.
  void CountEpisode(const std::string& address, bool env_error);
  struct Usage {
    std::string address;
    int64_t episodes = 0;
    int64_t env_errors = 0;
  };
  std::vector<Usage> usage() const;

  // The EnvInfo of `env` (action format, recommended turns), from a cached
  // ListEnvs of `address` (or, when empty, of any known server of the env).
  // Blocks on the RPC the first time. NOT_FOUND when the server answers but
  // does not serve `env`; the RPC's error when it cannot be asked.
  absl::StatusOr<env::v1::EnvInfo> Info(const std::string& env, const std::string& address);
  // Already cached, without an RPC.
  std::optional<env::v1::EnvInfo> CachedInfo(const std::string& env) const;

 private:
  struct Server {
    std::vector<std::string> envs;
    std::unique_ptr<env::EnvClient> client;
    int failures = 0;  // consecutive
    absl::Time down_until = absl::InfinitePast();
    Usage usage;
    bool listed = false;  // ListEnvs answered and its envs are in infos_
  };
  Server& ServerFor(const std::string& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<env::EnvClient*> ClientLocked(const std::string& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const EnvPoolOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, Server> servers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, env::v1::EnvInfo> infos_ ABSL_GUARDED_BY(mu_);
  uint64_t round_robin_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_ENV_POOL_H_
