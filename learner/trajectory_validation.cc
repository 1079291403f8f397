#include "learner/trajectory_validation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace agentgym::learner {
namespace {

ValidationResult Reject(std::string reason) {
  return {Verdict::kRejected, std::move(reason), 0};
}

}  // namespace

int64_t OldestVersion(const trajectory::v1::Trajectory& t) {
  if (t.turns_size() == 0) return 0;
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const auto& turn : t.turns()) oldest = std::min(oldest, turn.policy_version());
  return oldest;
}

ValidationResult ValidateTrajectory(const trajectory::v1::Trajectory& t,
                                    const ValidationLimits& limits) {
  if (t.trajectory_id().empty()) return Reject("empty trajectory_id");
  if (t.end_reason() == trajectory::v1::END_REASON_ENV_ERROR) {
    return {Verdict::kEnvError, "env_error: counted, never trained", 0};
  }
  const int64_t n = t.token_ids_size();
  if (n == 0) return Reject("no tokens");
  if (static_cast<int64_t>(t.loss_mask().size()) != n) {
    return Reject(absl::StrCat("loss_mask has ", t.loss_mask().size(), " entries for ", n,
                               " tokens"));
  }
  if (t.behaviour_logprobs_size() != n) {
    return Reject(absl::StrCat("behaviour_logprobs has ", t.behaviour_logprobs_size(),
                               " entries for ", n, " tokens"));
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = t.token_ids(i);
    if (id < 0 || id >= limits.vocab_size) {
      return Reject(absl::StrCat("token ", i, " has id ", id, " outside the vocabulary [0, ",
                                 limits.vocab_size, ")"));
    }
  }
  if (t.prompt_length() < 1 || t.prompt_length() > n) {
    return Reject(absl::StrCat("prompt_length ", t.prompt_length(), " not in [1, ", n, "]"));
  }
  if (t.turns_size() == 0) return Reject("no agent turns");
  // Which tokens lie inside an agent span; turns must be ordered and disjoint.
  std::vector<char> in_agent(n, 0);
  int64_t previous_end = t.prompt_length();
  for (int i = 0; i < t.turns_size(); ++i) {
    const auto& turn = t.turns(i);
    if (turn.agent_begin() < previous_end || turn.agent_end() <= turn.agent_begin() ||
        turn.env_begin() < turn.agent_end() || turn.env_end() < turn.env_begin() ||
        turn.env_end() > n) {
      return Reject(absl::StrCat("turn ", i, " spans agent [", turn.agent_begin(), ", ",
                                 turn.agent_end(), ") env [", turn.env_begin(), ", ",
                                 turn.env_end(), ") are not ordered inside [prompt_length ",
                                 t.prompt_length(), ", ", n, ")"));
    }
    previous_end = turn.env_end();
    for (int64_t k = turn.agent_begin(); k < turn.agent_end(); ++k) in_agent[k] = 1;
    if (turn.policy_version() < 0 || turn.policy_version() > limits.current_version) {
      return Reject(absl::StrCat("turn ", i, " has policy_version ", turn.policy_version(),
                                 ", never issued (current ", limits.current_version, ")"));
    }
    if (!std::isfinite(turn.reward())) return Reject(absl::StrCat("turn ", i, " reward is not finite"));
  }
  int64_t sampled = 0;
  for (int64_t i = 0; i < n; ++i) {
    const char m = t.loss_mask()[i];
    if (m != 0 && m != 1) return Reject(absl::StrCat("loss_mask[", i, "] is neither 0 nor 1"));
    const float lp = t.behaviour_logprobs(i);
    if (!std::isfinite(lp)) return Reject(absl::StrCat("behaviour_logprobs[", i, "] is not finite"));
    if (m == 1) {
      if (!in_agent[i]) {
        return Reject(absl::StrCat("loss_mask[", i, "] is set outside the agent spans",
                                   i < t.prompt_length() ? " (on the prompt)" : ""));
      }
      if (lp > 1e-4f) return Reject(absl::StrCat("behaviour_logprobs[", i, "] = ", lp, " > 0"));
      ++sampled;
    }
  }
  if (sampled == 0) return Reject("no sampled token (loss_mask is all 0)");
  if (!std::isfinite(t.final_reward())) return Reject("final_reward is not finite");
  if (!std::isfinite(t.score())) return Reject("score is not finite");
  const auto& s = t.sampling();
  if (!std::isfinite(s.temperature()) || !std::isfinite(s.top_p()) || s.top_p() < 0 ||
      s.top_p() > 1 || s.top_k() < 0) {
    return Reject("sampling has a bad temperature, top_k or top_p");
  }
  if (limits.require_groups) {
    if (t.group_id().empty()) return Reject("group_id is empty (the algorithm trains whole groups)");
    if (t.group_size() != limits.group_size) {
      return Reject(absl::StrCat("group_size ", t.group_size(), " != algorithm.group_size ",
                                 limits.group_size));
    }
    if (t.group_index() < 0 || t.group_index() >= t.group_size()) {
      return Reject(absl::StrCat("group_index ", t.group_index(), " not in [0, ", t.group_size(), ")"));
    }
  }
  ValidationResult ok;
  const int64_t oldest = OldestVersion(t);
  if (limits.gap.Lost(oldest)) {
    return {Verdict::kStale,
            absl::StrCat("stale: policy version ", oldest,
                         " was published after the checkpoint the learner resumed from; its "
                         "weights are lost"),
            limits.max_staleness + 1};
  }
  ok.lag = limits.gap.Lag(limits.current_version, oldest);
  if (ok.lag > limits.max_staleness) {
    return {Verdict::kStale,
            absl::StrCat("stale: ", ok.lag, " versions behind (max_staleness ",
                         limits.max_staleness, ")"),
            ok.lag};
  }
  return ok;
}

}  // namespace agentgym::learner
