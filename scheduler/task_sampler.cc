#include "scheduler/task_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/random_id.h"

namespace agentgym::scheduler {

bool IsTestSplitTaskId(absl::string_view task_id) {
  std::vector<absl::string_view> parts = absl::StrSplit(task_id, '/');
  return parts.size() == 3 && !parts[0].empty() && parts[1] == "test" && !parts[2].empty() &&
         std::all_of(parts[2].begin(), parts[2].end(), absl::ascii_isdigit);
}

std::vector<EnvTask> FilterByTaskTypes(std::vector<EnvTask> tasks,
                                       const std::vector<std::string>& types,
                                       std::vector<std::string>* missing) {
  if (types.empty()) return tasks;
  std::set<std::string> wanted(types.begin(), types.end());
  std::set<std::string> seen;
  std::vector<EnvTask> kept;
  for (EnvTask& t : tasks) {
    if (wanted.count(t.task_type) == 0) continue;
    seen.insert(t.task_type);
    kept.push_back(std::move(t));
  }
  if (missing != nullptr) {
    missing->clear();
    for (const std::string& type : types) {
      if (seen.count(type) == 0) missing->push_back(type);
    }
  }
  return kept;
}

absl::StatusOr<TaskSampler> TaskSampler::Create(std::vector<EnvSpec> envs,
                                                SamplerOptions options) {
  if (envs.empty()) {
    return absl::InvalidArgumentError("task sampler: no envs configured (envs: [...])");
  }
  std::map<std::string, EnvState> states;
  for (EnvSpec& spec : envs) {
    if (spec.name.empty()) return absl::InvalidArgumentError("task sampler: env with no name");
    if (!std::isfinite(spec.weight) || spec.weight <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("task sampler: env '", spec.name,
                                                     "' weight must be > 0, got ", spec.weight));
    }
    for (const EnvTask& t : spec.tasks) {
      if (t.task_id.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("task sampler: env '", spec.name, "' lists an empty task id"));
      }
      if (IsTestSplitTaskId(t.task_id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("task sampler: env '", spec.name, "' lists test-split task '", t.task_id,
                         "'; only train tasks are handed out"));
      }
    }
    std::string name = spec.name;
    if (!states.emplace(name, EnvState{std::move(spec), {}, 0, 0}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("task sampler: env '", name, "' is configured twice"));
    }
  }
  TaskSampler sampler(std::move(states), options);
  for (auto& [name, env] : sampler.envs_) sampler.Reshuffle(env);
  return sampler;
}

TaskSampler::TaskSampler(std::map<std::string, EnvState> envs, SamplerOptions options)
    : envs_(std::move(envs)),
      options_(options),
      rng_(options.seed),
      run_nonce_(RandomId().substr(0, 8)) {}

void TaskSampler::Reshuffle(EnvState& env) {
  env.order.resize(env.spec.tasks.size());
  std::iota(env.order.begin(), env.order.end(), 0);
  DetRng shuffle(DetRng::Mix(options_.seed ^ DetRng::Hash(env.spec.name),
                             static_cast<uint64_t>(env.epoch)));
  shuffle.Shuffle(env.order);
  env.cursor = 0;
}

absl::Status TaskSampler::SetTasks(const std::string& env, std::vector<EnvTask> tasks) {
  auto it = envs_.find(env);
  if (it == envs_.end()) {
    return absl::NotFoundError(absl::StrCat("env '", env, "' is not in the configured envs"));
  }
  if (tasks.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("env '", env, "' has no train tasks"));
  }
  for (const EnvTask& t : tasks) {
    if (t.task_id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("env '", env, "' lists an empty task id"));
    }
    if (IsTestSplitTaskId(t.task_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("env '", env, "' lists test-split task '", t.task_id, "'"));
    }
  }
  it->second.spec.tasks = std::move(tasks);
  Reshuffle(it->second);
  return absl::OkStatus();
}

