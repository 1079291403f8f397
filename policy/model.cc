#include "policy/model.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace agentgym::policy {
namespace {

// Large but finite so a row with no allowed key gives uniform weights, not NaN
// (NaN would poison gradients of padded rows even though their loss is masked).
constexpr float kMaskedScore = -1e9f;

torch::Tensor RotateHalf(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

torch::nn::Linear MakeLinear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// x @ weight^T (+ bias). A single row (batch-1 decode) goes through GEMV:
// OpenBLAS's GEMM with M == 1 reads the weights at less than half the speed
// (measured 0.62 vs 1.5-1.7 ms for a 4864x896 float32 projection, 40 vs 89 ms
// for Qwen2.5's LM head, one thread), and a one-token decode is nothing but
// such reads.
torch::Tensor Project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (x.numel() != x.size(-1)) return torch::nn::functional::linear(x, weight, bias);
  torch::Tensor y = torch::mv(weight, x.reshape({-1}));
  if (bias.defined()) y = y + bias;
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  return y.view(shape);
}
torch::Tensor Project(const torch::Tensor& x, const torch::nn::Linear& l) { return Project(x, l->weight, l->bias); }

// Initialises `m`'s parameters (names relative to `prefix`) from build.init,
// if any, then moves them to the build's device and dtype.
void InitAndMove(torch::nn::Module& m, const std::string& prefix, const ModelBuild& build) {
  torch::NoGradGuard no_grad;
  if (build.init != nullptr) {
    for (auto& item : m.named_parameters()) {
      torch::Tensor& p = item.value();
      if ((prefix + item.key()).find("norm") != std::string::npos) {
        p.fill_(1.0);
      } else if (p.dim() == 1) {
        p.zero_();  // Biases.
      } else {
        p.normal_(0.0, 0.02, *build.init);
      }
    }
  }
  m.to(build.device, build.dtype);
}

}  // namespace

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  // Normalise in float32 like the HF reference so BF16 models stay stable.
  torch::Tensor xf = x.to(torch::kFloat32);
  xf = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * xf.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.HeadDim()) {
  q_proj = register_module("q_proj", MakeLinear(c.hidden_size, heads_ * head_dim_, c.attention_bias));
  k_proj = register_module("k_proj", MakeLinear(c.hidden_size, kv_heads_ * head_dim_, c.attention_bias));
  v_proj = register_module("v_proj", MakeLinear(c.hidden_size, kv_heads_ * head_dim_, c.attention_bias));
  o_proj = register_module("o_proj", MakeLinear(heads_ * head_dim_, c.hidden_size, c.OProjBias()));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                     const torch::Tensor& sin, const torch::Tensor& additive_mask,
                                     const LayerKv* past, LayerKv* present, int64_t in_place_length) {
  const int64_t b = x.size(0), t = x.size(1), groups = heads_ / kv_heads_;
  torch::Tensor q = Project(x, q_proj).view({b, t, heads_, head_dim_}).transpose(1, 2);
  torch::Tensor k = Project(x, k_proj).view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
  torch::Tensor v = Project(x, v_proj).view({b, t, kv_heads_, head_dim_}).transpose(1, 2);
  const torch::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  q = q * c + RotateHalf(q) * s;
  k = k * c + RotateHalf(k) * s;
  present->k = k;
  present->v = v;
  if (in_place_length >= 0) {
    past->k.narrow(2, in_place_length, t).copy_(k);
    past->v.narrow(2, in_place_length, t).copy_(v);
    k = past->k.narrow(2, 0, in_place_length + t);
    v = past->v.narrow(2, 0, in_place_length + t);
  } else if (past != nullptr && past->k.defined() && past->k.size(2) > 0) {
    k = torch::cat({past->k, k}, 2);
    v = torch::cat({past->v, v}, 2);
  }
  const int64_t l = k.size(2);
  // Grouped-query attention without repeating K/V per head: the query heads of
  // one KV group are stacked along the query axis ([B, kvh, g*T, hd]), so each
  // matmul is one batched GEMM per KV head straight on the (possibly strided)
  // cache. For T == 1 the reshape is a view.
  q = q.reshape({b, kv_heads_, groups * t, head_dim_});
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)).view({b, kv_heads_, groups, t, l});
  scores = scores.to(torch::kFloat32) * (1.0 / std::sqrt(static_cast<double>(head_dim_)));
  torch::Tensor probs = torch::softmax(scores + additive_mask, -1).to(v.scalar_type());
  torch::Tensor out = torch::matmul(probs.view({b, kv_heads_, groups * t, l}), v);  // [B,kvh,g*T,hd]
  out = out.view({b, heads_, t, head_dim_}).transpose(1, 2).reshape({b, t, heads_ * head_dim_});
  return Project(out, o_proj);
}

