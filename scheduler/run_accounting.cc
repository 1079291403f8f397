#include "scheduler/run_accounting.h"

namespace agentgym::scheduler {
namespace {

int64_t Depth(const pb::ComponentLoad& load, const char* key) {
  auto it = load.queue_depths().find(key);
  return it == load.queue_depths().end() ? 0 : it->second;
}

}  // namespace

void RunAccounting::Retire(Actor& actor) {
  if (!actor.reported) return;
  retired_.set_produced(retired_.produced() + actor.produced);
  // What the process still held unacknowledged is gone with it.
  retired_.set_dropped(retired_.dropped() + actor.dropped + actor.unacked);
  actor = Actor{actor.incarnation};
}

void RunAccounting::OnActorRegistered(const std::string& actor_id,
                                      const std::string& incarnation) {
  auto [it, inserted] = actors_.try_emplace(actor_id);
  if (!inserted && it->second.incarnation != incarnation) Retire(it->second);
  it->second.incarnation = incarnation;
}

void RunAccounting::OnActorLoad(const std::string& actor_id, const pb::ComponentLoad& load) {
  if (load.queue_depths().count(kActorProduced) == 0) return;
  Actor& a = actors_[actor_id];
  a.reported = true;
  a.produced = Depth(load, kActorProduced);
  a.unacked = Depth(load, kActorUnacked);
  a.dropped = Depth(load, kActorDropped);
}

void RunAccounting::OnActorGone(const std::string& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Retire(it->second);
  actors_.erase(it);
}

pb::Accounting RunAccounting::Combine(const pb::Accounting& learner) const {
  pb::Accounting out = learner;
  bool any = retired_.produced() > 0;
  int64_t produced = retired_.produced();
  int64_t dropped = retired_.dropped(), unacked = 0;
  for (const auto& [id, a] : actors_) {
    if (!a.reported) continue;
    any = true;
    produced += a.produced;
    dropped += a.dropped;
    unacked += a.unacked;
  }
  if (!any) return out;
  out.set_produced(produced);
  out.set_dropped(learner.dropped() + dropped);
  out.set_in_flight(learner.in_flight() + unacked);
  return out;
}

}  // namespace agentgym::scheduler
