// RLOO (Ahmadian et al. 2024): REINFORCE with a leave-one-out baseline,
// A_i = r_i - mean of the other members' rewards, on every sampled token.
#include <vector>

#include "learner/algorithms/algorithm.h"
#include "learner/algorithms/returns.h"

namespace agentgym::learner {
namespace {

class Rloo : public Algorithm {
 public:
  explicit Rloo(AlgorithmOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "rloo"; }

  AdvantageOutput ComputeAdvantages(const AdvantageInput& in) const override {
    const TokenBatch& b = *in.batch;
    const int64_t rows = b.rows();
    std::vector<double> sum(b.num_groups, 0.0), n(b.num_groups, 0.0);
    auto r = b.final_rewards.to(torch::kFloat64).contiguous();
    auto ra = r.accessor<double, 1>();
    for (int64_t i = 0; i < rows; ++i) {
      sum[b.group_of_row[i]] += ra[i];
      n[b.group_of_row[i]] += 1;
    }
    auto adv = torch::zeros({rows}, torch::kFloat64);
    auto aa = adv.accessor<double, 1>();
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t g = b.group_of_row[i];
      // A lone member has no others to compare with: no signal.
      aa[i] = n[g] > 1 ? ra[i] - (sum[g] - ra[i]) / (n[g] - 1) : 0.0;
    }
    return {BroadcastOverSampled(adv, b.mask), torch::Tensor()};
  }

 private:
  AlgorithmOptions o_;
};

}  // namespace

std::unique_ptr<Algorithm> MakeRloo(const AlgorithmOptions& options) {
  return std::make_unique<Rloo>(options);
}

}  // namespace agentgym::learner
