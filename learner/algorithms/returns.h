#ifndef AGENTGYM_LEARNER_ALGORITHMS_RETURNS_H_
#define AGENTGYM_LEARNER_ALGORITHMS_RETURNS_H_

// Building blocks shared by the algorithms. Every recursion runs over the
// SAMPLED tokens of a row only (mask 1), in order: the "next" token of a
// sampled token is the next sampled one, skipping observation tokens, so an
// episode that ends with an env observation keeps its outcome reward.
// CPU float32 [B, L] tensors in and out; pure functions.

#include <torch/torch.h>

#include "learner/algorithms/algorithm.h"

namespace agentgym::learner {

// G_t = r_t + gamma * G_next over sampled tokens; 0 elsewhere.
torch::Tensor DiscountedReturns(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma);

struct GaeResult {
  torch::Tensor advantages;
  torch::Tensor returns;  // advantages + values on sampled tokens
};
// delta_t = r_t + gamma * V_next - V_t (V after the last sampled token: 0),
// A_t = delta_t + gamma * lam * A_next.
GaeResult Gae(const torch::Tensor& rewards, const torch::Tensor& values, const torch::Tensor& mask,
              double gamma, double lam);

// (x - mean) / (max(std, std_floor) + eps) with mean and (population) std
// over the sampled tokens of every rank; 0 where mask is 0. Without std:
// x - mean.
torch::Tensor WhitenOverBatch(const torch::Tensor& x, const torch::Tensor& mask, double eps,
                              bool divide_by_std, const AllReduceSumFn& all_reduce_sum,
                              double std_floor = 0.0);

// token_rewards - kl_coef * (old_logprobs - ref_logprobs) on sampled tokens
// (the KL-in-reward penalty); token_rewards itself when kl_coef is 0 or no
// reference is given.
torch::Tensor RewardsWithKlPenalty(const AdvantageInput& in, double kl_coef);

// Each row's sequence reward broadcast over its sampled tokens.
torch::Tensor BroadcastOverSampled(const torch::Tensor& per_row, const torch::Tensor& mask);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_ALGORITHMS_RETURNS_H_
