// CoordinatorService: handing out task groups (GetTasks), completing them,
// and putting a lapsed actor's unfinished groups back in line.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/grpc_status.h"
#include "scheduler/coordinator_internal.h"
#include "scheduler/coordinator_service.h"

namespace agentgym::scheduler {

void CoordinatorService::CompleteGroupsLocked(
    const std::string& actor, const google::protobuf::RepeatedPtrField<std::string>& ids) {
  auto it = outstanding_.find(actor);
  if (it == outstanding_.end()) return;
  Outstanding& out = it->second;
  for (const std::string& id : ids) {
    auto g = out.groups.find(id);
    if (g == out.groups.end()) continue;  // unknown, repeated or forgotten: nothing to do
    out.order.erase(g->second.seq);
    out.groups.erase(g);
  }
}

void CoordinatorService::RequeueLocked(const std::string& actor) {
  auto it = outstanding_.find(actor);
  if (it == outstanding_.end()) return;
  Outstanding& out = it->second;
  int64_t moved = 0;
  for (const auto& [seq, id] : out.order) {
    auto g = out.groups.find(id);
    if (g == out.groups.end()) continue;
    g->second.group.set_reassigned(true);
    reassign_.push_back(std::move(g->second.group));
    out.groups.erase(g);
    ++moved;
  }
  outstanding_.erase(it);
  if (moved > 0) {
    Log()->info("{} unfinished groups of actor {} go to other actors", moved, actor);
    metrics_->GetCounter("agentgym_task_groups_reassigned_total",
                         "Task groups handed again after their actor's lease lapsed")
        ->Increment(static_cast<double>(moved));
  }
}

std::string CoordinatorService::PickServerLocked(const std::string& env) {
  std::vector<const Component*> servers;
  for (const Component* c : registry_.Up(pb::ROLE_ENV_SERVER)) {
    const auto& envs = c->capabilities.envs();
    if (std::find(envs.begin(), envs.end(), env) != envs.end()) servers.push_back(c);
  }
  if (servers.empty()) return "";
  return servers[round_robin_[env]++ % servers.size()]->address;
}

grpc::Status CoordinatorService::GetTasks(grpc::ServerContext*, const pb::GetTasksRequest* req,
                                          pb::GetTasksResponse* resp) {
  if (req->num_groups() <= 0 || req->num_groups() > options_.max_groups_per_request) {
    return Invalid(absl::StrCat("get_tasks: num_groups must be in 1..",
                                options_.max_groups_per_request, ", got ", req->num_groups()));
  }
  if (req->group_size() <= 0 || req->group_size() > options_.max_group_size) {
    return Invalid(absl::StrCat("get_tasks: group_size must be in 1..", options_.max_group_size,
                                ", got ", req->group_size()));
  }
  absl::MutexLock lock(&mu_);
  auto caller = CallerLocked(req->component_id(), pb::ROLE_ACTOR, "get_tasks");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  std::set<std::string> wanted;
  for (const std::string& env : req->envs()) {
    if (!sampler_.Knows(env)) {
      return Invalid(absl::StrCat("get_tasks: env '", env, "' is not configured; configured: ",
                                  absl::StrJoin(sampler_.EnvNames(), ", ")));
    }
    wanted.insert(env);
  }
  CompleteGroupsLocked(req->component_id(), req->completed_group_ids());
  *resp->mutable_directives() = DirectivesLocked();
  if (paused_) {
    resp->set_paused(true);
    return grpc::Status::OK;
  }
  std::set<std::string> allowed;
  for (const std::string& env : sampler_.EnvNames()) {
    if (!wanted.empty() && wanted.count(env) == 0) continue;
    for (const Component* c : registry_.Up(pb::ROLE_ENV_SERVER)) {
      const auto& envs = c->capabilities.envs();
      if (std::find(envs.begin(), envs.end(), env) != envs.end()) allowed.insert(env);
    }
  }
  std::vector<pb::TaskGroup> groups;
  // Groups of lapsed actors go first, whole, if their env is still wanted and
  // served; their size is the one originally asked for.
  for (auto it = reassign_.begin();
       it != reassign_.end() && static_cast<int32_t>(groups.size()) < req->num_groups();) {
    if (!it->tasks().empty() && allowed.count(it->tasks(0).env()) > 0) {
      groups.push_back(std::move(*it));
      it = reassign_.erase(it);
    } else {
      ++it;
    }
  }
  int32_t fresh = req->num_groups() - static_cast<int32_t>(groups.size());
  if (fresh > 0) {
    auto sampled = sampler_.Sample(fresh, req->group_size(), allowed);
    if (!sampled.ok() && groups.empty()) return ToGrpcStatus(sampled.status());
    if (sampled.ok()) {
      for (SampledGroup& s : *sampled) {
        pb::TaskGroup g;
        g.set_group_id(s.group_id);
        for (uint64_t seed : s.seeds) {
          pb::TaskRef* t = g.add_tasks();
          t->set_env(s.env);
          t->set_task_id(s.task.task_id);
          t->set_task_type(s.task.task_type);
          t->set_seed(seed);
          t->set_group_id(s.group_id);
          t->set_epoch(s.epoch);
        }
        groups.push_back(std::move(g));
      }
    }
  }
  Outstanding& out = outstanding_[req->component_id()];
  for (pb::TaskGroup& g : groups) {
    const std::string env = g.tasks(0).env();
    const int32_t horizon = curriculum_.MaxTurnsFor(env);
    const std::string server = PickServerLocked(env);
    for (pb::TaskRef& t : *g.mutable_tasks()) {
      t.set_max_turns(horizon);
      t.set_env_server_address(server);
    }
    metrics_->GetCounter("agentgym_task_groups_handed_total", "Task groups handed to actors",
                         {{"env", env}})
        ->Increment();
    if (auto old = out.groups.find(g.group_id()); old != out.groups.end()) {
      out.order.erase(old->second.seq);  // handed to this actor again
    }
    const uint64_t seq = out.next_seq++;
    out.order[seq] = g.group_id();
    out.groups[g.group_id()] = Outstanding::Entry{seq, g};
    *resp->add_groups() = std::move(g);
  }
  // Bound what one actor that never reports completions can pin: forget its
  // oldest groups (they will not be reassigned if it lapses), and say so.
  int64_t forgotten = 0;
  while (out.groups.size() > options_.max_outstanding_per_actor && !out.order.empty()) {
    auto oldest = out.order.begin();
    forgotten += static_cast<int64_t>(out.groups.erase(oldest->second));
    out.order.erase(oldest);
  }
  if (forgotten > 0) {
    Log()->warn("actor {} holds over {} unfinished groups; forgot its {} oldest (list finished "
                "groups in completed_group_ids)",
                req->component_id(), options_.max_outstanding_per_actor, forgotten);
    metrics_->GetCounter("agentgym_task_groups_forgotten_total",
                         "Outstanding groups dropped from reassignment tracking (actor over cap)")
        ->Increment(static_cast<double>(forgotten));
  }
  return grpc::Status::OK;
}

}  // namespace agentgym::scheduler
