#include "policy/chunked_head.h"

#include <algorithm>

namespace agentgym::policy {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// For s = z / T, p = softmax(s), lp = log p[y], H = -sum p log p:
//   d lp / d s = onehot(y) - p
//   d H  / d s = -p * (log p + H)
class ChunkedHead : public torch::autograd::Function<ChunkedHead> {
 public:
  static variable_list forward(AutogradContext* ctx, torch::Tensor hidden, torch::Tensor weight,
                               torch::Tensor targets, double inv_temperature, int64_t chunk) {
    const int64_t n = hidden.size(0);
    auto f32 = hidden.options().dtype(torch::kFloat32);
    torch::Tensor lp = torch::empty({n}, f32), ent = torch::empty({n}, f32);
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t m = std::min(chunk, n - start);
      torch::Tensor logp = Chunk(hidden, weight, start, m, inv_temperature);
      lp.narrow(0, start, m).copy_(logp.gather(1, targets.narrow(0, start, m).unsqueeze(1)).squeeze(1));
      ent.narrow(0, start, m).copy_(-(logp.exp() * logp).sum(-1));
    }
    ctx->save_for_backward({hidden, weight, targets, ent});
    ctx->saved_data["inv_temperature"] = inv_temperature;
    ctx->saved_data["chunk"] = chunk;
    return {lp, ent};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &hidden = saved[0], &weight = saved[1], &targets = saved[2], &ent = saved[3];
    const double inv_temperature = ctx->saved_data["inv_temperature"].toDouble();
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const int64_t n = hidden.size(0);
    torch::Tensor g_lp = grads[0].defined() ? grads[0] : torch::zeros({n}, ent.options());
    torch::Tensor g_ent = grads[1].defined() ? grads[1] : torch::zeros({n}, ent.options());
    torch::Tensor grad_hidden = torch::empty_like(hidden);
    torch::Tensor grad_weight = torch::zeros(weight.sizes(), weight.options().dtype(torch::kFloat32));
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t m = std::min(chunk, n - start);
      torch::Tensor logp = Chunk(hidden, weight, start, m, inv_temperature);
      torch::Tensor p = logp.exp();
      torch::Tensor gl = g_lp.narrow(0, start, m).unsqueeze(1), ge = g_ent.narrow(0, start, m).unsqueeze(1);
      torch::Tensor grad_s = -p * (gl + ge * (logp + ent.narrow(0, start, m).unsqueeze(1)));
      grad_s.scatter_add_(1, targets.narrow(0, start, m).unsqueeze(1), gl);
      torch::Tensor grad_z = grad_s * inv_temperature;  // [m, V] float32
      torch::Tensor h = hidden.narrow(0, start, m);
      grad_hidden.narrow(0, start, m).copy_(torch::matmul(grad_z.to(weight.scalar_type()), weight));
      grad_weight.add_(torch::matmul(grad_z.t(), h.to(torch::kFloat32)));
    }
    return {grad_hidden, grad_weight.to(weight.scalar_type()), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }

 private:
  // log_softmax of rows [start, start + m) in float32: [m, V].
  static torch::Tensor Chunk(const torch::Tensor& hidden, const torch::Tensor& weight, int64_t start, int64_t m,
                             double inv_temperature) {
    torch::Tensor z = torch::matmul(hidden.narrow(0, start, m), weight.t()).to(torch::kFloat32);
    return torch::log_softmax(z * inv_temperature, -1);
  }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> ChunkedTokenLogProbs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                                             const torch::Tensor& targets, double temperature,
                                                             int64_t chunk) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1), "hidden [N, H], weight [V, H]");
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0), "targets [N]");
  TORCH_CHECK(chunk > 0, "chunk must be > 0");
  const double t = temperature > 0 ? temperature : 1.0;
  variable_list out = ChunkedHead::apply(hidden, weight, targets.to(torch::kLong), 1.0 / t, chunk);
  return {out[0], out[1]};
}

}  // namespace agentgym::policy
