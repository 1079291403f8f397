#ifndef AGENTGYM_SCHEDULER_TASK_FETCHER_H_
#define AGENTGYM_SCHEDULER_TASK_FETCHER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/grpc_security.h"
#include "scheduler/task_sampler.h"

namespace agentgym::scheduler {

// Where the coordinator learns an env's train tasks when the config does not
// list them: the env server that registered for it. Implementations are
// thread-safe (the service calls them outside its lock).
class TaskFetcher {
 public:
  virtual ~TaskFetcher() = default;
  // Every train-split task of `env` on the server at `address`.
  virtual absl::StatusOr<std::vector<EnvTask>> ListTrainTasks(const std::string& address,
                                                              const std::string& env) = 0;
};

// Calls agentgym.env.v1.Env/ListTasks page by page, each page under
// `timeout`. Fails (with the server's status) rather than return a partial
// list; stops after `max_tasks` (INVALID_ARGUMENT beyond that, since a list
// that large is a misconfiguration). `security` is how it dials env servers;
// INVALID_ARGUMENT when its files cannot be read.
absl::StatusOr<std::unique_ptr<TaskFetcher>> MakeGrpcTaskFetcher(const ClientSecurityOptions& security,
                                                                 absl::Duration timeout = absl::Seconds(10),
                                                                 size_t max_tasks = 1'000'000);

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_TASK_FETCHER_H_
