#include "policy/scoring.h"

#include <gtest/gtest.h>

#include "policy/generator.h"
#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

using ::agentgym::policy::testing::RandomModel;
using ::agentgym::policy::testing::SmallConfig;

TEST(ScoringTest, MatchesLogProbsReturnedByGeneration) {
  CausalLm m = RandomModel(SmallConfig());
  const std::vector<int64_t> prompt = {4, 8, 15, 16, 23};
  const SamplingParams p{.temperature = 0.7f, .max_new_tokens = 9, .seed = 5};
  absl::StatusOr<std::vector<TurnResult>> gen = GenerateBatch(m, {prompt}, {p});
  ASSERT_TRUE(gen.ok()) << gen.status();
  std::vector<int64_t> seq = prompt;
  seq.insert(seq.end(), (*gen)[0].tokens.begin(), (*gen)[0].tokens.end());
  torch::Tensor ids = torch::tensor(seq, torch::kLong).view({1, -1});
  absl::StatusOr<ScoreOutput> s = ScoreTokens(m, ids, torch::ones_like(ids), {.temperature = 0.7f});
  ASSERT_TRUE(s.ok()) << s.status();
  for (size_t i = 0; i < (*gen)[0].tokens.size(); ++i) {
    EXPECT_NEAR(s->logprobs[0][prompt.size() + i].item<float>(), (*gen)[0].logprobs[i], 1e-4) << i;
  }
}

