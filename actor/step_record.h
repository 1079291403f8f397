#ifndef AGENTGYM_ACTOR_STEP_RECORD_H_
#define AGENTGYM_ACTOR_STEP_RECORD_H_

#include "agentgym/env/v1/env.pb.h"
#include "agentgym/trajectory/v1/trajectory.pb.h"

namespace agentgym::actor {

// What an env step's result adds to a trajectory, the same for our policy's
// episodes (the engine) and an endpoint's (eval): the turn's reward, score,
// validity and done flag; the episode's summed reward, latest score and the
// env's own success flag (never score > 0). Pure.
inline void RecordStepResult(const env::v1::StepResult& result, trajectory::v1::Turn* turn,
                             trajectory::v1::Trajectory* trajectory) {
  turn->set_reward(result.reward());
  turn->set_score(result.score());
  turn->set_action_valid(result.action_valid());
  turn->set_done(result.done());
  trajectory->set_final_reward(trajectory->final_reward() + result.reward());
  trajectory->set_score(result.score());
  trajectory->set_success(result.success());
}

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_STEP_RECORD_H_