bool TaskSampler::HasTasks(const std::string& env) const {
  auto it = envs_.find(env);
  return it != envs_.end() && !it->second.spec.tasks.empty();
}

std::vector<EnvTask> TaskSampler::TasksOf(const std::string& env) const {
  auto it = envs_.find(env);
  return it == envs_.end() ? std::vector<EnvTask>{} : it->second.spec.tasks;
}

std::vector<std::string> TaskSampler::TaskTypesOf(const std::string& env) const {
  auto it = envs_.find(env);
  return it == envs_.end() ? std::vector<std::string>{} : it->second.spec.task_types;
}

std::vector<std::string> TaskSampler::EnvNames() const {
  std::vector<std::string> names;
  for (const auto& [name, env] : envs_) names.push_back(name);
  return names;
}

TaskSampler::FitCount TaskSampler::CountFitting(const std::string& env,
                                                int32_t fit_turns) const {
  FitCount count;
  auto it = envs_.find(env);
  if (it == envs_.end()) return count;
  for (const EnvTask& t : it->second.spec.tasks) {
    if (t.min_turns <= 0) {
      ++count.unknown;
    } else if (t.min_turns <= fit_turns) {
      ++count.fitting;
    }
  }
  return count;
}

int64_t TaskSampler::epoch(const std::string& env) const {
  auto it = envs_.find(env);
  return it == envs_.end() ? 0 : it->second.epoch;
}

absl::StatusOr<std::vector<SampledGroup>> TaskSampler::Sample(
    int32_t num_groups, int32_t group_size, const std::set<std::string>& allowed,
    const std::map<std::string, int32_t>* fit_turns) {
  if (num_groups <= 0 || group_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_groups and group_size must be > 0, got ", num_groups, " and ", group_size));
  }
  std::vector<EnvState*> candidates;
  double total = 0;
  for (auto& [name, env] : envs_) {
    if (allowed.count(name) == 0 || env.spec.tasks.empty()) continue;
    candidates.push_back(&env);
    total += env.spec.weight;
  }
  if (candidates.empty()) {
    return absl::UnavailableError(
        "no env with tasks and a live env server is available; waiting for env servers");
  }
  std::vector<SampledGroup> groups;
  groups.reserve(num_groups);
  for (int32_t g = 0; g < num_groups; ++g) {
    double pick = rng_.UniformDouble() * total;
    EnvState* env = candidates.back();
    for (EnvState* c : candidates) {
      if (pick < c->spec.weight) {
        env = c;
        break;
      }
      pick -= c->spec.weight;
    }
    // The horizon's cap for this env, or none (every task fits).
    int32_t cap = 0;
    if (fit_turns != nullptr) {
      auto f = fit_turns->find(env->spec.name);
      if (f != fit_turns->end()) {
        FitCount n = CountFitting(env->spec.name, f->second);
        if (n.fitting + n.unknown > 0) cap = f->second;
      }
    }
    auto fits = [&](size_t i) {
      const int32_t need = env->spec.tasks[i].min_turns;
      return cap <= 0 || need <= 0 || need <= cap;
    };
    size_t index;
    if (options_.allow_repeats) {
      do {
        index = rng_.Uniform(env->spec.tasks.size());
      } while (!fits(index));  // terminates: cap > 0 only when some task fits
    } else {
      for (;;) {
        if (env->cursor >= env->order.size()) {
          ++env->epoch;
          Reshuffle(*env);
        }
        index = env->order[env->cursor++];
        if (fits(index)) break;
      }
    }
    SampledGroup group;
    group.group_id = absl::StrCat("g-", run_nonce_, "-", next_group_++);
    group.env = env->spec.name;
    group.task = env->spec.tasks[index];
    group.epoch = env->epoch;
    uint64_t seed = rng_.NextU64();
    for (int32_t m = 0; m < group_size; ++m) {
      group.seeds.push_back(options_.distinct_seeds_in_group ? (m == 0 ? seed : rng_.NextU64())
                                                             : seed);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace agentgym::scheduler
