#include "policy/sampling.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/DistributionsHelper.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace agentgym::policy {

absl::Status ValidateSamplingParams(const SamplingParams& p) {
  if (!std::isfinite(p.temperature)) return absl::InvalidArgumentError("temperature must be finite");
  if (p.top_k < 0) return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 0, got ", p.top_k));
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p must be in (0, 1], got ", p.top_p));
  }
  if (p.max_new_tokens < 0) return absl::InvalidArgumentError("max_new_tokens must be >= 0");
  for (const std::string& s : p.stop_strings) {
    if (s.empty()) return absl::InvalidArgumentError("stop strings must not be empty");
  }
  return absl::OkStatus();
}

at::Generator MakeGenerator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

torch::Tensor ProcessedLogProbs(const torch::Tensor& logits, const torch::Tensor& temperature,
                                const torch::Tensor& top_k, const torch::Tensor& top_p) {
  // temperature/top_k/top_p: shape broadcastable to logits[..., :1].
  const int64_t v = logits.size(-1);
  const auto opts = logits.options();
  torch::Tensor t = temperature.to(opts);
  t = torch::where(t > 0, t, torch::ones_like(t));
  torch::Tensor scaled = logits / t;
  torch::Tensor k = top_k.to(logits.device(), torch::kLong);
  torch::Tensor p = top_p.to(opts);
  const bool filter_k = ((k > 0).logical_and(k < v)).any().item<bool>();
  const bool filter_p = (p < 1).any().item<bool>();
  if (!filter_k && !filter_p) return torch::log_softmax(scaled, -1);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  torch::NoGradGuard no_grad;  // The keep-mask is a constant; gradients flow through `scaled` below.
  auto [sorted, idx] = scaled.detach().sort(-1, /*descending=*/true);
  torch::Tensor rank = torch::arange(v, torch::dtype(torch::kLong).device(logits.device()));
  torch::Tensor k_eff = torch::where(k > 0, k, torch::full_like(k, v));
  torch::Tensor keep = rank < k_eff;
  torch::Tensor probs = torch::softmax(sorted.masked_fill(keep.logical_not(), neg_inf), -1);
  torch::Tensor mass_before = probs.cumsum(-1) - probs;
  keep = keep.logical_and(mass_before < p);
  torch::Tensor keep_vocab = torch::zeros_like(keep).scatter(-1, idx, keep);
  at::AutoGradMode enable(logits.requires_grad());
  return torch::log_softmax(scaled.masked_fill(keep_vocab.logical_not(), neg_inf), -1);
}

torch::Tensor ProcessedLogProbs(const torch::Tensor& logits, float temperature, int64_t top_k, float top_p) {
  auto cpu = torch::TensorOptions().device(logits.device());
  return ProcessedLogProbs(logits, torch::full({1}, temperature, cpu.dtype(torch::kFloat32)),
                           torch::full({1}, top_k, cpu.dtype(torch::kLong)),
                           torch::full({1}, top_p, cpu.dtype(torch::kFloat32)));
}

SampleResult SampleRows(const torch::Tensor& logits, const std::vector<const SamplingParams*>& params,
                        const std::vector<at::Generator*>& generators) {
  torch::NoGradGuard no_grad;
  const int64_t b = logits.size(0);
  TORCH_CHECK(static_cast<int64_t>(params.size()) == b && static_cast<int64_t>(generators.size()) == b,
              "one SamplingParams and generator per row");
  std::vector<float> temps(b), tops_p(b), uniforms(b);
  std::vector<int64_t> tops_k(b);
  bool any_greedy = false, any_sampled = false;
  for (int64_t i = 0; i < b; ++i) {
    temps[i] = params[i]->temperature;
    tops_k[i] = params[i]->top_k;
    tops_p[i] = params[i]->top_p;
    if (temps[i] <= 0) {
      any_greedy = true;
      uniforms[i] = 0.0f;
    } else {
      any_sampled = true;
      // One draw straight from the row's CPU generator (a tensor op per row
      // would cost more than the draw).
      std::lock_guard<std::mutex> lock(generators[i]->mutex());
      at::uniform_real_distribution<float> uniform(0.0f, 1.0f);
      uniforms[i] = 1.0f - uniform(generators[i]->get<at::CPUGeneratorImpl>());  // In (0, 1], exactly.
    }
  }
  auto dev = logits.device();
  auto f32 = torch::dtype(torch::kFloat32);
  torch::Tensor logp = ProcessedLogProbs(logits.to(torch::kFloat32), torch::tensor(temps, f32).view({b, 1}),
                                         torch::tensor(tops_k, torch::kLong).view({b, 1}),
                                         torch::tensor(tops_p, f32).view({b, 1}));
  torch::Tensor tokens;
  if (any_sampled) {
    torch::Tensor probs = logp.exp();
    torch::Tensor cdf = probs.cumsum(-1);
    // u in (0, 1] scaled by the row's total mass T (1 up to rounding) lies in
    // (0, T]; the first index whose cdf reaches it always exists and has
    // cdf[i] > cdf[i-1], i.e. probability > 0, so a filtered-out (or
    // underflowed) token is never drawn, whatever the rounding.
    torch::Tensor u = torch::tensor(uniforms, f32).to(dev).view({b, 1}) * cdf.narrow(1, cdf.size(1) - 1, 1);
    tokens = torch::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/false).view({b});
  }
  if (any_greedy) {
    torch::Tensor greedy = logits.argmax(-1);
    if (!any_sampled) {
      tokens = greedy;
    } else {
      torch::Tensor is_greedy = torch::tensor(temps, f32).to(dev) <= 0;
      tokens = torch::where(is_greedy, greedy, tokens);
    }
  }
  SampleResult r;
  r.logprobs = logp.gather(-1, tokens.view({b, 1})).view({b}).to(torch::kCPU);
  r.tokens = tokens.to(torch::kCPU);
  return r;
}

}  // namespace agentgym::policy
