#include "learner/trainer.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "learner/algorithms/policy_loss.h"
#include "learner/batch.h"
#include "policy/scoring.h"

namespace agentgym::learner {

using trajectory::v1::Trajectory;

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

policy::ScoreOptions ScoreOptionsFor(const Trajectory& t, bool entropy) {
  policy::ScoreOptions o;
  o.temperature = t.sampling().temperature() <= 0 ? 1.0f : t.sampling().temperature();
  o.top_k = t.sampling().top_k();
  o.top_p = t.sampling().top_p() <= 0 ? 1.0f : t.sampling().top_p();
  o.compute_entropy = entropy;
  return o;
}

}  // namespace

Trainer::Trainer(policy::CausalLm model, std::optional<policy::CausalLm> reference,
                 LearnerOptions options, Communicator* comm, std::unique_ptr<Algorithm> algorithm)
    : model_(std::move(model)),
      reference_(std::move(reference)),
      options_(std::move(options)),
      comm_(comm),
      algorithm_(std::move(algorithm)) {}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(policy::CausalLm model,
                                                         std::optional<policy::CausalLm> reference,
                                                         const LearnerOptions& options,
                                                         Communicator* comm) {
  AG_ASSIGN_OR_RETURN(auto algorithm, CreateAlgorithm(options.algorithm));
  if (options.algorithm.UsesReference() && !reference) {
    return absl::InvalidArgumentError("algorithm.kl_coef > 0 needs a reference model");
  }
  if (options.algorithm.UsesValueHead() && !model->value_head) {
    return absl::InvalidArgumentError("ppo needs a model with a value head");
  }
  if (reference) {
    for (auto& p : (*reference)->parameters()) p.set_requires_grad(false);
    (*reference)->eval();
  }
  std::unique_ptr<Trainer> trainer(
      new Trainer(std::move(model), std::move(reference), options, comm, std::move(algorithm)));
  const auto& t = options.train;
  torch::optim::AdamWOptions adam(t.lr);
  adam.betas({t.beta1, t.beta2}).weight_decay(t.weight_decay).eps(t.adam_eps);
  trainer->optimizer_ = std::make_unique<torch::optim::AdamW>(trainer->model_->parameters(), adam);
  return trainer;
}

double Trainer::LearningRate(int64_t step) const {
  const auto& t = options_.train;
  if (t.warmup_steps > 0 && step < t.warmup_steps) {
    return t.lr * static_cast<double>(step + 1) / static_cast<double>(t.warmup_steps);
  }
  if (t.lr_schedule != "cosine" || t.max_steps <= t.warmup_steps) return t.lr;
  const double progress = std::min(
      1.0, static_cast<double>(step - t.warmup_steps) / static_cast<double>(t.max_steps - t.warmup_steps));
  const double floor = t.min_lr_ratio * t.lr;
  return floor + (t.lr - floor) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
}

torch::Tensor Trainer::AllReduce(const torch::Tensor& t) {
  torch::Tensor out = t.clone();
  if (comm_->world_size() > 1) {
    absl::Status s = comm_->AllReduceSum(out);
    if (!s.ok() && comm_status_.ok()) comm_status_ = s;
  }
  return out;
}

