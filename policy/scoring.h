#ifndef AGENTGYM_POLICY_SCORING_H_
#define AGENTGYM_POLICY_SCORING_H_

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "policy/model.h"

namespace agentgym::policy {

struct ScoreOptions {
  // Must match what the actor sampled with, so ratios compare log-probs of the
  // same distribution (see ProcessedLogProbs). temperature <= 0 is treated as 1.
  float temperature = 1.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  bool compute_entropy = true;
  // > 0: compute log-probs and entropies this many tokens at a time, never
  // holding the [B, L, vocab] logits (the backward pass recomputes each
  // chunk); same values and gradients. Only without top-k/top-p filters
  // (otherwise ignored).
  int64_t chunk_tokens = 0;
};

// Per-token outputs aligned with the input tokens [B, L]:
//   logprobs[b, t]  = log p(tokens[b, t] | real tokens of row b before t) when
//                     token t is real and some real token precedes it, else 0
//                     (so the first real token of a row scores 0).
//   entropies[b, t] = entropy of that same predictive distribution (else 0).
//   values[b, t]    = value head on the hidden state at t (undefined without
//                     a value head); 0 at padding.
// All keep the autograd graph back to the model weights.
struct ScoreOutput {
  torch::Tensor logprobs;
  torch::Tensor entropies;
  torch::Tensor values;
};

// Learner path: one full forward over padded sequences. `tokens` [B, L] int64,
// `valid` [B, L] bool/int marking real tokens (left, right or mixed padding).
// INVALID_ARGUMENT for mismatched shapes or ids out of vocabulary.
absl::StatusOr<ScoreOutput> ScoreTokens(CausalLm& model, const torch::Tensor& tokens, const torch::Tensor& valid,
                                        const ScoreOptions& options = {});

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_SCORING_H_
