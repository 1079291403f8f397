#include "learner/algorithms/policy_loss.h"

namespace agentgym::learner {

torch::Tensor KlEstimate(const torch::Tensor& logprobs, const torch::Tensor& ref_logprobs,
                         const std::string& estimator) {
  auto log_ratio = logprobs - ref_logprobs;
  if (estimator == "k2") return 0.5 * log_ratio * log_ratio;
  if (estimator == "k3") return torch::exp(-log_ratio) + log_ratio - 1.0;
  return log_ratio;
}

LossTerms ComputeLoss(const LossInputs& in, const LossOptions& o) {
  const auto& w = in.weights;
  auto log_ratio = (in.logprobs - in.base_logprobs) * in.mask;
  auto ratio = torch::exp(log_ratio);
  auto clipped = torch::clamp(ratio, 1.0 - o.clip_eps, 1.0 + o.clip_eps);
  auto surrogate = torch::min(ratio * in.advantages, clipped * in.advantages);
  auto pg = -surrogate;
  if (in.behaviour_weight.defined()) pg = pg * in.behaviour_weight;
  auto per_token = pg;
  LossTerms terms;
  {
    torch::NoGradGuard guard;
    terms.pg = (pg * w).sum().item<double>();
    auto was_clipped = ((ratio - clipped).abs() > 1e-9).to(torch::kFloat32);
    terms.clip_frac = (was_clipped * w).sum().item<double>();
    terms.ratio = (ratio * w).sum().item<double>();
  }
  if (in.ref_logprobs.defined()) {
    auto kl = KlEstimate(in.logprobs, in.ref_logprobs, o.kl_estimator) * in.mask;
    {
      torch::NoGradGuard guard;
      terms.kl = (kl * w).sum().item<double>();
    }
    if (o.kl_coef > 0) per_token = per_token + o.kl_coef * kl;
  }
  if (in.entropies.defined()) {
    {
      torch::NoGradGuard guard;
      terms.entropy = (in.entropies * w).sum().item<double>();
    }
    if (o.entropy_coef > 0) per_token = per_token - o.entropy_coef * in.entropies;
  }
  if (in.values.defined()) {
    auto err = (in.values - in.returns).pow(2);
    if (o.value_clip > 0) {
      auto v_clipped = in.old_values + torch::clamp(in.values - in.old_values, -o.value_clip, o.value_clip);
      err = torch::max(err, (v_clipped - in.returns).pow(2));
    }
    auto vf = 0.5 * err * in.mask;
    {
      torch::NoGradGuard guard;
      terms.vf = (vf * w).sum().item<double>();
    }
    per_token = per_token + o.vf_coef * vf;
  }
  terms.total = (per_token * w).sum();
  return terms;
}

}  // namespace agentgym::learner
