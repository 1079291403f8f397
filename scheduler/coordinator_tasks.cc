// CoordinatorService: handing out task groups (GetTasks), completing them,
// and putting a lapsed actor's unfinished groups back in line.
#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/grpc_status.h"
#include "scheduler/coordinator_internal.h"
#include "scheduler/coordinator_service.h"
#include "scheduler/request_limits.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace agentgym::scheduler {
namespace {

// Task entries freed at once after which memory is handed back to the OS.
constexpr size_t kTrimAfterTasks = 16384;

}  // namespace

void CoordinatorService::CompleteGroupsLocked(
    const std::string& actor, const google::protobuf::RepeatedPtrField<std::string>& ids) {
  auto it = outstanding_.find(actor);
  int64_t late = 0;
  size_t freed = 0;  // task entries
  for (const std::string& id : ids) {
    if (it != outstanding_.end()) {
      Outstanding& out = it->second;
      if (auto g = out.groups.find(id); g != out.groups.end()) {
        freed += static_cast<size_t>(g->second.group.tasks_size());
        out.tasks -= static_cast<size_t>(g->second.group.tasks_size());
        out.order.erase(g->second.seq);
        out.groups.erase(g);
        continue;
      }
    }
    // Finished after all, by an actor whose lease lapsed before it said so:
    // no need to run it again. (Once handed to another actor it stays there.)
    if (auto w = reassign_by_previous_.find(id); w != reassign_by_previous_.end()) {
      if (auto q = reassign_.find(w->second); q != reassign_.end()) {
        reassign_tasks_ -= static_cast<size_t>(q->second.group.tasks_size());
      }
      reassign_.erase(w->second);
      reassign_by_previous_.erase(w);
      ++late;
    }
    // Otherwise unknown, repeated or forgotten: nothing to do.
  }
#ifdef __GLIBC__
  // glibc keeps freed small blocks for reuse; after a large completion, give
  // the pages back so the coordinator's memory follows its unfinished work.
  if (freed >= kTrimAfterTasks) malloc_trim(0);
#endif
  if (late > 0) {
    metrics_->GetCounter("agentgym_task_groups_completed_late_total",
                         "Groups reported done after their actor lapsed, taken off the "
                         "reassignment queue")
        ->Increment(static_cast<double>(late));
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
    // Run again in full under a fresh id: whatever members the lapsed actor
    // already sent stay an incomplete group of the old id, which the learner
    // drops, and never mix with the rerun.
    pb::TaskGroup& group = g->second.group;
    const std::string original =
        group.original_group_id().empty() ? group.group_id() : group.original_group_id();
    const uint64_t key = ++reassign_seq_;
    const std::string fresh = absl::StrCat(original, ".r", key);
    Waiting waiting{std::move(group), id};
    waiting.group.set_original_group_id(original);
    waiting.group.set_group_id(fresh);
    for (pb::TaskRef& t : *waiting.group.mutable_tasks()) t.set_group_id(fresh);
    waiting.group.set_reassigned(true);
    reassign_by_previous_[id] = key;
    reassign_tasks_ += static_cast<size_t>(waiting.group.tasks_size());
    reassign_.emplace(key, std::move(waiting));
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
  int64_t dropped = 0;
  while (!reassign_.empty() && (reassign_.size() > options_.max_reassign_queue ||
                                reassign_tasks_ > options_.max_outstanding_tasks)) {
    reassign_tasks_ -= static_cast<size_t>(reassign_.begin()->second.group.tasks_size());
    reassign_by_previous_.erase(reassign_.begin()->second.previous_id);
    reassign_.erase(reassign_.begin());
    ++dropped;
  }
  if (dropped > 0) {
    Log()->warn("{} groups waiting for reassignment dropped: over {} groups or {} tasks wait "
                "(max_reassign_queue, max_outstanding_tasks; no actor asks their group size?)",
                dropped, options_.max_reassign_queue, options_.max_outstanding_tasks);
    metrics_->GetCounter("agentgym_task_groups_reassign_dropped_total",
                         "Groups of lapsed actors dropped because too many waited")
        ->Increment(static_cast<double>(dropped));
  }
}

int64_t CoordinatorService::GroupsAheadLocked() const {
  int64_t n = learner_buffered_groups_ + static_cast<int64_t>(reassign_.size());
  for (const auto& [actor, out] : outstanding_) n += static_cast<int64_t>(out.groups.size());
  return n;
}

size_t CoordinatorService::TrackedTasksLocked() const {
  size_t n = reassign_tasks_;
  for (const auto& [actor, out] : outstanding_) n += out.tasks;
  return n;
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

grpc::Status CoordinatorService::GetTasks(grpc::ServerContextBase* context,
                                          const pb::GetTasksRequest* req,
                                          pb::GetTasksResponse* resp) {
  if (req->num_groups() <= 0 || req->num_groups() > options_.max_groups_per_request) {
    return Invalid(absl::StrCat("get_tasks: num_groups must be in 1..",
                                options_.max_groups_per_request, ", got ", req->num_groups()));
  }
  if (req->group_size() <= 0 || req->group_size() > options_.max_group_size) {
    return Invalid(absl::StrCat("get_tasks: group_size must be in 1..", options_.max_group_size,
                                ", got ", req->group_size()));
  }
  const int64_t asked = int64_t{req->num_groups()} * req->group_size();
  if (asked > options_.max_tasks_per_request) {
    return Invalid(absl::StrCat("get_tasks: num_groups * group_size is ", asked,
                                "; at most max_tasks_per_request (", options_.max_tasks_per_request,
                                ") tasks are handed out per call"));
  }
  if (absl::Status valid = CheckGetTasksRequest(*req); !valid.ok()) return ToGrpcStatus(valid);
  absl::MutexLock lock(&mu_);
  auto caller = CallerLocked(req->component_id(), pb::ROLE_ACTOR, "get_tasks");
  if (!caller.ok()) return Reply(context, caller.status());
  std::set<std::string> wanted;
  for (const std::string& env : req->envs()) {
    if (!sampler_.Knows(env)) {
      return Invalid(absl::StrCat("get_tasks: env '", Quote(env),
                                  "' is not configured; configured: ",
                                  absl::StrJoin(sampler_.EnvNames(), ", ")));
    }
    wanted.insert(env);
  }
  CompleteGroupsLocked(req->component_id(), req->completed_group_ids());
  // Bound the work one actor, and all actors, hold unfinished (memory).
  {
    auto held = outstanding_.find(req->component_id());
    const size_t mine = held == outstanding_.end() ? 0 : held->second.tasks;
    if (mine + static_cast<size_t>(asked) > options_.max_outstanding_tasks_per_actor) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("get_tasks: actor '", Quote(req->component_id()), "' holds ", mine,
                       " unfinished tasks; ", asked,
                       " more would pass max_outstanding_tasks_per_actor (",
                       options_.max_outstanding_tasks_per_actor,
                       "): report finished groups in completed_group_ids first"));
    }
    const size_t all = TrackedTasksLocked();
    if (all + static_cast<size_t>(asked) > options_.max_outstanding_tasks) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("get_tasks: the coordinator tracks ", all,
                       " unfinished tasks of all actors; ", asked,
                       " more would pass max_outstanding_tasks (", options_.max_outstanding_tasks,
                       "): actors must report finished groups first"));
    }
  }
  *resp->mutable_directives() = DirectivesLocked();
  if (paused_) {
    resp->set_paused(true);
    return grpc::Status::OK;
  }
  std::set<std::string> allowed;
  for (const std::string& env : sampler_.EnvNames()) {
    if (!wanted.empty() && wanted.count(env) == 0) continue;
    // A config list waiting for its check against the server's train tasks,
    // or one with none of them: nothing of it is handed out.
    if (unverified_.count(env) > 0 || refused_.count(env) > 0) continue;
    for (const Component* c : registry_.Up(pb::ROLE_ENV_SERVER)) {
      const auto& envs = c->capabilities.envs();
      if (std::find(envs.begin(), envs.end(), env) != envs.end()) allowed.insert(env);
    }
  }
  // Bounded staleness: past the learner's window, a fresh group handed out
  // now would be generated by a policy too old to train on. The actor asks
  // again shortly (an empty answer is not an error). Groups waiting for
  // reassignment are already in the window (GroupsAheadLocked counts them),
  // so handing them out never waits for it: were they held back, a window
  // full of them would never drain (an actor killed mid-run did that).
  const int32_t room = req->num_groups();
  int32_t window_room = room;
  if (max_groups_ahead_ > 0) {
    window_room = static_cast<int32_t>(
        std::clamp<int64_t>(max_groups_ahead_ - GroupsAheadLocked(), 0, room));
  }
  std::vector<pb::TaskGroup> groups;
  // Groups of lapsed actors go first, whole, to an actor that asks for their
  // size (a group is never split or shrunk: a GRPO/RLOO group of one has no
  // advantage), if their env is still wanted and served. The others wait
  // for an actor that asks their size.
  for (auto it = reassign_.begin();
       it != reassign_.end() && static_cast<int32_t>(groups.size()) < room;) {
    const pb::TaskGroup& g = it->second.group;
    if (g.tasks_size() == req->group_size() && allowed.count(g.tasks(0).env()) > 0) {
      reassign_tasks_ -= static_cast<size_t>(g.tasks_size());
      reassign_by_previous_.erase(it->second.previous_id);
      groups.push_back(std::move(it->second.group));
      it = reassign_.erase(it);
    } else {
      ++it;
    }
  }
  const int32_t fresh = std::min(window_room, room - static_cast<int32_t>(groups.size()));
  if (fresh == 0 && groups.empty()) {
    metrics_->GetCounter("agentgym_get_tasks_throttled_total",
                         "GetTasks answered with no groups: the learner's window of groups "
                         "ahead of training (max_groups_ahead) is full")
        ->Increment();
  }
  if (fresh > 0) {
    std::map<std::string, int32_t> fit_turns;
    for (const std::string& env : allowed) {
      if (auto fit = curriculum_.FitTurnsFor(env)) fit_turns[env] = *fit;
    }
    auto sampled = sampler_.Sample(fresh, req->group_size(), allowed, &fit_turns);
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
          t->set_group_size(req->group_size());
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
      out.tasks -= static_cast<size_t>(old->second.group.tasks_size());
    }
    const uint64_t seq = out.next_seq++;
    out.order[seq] = g.group_id();
    out.tasks += static_cast<size_t>(g.tasks_size());
    out.groups[g.group_id()] = Outstanding::Entry{seq, g};
    *resp->add_groups() = std::move(g);
  }
  // Bound what one actor that never reports completions can pin: forget its
  // oldest groups (they will not be reassigned if it lapses), and say so.
  int64_t forgotten = 0;
  while (out.groups.size() > options_.max_outstanding_per_actor && !out.order.empty()) {
    auto oldest = out.order.begin();
    if (auto g = out.groups.find(oldest->second); g != out.groups.end()) {
      out.tasks -= static_cast<size_t>(g->second.group.tasks_size());
      out.groups.erase(g);
      ++forgotten;
    }
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
