#ifndef AGENTGYM_LEARNER_ALGORITHMS_ALGORITHM_H_
#define AGENTGYM_LEARNER_ALGORITHMS_ALGORITHM_H_

// One interface for the four RL algorithms: each turns a batch (rewards on
// sampled tokens, old log-probs, optional reference log-probs and values)
// into per-token advantages over the SAMPLED tokens only (0 elsewhere), and
// PPO also into value targets. The loss that consumes them is shared
// (policy_loss.h). Implementations are stateless and thread-safe.

#include <functional>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "learner/batch.h"
#include "learner/learner_options.h"

namespace agentgym::learner {

// Sums a small float64 tensor over every data-parallel rank (identity on
// one rank): how batch-wide statistics stay exactly those of the union batch.
using AllReduceSumFn = std::function<torch::Tensor(const torch::Tensor&)>;

struct AdvantageInput {
  const TokenBatch* batch = nullptr;  // this rank's rows (whole groups)
  torch::Tensor old_logprobs;  // [B, L] log-probs of the sampling policy (for a KL reward)
  torch::Tensor ref_logprobs;  // [B, L] frozen reference; undefined without KL
  torch::Tensor values;        // [B, L] value head before the update (PPO)
  AllReduceSumFn all_reduce_sum;
};

struct AdvantageOutput {
  torch::Tensor advantages;  // [B, L] float32, 0 where mask is 0
  torch::Tensor returns;     // [B, L] value targets (PPO), else undefined
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  virtual std::string name() const = 0;
  virtual AdvantageOutput ComputeAdvantages(const AdvantageInput& in) const = 0;
};

// INVALID_ARGUMENT for an unknown name.
absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const AlgorithmOptions& options);

std::unique_ptr<Algorithm> MakeGrpo(const AlgorithmOptions& options);
std::unique_ptr<Algorithm> MakeRloo(const AlgorithmOptions& options);
std::unique_ptr<Algorithm> MakeReinforcePlusPlus(const AlgorithmOptions& options);
std::unique_ptr<Algorithm> MakePpo(const AlgorithmOptions& options);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_ALGORITHMS_ALGORITHM_H_
