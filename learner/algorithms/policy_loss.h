#ifndef AGENTGYM_LEARNER_ALGORITHMS_POLICY_LOSS_H_
#define AGENTGYM_LEARNER_ALGORITHMS_POLICY_LOSS_H_

// The loss every algorithm shares: PPO's clipped surrogate on importance
// ratios, an optional KL-to-reference term, an entropy bonus and (PPO) a
// clipped value loss. Aggregation is by per-token `weights` that the trainer
// computes for the GLOBAL batch (token: mask / all sampled tokens; sequence:
// mask / (row's sampled tokens * all rows)), so summing the loss over
// micro-batches and ranks gives exactly the loss of the union batch.
// Pure function; thread-safe.

#include <string>

#include <torch/torch.h>

namespace agentgym::learner {

struct LossInputs {
  torch::Tensor logprobs;   // [b, l] current policy, with grad
  torch::Tensor entropies;  // [b, l] with grad (may be undefined when entropy_coef == 0)
  torch::Tensor values;     // [b, l] value head with grad (PPO), else undefined
  torch::Tensor base_logprobs;     // ratio denominator (behaviour or proximal), no grad
  torch::Tensor behaviour_weight;  // [b, l] off-policy correction, or undefined (1)
  torch::Tensor ref_logprobs;      // [b, l] reference, or undefined (no KL term)
  torch::Tensor advantages;        // [b, l]
  torch::Tensor returns;           // [b, l] value targets (PPO)
  torch::Tensor old_values;        // [b, l] values before the update (PPO)
  torch::Tensor mask;              // [b, l] 1 on sampled tokens
  torch::Tensor weights;           // [b, l] aggregation weights (0 off the mask)
};

struct LossOptions {
  double clip_eps = 0.2;
  double kl_coef = 0.0;  // the KL loss term; 0 when the KL sits in the reward
  std::string kl_estimator = "k1";
  double entropy_coef = 0.0;
  double vf_coef = 0.5;
  double value_clip = 0.2;  // 0: unclipped value loss
};

// Weighted sums (weights as above), so they add up over micro-batches and
// ranks into batch means. `total` carries the graph.
struct LossTerms {
  torch::Tensor total;
  double pg = 0, kl = 0, entropy = 0, vf = 0, clip_frac = 0, ratio = 0;
};

LossTerms ComputeLoss(const LossInputs& in, const LossOptions& options);

// Per-token KL(pi || ref) estimates from log-probs (Schulman's k1/k2/k3):
// k1 = logp - ref, k2 = (logp - ref)^2 / 2, k3 = exp(ref - logp) - (ref - logp) - 1.
torch::Tensor KlEstimate(const torch::Tensor& logprobs, const torch::Tensor& ref_logprobs,
                         const std::string& estimator);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_ALGORITHMS_POLICY_LOSS_H_
