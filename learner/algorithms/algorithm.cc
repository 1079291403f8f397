#include "learner/algorithms/algorithm.h"

#include "absl/strings/str_cat.h"

namespace agentgym::learner {

absl::StatusOr<std::unique_ptr<Algorithm>> CreateAlgorithm(const AlgorithmOptions& options) {
  if (options.name == "grpo") return MakeGrpo(options);
  if (options.name == "rloo") return MakeRloo(options);
  if (options.name == "reinforce_pp") return MakeReinforcePlusPlus(options);
  if (options.name == "ppo") return MakePpo(options);
  return absl::InvalidArgumentError(
      absl::StrCat("config key 'algorithm.name': unknown algorithm '", options.name,
                   "' (expected grpo|ppo|reinforce_pp|rloo)"));
}

}  // namespace agentgym::learner
