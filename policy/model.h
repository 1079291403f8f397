#ifndef AGENTGYM_POLICY_MODEL_H_
#define AGENTGYM_POLICY_MODEL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "policy/model_config.h"

namespace agentgym::policy {

// Keys and values of one layer for a batch: [batch, kv_heads, length, head_dim],
// with rotary embeddings already applied to the keys.
struct LayerKv {
  torch::Tensor k;
  torch::Tensor v;
};

// Inputs of one forward pass over `T` new tokens per row with `P` cached ones.
//   input_ids    [B, T] int64
//   position_ids [B, T] int64: absolute positions used for rotary embeddings.
//   mask         [B, T, P + T] bool: true where query t may attend key j
//                (keys: the P past ones first, then the T new ones). Every row
//                that matters must allow at least one key.
//   past         one LayerKv per layer with length P, or empty when P == 0.
//   cache        in-place alternative to `past`, for decoding without copying
//                the cache every step: one LayerKv per layer holding
//                [B, kv_heads, C, head_dim] buffers whose first `cache_length`
//                columns are the past (then P == cache_length). The T new keys
//                and values are written into columns [P, P + T) (C >= P + T)
//                and attention reads columns [0, P + T). Inference only.
struct ForwardInput {
  torch::Tensor input_ids;
  torch::Tensor position_ids;
  torch::Tensor mask;
  std::vector<LayerKv> past;
  std::vector<LayerKv>* cache = nullptr;
  int64_t cache_length = 0;
  bool skip_logits = false;  // Leave ForwardOutput::logits undefined (hidden only).
};

struct ForwardOutput {
  torch::Tensor logits;   // [B, T, vocab] in float32 (undefined with skip_logits).
  torch::Tensor hidden;   // [B, T, hidden] after the final norm.
  torch::Tensor values;   // [B, T] float32 when the value head exists.
  std::vector<LayerKv> present;  // Keys/values of the T new tokens, per layer.
};

// How the constructors below build parameters: each submodule is created on
// the CPU in float32, initialised with `init` (normal(0, 0.02) weights, zero
// biases, unit norms; nullptr keeps LibTorch's default init) and moved to
// `device` / `dtype` before the next one is built, so building a large model
// on a GPU or in bf16 never holds the whole float32 model in host memory.
struct ModelBuild {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  at::Generator* init = nullptr;
};

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const ModelConfig& c);
  // x [B,T,H]; cos/sin [B,T,head_dim]; additive mask [B,1,1,T,P+T].
  // `past` holds P columns to prepend, or (with `in_place`) is a buffer whose
  // columns [P, P+T) receive the new keys/values (see ForwardInput::cache).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos,
                        const torch::Tensor& sin, const torch::Tensor& additive_mask,
                        const LayerKv* past, LayerKv* present, int64_t in_place_length = -1);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos,
                        const torch::Tensor& sin, const torch::Tensor& additive_mask,
                        const LayerKv* past, LayerKv* present, int64_t in_place_length = -1);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

// The "model." prefix of HF checkpoints: embeddings, layers, final norm.
class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const ModelConfig& c, const ModelBuild& build);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Decoder);

// Decoder-only transformer with the Qwen2 / Llama layout (RMSNorm, RoPE with
// optional Llama-3 scaling, grouped-query attention, SwiGLU, optional q/k/v
// bias, tied or untied LM head, optional value head). named_parameters() are
// exactly the HF tensor names. Not thread-safe for concurrent Forward calls that
// train; concurrent inference under torch::NoGradGuard is fine. Created only by
// CreateModel so construction errors surface as a Status.
class CausalLmImpl : public torch::nn::Module {
 public:
  explicit CausalLmImpl(const ModelConfig& c, const ModelBuild& build = {});
  const ModelConfig& config() const { return config_; }
  // Shape mismatches (caught c10::Error) come back as INVALID_ARGUMENT.
  absl::StatusOr<ForwardOutput> Forward(const ForwardInput& in);
  // Same, throwing c10::Error; for code inside policy/ that already catches.
  ForwardOutput ForwardUnchecked(const ForwardInput& in);
  torch::Device device() const;
  torch::ScalarType dtype() const;

  Decoder model{nullptr};
  torch::nn::Linear lm_head{nullptr};     // Null when embeddings are tied.
  torch::nn::Linear value_head{nullptr};  // Null without a value head.
  // The LM head's [vocab, hidden] weight (the embedding when tied).
  torch::Tensor HeadWeight() const { return lm_head ? lm_head->weight : model->embed_tokens->weight; }

 private:
  // cos/sin [B,T,head_dim] in float32 for the given positions.
  std::pair<torch::Tensor, torch::Tensor> Rotary(const torch::Tensor& positions);
  ModelConfig config_;
  torch::Tensor inv_freq_;  // [head_dim/2] float32, a buffer (not saved).
};
TORCH_MODULE(CausalLm);

// Builds a randomly initialised model (normal(0, 0.02) weights, zero biases,
// unit norms; drawn on the CPU from `seed`, so the same on every device) on
// `device` with `dtype`. INVALID_ARGUMENT for a bad config; INTERNAL when
// LibTorch fails (e.g. out of memory).
absl::StatusOr<CausalLm> CreateModel(const ModelConfig& config, torch::Device device,
                                     torch::ScalarType dtype = torch::kFloat32,
                                     uint64_t seed = 0);
// Same shapes without the random draw (LibTorch's default init; the value
// head still gets ours, as a checkpoint may lack it): for weights that are
// loaded next (LoadPretrained).
absl::StatusOr<CausalLm> CreateModelForLoading(const ModelConfig& config, torch::Device device,
                                               torch::ScalarType dtype = torch::kFloat32);

// RoPE inverse frequencies [head_dim/2] (float32), with Llama-3 scaling applied.
torch::Tensor RopeInverseFrequencies(const ModelConfig& config);

// Full-recompute mask helpers. `valid` [B, L] bool marks real tokens (any
// padding side). Returns positions [B, L] (count of earlier real tokens) and a
// causal mask [B, L, L] over real keys; padded query rows attend to themselves.
torch::Tensor PositionsFromValid(const torch::Tensor& valid);
torch::Tensor CausalMaskFromValid(const torch::Tensor& valid);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_MODEL_H_
