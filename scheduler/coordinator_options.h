#ifndef AGENTGYM_SCHEDULER_COORDINATOR_OPTIONS_H_
#define AGENTGYM_SCHEDULER_COORDINATOR_OPTIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/config.h"
#include "core/grpc_security.h"
#include "scheduler/coordinator_service.h"

namespace agentgym::scheduler {

// Everything the coordinator process needs: the service's options plus where
// it listens and writes.
struct CoordinatorServerOptions {
  // port 0: any free port. Loopback by default: another address needs TLS
  // and a token in `security`, or security.allow_insecure_remote.
  std::string listen = "127.0.0.1:7070";
  ServerSecurityOptions security;
  // TLS / token toward the env servers whose train tasks it lists.
  ClientSecurityOptions env_server_security;
  std::string metrics_listen;           // host:port for /metrics; empty: off
  std::string metrics_jsonl;            // per-step JSONL file; empty: off
  absl::Duration reap_interval = absl::Seconds(1);
  absl::Duration list_tasks_timeout = absl::Seconds(10);
  CoordinatorOptions service;
};

// Reads the run config (docs/coordinator.md): `coordinator.*`, `envs`,
// `curriculum`. INVALID_ARGUMENT names the bad key: an unknown key in any
// section (a typo is never silently ignored), a section that is not a
// mapping, a value of the wrong type, a test-split task id, a curriculum
// track for an env that is not in `envs`.
absl::StatusOr<CoordinatorServerOptions> CoordinatorOptionsFromConfig(const Config& config);

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_COORDINATOR_OPTIONS_H_
