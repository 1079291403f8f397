#ifndef AGENTGYM_LEARNER_TESTING_SYNTHETIC_H_
#define AGENTGYM_LEARNER_TESTING_SYNTHETIC_H_

// Synthetic trajectories for learner tests: random token ids laid out as a
// prompt, then agent turns (sampled, mask 1) each followed by an env span
// (observation, mask 0), optionally ending on an observation.

#include <cstdint>
#include <string>
#include <vector>

#include "agentgym/trajectory/v1/trajectory.pb.h"
#include "policy/model.h"

namespace agentgym::learner::testing {

struct Shape {
  int prompt = 4;
  int turns = 2;
  int agent_tokens = 3;
  int env_tokens = 2;
  bool end_with_env = true;  // the last turn is followed by an observation
};

// Behaviour log-probs are -1.0 on sampled tokens (use ScoreWithModel for
// real ones). The whole reward sits on the last turn.
trajectory::v1::Trajectory MakeTrajectory(const std::string& id, int64_t vocab, uint64_t seed,
                                          const Shape& shape, double reward,
                                          const std::string& group_id = "", int group_size = 1,
                                          int group_index = 0, int64_t version = 0);

// A group of `size` trajectories with the given rewards.
std::vector<trajectory::v1::Trajectory> MakeGroup(const std::string& group_id, int64_t vocab,
                                                  uint64_t seed, const std::vector<double>& rewards,
                                                  const Shape& shape = {}, int64_t version = 0);

// Sets behaviour_logprobs to the model's own log-probs on sampled tokens, as
// an actor using these weights would have recorded them.
void ScoreWithModel(policy::CausalLm& model, trajectory::v1::Trajectory* t);

}  // namespace agentgym::learner::testing

#endif  // AGENTGYM_LEARNER_TESTING_SYNTHETIC_H_
