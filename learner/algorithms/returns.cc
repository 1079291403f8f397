#include "learner/algorithms/returns.h"

namespace agentgym::learner {

torch::Tensor DiscountedReturns(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma) {
  auto r = rewards.to(torch::kFloat64).contiguous();
  auto m = mask.to(torch::kFloat64).contiguous();
  auto out = torch::zeros_like(r);
  auto ra = r.accessor<double, 2>();
  auto ma = m.accessor<double, 2>();
  auto oa = out.accessor<double, 2>();
  for (int64_t b = 0; b < r.size(0); ++b) {
    double g = 0.0;
    for (int64_t t = r.size(1) - 1; t >= 0; --t) {
      if (ma[b][t] == 0.0) continue;
      g = ra[b][t] + gamma * g;
      oa[b][t] = g;
    }
  }
  return out.to(torch::kFloat32);
}

GaeResult Gae(const torch::Tensor& rewards, const torch::Tensor& values, const torch::Tensor& mask,
              double gamma, double lam) {
  auto r = rewards.to(torch::kFloat64).contiguous();
  auto v = values.to(torch::kFloat64).contiguous();
  auto m = mask.to(torch::kFloat64).contiguous();
  auto adv = torch::zeros_like(r);
  auto ra = r.accessor<double, 2>();
  auto va = v.accessor<double, 2>();
  auto ma = m.accessor<double, 2>();
  auto aa = adv.accessor<double, 2>();
  for (int64_t b = 0; b < r.size(0); ++b) {
    double next_value = 0.0, next_adv = 0.0;
    for (int64_t t = r.size(1) - 1; t >= 0; --t) {
      if (ma[b][t] == 0.0) continue;
      const double delta = ra[b][t] + gamma * next_value - va[b][t];
      next_adv = delta + gamma * lam * next_adv;
      aa[b][t] = next_adv;
      next_value = va[b][t];
    }
  }
  GaeResult out;
  out.advantages = adv.to(torch::kFloat32);
  out.returns = ((adv + v) * m).to(torch::kFloat32);
  return out;
}

torch::Tensor WhitenOverBatch(const torch::Tensor& x, const torch::Tensor& mask, double eps,
                              bool divide_by_std, const AllReduceSumFn& all_reduce_sum,
                              double std_floor) {
  auto xd = x.to(torch::kFloat64);
  auto md = mask.to(torch::kFloat64);
  auto stats = torch::stack({(xd * md).sum(), (xd * xd * md).sum(), md.sum()});
  if (all_reduce_sum) stats = all_reduce_sum(stats);
  const double count = stats[2].item<double>();
  if (count <= 0) return torch::zeros_like(x);
  const double mean = stats[0].item<double>() / count;
  const double var = std::max(0.0, stats[1].item<double>() / count - mean * mean);
  auto centred = (xd - mean) * md;
  if (divide_by_std) centred = centred / (std::max(std::sqrt(var), std_floor) + eps);
  return centred.to(torch::kFloat32);
}

torch::Tensor RewardsWithKlPenalty(const AdvantageInput& in, double kl_coef) {
  const auto& b = *in.batch;
  if (kl_coef <= 0.0 || !in.ref_logprobs.defined()) return b.token_rewards;
  return b.token_rewards - kl_coef * (in.old_logprobs - in.ref_logprobs) * b.mask;
}

torch::Tensor BroadcastOverSampled(const torch::Tensor& per_row, const torch::Tensor& mask) {
  return per_row.to(torch::kFloat32).unsqueeze(1) * mask;
}

}  // namespace agentgym::learner
