#ifndef AGENTGYM_POLICY_SAMPLING_H_
#define AGENTGYM_POLICY_SAMPLING_H_

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"

namespace agentgym::policy {

// How one sequence samples. temperature <= 0 means greedy.
struct SamplingParams {
  float temperature = 1.0f;
  int64_t top_k = 0;      // 0 = no top-k filter.
  float top_p = 1.0f;     // 1 = no nucleus filter; must be in (0, 1].
  int64_t max_new_tokens = 64;
  std::vector<int64_t> stop_token_ids;
  // Matched against the decoded text of the tokens generated this turn, via
  // the Generator's decode callback (the policy core has no tokenizer).
  std::vector<std::string> stop_strings;
  uint64_t seed = 0;  // Seeds this sequence's own torch::Generator.
};

// INVALID_ARGUMENT naming the bad field.
absl::Status ValidateSamplingParams(const SamplingParams& p);

// Log-probabilities [.., V] of the distribution a sampler with these settings
// draws from: logits / temperature, then top-k, then top-p (the smallest set
// of most likely tokens whose mass reaches top_p); removed tokens get -inf.
// temperature <= 0 is treated as 1 (greedy reports model log-probs).
// Differentiable in `logits` (the filters are constant masks).
torch::Tensor ProcessedLogProbs(const torch::Tensor& logits, const torch::Tensor& temperature,
                                const torch::Tensor& top_k, const torch::Tensor& top_p);
torch::Tensor ProcessedLogProbs(const torch::Tensor& logits, float temperature, int64_t top_k = 0,
                                float top_p = 1.0f);

struct SampleResult {
  torch::Tensor tokens;    // [B] int64, CPU.
  torch::Tensor logprobs;  // [B] float32, CPU: log-prob under the processed distribution.
};

// Draws one token per row of `logits` [B, V] with per-row params and per-row
// generators (CPU generators: one uniform each, so results do not depend on
// batch composition or device). Greedy rows take the argmax.
SampleResult SampleRows(const torch::Tensor& logits, const std::vector<const SamplingParams*>& params,
                        const std::vector<at::Generator*>& generators);

// A CPU torch::Generator seeded with `seed`.
at::Generator MakeGenerator(uint64_t seed);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_SAMPLING_H_
