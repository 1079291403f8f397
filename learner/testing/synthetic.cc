#include "learner/testing/synthetic.h"

#include <random>

#include "policy/scoring.h"

namespace agentgym::learner::testing {

using trajectory::v1::Trajectory;

Trajectory MakeTrajectory(const std::string& id, int64_t vocab, uint64_t seed, const Shape& shape,
                          double reward, const std::string& group_id, int group_size,
                          int group_index, int64_t version) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> token(0, vocab - 1);
  Trajectory t;
  t.set_trajectory_id(id);
  std::string mask;
  auto push = [&](bool sampled) {
    t.add_token_ids(static_cast<int32_t>(token(rng)));
    mask.push_back(sampled ? 1 : 0);
    t.add_behaviour_logprobs(sampled ? -1.0f : 0.0f);
  };
  for (int i = 0; i < shape.prompt; ++i) push(false);
  t.set_prompt_length(shape.prompt);
  for (int k = 0; k < shape.turns; ++k) {
    auto* turn = t.add_turns();
    turn->set_agent_begin(t.token_ids_size());
    for (int i = 0; i < shape.agent_tokens; ++i) push(true);
    turn->set_agent_end(t.token_ids_size());
    turn->set_env_begin(t.token_ids_size());
    const bool last = k + 1 == shape.turns;
    if (!last || shape.end_with_env) {
      for (int i = 0; i < shape.env_tokens; ++i) push(false);
    }
    turn->set_env_end(t.token_ids_size());
    turn->set_policy_version(version);
    turn->set_reward(last ? reward : 0.0);
    turn->set_done(last);
  }
  t.set_loss_mask(mask);
  t.set_final_reward(reward);
  t.set_success(reward > 0.5);
  t.set_end_reason(trajectory::v1::END_REASON_DONE);
  t.set_env("synthetic");
  t.set_task_id("task");
  t.set_group_id(group_id);
  t.set_group_size(group_size);
  t.set_group_index(group_index);
  t.mutable_sampling()->set_temperature(1.0f);
  t.mutable_sampling()->set_top_p(1.0f);
  return t;
}

std::vector<Trajectory> MakeGroup(const std::string& group_id, int64_t vocab, uint64_t seed,
                                  const std::vector<double>& rewards, const Shape& shape,
                                  int64_t version) {
  std::vector<Trajectory> out;
  for (size_t i = 0; i < rewards.size(); ++i) {
    out.push_back(MakeTrajectory(group_id + "/" + std::to_string(i), vocab, seed * 1000 + i, shape,
                                 rewards[i], group_id, static_cast<int>(rewards.size()),
                                 static_cast<int>(i), version));
  }
  return out;
}

void ScoreWithModel(policy::CausalLm& model, Trajectory* t) {
  torch::NoGradGuard no_grad;
  const int64_t n = t->token_ids_size();
  auto tokens = torch::zeros({1, n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) tokens[0][i] = t->token_ids(i);
  auto valid = torch::ones({1, n}, torch::kBool);
  policy::ScoreOptions o;
  o.compute_entropy = false;
  auto out = policy::ScoreTokens(model, tokens, valid, o);
  auto lp = out->logprobs.to(torch::kFloat32).contiguous();
  for (int64_t i = 0; i < n; ++i) {
    t->set_behaviour_logprobs(i, t->loss_mask()[i] == 1 ? lp[0][i].item<float>() : 0.0f);
  }
}

}  // namespace agentgym::learner::testing