MlpImpl::MlpImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", MakeLinear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  up_proj = register_module("up_proj", MakeLinear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  down_proj = register_module("down_proj", MakeLinear(c.intermediate_size, c.hidden_size, c.mlp_bias));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return Project(torch::silu(Project(x, gate_proj)) * Project(x, up_proj), down_proj);
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", Mlp(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                        const torch::Tensor& sin,
                                        const torch::Tensor& additive_mask, const LayerKv* past,
                                        LayerKv* present, int64_t in_place_length) {
  torch::Tensor h =
      x + self_attn(input_layernorm(x), cos, sin, additive_mask, past, present, in_place_length);
  return h + mlp(post_attention_layernorm(h));
}

DecoderImpl::DecoderImpl(const ModelConfig& c, const ModelBuild& build) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  InitAndMove(*embed_tokens, "embed_tokens.", build);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    DecoderLayer layer(c);
    InitAndMove(*layer, "", build);
    layers->push_back(layer);
  }
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  InitAndMove(*norm, "norm.", build);
}

torch::Tensor RopeInverseFrequencies(const ModelConfig& c) {
  // float32 throughout, as transformers computes it: float64 would be more
  // exact but drifts from HF by ~1e-7 relative, i.e. ~1e-3 rad at 32k positions.
  const int64_t hd = c.HeadDim();
  torch::Tensor inv = 1.0 / torch::pow(c.rope_theta, torch::arange(0, hd, 2, torch::kLong).to(torch::kFloat32) / hd);
  if (c.rope_scaling.has_value()) {
    // Llama-3: keep high frequencies, divide low ones by `factor`, interpolate between.
    const Llama3RopeScaling& s = *c.rope_scaling;
    const double old_len = static_cast<double>(s.original_max_position_embeddings);
    const double low_wavelen = old_len / s.low_freq_factor;
    const double high_wavelen = old_len / s.high_freq_factor;
    torch::Tensor wavelen = 2 * M_PI / inv;
    torch::Tensor scaled = torch::where(wavelen > low_wavelen, inv / s.factor, inv);
    torch::Tensor smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    torch::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    torch::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
    inv = torch::where(medium, smoothed, scaled);
  }
  return inv;
}

CausalLmImpl::CausalLmImpl(const ModelConfig& c, const ModelBuild& build) : config_(c) {
  model = register_module("model", Decoder(c, build));
  if (!c.tie_word_embeddings) {
    lm_head = register_module("lm_head", MakeLinear(c.hidden_size, c.vocab_size, false));
    InitAndMove(*lm_head, "lm_head.", build);
  }
  if (c.value_head) {
    value_head = register_module("value_head", MakeLinear(c.hidden_size, 1, true));
    // Always zero (a checkpoint without a value head keeps it): a fresh
    // critic then predicts exactly 0, so until the first reward its loss,
    // its gradient and every GAE advantage are exactly 0. A random head's
    // noise would instead be a policy gradient, and Adam makes even a tiny
    // noisy gradient a full-size step (PPO from random init collapsed so).
    InitAndMove(*value_head, "value_head.", build);
    torch::NoGradGuard no_grad;
    value_head->weight.zero_();
    value_head->bias.zero_();
  }
  inv_freq_ = RopeInverseFrequencies(c);
}

torch::Device CausalLmImpl::device() const { return model->embed_tokens->weight.device(); }
torch::ScalarType CausalLmImpl::dtype() const { return model->embed_tokens->weight.scalar_type(); }

std::pair<torch::Tensor, torch::Tensor> CausalLmImpl::Rotary(const torch::Tensor& positions) {
  if (inv_freq_.device() != positions.device()) inv_freq_ = inv_freq_.to(positions.device());
  torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq_;
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos(), emb.sin()};
}

