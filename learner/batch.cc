#include "learner/batch.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace agentgym::learner {

using trajectory::v1::Trajectory;

TokenBatch MakeTokenBatch(const std::vector<const Trajectory*>& trajectories) {
  TokenBatch b;
  const int64_t rows = static_cast<int64_t>(trajectories.size());
  int64_t max_len = 1;
  for (const Trajectory* t : trajectories) max_len = std::max<int64_t>(max_len, t->token_ids_size());
  b.tokens = torch::zeros({rows, max_len}, torch::kInt64);
  b.valid = torch::zeros({rows, max_len}, torch::kBool);
  b.mask = torch::zeros({rows, max_len}, torch::kFloat32);
  b.behaviour_logprobs = torch::zeros({rows, max_len}, torch::kFloat32);
  b.token_rewards = torch::zeros({rows, max_len}, torch::kFloat32);
  b.final_rewards = torch::zeros({rows}, torch::kFloat32);
  b.success = torch::zeros({rows}, torch::kFloat32);
  auto tok = b.tokens.accessor<int64_t, 2>();
  auto val = b.valid.accessor<bool, 2>();
  auto msk = b.mask.accessor<float, 2>();
  auto blp = b.behaviour_logprobs.accessor<float, 2>();
  auto rew = b.token_rewards.accessor<float, 2>();
  std::map<std::string, int64_t> groups;
  for (int64_t r = 0; r < rows; ++r) {
    const Trajectory& t = *trajectories[r];
    const int64_t n = t.token_ids_size();
    b.lengths.push_back(n);
    int64_t last_sampled = -1;
    for (int64_t i = 0; i < n; ++i) {
      tok[r][i] = t.token_ids(i);
      val[r][i] = true;
      const bool sampled = t.loss_mask()[i] == 1;
      msk[r][i] = sampled ? 1.0f : 0.0f;
      blp[r][i] = sampled ? t.behaviour_logprobs(i) : 0.0f;
      if (sampled) last_sampled = i;
    }
    double explained = 0.0;
    for (const auto& turn : t.turns()) {
      int64_t last = -1;
      for (int64_t i = turn.agent_end() - 1; i >= turn.agent_begin(); --i) {
        if (t.loss_mask()[i] == 1) {
          last = i;
          break;
        }
      }
      if (last < 0) last = last_sampled;  // a turn without a sampled token
      rew[r][last] += static_cast<float>(turn.reward());
      explained += turn.reward();
    }
    const double rest = t.final_reward() - explained;
    if (last_sampled >= 0 && std::abs(rest) > 1e-9) rew[r][last_sampled] += static_cast<float>(rest);
    b.final_rewards[r] = static_cast<float>(t.final_reward());
    b.success[r] = t.success() ? 1.0f : 0.0f;
    const std::string key = t.group_id().empty() ? absl::StrCat("\x01row", r)
                                                 : absl::StrCat(t.group_id(), "#", t.group_attempt());
    auto [it, inserted] = groups.try_emplace(key, static_cast<int64_t>(groups.size()));
    b.group_of_row.push_back(it->second);
  }
  b.num_groups = static_cast<int64_t>(groups.size());
  return b;
}

std::vector<std::vector<int64_t>> PlanMicroBatches(const std::vector<const Trajectory*>& trajectories,
                                                   int64_t max_tokens) {
  using Key = std::tuple<float, int64_t, float>;
  std::map<Key, std::vector<int64_t>> by_sampling;
  std::vector<Key> order;
  for (int64_t r = 0; r < static_cast<int64_t>(trajectories.size()); ++r) {
    const auto& s = trajectories[r]->sampling();
    Key key{s.temperature() <= 0 ? 1.0f : s.temperature(), s.top_k(),
            s.top_p() <= 0 ? 1.0f : s.top_p()};
    auto [it, inserted] = by_sampling.try_emplace(key);
    if (inserted) order.push_back(key);
    it->second.push_back(r);
  }
  std::vector<std::vector<int64_t>> plan;
  for (const Key& key : order) {
    std::vector<int64_t> current;
    int64_t longest = 0;
    for (int64_t r : by_sampling[key]) {
      const int64_t len = trajectories[r]->token_ids_size();
      const int64_t next_longest = std::max(longest, len);
      if (!current.empty() && max_tokens > 0 &&
          next_longest * static_cast<int64_t>(current.size() + 1) > max_tokens) {
        plan.push_back(std::move(current));
        current.clear();
        longest = 0;
      }
      current.push_back(r);
      longest = std::max(longest, len);
    }
    if (!current.empty()) plan.push_back(std::move(current));
  }
  return plan;
}

torch::Tensor SelectRows(const torch::Tensor& t, const std::vector<int64_t>& rows, int64_t length) {
  auto index = torch::tensor(rows, torch::kInt64).to(t.device());
  auto picked = t.index_select(0, index);
  if (picked.dim() >= 2) picked = picked.narrow(1, 0, length);
  return picked.contiguous();
}

void ScatterRows(torch::Tensor& full, const std::vector<int64_t>& rows, const torch::Tensor& part) {
  for (size_t i = 0; i < rows.size(); ++i) {
    full[rows[i]].narrow(0, 0, part.size(1)).copy_(part[i]);
  }
}

}  // namespace agentgym::learner
