#ifndef AGENTGYM_SCHEDULER_RUN_ACCOUNTING_H_
#define AGENTGYM_SCHEDULER_RUN_ACCOUNTING_H_

#include <cstdint>
#include <map>
#include <string>

#include "agentgym/coordinator/v1/coordinator.pb.h"

namespace agentgym::scheduler {

namespace pb = ::agentgym::coordinator::v1;

// Keys of ComponentLoad.queue_depths through which an actor reports its
// cumulative trajectory counters (since its process started) with every
// heartbeat. produced = acked + unacked + dropped at the actor. env_error
// (episodes that ended in an env error) is a diagnostic subset of those: the
// actor sends such an episode to the learner, which counts it as env_error
// once received, or drops it with its group; counting it here as well would
// count it twice.
inline constexpr char kActorProduced[] = "trajectories_produced";
inline constexpr char kActorUnacked[] = "trajectories_unacked";
inline constexpr char kActorEnvError[] = "trajectories_env_error";
inline constexpr char kActorDropped[] = "trajectories_dropped";
// Capabilities.extra key naming one actor process; a new value under a known
// component id means the actor restarted and its old counters are retired.
inline constexpr char kIncarnationKey[] = "incarnation";

// The run's trajectory accounting, combining what actors report in their
// heartbeats with what the learner reports in ReportProgress, so that
//   produced = trained + stale + rejected + env_error + dropped + in_flight
// holds for the whole run:
//   produced  = sum over actor processes of what they finished,
//   env_error = the env-error episodes the learner received,
//   dropped   = actors' dropped group members (env errors among them) + the
//               learner's incomplete
//               groups + trajectories lost with an actor process that ended
//               while they were unacknowledged,
//   in_flight = actors' unacknowledged + the learner's buffered,
//   trained / stale / rejected as the learner reports them.
// An actor process that ends (deregisters, or shows up again with a new
// incarnation) is retired: its counters move into a tally that is kept in the
// coordinator's state file, so restarts of actors and of the coordinator do
// not lose counts. Not thread-safe: the coordinator service serialises calls.
class RunAccounting {
 public:
  // At (re-)registration of an actor. A new incarnation retires the old one.
  void OnActorRegistered(const std::string& actor_id, const std::string& incarnation);
  // An actor's heartbeat load; ignored unless it carries the counters.
  void OnActorLoad(const std::string& actor_id, const pb::ComponentLoad& load);
  // The actor left for good (clean deregistration).
  void OnActorGone(const std::string& actor_id);

  // `learner` as ReportProgress carried it (its produced is what the learner
  // received; replaced by the actors' count once any actor reported one).
  pb::Accounting Combine(const pb::Accounting& learner) const;

  // Counters of retired actor processes, for the state file.
  const pb::Accounting& retired() const { return retired_; }
  void RestoreRetired(const pb::Accounting& retired) { retired_ = retired; }

 private:
  struct Actor {
    std::string incarnation;
    bool reported = false;
    int64_t produced = 0, unacked = 0, dropped = 0;
  };
  void Retire(Actor& actor);

  std::map<std::string, Actor> actors_;  // by component id
  pb::Accounting retired_;               // produced and dropped only
};

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_RUN_ACCOUNTING_H_
