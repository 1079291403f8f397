#include "actor/coordinator_task_source.h"

#include <algorithm>
#include <map>

namespace agentgym::actor {

void CoordinatorTaskSource::UpdatePool(const scheduler::pb::Directives& directives, EnvPool* pool) {
  std::map<std::string, std::vector<std::string>> servers;
  for (const scheduler::pb::EnvServer& s : directives.env_servers()) {
    if (s.address().empty()) continue;
    servers[s.address()] = {s.envs().begin(), s.envs().end()};
  }
  pool->SetServers(servers);
}

absl::StatusOr<std::vector<TaskGroupSpec>> CoordinatorTaskSource::Fetch(int max_groups) {
  const int n = std::clamp(max_groups, 1, 1024);
  absl::StatusOr<scheduler::pb::GetTasksResponse> resp = client_->GetTasks(n, group_size_);
  if (!resp.ok()) return resp.status();
  UpdatePool(resp->directives(), pool_);
  std::vector<TaskGroupSpec> out;
  for (const scheduler::pb::TaskGroup& g : resp->groups()) {
    TaskGroupSpec spec;
    spec.group_id = g.group_id();
    for (const scheduler::pb::TaskRef& t : g.tasks()) {
      EpisodeTask task;
      task.env = t.env();
      task.task_id = t.task_id();
      task.task_type = t.task_type();
      task.seed = t.seed();
      task.max_turns = t.max_turns();
      task.env_server_address = t.env_server_address();
      spec.members.push_back(std::move(task));
    }
    if (!spec.members.empty()) out.push_back(std::move(spec));
  }
  return out;
}

void CoordinatorTaskSource::GroupFinished(const std::string& group_id) { client_->CompleteGroups({group_id}); }

}  // namespace agentgym::actor
