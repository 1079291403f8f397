#include "policy/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace agentgym::policy {
namespace {

const std::vector<double> kProbs = {0.4, 0.3, 0.15, 0.1, 0.05};

// Draws `n` samples (one row each, one shared generator) from kProbs.
std::pair<std::vector<double>, SampleResult> Frequencies(const SamplingParams& p, int64_t n = 40000) {
  torch::Tensor logits = torch::tensor(kProbs, torch::kFloat64).log().to(torch::kFloat32).repeat({n, 1});
  at::Generator gen = MakeGenerator(p.seed);
  std::vector<const SamplingParams*> params(n, &p);
  std::vector<at::Generator*> gens(n, &gen);
  SampleResult r = SampleRows(logits, params, gens);
  // Count in integers and divide once, so an all-one-token outcome is exactly 1.0
  // (summing 1/n n times is not).
  std::vector<int64_t> counts(kProbs.size(), 0);
  for (int64_t i = 0; i < n; ++i) ++counts[r.tokens[i].item<int64_t>()];
  std::vector<double> freq;
  for (int64_t c : counts) freq.push_back(static_cast<double>(c) / n);
  return {freq, r};
}

// Checks frequencies and the reported log-probs against `expected`.
void ExpectDistribution(const SamplingParams& p, const std::vector<double>& expected) {
  auto [freq, r] = Frequencies(p);
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_NEAR(freq[k], expected[k], 0.012) << "token " << k;
  }
  for (int64_t i = 0; i < 50; ++i) {
    const int64_t tok = r.tokens[i].item<int64_t>();
    ASSERT_GT(expected[tok], 0.0);
    EXPECT_NEAR(r.logprobs[i].item<float>(), std::log(expected[tok]), 1e-5);
  }
}

TEST(SamplingTest, TemperatureOneFollowsTheModel) {
  ExpectDistribution({.temperature = 1.0f, .seed = 1}, kProbs);
}

TEST(SamplingTest, TemperatureSharpensTheDistribution) {
  std::vector<double> sq;
  double z = 0;
  for (double p : kProbs) z += p * p;
  for (double p : kProbs) sq.push_back(p * p / z);
  ExpectDistribution({.temperature = 0.5f, .seed = 2}, sq);
}

TEST(SamplingTest, TopKKeepsTheKMostLikely) {
  ExpectDistribution({.temperature = 1.0f, .top_k = 2, .seed = 3}, {4.0 / 7, 3.0 / 7, 0, 0, 0});
}

TEST(SamplingTest, TopPKeepsTheSmallestNucleus) {
  // Mass before token 2 is 0.7: top_p 0.7 stops there, 0.75 includes it.
  ExpectDistribution({.temperature = 1.0f, .top_p = 0.7f, .seed = 4}, {4.0 / 7, 3.0 / 7, 0, 0, 0});
  ExpectDistribution({.temperature = 1.0f, .top_p = 0.75f, .seed = 5}, {0.4 / 0.85, 0.3 / 0.85, 0.15 / 0.85, 0, 0});
}

TEST(SamplingTest, GreedyTakesArgmaxAndReportsModelLogProb) {
  auto [freq, r] = Frequencies({.temperature = 0.0f}, 100);
  EXPECT_EQ(freq[0], 1.0);
  EXPECT_NEAR(r.logprobs[0].item<float>(), std::log(0.4), 1e-5);
}

TEST(SamplingTest, NeverDrawsZeroProbabilityTokens) {
  // Masked (-inf) and underflowing (-1e30) logits at both ends of the vocabulary.
  const float inf = std::numeric_limits<float>::infinity();
  const int64_t n = 20000;
  torch::Tensor logits = torch::tensor({-inf, 0.0f, 0.5f, -1e30f, -inf}).repeat({n, 1});
  const SamplingParams p{.temperature = 1.0f, .seed = 8};
  const SamplingParams top1{.temperature = 1.0f, .top_k = 1, .seed = 9};
  at::Generator gen = MakeGenerator(8);
  std::vector<const SamplingParams*> params(n, &p);
  for (int64_t i = 0; i < n; i += 2) params[i] = &top1;
  std::vector<at::Generator*> gens(n, &gen);
  SampleResult r = SampleRows(logits, params, gens);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = r.tokens[i].item<int64_t>();
    ASSERT_TRUE(t == 1 || t == 2) << "row " << i << " drew " << t;
    if (i % 2 == 0) {
      ASSERT_EQ(t, 2) << "top_k 1 keeps only the argmax";
    }
    ASSERT_TRUE(std::isfinite(r.logprobs[i].item<float>()));
  }
}

TEST(SamplingTest, SameSeedSameSamplesWhateverTheBatch) {
  SamplingParams p{.temperature = 1.0f, .seed = 42};
  auto [f1, r1] = Frequencies(p, 1);
  auto [f2, r2] = Frequencies(p, 7);
  EXPECT_EQ(r1.tokens[0].item<int64_t>(), r2.tokens[0].item<int64_t>());
}

TEST(SamplingTest, ValidatesParams) {
  EXPECT_FALSE(ValidateSamplingParams({.top_k = -1}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.top_p = 0.0f}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.top_p = 1.5f}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.stop_strings = {""}}).ok());
  EXPECT_TRUE(ValidateSamplingParams({}).ok());
}

}  // namespace
}  // namespace agentgym::policy
