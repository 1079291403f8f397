// Compares the C++ model with a plain-PyTorch reference (testdata/gen_golden.py)
// on fixtures committed in testdata/: logits must agree within 1e-4.
#include <gtest/gtest.h>

#include <string>

#include "policy/checkpoint.h"
#include "policy/generator.h"
#include "policy/safetensors.h"
#include "policy/scoring.h"

namespace agentgym::policy {
namespace {

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, LogitsMatchPytorchReference) {
  const std::string dir = std::string(AG_POLICY_TESTDATA) + "/" + GetParam();
  absl::StatusOr<CausalLm> m = LoadPretrained(dir, torch::kCPU);
  ASSERT_TRUE(m.ok()) << m.status();
  auto expected = SafetensorsFile::Open(dir + "/expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  torch::Tensor ids = *(*expected)->Get("input_ids");
  torch::Tensor want = *(*expected)->Get("logits");
  torch::NoGradGuard no_grad;
  torch::Tensor valid = torch::ones_like(ids, torch::kBool);
  absl::StatusOr<ForwardOutput> out = (*m)->Forward({ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}});
  ASSERT_TRUE(out.ok()) << out.status();
  const float max_diff = (out->logits - want).abs().max().item<float>();
  EXPECT_LT(max_diff, 1e-4) << "max |logit diff| " << max_diff;

  // The cached generation path reproduces the reference's greedy choices.
  std::vector<int64_t> prompt(ids[0].data_ptr<int64_t>(), ids[0].data_ptr<int64_t>() + 6);
  absl::StatusOr<std::vector<TurnResult>> gen = GenerateBatch(*m, {prompt}, {{.temperature = 0.0f, .max_new_tokens = 1}});
  ASSERT_TRUE(gen.ok()) << gen.status();
  EXPECT_EQ((*gen)[0].tokens[0], want[0][5].argmax().item<int64_t>());
}

INSTANTIATE_TEST_SUITE_P(Layouts, GoldenTest, ::testing::Values("golden_qwen2", "golden_llama3", "golden_llama_bias"));

}  // namespace
}  // namespace agentgym::policy
