#ifndef AGENTGYM_ACTOR_COORDINATOR_TASK_SOURCE_H_
#define AGENTGYM_ACTOR_COORDINATOR_TASK_SOURCE_H_

#include <string>
#include <vector>

#include "actor/env_pool.h"
#include "actor/task_source.h"
#include "scheduler/coordinator_client.h"

namespace agentgym::actor {

// Tasks from the coordinator: GetTasks(num_groups, group_size); every answer
// also refreshes the env pool from Directives.env_servers. Finished groups
// go back through CompleteGroups. Never exhausted; paused or empty answers
// are "none right now". Does not own the client or the pool.
class CoordinatorTaskSource : public TaskSource {
 public:
  CoordinatorTaskSource(scheduler::CoordinatorClient* client, EnvPool* pool, int group_size)
      : client_(client), pool_(pool), group_size_(group_size) {}

  absl::StatusOr<std::vector<TaskGroupSpec>> Fetch(int max_groups) override;
  void GroupFinished(const std::string& group_id) override;

  // Directives.env_servers -> the pool's servers.
  static void UpdatePool(const scheduler::pb::Directives& directives, EnvPool* pool);

 private:
  scheduler::CoordinatorClient* const client_;
  EnvPool* const pool_;
  const int group_size_;
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_COORDINATOR_TASK_SOURCE_H_
