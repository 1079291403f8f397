#include "learner/learner_options.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace agentgym::learner {
namespace {

template <typename T>
absl::Status Read(const Config& config, const std::string& key, T* out) {
  AG_ASSIGN_OR_RETURN(*out, config.GetOr<T>(key, *out));
  return absl::OkStatus();
}

absl::Status Bad(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("config key '", key, "': ", why));
}

absl::Status OneOf(const std::string& key, const std::string& value,
                   const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (value == a) return absl::OkStatus();
  }
  std::string list;
  for (const auto& a : allowed) absl::StrAppend(&list, list.empty() ? "" : "|", a);
  return Bad(key, absl::StrCat("unknown value '", value, "' (expected ", list, ")"));
}

absl::Status ReadModel(const Config& c, ModelOptions* m) {
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys(
      "model", {"dir", "preset", "seed", "device", "dtype", "intra_op_threads"}));
  AG_RETURN_IF_ERROR(Read(c, "model.dir", &m->dir));
  AG_RETURN_IF_ERROR(Read(c, "model.preset", &m->preset));
  AG_RETURN_IF_ERROR(Read(c, "model.seed", &m->seed));
  AG_RETURN_IF_ERROR(Read(c, "model.device", &m->device));
  AG_RETURN_IF_ERROR(Read(c, "model.dtype", &m->dtype));
  AG_RETURN_IF_ERROR(Read(c, "model.intra_op_threads", &m->intra_op_threads));
  return absl::OkStatus();
}

absl::Status ReadAlgorithm(const Config& c, AlgorithmOptions* a) {
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys(
      "algorithm", {"name", "group_size", "clip_eps", "ppo_epochs", "kl_coef", "kl_estimator",
                    "kl_mode", "entropy_coef", "gamma", "lam", "value_clip", "vf_coef",
                    "std_normalize", "adv_eps", "adv_std_floor", "critic_warmup_steps", "whiten_advantages",
                    "loss_agg",
                    "off_policy", "tis_cap"}));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.name", &a->name));
  // REINFORCE++ puts its KL penalty into the token rewards by definition.
  if (a->name == "reinforce_pp") a->kl_mode = "reward";
  AG_RETURN_IF_ERROR(Read(c, "algorithm.group_size", &a->group_size));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.clip_eps", &a->clip_eps));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.ppo_epochs", &a->ppo_epochs));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.kl_coef", &a->kl_coef));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.kl_estimator", &a->kl_estimator));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.kl_mode", &a->kl_mode));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.entropy_coef", &a->entropy_coef));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.gamma", &a->gamma));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.lam", &a->lam));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.value_clip", &a->value_clip));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.vf_coef", &a->vf_coef));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.std_normalize", &a->std_normalize));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.adv_eps", &a->adv_eps));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.adv_std_floor", &a->adv_std_floor));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.critic_warmup_steps", &a->critic_warmup_steps));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.whiten_advantages", &a->whiten_advantages));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.loss_agg", &a->loss_agg));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.off_policy", &a->off_policy));
  AG_RETURN_IF_ERROR(Read(c, "algorithm.tis_cap", &a->tis_cap));
  return absl::OkStatus();
}

