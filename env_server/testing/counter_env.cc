#include "env_server/testing/counter_env.h"

#include "absl/strings/str_cat.h"

namespace agentgym::env::testing {
namespace {

constexpr int kMaxTurns = 8;

class CounterEpisode : public Episode {
 public:
  explicit CounterEpisode(int target) : target_(target) {}

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    StepOutcome out;
    ++turns_;
    if (action == "inc") {
      ++value_;
    } else if (action == "dec") {
      --value_;
    } else {
      out.action_valid = false;
    }
    out.observation = out.action_valid ? absl::StrCat("value ", value_)
                                       : "unknown action; use inc or dec";
    out.success = value_ == target_;
    out.done = out.success;
    out.reward = out.success ? 1.0 : 0.0;
    out.score = out.success ? 1.0 : 0.0;
    out.truncated = !out.done && turns_ >= kMaxTurns;
    out.info["value"] = value_;
    return out;
  }

  std::optional<std::string> OracleAction() const override {
    return value_ < target_ ? "inc" : "dec";
  }

 private:
  const int target_;
  int value_ = 0;
  int turns_ = 0;
};

class CounterEnv : public Environment {
 public:
  CounterEnv() {
    description_.name = "counter";
    description_.description = "reach the target number";
    description_.action_format = "inc | dec";
    description_.recommended_max_turns = 6;
    description_.task_types.push_back({"count", "count up to a target", 10, 5, 6});
  }

  const EnvDescription& Describe() const override { return description_; }

  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override {
    int target = 1 + static_cast<int>(key.index % 4) + (key.split == Split::kTest ? 4 : 0);
    start->instruction = absl::StrCat("reach ", target);
    start->observation = "value 0";
    start->info["seed"] = seed;
    return std::make_unique<CounterEpisode>(target);
  }

  // The target is the fewest "inc"s; indices 8 and up say "unknown" (0), as an
  // env that knows the length of some tasks only.
  int32_t MinTurns(const TaskKey& key) const override {
    if (key.index >= 8) return 0;
    return 1 + static_cast<int32_t>(key.index % 4) + (key.split == Split::kTest ? 4 : 0);
  }

 private:
  EnvDescription description_;
};

}  // namespace

std::unique_ptr<Environment> MakeCounterEnv() { return std::make_unique<CounterEnv>(); }

}  // namespace agentgym::env::testing
