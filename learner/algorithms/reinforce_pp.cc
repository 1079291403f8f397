// REINFORCE++ (Hu 2025): token rewards (turn rewards on their last sampled
// token) minus a token-level KL penalty against the reference, discounted
// returns over sampled tokens, then normalised over the whole global batch
// (every rank's sampled tokens) instead of per group.
#include "learner/algorithms/algorithm.h"
#include "learner/algorithms/returns.h"

namespace agentgym::learner {
namespace {

class ReinforcePlusPlus : public Algorithm {
 public:
  explicit ReinforcePlusPlus(AlgorithmOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "reinforce_pp"; }

  AdvantageOutput ComputeAdvantages(const AdvantageInput& in) const override {
    const TokenBatch& b = *in.batch;
    const double kl = o_.kl_mode == "reward" ? o_.kl_coef : 0.0;
    auto rewards = RewardsWithKlPenalty(in, kl);
    auto returns = DiscountedReturns(rewards, b.mask, o_.gamma);
    auto adv = WhitenOverBatch(returns, b.mask, o_.adv_eps, o_.std_normalize, in.all_reduce_sum,
                               o_.adv_std_floor);
    return {adv, torch::Tensor()};
  }

 private:
  AlgorithmOptions o_;
};

}  // namespace

std::unique_ptr<Algorithm> MakeReinforcePlusPlus(const AlgorithmOptions& options) {
  return std::make_unique<ReinforcePlusPlus>(options);
}

}  // namespace agentgym::learner
