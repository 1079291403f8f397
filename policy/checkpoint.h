#ifndef AGENTGYM_POLICY_CHECKPOINT_H_
#define AGENTGYM_POLICY_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "policy/model.h"
#include "policy/safetensors.h"

namespace agentgym::policy {

// The model's parameters under their HF names (shared storage, not copies).
std::map<std::string, torch::Tensor> NamedWeights(CausalLm& model);

// Copies every model parameter from `store`, converting dtype and device.
// NOT_FOUND naming the first missing tensor; INVALID_ARGUMENT on a shape
// mismatch (naming tensor, file shape and model shape). A missing value head
// is allowed (it keeps its initialisation) so a plain HF checkpoint loads into
// a model with a value head. Tensors the model does not use are ignored.
absl::Status LoadWeights(const TensorStore& store, CausalLm& model);

struct SaveOptions {
  // Stored dtype; by default the model's own dtype.
  std::optional<torch::ScalarType> dtype;
  // Shard threshold; a single model.safetensors when everything fits.
  uint64_t max_shard_bytes = 2ull << 30;
};

// Writes config.json and the weights (HF layout) into `dir`, creating it.
absl::Status SavePretrained(const std::string& dir, CausalLm& model, const SaveOptions& options = {});

// Reads `dir`/config.json (or uses `config_override`), builds the model on
// `device` / `dtype` and loads the weights.
absl::StatusOr<CausalLm> LoadPretrained(const std::string& dir, torch::Device device,
                                        torch::ScalarType dtype = torch::kFloat32,
                                        const std::optional<ModelConfig>& config_override = std::nullopt);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_CHECKPOINT_H_
