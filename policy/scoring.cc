#include "policy/scoring.h"

#include "absl/strings/str_cat.h"
#include "policy/sampling.h"

namespace agentgym::policy {

absl::StatusOr<ScoreOutput> ScoreTokens(CausalLm& model, const torch::Tensor& tokens, const torch::Tensor& valid,
                                        const ScoreOptions& options) {
  if (tokens.dim() != 2 || valid.sizes() != tokens.sizes()) {
    return absl::InvalidArgumentError("ScoreTokens needs tokens [B, L] and valid of the same shape");
  }
  if (tokens.size(1) < 1) return absl::InvalidArgumentError("ScoreTokens needs at least one token per row");
  try {
    const torch::Device dev = model->device();
    torch::Tensor ids = tokens.to(dev, torch::kLong);
    torch::Tensor real = valid.to(dev, torch::kBool);
    // Padding ids may be anything (e.g. -100); the model only sees real ids.
    ids = ids.masked_fill(real.logical_not(), 0);
    ForwardInput in;
    in.input_ids = ids;
    in.position_ids = PositionsFromValid(real);
    in.mask = CausalMaskFromValid(real);
    ForwardOutput out = model->ForwardUnchecked(in);
    const int64_t b = ids.size(0), l = ids.size(1);
    ScoreOutput result;
    auto zeros_col = torch::zeros({b, 1}, torch::dtype(torch::kFloat32).device(dev));
    torch::Tensor pair_valid = real.narrow(1, 1, l - 1).logical_and(real.narrow(1, 0, l - 1));
    torch::Tensor logp = ProcessedLogProbs(out.logits.narrow(1, 0, l - 1), options.temperature);
    torch::Tensor target = logp.gather(-1, ids.narrow(1, 1, l - 1).unsqueeze(-1)).squeeze(-1);
    target = torch::where(pair_valid, target, torch::zeros_like(target));
    result.logprobs = torch::cat({zeros_col, target}, 1);
    if (options.compute_entropy) {
      torch::Tensor p = logp.exp();
      torch::Tensor ent = -(p * torch::where(p > 0, logp, torch::zeros_like(logp))).sum(-1);
      ent = torch::where(pair_valid, ent, torch::zeros_like(ent));
      result.entropies = torch::cat({zeros_col, ent}, 1);
    }
    if (out.values.defined()) result.values = torch::where(real, out.values, torch::zeros_like(out.values));
    return result;
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat("scoring: ", e.what_without_backtrace()));
  }
}

}  // namespace agentgym::policy
