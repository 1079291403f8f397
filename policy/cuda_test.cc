// GPU checks (label "gpu"): skipped cleanly where LibTorch has no CUDA, as with
// Debian's CPU build. On a CUDA build they check that the CUDA path (float32
// and bf16) agrees with the CPU reference and with the golden fixtures.
#include <gtest/gtest.h>

#include <string>

#include "policy/checkpoint.h"
#include "policy/generator.h"
#include "policy/safetensors.h"
#include "policy/scoring.h"
#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

using ::agentgym::policy::testing::RandomModel;
using ::agentgym::policy::testing::SmallConfig;

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA not available in this LibTorch build";
  }
};

TEST_F(CudaTest, GoldenLogitsMatchInFloat32AndBf16) {
  const std::string dir = std::string(AG_POLICY_TESTDATA) + "/golden_qwen2";
  auto expected = SafetensorsFile::Open(dir + "/expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  torch::Tensor ids = *(*expected)->Get("input_ids");
  torch::Tensor want = *(*expected)->Get("logits");
  torch::Tensor valid = torch::ones_like(ids, torch::kBool);
  torch::NoGradGuard no_grad;
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16}) {
    absl::StatusOr<CausalLm> m = LoadPretrained(dir, torch::kCUDA, dtype);
    ASSERT_TRUE(m.ok()) << m.status();
    absl::StatusOr<ForwardOutput> out =
        (*m)->Forward({ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}});
    ASSERT_TRUE(out.ok()) << out.status();
    torch::Tensor got = out->logits.cpu();
    if (dtype == torch::kFloat32) {
      EXPECT_LT((got - want).abs().max().item<float>(), 1e-3);
    } else {
      EXPECT_LT(((got - want).norm() / want.norm()).item<float>(), 0.05);
    }
  }
}

TEST_F(CudaTest, GenerationAndScoringAgreeWithCpu) {
  // No value head: the loss below reaches every other parameter.
  CausalLm cpu = RandomModel(SmallConfig(/*tied=*/false, /*value_head=*/false));
  CausalLm gpu = RandomModel(SmallConfig(/*tied=*/false, /*value_head=*/false));
  gpu->to(torch::kCUDA);
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4, 5, 6, 7, 8, 9}};
  const SamplingParams p{.temperature = 0.0f, .max_new_tokens = 10};
  absl::StatusOr<std::vector<TurnResult>> g = GenerateBatch(gpu, prompts, {p});
  ASSERT_TRUE(g.ok()) << g.status();
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int64_t> seq = prompts[i];
    seq.insert(seq.end(), (*g)[i].tokens.begin(), (*g)[i].tokens.end());
    torch::Tensor ids = torch::tensor(seq, torch::kLong).view({1, -1});
    ScoreOutput on_cpu = *ScoreTokens(cpu, ids, torch::ones_like(ids));
    ScoreOutput on_gpu = *ScoreTokens(gpu, ids, torch::ones_like(ids));
    EXPECT_TRUE(torch::allclose(on_gpu.logprobs.cpu(), on_cpu.logprobs, 1e-3, 1e-3)) << i;
    for (size_t j = 0; j < (*g)[i].tokens.size(); ++j) {
      // Each greedy CUDA token is (near) the CPU argmax and reports its CPU log-prob.
      EXPECT_NEAR((*g)[i].logprobs[j], on_cpu.logprobs[0][prompts[i].size() + j].item<float>(), 1e-3) << j;
    }
    torch::Tensor loss = -on_gpu.logprobs.sum();
    loss.backward();
  }
  for (const auto& param : gpu->parameters()) EXPECT_TRUE(param.grad().defined());
}

}  // namespace
}  // namespace agentgym::policy
