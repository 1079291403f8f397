#ifndef AGENTGYM_POLICY_TEST_UTIL_H_
#define AGENTGYM_POLICY_TEST_UTIL_H_

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "policy/model.h"

namespace agentgym::policy::testing {

// Small enough for millisecond forwards; GQA (4 heads, 2 KV heads), q/k/v
// bias, untied head and a value head so every code path runs.
inline ModelConfig SmallConfig(bool tied = false, bool value_head = true) {
  ModelConfig c;
  c.vocab_size = 61;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 256;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = tied;
  c.value_head = value_head;
  return c;
}

// A model whose every parameter (biases and norms too) is random, so a bug in
// any of them changes the outputs.
inline CausalLm RandomModel(const ModelConfig& c, uint64_t seed = 1,
                            torch::ScalarType dtype = torch::kFloat32) {
  absl::StatusOr<CausalLm> m = CreateModel(c, torch::kCPU, torch::kFloat32, seed);
  EXPECT_TRUE(m.ok()) << m.status();
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed + 1000);
  for (auto& p : (*m)->parameters()) p.normal_(p.dim() == 1 ? 0.5 : 0.0, p.dim() == 1 ? 0.3 : 0.2, gen);
  (*m)->to(dtype);
  return *m;
}

inline std::string TempDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/" + name + "_" +
                    std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name();
  return dir;
}

}  // namespace agentgym::policy::testing

#endif  // AGENTGYM_POLICY_TEST_UTIL_H_
