#ifndef AGENTGYM_POLICY_KV_CACHE_H_
#define AGENTGYM_POLICY_KV_CACHE_H_

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "policy/model.h"

namespace agentgym::policy {

// Keys/values of one sequence: per layer [kv_heads, capacity, head_dim], the
// first `length` columns valid (keys already rotated). Owned by the Generator's
// Sequence; not thread-safe.
struct SequenceKv {
  std::vector<torch::Tensor> k, v;
  int64_t length = 0;
  int64_t capacity = 0;

  // Grows (doubling, at least 16, at most `max_len`) so `needed` columns fit,
  // keeping the valid ones. Throws c10::Error on allocation failure.
  void Reserve(int64_t needed, int64_t max_len, const ModelConfig& config, const torch::TensorOptions& options);
  // One LayerKv per layer viewing the buffers as [1, kv_heads, capacity, hd],
  // for ForwardInput::cache (writes land in this sequence's own storage).
  std::vector<LayerKv> AsBatchOfOne() const;
};

// Batched decode buffers for a fixed, ordered set of sequences, so that
// consecutive one-token decode steps of the same batch write each new key in
// place instead of gathering every cache into a padded batch per step.
//
// Layout per layer: [B, kv_heads, capacity, head_dim]. Row r holds its
// sequence's `prefix[r]` cached columns at [0, prefix[r]), a hole up to
// `shared_start` (the longest prefix), then one column per decode step, shared
// by all rows; a validity mask [B, capacity] hides the holes. Keys carry their
// rotary positions, so holes change nothing but the mask.
//
// While a batch exists its rows' SequenceKv are stale past `prefix[r]`;
// WriteBack() copies the decoded columns back (the owner calls it before it
// drops the batch or touches a row's SequenceKv). Not thread-safe.
class DecodeBatch {
 public:
  // Copies each row's valid columns in. `max_len` caps the capacity.
  DecodeBatch(std::vector<SequenceKv*> rows, const ModelConfig& config, const torch::TensorOptions& options,
              int64_t max_len);

  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  // Columns in use (the P of the next forward).
  int64_t length() const { return length_; }
  // Makes room for one more column and returns the [B, 1, length + 1] mask
  // for the next single-token forward over `buffers()`.
  torch::Tensor PrepareStep();
  std::vector<LayerKv>* buffers() { return &buffers_; }
  // After the forward wrote column length(): counts it.
  void FinishStep() { ++length_; }
  // Appends the columns decoded since construction (and not yet written back)
  // to each row's SequenceKv, growing it as needed. Throws c10::Error.
  void WriteBack();

 private:
  std::vector<SequenceKv*> rows_;
  std::vector<int64_t> prefix_;
  ModelConfig config_;
  int64_t layers_, kv_heads_, head_dim_;
  torch::TensorOptions options_;
  int64_t max_len_;
  int64_t shared_start_ = 0;
  int64_t length_ = 0;
  int64_t capacity_ = 0;
  int64_t written_back_ = 0;  // Decoded columns already copied to the rows.
  std::vector<LayerKv> buffers_;
  torch::Tensor valid_;  // [B, capacity] bool on the model's device.
};

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_KV_CACHE_H_
