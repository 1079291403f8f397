// Advantages and losses of every algorithm against hand-computed values on
// tiny cases, and the loss gradient against finite differences.
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "learner/algorithms/algorithm.h"
#include "learner/algorithms/policy_loss.h"
#include "learner/algorithms/returns.h"
#include "learner/batch.h"
#include "learner/testing/synthetic.h"

namespace agentgym::learner {
namespace {

using testing::MakeGroup;
using testing::Shape;
using trajectory::v1::Trajectory;

TokenBatch BatchOf(const std::vector<Trajectory>& ts) {
  std::vector<const Trajectory*> rows;
  for (const auto& t : ts) rows.push_back(&t);
  return MakeTokenBatch(rows);
}

AlgorithmOptions Algo(const std::string& name) {
  AlgorithmOptions o;
  o.name = name;
  return o;
}

// The reward of the last turn sits on its last sampled token, even when an
// observation follows it.
TEST(BatchTest, RewardOnLastSampledTokenNotOnObservation) {
  auto g = MakeGroup("g", 50, 1, {2.0});
  TokenBatch b = BatchOf(g);
  // prompt 4, agent [4,7), env [7,9), agent [9,12), env [12,14)
  EXPECT_FLOAT_EQ(b.token_rewards[0][11].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(b.token_rewards.sum().item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(b.mask[0][12].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(b.mask[0][11].item<float>(), 1.0f);
}

TEST(GrpoTest, GroupNormalisedAdvantages) {
  auto g = MakeGroup("g", 50, 1, {1.0, 0.0, 0.0, 1.0});
  TokenBatch b = BatchOf(g);
  auto algo = MakeGrpo(Algo("grpo"));
  AdvantageInput in;
  in.batch = &b;
  auto out = algo->ComputeAdvantages(in);
  const double std = std::sqrt(1.0 / 3.0);  // sample std of {1,0,0,1}
  EXPECT_NEAR(out.advantages[0][4].item<float>(), 0.5 / (std + 1e-4), 1e-5);
  EXPECT_NEAR(out.advantages[1][11].item<float>(), -0.5 / (std + 1e-4), 1e-5);
  EXPECT_EQ(out.advantages[0][7].item<float>(), 0.0f);  // observation token
  EXPECT_EQ(out.advantages[0][0].item<float>(), 0.0f);  // prompt token
  AlgorithmOptions no_std = Algo("grpo");
  no_std.std_normalize = false;
  out = MakeGrpo(no_std)->ComputeAdvantages(in);
  EXPECT_NEAR(out.advantages[2][4].item<float>(), -0.5, 1e-6);
}

TEST(GrpoTest, SeparateGroupsAreNormalisedSeparately) {
  auto g1 = MakeGroup("a", 50, 1, {1.0, 0.0});
  auto g2 = MakeGroup("b", 50, 2, {5.0, 5.0});
  g1.insert(g1.end(), g2.begin(), g2.end());
  TokenBatch b = BatchOf(g1);
  AdvantageInput in;
  in.batch = &b;
  auto out = MakeGrpo(Algo("grpo"))->ComputeAdvantages(in);
  EXPECT_GT(out.advantages[0][4].item<float>(), 0.5f);
  EXPECT_EQ(out.advantages[2][4].item<float>(), 0.0f);  // equal rewards: no signal
}

TEST(RlooTest, LeaveOneOutBaseline) {
  auto g = MakeGroup("g", 50, 1, {1.0, 0.0, 0.0});
  TokenBatch b = BatchOf(g);
  AdvantageInput in;
  in.batch = &b;
  auto out = MakeRloo(Algo("rloo"))->ComputeAdvantages(in);
  EXPECT_NEAR(out.advantages[0][4].item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(out.advantages[1][4].item<float>(), -0.5, 1e-6);
  EXPECT_NEAR(out.advantages[2][10].item<float>(), -0.5, 1e-6);
}

TEST(ReturnsTest, DiscountedReturnsSkipMaskedTokens) {
  auto rewards = torch::tensor({{0.0f, 0.0f, 0.5f, 0.0f, 1.0f, 0.0f}});
  auto mask = torch::tensor({{0.0f, 1.0f, 1.0f, 0.0f, 1.0f, 0.0f}});
  auto g = DiscountedReturns(rewards, mask, 0.5);
  EXPECT_NEAR(g[0][4].item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(g[0][2].item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(g[0][1].item<float>(), 0.5, 1e-6);
  EXPECT_EQ(g[0][3].item<float>(), 0.0f);
  EXPECT_EQ(g[0][5].item<float>(), 0.0f);
}

TEST(ReturnsTest, GaeOverSampledTokens) {
  auto rewards = torch::tensor({{0.0f, 0.0f, 0.5f, 0.0f, 1.0f, 0.0f}});
  auto mask = torch::tensor({{0.0f, 1.0f, 1.0f, 0.0f, 1.0f, 0.0f}});
  auto values = torch::tensor({{9.0f, 0.2f, 0.4f, 9.0f, 0.6f, 9.0f}}) * mask;
  auto r = Gae(rewards, values, mask, /*gamma=*/1.0, /*lam=*/0.5);
  EXPECT_NEAR(r.advantages[0][4].item<float>(), 0.4, 1e-6);
  EXPECT_NEAR(r.advantages[0][2].item<float>(), 0.9, 1e-6);
  EXPECT_NEAR(r.advantages[0][1].item<float>(), 0.65, 1e-6);
  EXPECT_NEAR(r.returns[0][1].item<float>(), 0.85, 1e-6);
  EXPECT_EQ(r.advantages[0][3].item<float>(), 0.0f);
}

// The paper's bug: an episode ending on an observation must still give
// non-zero returns (the reward is not lost on a masked token).
TEST(ReturnsTest, EpisodeEndingOnObservationKeepsItsReward) {
  Shape shape;
  shape.end_with_env = true;
  std::vector<Trajectory> ts = {testing::MakeTrajectory("a", 50, 1, shape, 1.0),
                                testing::MakeTrajectory("b", 50, 2, shape, 0.0)};
  TokenBatch b = BatchOf(ts);
  AdvantageInput in;
  in.batch = &b;
  in.values = torch::zeros_like(b.mask);
  AlgorithmOptions ppo = Algo("ppo");
  ppo.std_normalize = false;
  auto p = MakePpo(ppo)->ComputeAdvantages(in);
  EXPECT_NEAR(p.returns[0][11].item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(p.returns[0][4].item<float>(), 1.0, 1e-6);  // gamma = lam = 1
  auto rpp = MakeReinforcePlusPlus(Algo("reinforce_pp"))->ComputeAdvantages(in);
  EXPECT_GT(rpp.advantages[0][4].item<float>(), 0.5f);
  EXPECT_LT(rpp.advantages[1][4].item<float>(), -0.5f);
}

// Raw advantages: a batch in which nothing succeeded, with a critic that
// expects a little, pushes every sampled token down (none up); whitened,
// half of them would be pushed up.
TEST(PpoTest, RawAdvantagesOfFailuresAreAllNegative) {
  std::vector<Trajectory> ts = {testing::MakeTrajectory("a", 50, 1, {}, 0.0),
                                testing::MakeTrajectory("b", 50, 2, {}, 0.0)};
  TokenBatch b = BatchOf(ts);
  AdvantageInput in;
  in.batch = &b;
  in.values = (torch::rand_like(b.mask) * 0.01 + 0.001) * b.mask;
  AlgorithmOptions raw = Algo("ppo");
  raw.whiten_advantages = false;
  auto r = MakePpo(raw)->ComputeAdvantages(in);
  const auto sampled = b.mask > 0;
  EXPECT_LT(r.advantages.masked_select(sampled).max().item<float>(), 0.0f);
  EXPECT_EQ((r.advantages * (1 - b.mask)).abs().max().item<float>(), 0.0f);
  auto w = MakePpo(Algo("ppo"))->ComputeAdvantages(in);
  EXPECT_GT(w.advantages.masked_select(sampled).max().item<float>(), 0.0f);
}

TEST(ReinforcePlusPlusTest, KlPenaltyEntersTokenRewards) {
  std::vector<Trajectory> ts = {testing::MakeTrajectory("a", 50, 1, {}, 0.0)};
  TokenBatch b = BatchOf(ts);
  AdvantageInput in;
  in.batch = &b;
  in.old_logprobs = b.behaviour_logprobs;                 // -1 on sampled tokens
  in.ref_logprobs = b.behaviour_logprobs - 0.5 * b.mask;  // old - ref = 0.5
  auto rewards = RewardsWithKlPenalty(in, 0.1);
  EXPECT_NEAR(rewards[0][4].item<float>(), -0.05, 1e-6);
  EXPECT_EQ(rewards[0][0].item<float>(), 0.0f);
  AlgorithmOptions o = Algo("reinforce_pp");
  o.kl_mode = "reward";
  o.kl_coef = 0.1;
  o.std_normalize = false;
  auto out = MakeReinforcePlusPlus(o)->ComputeAdvantages(in);
  // Returns: 6 sampled tokens, G = -0.05 * (tokens left); centred on the mean.
  const double mean = -0.05 * (6 + 5 + 4 + 3 + 2 + 1) / 6.0;
  EXPECT_NEAR(out.advantages[0][4].item<float>(), -0.3 - mean, 1e-5);
}

TEST(WhitenTest, UsesTheGlobalBatchThroughAllReduce) {
  auto x = torch::tensor({{1.0f, 3.0f}});
  auto mask = torch::ones({1, 2});
  // Pretend another rank holds {5, 7}: global mean 4, population std sqrt(5).
  AllReduceSumFn fake = [](const torch::Tensor& s) {
    return s + torch::tensor({12.0, 74.0, 2.0}, torch::kFloat64);
  };
  auto w = WhitenOverBatch(x, mask, 0.0, true, fake);
  EXPECT_NEAR(w[0][0].item<float>(), (1.0 - 4.0) / std::sqrt(5.0), 1e-5);
}

TEST(WhitenTest, StdFloorKeepsNoiseSmall) {
  // Advantages that are only noise (std 0.01) stay at their scale with a
  // floor of 0.1 instead of being blown up to unit variance.
  auto x = torch::tensor({{0.01f, -0.01f}});
  auto mask = torch::ones({1, 2});
  auto plain = WhitenOverBatch(x, mask, 0.0, true, nullptr);
  auto floored = WhitenOverBatch(x, mask, 0.0, true, nullptr, 0.1);
  EXPECT_NEAR(plain[0][0].item<float>(), 1.0, 1e-4);
  EXPECT_NEAR(floored[0][0].item<float>(), 0.1, 1e-5);
  // Above the floor the std divides as before.
  auto big = torch::tensor({{2.0f, -2.0f}});
  EXPECT_NEAR(WhitenOverBatch(big, mask, 0.0, true, nullptr, 0.1)[0][0].item<float>(), 1.0, 1e-5);
}

LossInputs OneToken(double logp, double base, double adv) {
  LossInputs in;
  in.logprobs = torch::tensor({{logp}}, torch::kFloat64).requires_grad_(true);
  in.base_logprobs = torch::tensor({{base}}, torch::kFloat64);
  in.advantages = torch::tensor({{adv}}, torch::kFloat64);
  in.mask = torch::ones({1, 1}, torch::kFloat64);
  in.weights = torch::ones({1, 1}, torch::kFloat64);
  return in;
}

TEST(PolicyLossTest, ClippedSurrogateByHand) {
  LossOptions o;
  o.clip_eps = 0.2;
  auto t = ComputeLoss(OneToken(-1.0, -1.2, 1.0), o);  // ratio e^0.2 = 1.2214 > 1.2
  EXPECT_NEAR(t.total.item<double>(), -1.2, 1e-9);
  EXPECT_NEAR(t.clip_frac, 1.0, 1e-9);
  t = ComputeLoss(OneToken(-1.0, -1.2, -1.0), o);  // pessimistic branch: unclipped
  EXPECT_NEAR(t.total.item<double>(), std::exp(0.2), 1e-9);
  t = ComputeLoss(OneToken(-1.0, -1.05, 2.0), o);
  EXPECT_NEAR(t.total.item<double>(), -2.0 * std::exp(0.05), 1e-9);
  EXPECT_NEAR(t.clip_frac, 0.0, 1e-9);
}

TEST(PolicyLossTest, KlEstimatorsByHand) {
  auto lp = torch::tensor({-1.0}, torch::kFloat64);
  auto ref = torch::tensor({-1.5}, torch::kFloat64);
  EXPECT_NEAR(KlEstimate(lp, ref, "k1").item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(KlEstimate(lp, ref, "k2").item<double>(), 0.125, 1e-12);
  EXPECT_NEAR(KlEstimate(lp, ref, "k3").item<double>(), std::exp(-0.5) + 0.5 - 1.0, 1e-12);
}

TEST(PolicyLossTest, ValueLossIsClipped) {
  LossInputs in = OneToken(-1.0, -1.0, 0.0);
  in.values = torch::tensor({{1.0}}, torch::kFloat64).requires_grad_(true);
  in.old_values = torch::tensor({{0.0}}, torch::kFloat64);
  in.returns = torch::tensor({{2.0}}, torch::kFloat64);
  LossOptions o;
  o.vf_coef = 1.0;
  o.value_clip = 0.2;
  auto t = ComputeLoss(in, o);
  // unclipped (1-2)^2 = 1, clipped (0.2-2)^2 = 3.24: the larger one counts.
  EXPECT_NEAR(t.vf, 0.5 * 3.24, 1e-9);
}

TEST(PolicyLossTest, GradientMatchesFiniteDifferences) {
  // Three tokens, all terms on, in float64.
  auto base = torch::tensor({{-1.0, -0.7, -2.0}}, torch::kFloat64);
  auto adv = torch::tensor({{0.8, -0.3, 1.5}}, torch::kFloat64);
  auto ref = torch::tensor({{-1.3, -0.5, -2.1}}, torch::kFloat64);
  auto ent = torch::tensor({{0.9, 1.1, 0.4}}, torch::kFloat64);
  auto weights = torch::tensor({{0.2, 0.5, 0.3}}, torch::kFloat64);
  LossOptions o;
  o.kl_coef = 0.3;
  o.kl_estimator = "k3";
  o.entropy_coef = 0.01;
  auto loss_at = [&](const torch::Tensor& lp) {
    LossInputs in;
    in.logprobs = lp;
    in.base_logprobs = base;
    in.advantages = adv;
    in.ref_logprobs = ref;
    in.entropies = ent;
    in.mask = torch::ones({1, 3}, torch::kFloat64);
    in.weights = weights;
    return ComputeLoss(in, o).total;
  };
  auto lp = torch::tensor({{-0.95, -0.9, -1.9}}, torch::kFloat64).requires_grad_(true);
  loss_at(lp).backward();
  auto grad = lp.grad().clone();
  const double h = 1e-6;
  for (int i = 0; i < 3; ++i) {
    auto plus = lp.detach().clone();
    auto minus = lp.detach().clone();
    plus[0][i] += h;
    minus[0][i] -= h;
    const double fd = (loss_at(plus).item<double>() - loss_at(minus).item<double>()) / (2 * h);
    EXPECT_NEAR(grad[0][i].item<double>(), fd, 1e-6) << "token " << i;
  }
}

}  // namespace
}  // namespace agentgym::learner