absl::Status ReadTrain(const Config& c, TrainOptions* t) {
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys(
      "learner",
      {"lr", "betas", "weight_decay", "adam_eps", "warmup_steps", "lr_schedule", "min_lr_ratio", "grad_clip",
       "groups_per_step", "micro_batch_tokens", "max_staleness", "buffer_capacity",
       "group_timeout_s", "checkpoint_every", "keep_checkpoints", "max_steps",
       "collective_timeout_s", "store_timeout_s", "weight_chunk_bytes", "idle_broadcast_s"}));
  AG_RETURN_IF_ERROR(Read(c, "learner.lr", &t->lr));
  if (c.Has("learner.betas")) {
    auto betas = c.Get<std::vector<double>>("learner.betas");
    if (!betas.ok() || betas->size() != 2) {
      return Bad("learner.betas", "wanted a list of two numbers, e.g. [0.9, 0.99]");
    }
    t->beta1 = (*betas)[0];
    t->beta2 = (*betas)[1];
  }
  AG_RETURN_IF_ERROR(Read(c, "learner.weight_decay", &t->weight_decay));
  AG_RETURN_IF_ERROR(Read(c, "learner.adam_eps", &t->adam_eps));
  AG_RETURN_IF_ERROR(Read(c, "learner.warmup_steps", &t->warmup_steps));
  AG_RETURN_IF_ERROR(Read(c, "learner.lr_schedule", &t->lr_schedule));
  AG_RETURN_IF_ERROR(Read(c, "learner.min_lr_ratio", &t->min_lr_ratio));
  AG_RETURN_IF_ERROR(Read(c, "learner.grad_clip", &t->grad_clip));
  AG_RETURN_IF_ERROR(Read(c, "learner.groups_per_step", &t->groups_per_step));
  AG_RETURN_IF_ERROR(Read(c, "learner.micro_batch_tokens", &t->micro_batch_tokens));
  AG_RETURN_IF_ERROR(Read(c, "learner.max_staleness", &t->max_staleness));
  AG_RETURN_IF_ERROR(Read(c, "learner.buffer_capacity", &t->buffer_capacity));
  AG_RETURN_IF_ERROR(Read(c, "learner.group_timeout_s", &t->group_timeout_s));
  AG_RETURN_IF_ERROR(Read(c, "learner.checkpoint_every", &t->checkpoint_every));
  AG_RETURN_IF_ERROR(Read(c, "learner.keep_checkpoints", &t->keep_checkpoints));
  if (c.Has("run.total_steps")) {
    AG_RETURN_IF_ERROR(Read(c, "run.total_steps", &t->max_steps));
  }
  AG_RETURN_IF_ERROR(Read(c, "learner.max_steps", &t->max_steps));
  AG_RETURN_IF_ERROR(Read(c, "learner.collective_timeout_s", &t->collective_timeout_s));
  AG_RETURN_IF_ERROR(Read(c, "learner.store_timeout_s", &t->store_timeout_s));
  AG_RETURN_IF_ERROR(Read(c, "learner.weight_chunk_bytes", &t->weight_chunk_bytes));
  AG_RETURN_IF_ERROR(Read(c, "learner.idle_broadcast_s", &t->idle_broadcast_s));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LearnerOptions> LearnerOptionsFromConfig(const Config& config) {
  LearnerOptions o;
  AG_RETURN_IF_ERROR(ReadModel(config, &o.model));
  AG_RETURN_IF_ERROR(ReadAlgorithm(config, &o.algorithm));
  AG_RETURN_IF_ERROR(ReadTrain(config, &o.train));
  if (o.train.buffer_capacity == 0) o.train.buffer_capacity = 4 * o.BatchTrajectories();
  AG_RETURN_IF_ERROR(ValidateLearnerOptions(o));
  return o;
}

