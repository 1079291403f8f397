#ifndef AGENTGYM_POLICY_CHUNKED_HEAD_H_
#define AGENTGYM_POLICY_CHUNKED_HEAD_H_

#include <cstdint>
#include <utility>

#include <torch/torch.h>

namespace agentgym::policy {

// Log-prob of `targets` [N] and entropy, both [N] float32, under
// softmax((hidden [N, H] @ weight [V, H]^T) / temperature), computed `chunk`
// rows at a time. Differentiable in `hidden` and `weight`; the backward pass
// recomputes each chunk's logits instead of keeping them, so memory is
// O(chunk x V) rather than O(N x V) (the [N, V] logits of a long batch with a
// 152k vocabulary run to tens of GB). Throws c10::Error.
std::pair<torch::Tensor, torch::Tensor> ChunkedTokenLogProbs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                                             const torch::Tensor& targets, double temperature,
                                                             int64_t chunk);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_CHUNKED_HEAD_H_