ForwardOutput CausalLmImpl::ForwardUnchecked(const ForwardInput& in) {
  const int64_t n_layers = config_.num_hidden_layers;
  TORCH_CHECK(in.input_ids.dim() == 2, "input_ids must be [B, T]");
  TORCH_CHECK(in.position_ids.sizes() == in.input_ids.sizes(), "position_ids must match input_ids");
  TORCH_CHECK(in.past.empty() || static_cast<int64_t>(in.past.size()) == n_layers,
              "past must have one entry per layer");
  const int64_t b = in.input_ids.size(0), t = in.input_ids.size(1);
  const bool in_place = in.cache != nullptr;
  if (in_place) {
    TORCH_CHECK(in.past.empty(), "give past or cache, not both");
    TORCH_CHECK(static_cast<int64_t>(in.cache->size()) == n_layers, "cache must have one entry per layer");
    for (const LayerKv& kv : *in.cache) {
      TORCH_CHECK(kv.k.dim() == 4 && kv.k.size(0) == b && in.cache_length >= 0 &&
                      kv.k.size(2) >= in.cache_length + t && kv.v.sizes() == kv.k.sizes(),
                  "cache buffers must be [B, kv_heads, >= cache_length + T, head_dim]");
    }
  }
  const int64_t p = in_place ? in.cache_length : in.past.empty() ? 0 : in.past[0].k.size(2);
  TORCH_CHECK(in.mask.dim() == 3 && in.mask.size(0) == b && in.mask.size(1) == t &&
                  in.mask.size(2) == p + t,
              "mask must be [B, T, P + T]");
  const torch::Tensor ids = in.input_ids.to(device());
  TORCH_CHECK(ids.numel() == 0 || (ids.min().item<int64_t>() >= 0 &&
                                   ids.max().item<int64_t>() < config_.vocab_size),
              "token id out of range [0, vocab_size)");
  torch::Tensor h = model->embed_tokens(ids);
  auto [cos, sin] = Rotary(in.position_ids.to(device()));
  cos = cos.to(h.scalar_type());
  sin = sin.to(h.scalar_type());
  torch::Tensor additive = torch::zeros({b, 1, 1, t, p + t}, torch::dtype(torch::kFloat32).device(device()))
                               .masked_fill(in.mask.to(device()).logical_not().view({b, 1, 1, t, p + t}),
                                            kMaskedScore);
  ForwardOutput out;
  out.present.resize(n_layers);
  for (int64_t i = 0; i < n_layers; ++i) {
    const LayerKv* past = in_place ? &(*in.cache)[i] : in.past.empty() ? nullptr : &in.past[i];
    h = model->layers[i]->as<DecoderLayerImpl>()->forward(h, cos, sin, additive, past, &out.present[i],
                                                          in_place ? p : -1);
  }
  h = model->norm(h);
  out.hidden = h;
  if (!in.skip_logits) out.logits = Project(h, HeadWeight(), torch::Tensor()).to(torch::kFloat32);
  if (value_head) out.values = Project(h, value_head).squeeze(-1).to(torch::kFloat32);
  return out;
}

absl::StatusOr<ForwardOutput> CausalLmImpl::Forward(const ForwardInput& in) {
  try {
    return ForwardUnchecked(in);
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat("model forward: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<CausalLm> CreateModel(const ModelConfig& config, torch::Device device,
                                     torch::ScalarType dtype, uint64_t seed) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  try {
    // A private generator keeps initialisation deterministic without touching
    // the global RNG, and identical across devices (drawn on the CPU).
    at::Generator gen = at::detail::createCPUGenerator(seed);
    return CausalLm(config, ModelBuild{device, dtype, &gen});
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("creating model: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<CausalLm> CreateModelForLoading(const ModelConfig& config, torch::Device device,
                                               torch::ScalarType dtype) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  try {
    return CausalLm(config, ModelBuild{device, dtype, nullptr});
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("creating model: ", e.what_without_backtrace()));
  }
}

torch::Tensor PositionsFromValid(const torch::Tensor& valid) {
  return (valid.to(torch::kLong).cumsum(1) - 1).clamp_min(0);
}

torch::Tensor CausalMaskFromValid(const torch::Tensor& valid) {
  const int64_t l = valid.size(1);
  torch::Tensor causal = torch::ones({l, l}, torch::dtype(torch::kBool).device(valid.device())).tril();
  torch::Tensor mask = causal.unsqueeze(0).logical_and(valid.to(torch::kBool).unsqueeze(1));
  torch::Tensor eye = torch::eye(l, torch::dtype(torch::kBool).device(valid.device())).unsqueeze(0);
  return mask.logical_or(eye.logical_and(valid.to(torch::kBool).logical_not().unsqueeze(2)));
}

}  // namespace agentgym::policy
