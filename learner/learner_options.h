#ifndef AGENTGYM_LEARNER_LEARNER_OPTIONS_H_
#define AGENTGYM_LEARNER_LEARNER_OPTIONS_H_

// The learner's view of the run config: the `model`, `algorithm` and
// `learner` sections (docs/learner.md lists every key). Reading is strict:
// an unknown key in one of these sections, a value of the wrong type, a
// non-finite number or an impossible combination is INVALID_ARGUMENT naming
// the key, so a typo never silently trains with a default.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace agentgym::learner {

struct ModelOptions {
  std::string dir;     // HF-style model dir (config.json + safetensors)
  std::string preset;  // random init from policy::PresetConfig when dir is empty
  uint64_t seed = 0;   // for the preset's random init
  std::string device = "cpu";
  std::string dtype = "float32";  // float32 | bfloat16
  int intra_op_threads = 1;
};

struct AlgorithmOptions {
  std::string name = "grpo";  // grpo | ppo | reinforce_pp | rloo
  int group_size = 8;
  double clip_eps = 0.2;
  int ppo_epochs = 2;  // optimizer updates per training step on the same batch
  double kl_coef = 0.0;
  std::string kl_estimator = "k1";  // k1 | k2 | k3
  std::string kl_mode = "loss";     // loss | reward
  double entropy_coef = 0.0;
  double gamma = 1.0;
  double lam = 1.0;
  double value_clip = 0.2;  // 0: no value clipping
  double vf_coef = 0.5;
  bool std_normalize = true;
  double adv_eps = 1e-4;
  // Whitening divides by max(std, adv_std_floor): a batch whose advantages
  // are only critic noise (no episode succeeded) is not scaled up to unit
  // variance, which drives a policy into a random deterministic corner.
  double adv_std_floor = 0.0;
  // PPO: the first steps train only the value head (no policy gradient, no
  // entropy or KL term), so the policy does not follow an untrained critic.
  int64_t critic_warmup_steps = 0;
  // PPO: whiten the GAE advantages over the global batch (true), or use them
  // as they are (false: the critic is the baseline). Centring a batch in
  // which nothing succeeded turns the critic's errors into positive
  // advantages for random tokens; raw, every failure is pushed down.
  bool whiten_advantages = true;
  std::string loss_agg = "token";  // token | sequence
  // none: ratio against the behaviour log-probs the actor recorded.
  // decoupled: ratio against proximal log-probs recomputed with the current
  //   weights, times the behaviour weight pi_prox / pi_behav (capped at
  //   tis_cap when tis_cap > 0).
  // tis: same ratio, behaviour weight truncated at tis_cap (required > 0).
  std::string off_policy = "none";
  double tis_cap = 2.0;

  bool UsesGroups() const { return name == "grpo" || name == "rloo"; }
  bool UsesValueHead() const { return name == "ppo"; }
  bool UsesReference() const { return kl_coef > 0.0; }
};

struct TrainOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double weight_decay = 0.0;
  // AdamW's epsilon. Above the tiny gradients that rarely used parameters
  // get (e.g. the output rows of tokens a policy never samples), so Adam
  // does not blow them up to full-size steps; 1e-8 is PyTorch's default.
  double adam_eps = 1e-8;
  int64_t warmup_steps = 0;
  std::string lr_schedule = "constant";  // constant | cosine
  double min_lr_ratio = 0.0;             // cosine floor as a fraction of lr
  double grad_clip = 1.0;                // 0: off
  int groups_per_step = 16;
  int64_t micro_batch_tokens = 0;  // 0: the whole slice in one forward
  int64_t max_staleness = 1;
  int64_t buffer_capacity = 0;  // trajectories; 0: 4 batches
  double group_timeout_s = 300.0;
  int64_t checkpoint_every = 50;  // 0: only on shutdown
  int keep_checkpoints = 3;
  int64_t max_steps = 0;  // 0: forever
  double collective_timeout_s = 300.0;
  double store_timeout_s = 60.0;
  int64_t weight_chunk_bytes = 4 << 20;
  double idle_broadcast_s = 1.0;  // rank 0 pings other ranks this often while waiting for data
};

struct LearnerOptions {
  ModelOptions model;
  AlgorithmOptions algorithm;
  TrainOptions train;
  // A batch holds groups_per_step * group_size trajectories; group
  // algorithms take them as whole groups, the others one by one.
  int64_t BatchTrajectories() const {
    return static_cast<int64_t>(train.groups_per_step) * algorithm.group_size;
  }
  int64_t BatchUnits() const {
    return algorithm.UsesGroups() ? train.groups_per_step : BatchTrajectories();
  }
};

// Reads the three sections (all optional; `run.total_steps` is the fallback
// for learner.max_steps) and checks them (ValidateLearnerOptions).
absl::StatusOr<LearnerOptions> LearnerOptionsFromConfig(const Config& config);
// INVALID_ARGUMENT naming the first bad key.
absl::Status ValidateLearnerOptions(const LearnerOptions& options);

}  // namespace agentgym::learner

#endif  // AGENTGYM_LEARNER_LEARNER_OPTIONS_H_
