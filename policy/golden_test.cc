// Compares the C++ model with reference logits on fixtures committed in
// testdata/ (written by testdata/gen_golden.py, a plain-PyTorch reference):
// logits must agree within 1e-4. AG_POLICY_GOLDEN_DIRS (colon-separated) adds
// directories made by testdata/hf_reference.py with Hugging Face transformers
// itself, where it is installed (see docs/policy.md); without it that test
// is skipped.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_split.h"
#include "policy/checkpoint.h"
#include "policy/generator.h"
#include "policy/safetensors.h"
#include "policy/scoring.h"

namespace agentgym::policy {
namespace {

// `dir` holds config.json, model.safetensors[.index.json] and
// expected.safetensors with "input_ids" [B, T] and "logits" [B, T, V].
void ExpectMatchesReference(const std::string& dir) {
  SCOPED_TRACE(dir);
  absl::StatusOr<CausalLm> m = LoadPretrained(dir, torch::kCPU);
  ASSERT_TRUE(m.ok()) << m.status();
  auto expected = SafetensorsFile::Open(dir + "/expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  torch::Tensor ids = *(*expected)->Get("input_ids");
  torch::Tensor want = (*(*expected)->Get("logits")).to(torch::kFloat32);
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

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, LogitsMatchPytorchReference) {
  ExpectMatchesReference(std::string(AG_POLICY_TESTDATA) + "/" + GetParam());
}

INSTANTIATE_TEST_SUITE_P(Layouts, GoldenTest, ::testing::Values("golden_qwen2", "golden_llama3", "golden_llama_bias"));

TEST(GoldenExternalTest, LogitsMatchTransformersCheckpoints) {
  const char* dirs = std::getenv("AG_POLICY_GOLDEN_DIRS");
  if (dirs == nullptr || *dirs == '\0') GTEST_SKIP() << "AG_POLICY_GOLDEN_DIRS not set";
  for (absl::string_view dir : absl::StrSplit(dirs, ':', absl::SkipEmpty())) ExpectMatchesReference(std::string(dir));
}

}  // namespace
}  // namespace agentgym::policy