absl::Status ValidateLearnerOptions(const LearnerOptions& o) {
  const auto& m = o.model;
  const auto& a = o.algorithm;
  const auto& t = o.train;
  if (m.dir.empty() && m.preset.empty()) {
    return Bad("model.dir", "set model.dir (an HF model directory) or model.preset");
  }
  AG_RETURN_IF_ERROR(OneOf("model.dtype", m.dtype, {"float32", "bfloat16"}));
  if (m.intra_op_threads < 1) return Bad("model.intra_op_threads", "must be >= 1");
  AG_RETURN_IF_ERROR(OneOf("algorithm.name", a.name, {"grpo", "ppo", "reinforce_pp", "rloo"}));
  AG_RETURN_IF_ERROR(OneOf("algorithm.kl_estimator", a.kl_estimator, {"k1", "k2", "k3"}));
  AG_RETURN_IF_ERROR(OneOf("algorithm.kl_mode", a.kl_mode, {"loss", "reward"}));
  AG_RETURN_IF_ERROR(OneOf("algorithm.loss_agg", a.loss_agg, {"token", "sequence"}));
  AG_RETURN_IF_ERROR(OneOf("algorithm.off_policy", a.off_policy, {"none", "decoupled", "tis"}));
  AG_RETURN_IF_ERROR(OneOf("learner.lr_schedule", t.lr_schedule, {"constant", "cosine"}));
  const std::vector<std::pair<const char*, double>> finite = {
      {"algorithm.clip_eps", a.clip_eps},     {"algorithm.kl_coef", a.kl_coef},
      {"algorithm.entropy_coef", a.entropy_coef}, {"algorithm.gamma", a.gamma},
      {"algorithm.lam", a.lam},               {"algorithm.value_clip", a.value_clip},
      {"algorithm.vf_coef", a.vf_coef},       {"algorithm.adv_eps", a.adv_eps},
      {"algorithm.adv_std_floor", a.adv_std_floor},
      {"algorithm.tis_cap", a.tis_cap},       {"learner.lr", t.lr},
      {"learner.betas", t.beta1},             {"learner.betas", t.beta2},
      {"learner.weight_decay", t.weight_decay}, {"learner.grad_clip", t.grad_clip},
      {"learner.adam_eps", t.adam_eps},
      {"learner.group_timeout_s", t.group_timeout_s},
      {"learner.collective_timeout_s", t.collective_timeout_s},
      {"learner.store_timeout_s", t.store_timeout_s},
      {"learner.min_lr_ratio", t.min_lr_ratio}, {"learner.idle_broadcast_s", t.idle_broadcast_s}};
  for (const auto& [key, value] : finite) {
    if (!std::isfinite(value)) return Bad(key, "must be a finite number");
  }
  if (a.group_size < 1) return Bad("algorithm.group_size", "must be >= 1");
  if (a.UsesGroups() && a.group_size < 2) {
    return Bad("algorithm.group_size",
               absl::StrCat(a.name, " compares the members of a group: needs >= 2"));
  }
  if (a.clip_eps <= 0) return Bad("algorithm.clip_eps", "must be > 0");
  if (t.adam_eps <= 0) return Bad("learner.adam_eps", "must be > 0");
  if (a.ppo_epochs < 1) return Bad("algorithm.ppo_epochs", "must be >= 1");
  if (a.kl_coef < 0) return Bad("algorithm.kl_coef", "must be >= 0");
  if (a.kl_mode == "reward" && a.UsesGroups() && a.kl_coef > 0) {
    return Bad("algorithm.kl_mode",
               absl::StrCat("'reward' needs token-level returns (ppo, reinforce_pp); ", a.name,
                            " uses kl_mode: loss"));
  }
  if (a.entropy_coef < 0) return Bad("algorithm.entropy_coef", "must be >= 0");
  if (a.gamma < 0 || a.gamma > 1) return Bad("algorithm.gamma", "must be in [0, 1]");
  if (a.lam < 0 || a.lam > 1) return Bad("algorithm.lam", "must be in [0, 1]");
  if (a.value_clip < 0) return Bad("algorithm.value_clip", "must be >= 0");
  if (a.vf_coef < 0) return Bad("algorithm.vf_coef", "must be >= 0");
  if (a.adv_eps <= 0) return Bad("algorithm.adv_eps", "must be > 0");
  if (a.adv_std_floor < 0) return Bad("algorithm.adv_std_floor", "must be >= 0 (0: off)");
  if (a.critic_warmup_steps < 0) return Bad("algorithm.critic_warmup_steps", "must be >= 0");
  if (!a.whiten_advantages && !a.UsesValueHead()) {
    return Bad("algorithm.whiten_advantages",
               absl::StrCat("only ppo can use raw advantages (its critic is the baseline); ",
                            a.name, " needs its own normalisation"));
  }
  if (a.critic_warmup_steps > 0 && !a.UsesValueHead()) {
    return Bad("algorithm.critic_warmup_steps", absl::StrCat("only ppo has a critic; ", a.name,
                                                             " has none to warm up"));
  }
  if (a.off_policy == "tis" && a.tis_cap <= 0) return Bad("algorithm.tis_cap", "tis needs a cap > 0");
  if (t.lr <= 0) return Bad("learner.lr", "must be > 0");
  if (t.beta1 < 0 || t.beta1 >= 1 || t.beta2 < 0 || t.beta2 >= 1) {
    return Bad("learner.betas", "both must be in [0, 1)");
  }
  if (t.weight_decay < 0) return Bad("learner.weight_decay", "must be >= 0");
  if (t.warmup_steps < 0) return Bad("learner.warmup_steps", "must be >= 0");
  if (t.min_lr_ratio < 0 || t.min_lr_ratio > 1) return Bad("learner.min_lr_ratio", "must be in [0, 1]");
  if (t.grad_clip < 0) return Bad("learner.grad_clip", "must be >= 0 (0: off)");
  if (t.groups_per_step < 1) return Bad("learner.groups_per_step", "must be >= 1");
  if (t.micro_batch_tokens < 0) return Bad("learner.micro_batch_tokens", "must be >= 0");
  if (t.max_staleness < 0) return Bad("learner.max_staleness", "must be >= 0");
  if (t.buffer_capacity < o.BatchTrajectories()) {
    return Bad("learner.buffer_capacity",
               absl::StrCat(t.buffer_capacity, " trajectories cannot hold one batch of ",
                            o.BatchTrajectories(), " (groups_per_step x group_size)"));
  }
  if (t.group_timeout_s <= 0) return Bad("learner.group_timeout_s", "must be > 0");
  if (t.checkpoint_every < 0) return Bad("learner.checkpoint_every", "must be >= 0");
  if (t.keep_checkpoints < 1) return Bad("learner.keep_checkpoints", "must be >= 1");
  if (t.max_steps < 0) return Bad("learner.max_steps", "must be >= 0 (0: forever)");
  if (t.collective_timeout_s <= 0) return Bad("learner.collective_timeout_s", "must be > 0");
  if (t.store_timeout_s <= 0) return Bad("learner.store_timeout_s", "must be > 0");
  if (t.weight_chunk_bytes < 1024 || t.weight_chunk_bytes > (64 << 20)) {
    return Bad("learner.weight_chunk_bytes", "must be in [1 KiB, 64 MiB]");
  }
  if (t.idle_broadcast_s <= 0) return Bad("learner.idle_broadcast_s", "must be > 0");
  return absl::OkStatus();
}

}  // namespace agentgym::learner
