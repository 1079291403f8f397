#ifndef AGENTGYM_ENV_SERVER_BRIDGE_UPSTREAM_CLIENT_H_
#define AGENTGYM_ENV_SERVER_BRIDGE_UPSTREAM_CLIENT_H_

// JSON over HTTP to one AgentGym env server, with a deadline on every
// request. Up to max_connections requests run at once, each on its own
// connection; pool_size of those stay open (keep-alive) between requests and
// the rest close after theirs, so requests stuck upstream slow down only
// themselves until max_connections are stuck. An open connection idle for
// idle_timeout is closed rather than reused: servers drop idle keep-alive
// connections (uvicorn after 5 s), and a request sent on one as it is dropped
// fails without telling whether the server applied it. Failures come back as
// gRPC-style statuses:
//   UNAVAILABLE        cannot connect (IsUnreachable), or HTTP 503 (the
//                      request was not applied)
//   DEADLINE_EXCEEDED  no reply within the timeout, or max_connections stayed
//                      busy until it
//   INTERNAL           connection lost mid-reply, HTTP 4xx/5xx, a reply that is
//                      not JSON; the message says which and how to fix it
//   RESOURCE_EXHAUSTED HTTP 429
// plus the codes the error rules give HTTP 200 {"error": ...} bodies, and
// UNAVAILABLE for every call once Stop() has been called.

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "env_server/bridge/action_parser.h"
#include "env_server/bridge/bridge_config.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Client;
}

namespace agentgym::env::bridge {

// Whether `status` says the upstream could not be connected to at all (it
// is down or restarting), as opposed to any other failure.
bool IsUnreachable(const absl::Status& status);

// Thread-safe: each request holds one pooled connection; a slow request never
// holds the pool's lock, so other requests proceed on other connections.
class UpstreamClient {
 public:
  static absl::StatusOr<std::unique_ptr<UpstreamClient>> Create(const UpstreamConfig& config);
  ~UpstreamClient();

  absl::StatusOr<nlohmann::json> Post(const std::string& path, const nlohmann::json& body,
                                      absl::Duration timeout);
  // GET path?key=value (value is URL-encoded).
  absl::StatusOr<nlohmann::json> Get(const std::string& path, const std::string& key,
                                     const std::string& value, absl::Duration timeout);

  // For shutdown: aborts the calls in flight (their sockets are shut down, so
  // they fail at once with UNAVAILABLE instead of waiting out their timeout)
  // and answers every later call with UNAVAILABLE. Returns once every call
  // has ended, or after the connect timeout plus a second if one will not.
  // Idempotent.
  void Stop();
  // Whether some call is in flight now.
  bool Busy();
  bool Stopped();

  struct PoolStats {
    int open = 0;    // connections that exist
    int idle = 0;    // kept open between requests (<= pool_size)
    int in_use = 0;  // carrying a request now (<= max_connections)
  };
  PoolStats Stats();

 private:
  UpstreamClient(const UpstreamConfig& config, std::string host, int port, std::string prefix);
  struct Lease {
    std::unique_ptr<httplib::Client> client;
    bool reused = false;  // it has carried requests before
  };
  absl::StatusOr<Lease> Acquire(absl::Time deadline, bool fresh);
  // Returns the connection to the pool (keep) or drops it.
  void Release(Lease& lease, bool keep);
  absl::Status StoppedError() const;
  absl::StatusOr<nlohmann::json> Send(bool post, const std::string& target,
                                      const std::string& body, absl::Duration timeout);
  absl::Status ErrorFromBody(const nlohmann::json& reply, const std::string& what) const;

  const std::string env_;
  const std::string base_url_;
  const std::string host_;
  const int port_;
  const std::string prefix_;  // path of base_url, prepended to every endpoint
  const int pool_size_;
  const int max_connections_;
  const absl::Duration connect_timeout_;
  const absl::Duration idle_timeout_;
  const std::string error_field_;
  const absl::StatusCode error_default_code_;
  std::vector<std::pair<std::unique_ptr<Pattern>, absl::StatusCode>> error_rules_;

  absl::Mutex mu_;
  struct IdleConnection {
    std::unique_ptr<httplib::Client> client;
    // Returned to the pool; a steady clock, so a wall-clock step never
    // keeps a stale connection alive.
    std::chrono::steady_clock::time_point since;
  };
  // Most recently used last.
  std::vector<IdleConnection> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // connections created and not destroyed
  // The connections leased out: Stop() calls httplib's thread-safe stop() on
  // them. A lease leaves this set (under mu_) before its client is destroyed.
  std::set<httplib::Client*> in_use_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agentgym::env::bridge

#endif  // AGENTGYM_ENV_SERVER_BRIDGE_UPSTREAM_CLIENT_H_
