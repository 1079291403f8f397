#ifndef AGENTGYM_ENV_SERVER_COORDINATOR_LINK_H_
#define AGENTGYM_ENV_SERVER_COORDINATOR_LINK_H_

// An env server's registration with the coordinator (`agentgym-env-server
// --coordinator HOST:PORT`). A library of its own
// (agentgym::env_coordinator_link) so that the env server libraries stay free
// of the scheduler: only the binary and this library's test link both.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/grpc_security.h"
#include "absl/time/time.h"
#include "scheduler/coordinator_client.h"

namespace agentgym::env {

struct CoordinatorLinkOptions {
  std::string coordinator;       // host:port of agentgym-coordinator
  std::string advertise;         // host:port the coordinator tells actors
  ClientSecurityOptions security; // TLS / token toward the coordinator; empty: plaintext
  std::vector<std::string> envs; // the envs served
  int64_t max_sessions = 0;
  std::string name; // a label for status; "env-server@<advertise>" when empty
  absl::Duration heartbeat_interval = absl::Seconds(3);
  absl::Duration rpc_timeout = absl::Seconds(3);
  // One registration attempt keeps trying this long; between attempts the
  // link waits `retry_interval` (the server serves all the while).
  absl::Duration attempt_window = absl::Seconds(2);
  absl::Duration retry_interval = absl::Milliseconds(500);
  // Optional: open sessions right now, reported as load
  // (queue_depths["open_sessions"]) about once a heartbeat.
  std::function<int64_t()> open_sessions;
  // Optional: runs after every (re-)registration with the id and the count
  // (1 for the first), on the registering thread; must not block.
  std::function<void(const std::string &component_id, int64_t registration)>
      on_registered;
};

// Registers an env server with the coordinator as ROLE_ENV_SERVER (address,
// capabilities.envs, capabilities.max_sessions) from a thread it owns and
// never makes its owner wait for the coordinator: while none answers it
// keeps trying, and once registered the CoordinatorClient beats and
// re-registers by itself after a coordinator restart. A registration the
// coordinator refuses (INVALID_ARGUMENT) is logged and not retried
// (status() says why). Close() (or the destructor) stops trying, joins and
// deregisters. Thread-safe.
class CoordinatorLink {
public:
  // INVALID_ARGUMENT for a missing coordinator or advertised address; does
  // not contact the coordinator.
  static absl::StatusOr<std::unique_ptr<CoordinatorLink>>
  Start(CoordinatorLinkOptions options);
  ~CoordinatorLink();
  CoordinatorLink(const CoordinatorLink &) = delete;
  CoordinatorLink &operator=(const CoordinatorLink &) = delete;

  // True once registered (it stays true while the coordinator is away).
  bool registered() const;
  // Blocks until registered (true) or `timeout` passes or the link gave up
  // (false).
  bool WaitForRegistered(absl::Duration timeout) const;
  // The coordinator's id for this server; empty until registered.
  std::string component_id() const;
  // OK while trying or registered; the coordinator's refusal otherwise.
  absl::Status status() const;
  // Registrations so far (1 after the first, +1 per re-registration).
  int64_t registrations() const;

  // Stops, joins and deregisters (when the coordinator answers).
  void Close();

private:
  explicit CoordinatorLink(CoordinatorLinkOptions options)
      : options_(std::move(options)) {}
  void Run();
  scheduler::pb::ComponentLoad Load() const;

  const CoordinatorLinkOptions options_;
  absl::Notification stop_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::unique_ptr<scheduler::CoordinatorClient> client_ ABSL_GUARDED_BY(mu_);
  bool gave_up_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

} // namespace agentgym::env

#endif // AGENTGYM_ENV_SERVER_COORDINATOR_LINK_H_
