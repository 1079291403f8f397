// GRPO (Shao et al. 2024): a trajectory's advantage is its reward against
// its group, (r - group mean) / (group std + eps) (std_normalize) or
// r - group mean, on every sampled token. The std is the sample std
// (n - 1), as torch.std in the reference recipes.
#include <cmath>
#include <vector>

#include "learner/algorithms/algorithm.h"
#include "learner/algorithms/returns.h"

namespace agentgym::learner {
namespace {

class Grpo : public Algorithm {
 public:
  explicit Grpo(AlgorithmOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "grpo"; }

  AdvantageOutput ComputeAdvantages(const AdvantageInput& in) const override {
    const TokenBatch& b = *in.batch;
    const int64_t rows = b.rows();
    std::vector<double> sum(b.num_groups, 0.0), sumsq(b.num_groups, 0.0), n(b.num_groups, 0.0);
    auto r = b.final_rewards.to(torch::kFloat64).contiguous();
    auto ra = r.accessor<double, 1>();
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t g = b.group_of_row[i];
      sum[g] += ra[i];
      n[g] += 1;
    }
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t g = b.group_of_row[i];
      const double d = ra[i] - sum[g] / n[g];
      sumsq[g] += d * d;
    }
    auto adv = torch::zeros({rows}, torch::kFloat64);
    auto aa = adv.accessor<double, 1>();
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t g = b.group_of_row[i];
      double a = ra[i] - sum[g] / n[g];
      if (o_.std_normalize) {
        const double std = n[g] > 1 ? std::sqrt(sumsq[g] / (n[g] - 1)) : 0.0;
        a /= std + o_.adv_eps;
      }
      aa[i] = a;
    }
    return {BroadcastOverSampled(adv, b.mask), torch::Tensor()};
  }

 private:
  AlgorithmOptions o_;
};

}  // namespace

std::unique_ptr<Algorithm> MakeGrpo(const AlgorithmOptions& options) {
  return std::make_unique<Grpo>(options);
}

}  // namespace agentgym::learner
