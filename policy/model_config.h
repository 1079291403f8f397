#ifndef AGENTGYM_POLICY_MODEL_CONFIG_H_
#define AGENTGYM_POLICY_MODEL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace agentgym::policy {

// Llama-3 style frequency-dependent RoPE scaling ("rope_type": "llama3").
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

// Shape of a decoder-only transformer with the Qwen2 / Llama layout. Field names
// follow Hugging Face config.json so a config round-trips through JSON.
struct ModelConfig {
  std::string model_type = "qwen2";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // 0 means hidden_size / num_attention_heads.
  int64_t max_position_embeddings = 32768;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  // q/k/v projection bias: always on for Qwen2; Llama's "attention_bias"
  // (default false), which for Llama also puts a bias on o_proj.
  bool attention_bias = true;
  bool mlp_bias = false;  // Llama's "mlp_bias": bias on gate/up/down_proj.
  bool tie_word_embeddings = false;
  std::optional<Llama3RopeScaling> rope_scaling;
  // Not an HF field: adds a Linear(hidden, 1) value head on the last hidden
  // state, stored as value_head.weight / value_head.bias.
  bool value_head = false;
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;

  // Llama applies attention_bias to o_proj too; Qwen2 never biases o_proj.
  bool OProjBias() const { return model_type == "llama" && attention_bias; }
  int64_t HeadDim() const {
    return head_dim > 0 ? head_dim : hidden_size / num_attention_heads;
  }
  // Number of parameters (weights + biases) of the model this config builds.
  int64_t NumParameters() const;
  // INVALID_ARGUMENT naming the offending field when shapes are inconsistent.
  absl::Status Validate() const;
  std::string ToJson() const;
};

// Parses an HF config.json text. Unknown keys are ignored; a missing required
// shape key or an unsupported rope_scaling type is INVALID_ARGUMENT.
absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text);
// Reads and parses a config.json file; NOT_FOUND when it cannot be read.
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

// Presets. "tiny" (~1.3M params, vocab 512) is for CPU RL and tests; the Qwen2.5
// shapes match the released models (weights are not included).
ModelConfig TinyConfig(int64_t vocab_size = 512);
ModelConfig Qwen25Config0_5B();
ModelConfig Qwen25Config1_5B();
ModelConfig Qwen25Config7B();
// "tiny", "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-7b"; NOT_FOUND otherwise.
absl::StatusOr<ModelConfig> PresetConfig(const std::string& name);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_MODEL_CONFIG_H_
