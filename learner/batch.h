#ifndef AGENTGYM_LEARNER_BATCH_H_
#define AGENTGYM_LEARNER_BATCH_H_

// Trajectories as padded training tensors (right padding), and micro-batch
// planning. Pure functions of their inputs; thread-safe.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "agentgym/trajectory/v1/trajectory.pb.h"

namespace agentgym::learner {

// [B, L] tensors on the CPU, float32 unless noted. Row b is trajectory b.
struct TokenBatch {
  torch::Tensor tokens;              // int64, 0 at padding
  torch::Tensor valid;               // bool: real tokens
  torch::Tensor mask;                // 1 on sampled tokens (loss_mask), 0 elsewhere
  torch::Tensor behaviour_logprobs;  // 0 where mask is 0
  // Each turn's reward on the last sampled token of that turn (and any part
  // of final_reward the turns do not explain on the last sampled token of
  // the episode): never on a masked observation token.
  torch::Tensor token_rewards;
  torch::Tensor final_rewards;  // [B] float32
  torch::Tensor success;        // [B] float32 (0/1)
  std::vector<int64_t> lengths;  // real tokens per row
  std::vector<int64_t> group_of_row;  // dense group index per row (0..num_groups-1)
  int64_t num_groups = 0;
  int64_t rows() const { return static_cast<int64_t>(lengths.size()); }
};

// Builds the batch. Group indices follow (group_id, group_attempt) in first
// appearance order; trajectories without a group_id are their own group.
// The trajectories must have passed ValidateTrajectory.
TokenBatch MakeTokenBatch(const std::vector<const trajectory::v1::Trajectory*>& trajectories);

// Splits rows 0..n-1 into micro-batches: rows with equal sampling settings
// (temperature, top-k, top-p: they are scored together) in order, each
// micro-batch padded to its longest row holding at most `max_tokens`
// (rows x longest; 0 = no limit; a longer row still gets one of its own).
std::vector<std::vector<int64_t>> PlanMicroBatches(
    const std::vector<const trajectory::v1::Trajectory*>& trajectories, int64_t max_tokens);

// Rows `rows` of a [B, L] tensor, trimmed to `length` columns.
torch::Tensor SelectRows(const torch::Tensor& t, const std::vector<int64_t>& rows, int64_t length);
// Writes `part` [rows.size(), l] back into rows `rows`, columns [0, l), of `full`.
void ScatterRows(torch::Tensor& full, const std::vector<int64_t>& rows, const torch::Tensor& part);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_BATCH_H_
