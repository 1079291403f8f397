// PPO (Schulman et al. 2017) with a value head: GAE(gamma, lambda) over the
// sampled tokens on the values before the update, targets = A + V, and the
// advantages whitened over the global batch (std_normalize). An optional
// KL-to-reference penalty joins the token rewards (kl_mode: reward).
#include "learner/algorithms/algorithm.h"
#include "learner/algorithms/returns.h"

namespace agentgym::learner {
namespace {

class Ppo : public Algorithm {
 public:
  explicit Ppo(AlgorithmOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "ppo"; }

  AdvantageOutput ComputeAdvantages(const AdvantageInput& in) const override {
    const TokenBatch& b = *in.batch;
    const double kl = o_.kl_mode == "reward" ? o_.kl_coef : 0.0;
    auto rewards = RewardsWithKlPenalty(in, kl);
    auto values = in.values.defined() ? in.values : torch::zeros_like(rewards);
    GaeResult gae = Gae(rewards, values * b.mask, b.mask, o_.gamma, o_.lam);
    if (!o_.whiten_advantages) return {gae.advantages * b.mask, gae.returns};
    auto adv = WhitenOverBatch(gae.advantages, b.mask, o_.adv_eps, o_.std_normalize,
                               in.all_reduce_sum, o_.adv_std_floor);
    return {adv, gae.returns};
  }

 private:
  AlgorithmOptions o_;
};

}  // namespace

std::unique_ptr<Algorithm> MakePpo(const AlgorithmOptions& options) {
  return std::make_unique<Ppo>(options);
}

}  // namespace agentgym::learner