absl::StatusOr<StepMetrics> Trainer::Step(const std::vector<Trajectory>& slice, int64_t step) {
  comm_status_ = absl::OkStatus();
  try {
    auto result = StepUnchecked(slice, step);
    if (!comm_status_.ok()) return comm_status_;
    return result;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("training step failed in LibTorch: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("training step failed: ", e.what()));
  }
}

absl::StatusOr<StepMetrics> Trainer::StepUnchecked(const std::vector<Trajectory>& slice, int64_t step) {
  const auto& algo = options_.algorithm;
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device = model_->device();
  std::vector<const Trajectory*> rows;
  rows.reserve(slice.size());
  for (const auto& t : slice) rows.push_back(&t);
  TokenBatch b = MakeTokenBatch(rows);
  const int64_t B = b.rows();
  const int64_t L = b.tokens.size(1);
  const auto plan = PlanMicroBatches(rows, options_.train.micro_batch_tokens);
  auto max_len = [&](const std::vector<int64_t>& mb) {
    int64_t l = 1;
    for (int64_t r : mb) l = std::max(l, b.lengths[r]);
    return l;
  };

  // Pre-pass without gradients: proximal log-probs (off-policy correction),
  // reference log-probs (KL) and values before the update (PPO).
  const bool need_prox = algo.off_policy != "none";
  const bool need_ref = algo.UsesReference();
  const bool need_values = algo.UsesValueHead();
  torch::Tensor prox, ref, values;
  if (need_prox) prox = torch::zeros({B, L});
  if (need_ref) ref = torch::zeros({B, L});
  if (need_values) values = torch::zeros({B, L});
  if (need_prox || need_ref || need_values) {
    torch::NoGradGuard no_grad;
    for (const auto& mb : plan) {
      const int64_t l = max_len(mb);
      auto tokens = SelectRows(b.tokens, mb, l).to(device);
      auto valid = SelectRows(b.valid, mb, l).to(device);
      auto opts = ScoreOptionsFor(*rows[mb[0]], /*entropy=*/false);
      if (need_prox || need_values) {
        AG_ASSIGN_OR_RETURN(auto out, policy::ScoreTokens(model_, tokens, valid, opts));
        if (need_prox) ScatterRows(prox, mb, out.logprobs.to(torch::kCPU, torch::kFloat32));
        if (need_values) ScatterRows(values, mb, out.values.to(torch::kCPU, torch::kFloat32));
      }
      if (need_ref) {
        AG_ASSIGN_OR_RETURN(auto out, policy::ScoreTokens(*reference_, tokens, valid, opts));
        ScatterRows(ref, mb, out.logprobs.to(torch::kCPU, torch::kFloat32));
      }
    }
  }
  const torch::Tensor base = need_prox ? prox * b.mask : b.behaviour_logprobs;
  torch::Tensor behaviour_weight;
  if (need_prox) {
    behaviour_weight = torch::exp((prox - b.behaviour_logprobs) * b.mask);
    if (algo.tis_cap > 0) behaviour_weight = torch::clamp_max(behaviour_weight, algo.tis_cap);
  }

  AdvantageInput in;
  in.batch = &b;
  in.old_logprobs = base;
  in.ref_logprobs = ref;
  in.values = values;
  in.all_reduce_sum = [this](const torch::Tensor& t) { return AllReduce(t); };
  AdvantageOutput adv = algorithm_->ComputeAdvantages(in);
  const bool critic_only = algo.UsesValueHead() && step < algo.critic_warmup_steps;
  if (critic_only) adv.advantages = torch::zeros_like(adv.advantages);

  // Global denominators: every rank weighs its tokens by the union batch.
  auto row_tokens = b.mask.sum(1);
  auto totals = AllReduce(torch::stack({row_tokens.sum().to(torch::kFloat64),
                                        torch::tensor(static_cast<double>(B), torch::kFloat64)}));
  const double total_tokens = std::max(1.0, totals[0].item<double>());
  const double total_rows = std::max(1.0, totals[1].item<double>());
  torch::Tensor weights;
  if (algo.loss_agg == "sequence") {
    weights = b.mask / (row_tokens.clamp_min(1.0).unsqueeze(1) * total_rows);
  } else {
    weights = b.mask / total_tokens;
  }

  LossOptions loss_options;
  loss_options.clip_eps = algo.clip_eps;
  loss_options.kl_coef = algo.kl_mode == "loss" && !critic_only ? algo.kl_coef : 0.0;
  loss_options.kl_estimator = algo.kl_estimator;
  loss_options.entropy_coef = critic_only ? 0.0 : algo.entropy_coef;
  loss_options.vf_coef = algo.vf_coef;
  loss_options.value_clip = algo.value_clip;

  const double lr = LearningRate(step);
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
  std::vector<torch::Tensor> params = model_->parameters();
  double sums[7] = {0, 0, 0, 0, 0, 0, 0};  // loss pg kl entropy vf (epoch 0); clip ratio (all epochs)
  double grad_norm = 0.0, time_fb = 0.0, time_opt = 0.0;
  model_->train();
  for (int epoch = 0; epoch < algo.ppo_epochs; ++epoch) {
    const auto fb_start = std::chrono::steady_clock::now();
    optimizer_->zero_grad();
    for (const auto& mb : plan) {
      const int64_t l = max_len(mb);
      auto sel = [&](const torch::Tensor& t) { return SelectRows(t, mb, l).to(device); };
      auto tokens = sel(b.tokens);
      auto valid = sel(b.valid);
      AG_ASSIGN_OR_RETURN(auto out, policy::ScoreTokens(model_, tokens, valid,
                                                        ScoreOptionsFor(*rows[mb[0]], true)));
      LossInputs li;
      li.logprobs = out.logprobs.to(torch::kFloat32);
      li.entropies = out.entropies.defined() ? out.entropies.to(torch::kFloat32) : torch::Tensor();
      li.mask = sel(b.mask);
      li.base_logprobs = sel(base);
      if (behaviour_weight.defined()) li.behaviour_weight = sel(behaviour_weight);
      if (need_ref) li.ref_logprobs = sel(ref);
      li.advantages = sel(adv.advantages);
      li.weights = sel(weights);
      if (need_values) {
        li.values = out.values.to(torch::kFloat32);
        li.returns = sel(adv.returns);
        li.old_values = sel(values);
      }
      LossTerms terms = ComputeLoss(li, loss_options);
      terms.total.backward();
      if (epoch == 0) {
        sums[0] += terms.total.item<double>();
        sums[1] += terms.pg;
        sums[2] += terms.kl;
        sums[3] += terms.entropy;
        sums[4] += terms.vf;
      }
      sums[5] += terms.clip_frac / algo.ppo_epochs;
      sums[6] += terms.ratio / algo.ppo_epochs;
    }
    time_fb += Seconds(fb_start);
    const auto opt_start = std::chrono::steady_clock::now();
    {
      torch::NoGradGuard no_grad;
      for (auto& p : params) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      }
      if (comm_->world_size() > 1) {
        std::vector<torch::Tensor> flat_parts;
        for (auto& p : params) flat_parts.push_back(p.grad().reshape({-1}).to(torch::kFloat32));
        auto flat = torch::cat(flat_parts);
        AG_RETURN_IF_ERROR(comm_->AllReduceSum(flat));
        int64_t offset = 0;
        for (auto& p : params) {
          const int64_t n = p.numel();
          p.grad().copy_(flat.narrow(0, offset, n).view(p.sizes()));
          offset += n;
        }
      }
    }
    const double max_norm = options_.train.grad_clip > 0 ? options_.train.grad_clip
                                                         : std::numeric_limits<double>::infinity();
    const double norm = torch::nn::utils::clip_grad_norm_(params, max_norm);
    if (epoch == 0) grad_norm = norm;
    if (!std::isfinite(norm)) {
      return absl::InternalError(absl::StrCat("non-finite gradient norm at step ", step));
    }
    optimizer_->step();
    time_opt += Seconds(opt_start);
  }

  // Batch statistics over every rank.
  auto adv_d = adv.advantages.to(torch::kFloat64);
  auto mask_d = b.mask.to(torch::kFloat64);
  int64_t mixed = 0;
  {
    std::vector<double> lo(b.num_groups, 1e300), hi(b.num_groups, -1e300);
    auto r = b.final_rewards.contiguous();
    for (int64_t i = 0; i < B; ++i) {
      const int64_t g = b.group_of_row[i];
      lo[g] = std::min(lo[g], static_cast<double>(r[i].item<float>()));
      hi[g] = std::max(hi[g], static_cast<double>(r[i].item<float>()));
    }
    for (int64_t g = 0; g < b.num_groups; ++g) mixed += hi[g] > lo[g] ? 1 : 0;
  }
  auto local = torch::tensor(
      {sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6],
       (adv_d * mask_d).sum().item<double>(), (adv_d * adv_d * mask_d).sum().item<double>(),
       b.final_rewards.to(torch::kFloat64).sum().item<double>(),
       b.success.to(torch::kFloat64).sum().item<double>(), static_cast<double>(mixed),
       static_cast<double>(b.num_groups)},
      torch::kFloat64);
  auto g = AllReduce(local);
  auto at = [&](int i) { return g[i].item<double>(); };
  StepMetrics m;
  m["loss"] = at(0);
  m["pg_loss"] = at(1);
  m["kl"] = at(2);
  m["entropy"] = at(3);
  if (need_values) m["vf_loss"] = at(4);
  m["clip_frac"] = at(5);
  m["ratio_mean"] = at(6);
  const double adv_mean = at(7) / total_tokens;
  m["adv_mean"] = adv_mean;
  m["adv_std"] = std::sqrt(std::max(0.0, at(8) / total_tokens - adv_mean * adv_mean));
  m["reward_mean"] = at(9) / total_rows;
  m["success_rate"] = at(10) / total_rows;
  m["mixed_group_frac"] = at(12) > 0 ? at(11) / at(12) : 0.0;
  m["grad_norm"] = grad_norm;
  m["lr"] = lr;
  m["tokens"] = total_tokens;
  m["sequences"] = total_rows;
  m["time_forward_backward_s"] = time_fb;
  m["time_optimizer_s"] = time_opt;
  m["time_step_s"] = Seconds(start);
  return m;
}

absl::Status Trainer::SaveOptimizer(const std::string& path) {
  try {
    torch::serialize::OutputArchive archive;
    optimizer_->save(archive);
    archive.save_to(path);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot save the optimizer to ", path, ": ",
                                            e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::Status Trainer::LoadOptimizer(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    optimizer_->load(archive);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot load the optimizer from ", path, ": ",
                                            e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

}  // namespace agentgym::learner
