#ifndef AGENTGYM_LEARNER_TRAINER_H_
#define AGENTGYM_LEARNER_TRAINER_H_

// One data-parallel rank's training step: scores this rank's slice of the
// batch, computes advantages with the configured algorithm, accumulates
// gradients micro-batch by micro-batch (token budget), sums gradients over
// ranks, clips, and takes the same AdamW step everywhere (ppo_epochs updates
// per training step). Losses are weighted by global-batch denominators, so N
// ranks on N slices compute the same update as one rank on the union batch.
//
// Every rank must call Step once per training step, with its own (possibly
// empty) slice: the collectives pair up across ranks. Not thread-safe; owns
// the model, the optional frozen reference and the optimizer.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "agentgym/trajectory/v1/trajectory.pb.h"
#include "learner/algorithms/algorithm.h"
#include "learner/comm/communicator.h"
#include "learner/learner_options.h"
#include "policy/model.h"

namespace agentgym::learner {

using StepMetrics = std::map<std::string, double>;

class Trainer {
 public:
  // `reference` is required when algorithm.kl_coef > 0 (a frozen copy of the
  // initial weights); `comm` must outlive the trainer.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(policy::CausalLm model,
                                                         std::optional<policy::CausalLm> reference,
                                                         const LearnerOptions& options,
                                                         Communicator* comm);

  // Trains on `slice` (whole groups; validated trajectories). `step` is the
  // 0-based index of this training step (for the learning-rate schedule).
  // INVALID_ARGUMENT for inputs the model rejects; INTERNAL when LibTorch
  // fails; a communicator error when a collective fails.
  absl::StatusOr<StepMetrics> Step(const std::vector<trajectory::v1::Trajectory>& slice, int64_t step);

  // Warm-up (linear from 0) then constant or cosine to min_lr_ratio * lr
  // at max_steps (constant when max_steps is 0).
  double LearningRate(int64_t step) const;

  policy::CausalLm& model() { return model_; }
  absl::Status SaveOptimizer(const std::string& path);
  absl::Status LoadOptimizer(const std::string& path);

 private:
  Trainer(policy::CausalLm model, std::optional<policy::CausalLm> reference, LearnerOptions options,
          Communicator* comm, std::unique_ptr<Algorithm> algorithm);
  absl::StatusOr<StepMetrics> StepUnchecked(const std::vector<trajectory::v1::Trajectory>& slice,
                                            int64_t step);
  torch::Tensor AllReduce(const torch::Tensor& t);

  policy::CausalLm model_;
  std::optional<policy::CausalLm> reference_;
  const LearnerOptions options_;
  Communicator* const comm_;
  std::unique_ptr<Algorithm> algorithm_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  absl::Status comm_status_;  // first collective error inside AllReduce
};

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_TRAINER_H_