TEST(ScoringTest, PaddingOnEitherSideGivesTheSameScores) {
  CausalLm m = RandomModel(SmallConfig());
  torch::Tensor a = torch::randint(0, 61, {8}, torch::kLong);
  torch::Tensor b = torch::randint(0, 61, {5}, torch::kLong);
  ScoreOutput sa = *ScoreTokens(m, a.view({1, -1}), torch::ones({1, 8}));
  ScoreOutput sb = *ScoreTokens(m, b.view({1, -1}), torch::ones({1, 5}));
  torch::Tensor pad = torch::full({3}, -100, torch::kLong);  // Invalid ids must be ignored.
  torch::Tensor ids = torch::stack({a, torch::cat({pad, b})});
  torch::Tensor valid = torch::ones({2, 8}, torch::kBool);
  valid[1].narrow(0, 0, 3).fill_(false);
  ScoreOutput left = *ScoreTokens(m, ids, valid);
  EXPECT_TRUE(torch::allclose(left.logprobs[0], sa.logprobs[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(left.logprobs[1].narrow(0, 3, 5), sb.logprobs[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(left.entropies[1].narrow(0, 3, 5), sb.entropies[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(left.values[1].narrow(0, 3, 5), sb.values[0], 1e-5, 1e-5));
  EXPECT_EQ(left.logprobs[1].narrow(0, 0, 4).abs().sum().item<float>(), 0.0f);
  ids = torch::stack({a, torch::cat({b, pad})});
  valid = torch::ones({2, 8}, torch::kBool);
  valid[1].narrow(0, 5, 3).fill_(false);
  ScoreOutput right = *ScoreTokens(m, ids, valid);
  EXPECT_TRUE(torch::allclose(right.logprobs[1].narrow(0, 0, 5), sb.logprobs[0], 1e-5, 1e-5));
}

TEST(ScoringTest, PaddingHolesInsideARowAreSkipped) {
  CausalLm m = RandomModel(SmallConfig());
  torch::Tensor a = torch::randint(0, 61, {6}, torch::kLong);
  ScoreOutput alone = *ScoreTokens(m, a.view({1, -1}), torch::ones({1, 6}));
  // Same tokens with padding before, inside and after: [p a0 a1 p p a2 a3 a4 a5 p].
  torch::Tensor ids = torch::full({1, 10}, 7, torch::kLong);
  torch::Tensor valid = torch::zeros({1, 10}, torch::kBool);
  const std::vector<int64_t> where = {1, 2, 5, 6, 7, 8};
  for (size_t i = 0; i < where.size(); ++i) {
    ids[0][where[i]] = a[i];
    valid[0][where[i]] = true;
  }
  ScoreOutput holey = *ScoreTokens(m, ids, valid);
  for (size_t i = 0; i < where.size(); ++i) {
    EXPECT_NEAR(holey.logprobs[0][where[i]].item<float>(), alone.logprobs[0][i].item<float>(), 1e-5) << i;
    EXPECT_NEAR(holey.entropies[0][where[i]].item<float>(), alone.entropies[0][i].item<float>(), 1e-5) << i;
  }
  EXPECT_EQ(holey.logprobs[0][2].item<float>() == 0.0f, false);  // Predicted from position 1.
  EXPECT_EQ(holey.logprobs.masked_select(valid.logical_not()).abs().sum().item<float>(), 0.0f);
}

TEST(ScoringTest, TopKAndTopPMatchWhatGenerationReported) {
  CausalLm m = RandomModel(SmallConfig());
  const std::vector<int64_t> prompt = {3, 1, 4, 1, 5};
  const SamplingParams p{.temperature = 0.9f, .top_k = 20, .top_p = 0.8f, .max_new_tokens = 8, .seed = 11};
  absl::StatusOr<std::vector<TurnResult>> gen = GenerateBatch(m, {prompt}, {p});
  ASSERT_TRUE(gen.ok()) << gen.status();
  std::vector<int64_t> seq = prompt;
  seq.insert(seq.end(), (*gen)[0].tokens.begin(), (*gen)[0].tokens.end());
  torch::Tensor ids = torch::tensor(seq, torch::kLong).view({1, -1});
  ScoreOutput s = *ScoreTokens(m, ids, torch::ones_like(ids), {.temperature = 0.9f, .top_k = 20, .top_p = 0.8f});
  ScoreOutput plain = *ScoreTokens(m, ids, torch::ones_like(ids), {.temperature = 0.9f});
  for (size_t i = 0; i < (*gen)[0].tokens.size(); ++i) {
    const int64_t t = prompt.size() + i;
    EXPECT_NEAR(s.logprobs[0][t].item<float>(), (*gen)[0].logprobs[i], 1e-4) << i;
    // Renormalising over the nucleus can only raise a kept token's log-prob.
    EXPECT_GE(s.logprobs[0][t].item<float>(), plain.logprobs[0][t].item<float>() - 1e-6) << i;
  }
}

TEST(ScoringTest, ChunkedHeadGivesTheSameValuesAndGradients) {
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied);
    CausalLm full = RandomModel(SmallConfig(tied));
    CausalLm chunked = RandomModel(SmallConfig(tied));
    torch::Tensor ids = torch::randint(0, 61, {3, 9}, torch::kLong);
    torch::Tensor valid = torch::ones({3, 9}, torch::kBool);
    valid[1].narrow(0, 0, 3).fill_(false);
    valid[2][4] = false;
    torch::Tensor advantage = torch::randn({3, 9});
    ScoreOutput a = *ScoreTokens(full, ids, valid, {.temperature = 0.7f});
    ScoreOutput b = *ScoreTokens(chunked, ids, valid, {.temperature = 0.7f, .chunk_tokens = 4});
    EXPECT_TRUE(torch::allclose(a.logprobs, b.logprobs, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(a.entropies, b.entropies, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(a.values, b.values, 1e-6, 1e-6));
    // A PPO-like loss using both outputs; every gradient must agree.
    (-(a.logprobs * advantage).sum() - 0.1 * a.entropies.sum()).backward();
    (-(b.logprobs * advantage).sum() - 0.1 * b.entropies.sum()).backward();
    auto pb = chunked->named_parameters();
    for (const auto& item : full->named_parameters()) {
      if (item.key().rfind("value_head", 0) == 0) continue;
      ASSERT_TRUE(pb[item.key()].grad().defined()) << item.key();
      EXPECT_TRUE(torch::allclose(item.value().grad(), pb[item.key()].grad(), 1e-4, 1e-5)) << item.key();
    }
  }
}

TEST(ScoringTest, EntropyMatchesTheDistribution) {
  CausalLm m = RandomModel(SmallConfig());
  torch::Tensor ids = torch::tensor({1, 2, 3}, torch::kLong).view({1, 3});
  ScoreOutput s = *ScoreTokens(m, ids, torch::ones({1, 3}), {.temperature = 1.3f});
  torch::Tensor valid = torch::ones({1, 3}, torch::kBool);
  torch::Tensor logits = m->ForwardUnchecked({ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}}).logits;
  torch::Tensor logp = torch::log_softmax(logits[0][1] / 1.3f, -1);
  EXPECT_NEAR(s.entropies[0][2].item<float>(), -(logp.exp() * logp).sum().item<float>(), 1e-5);
  EXPECT_NEAR(s.logprobs[0][2].item<float>(), logp[3].item<float>(), 1e-5);
}

TEST(ScoringTest, GradientsFlowToEveryParameterWithoutNaN) {
  CausalLm m = RandomModel(SmallConfig());
  torch::Tensor ids = torch::randint(0, 61, {3, 6}, torch::kLong);
  torch::Tensor valid = torch::ones({3, 6}, torch::kBool);
  valid[1].narrow(0, 0, 2).fill_(false);
  valid[2].narrow(0, 4, 2).fill_(false);
  ScoreOutput s = *ScoreTokens(m, ids, valid);
  ASSERT_TRUE(s.logprobs.requires_grad());
  torch::Tensor loss = -s.logprobs.sum() - 0.01 * s.entropies.sum() + s.values.pow(2).sum();
  loss.backward();
  for (const auto& p : m->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_FALSE(p.value().grad().isnan().any().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0.0f) << p.key();
  }
}

TEST(ScoringTest, RejectsMismatchedShapesAndBadIds) {
  CausalLm m = RandomModel(SmallConfig());
  EXPECT_FALSE(ScoreTokens(m, torch::zeros({2, 3}, torch::kLong), torch::ones({2, 4})).ok());
  EXPECT_FALSE(ScoreTokens(m, torch::full({1, 3}, 500, torch::kLong), torch::ones({1, 3})).ok());
}

}  // namespace
}  // namespace agentgym::policy
