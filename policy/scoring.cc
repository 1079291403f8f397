#include "policy/scoring.h"

#include "absl/strings/str_cat.h"
#include "policy/chunked_head.h"
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
    const bool chunked = options.chunk_tokens > 0 && options.top_k == 0 && options.top_p >= 1.0f;
    in.skip_logits = chunked;
    ForwardOutput out = model->ForwardUnchecked(in);
    const int64_t b = ids.size(0), l = ids.size(1);
    // The distribution predicting token t comes from the last real position
    // before t: t - 1 unless padding sits in between (mixed padding).
    torch::Tensor pos = torch::arange(l, torch::dtype(torch::kLong).device(dev)).expand({b, l});
    torch::Tensor last_real = std::get<0>(torch::where(real, pos, torch::full_like(pos, -1)).cummax(1));
    torch::Tensor prev = torch::cat({torch::full({b, 1}, -1, pos.options()), last_real.narrow(1, 0, l - 1)}, 1);
    torch::Tensor scored = real.logical_and(prev >= 0);
    torch::Tensor src = prev.clamp_min(0);
    torch::Tensor rows = (torch::arange(b, pos.options()).unsqueeze(1) * l + src).reshape({-1});
    ScoreOutput result;
    if (out.values.defined()) result.values = torch::where(real, out.values, torch::zeros_like(out.values));
    if (chunked) {
      // Only scored tokens go through the head, from their predicting position.
      torch::Tensor which = scored.reshape({-1}).nonzero().squeeze(1);
      torch::Tensor hidden = out.hidden.reshape({b * l, -1}).index_select(0, rows.index_select(0, which));
      auto [lp, ent] = ChunkedTokenLogProbs(hidden, model->HeadWeight(), ids.reshape({-1}).index_select(0, which),
                                            options.temperature, options.chunk_tokens);
      torch::Tensor zeros = torch::zeros({b * l}, lp.options());
      result.logprobs = zeros.index_put({which}, lp).view({b, l});
      if (options.compute_entropy) result.entropies = zeros.index_put({which}, ent).view({b, l});
      return result;
    }
    const int64_t v = out.logits.size(2);
    torch::Tensor logp = ProcessedLogProbs(out.logits, torch::full({1}, options.temperature),
                                           torch::full({1}, options.top_k, torch::kLong),
                                           torch::full({1}, options.top_p));  // [B, L, V]
    // Element-wise gather logp[b, src[b, t], ids[b, t]]; differentiable.
    torch::Tensor flat = logp.reshape({b * l, v});
    torch::Tensor target = flat.index({rows, ids.reshape({-1})}).view({b, l});
    // A token the filters removed has log-prob -inf; it can only appear when
    // top-k/top-p differ from what produced the tokens, and is kept visible.
    result.logprobs = torch::where(scored, target, torch::zeros_like(target));
    if (options.compute_entropy) {
      torch::Tensor p = logp.exp();
      torch::Tensor ent = -(p * torch::where(p > 0, logp, torch::zeros_like(logp))).sum(-1);  // [B, L]
      ent = ent.gather(1, src);
      result.entropies = torch::where(scored, ent, torch::zeros_like(ent));
    }
    return result;
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat("scoring: ", e.what_without_backtrace()));
  }
}

}  // namespace agentgym::policy
