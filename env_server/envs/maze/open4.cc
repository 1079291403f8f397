#include "env_server/envs/maze/open4.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/det_random.h"
#include "env_server/envs/maze/maze.h"
#include "env_server/envs/maze/maze_grid.h"

namespace agentgym::env::maze {
namespace {

// Every (start, goal) pair, ordered by a fixed hash: the first
// kOpen4TestCount are the test split, the rest the train split. Computed
// once (240 entries) and never changed, so task ids are stable.
const std::vector<Open4Task> &OrderedPairs() {
  static const auto *pairs = [] {
    std::vector<std::pair<uint64_t, Open4Task>> keyed;
    const int cells = kOpen4Side * kOpen4Side;
    for (int s = 0; s < cells; ++s) {
      for (int g = 0; g < cells; ++g) {
        if (s == g)
          continue;
        Open4Task t{s % kOpen4Side, s / kOpen4Side, g % kOpen4Side,
                    g / kOpen4Side};
        uint64_t key = DetRng::Hash(absl::StrCat(
            "open4/", t.start_x, ",", t.start_y, "/", t.goal_x, ",", t.goal_y));
        keyed.emplace_back(key, t);
      }
    }
    std::sort(keyed.begin(), keyed.end(), [](const auto &a, const auto &b) {
      if (a.first != b.first)
        return a.first < b.first;
      return std::tie(a.second.start_x, a.second.start_y, a.second.goal_x,
                      a.second.goal_y) <
             std::tie(b.second.start_x, b.second.start_y, b.second.goal_x,
                      b.second.goal_y);
    });
    auto *out = new std::vector<Open4Task>;
    for (const auto &[key, task] : keyed)
      out->push_back(task);
    return out;
  }();
  return *pairs;
}

class Open4Episode : public Episode {
public:
  explicit Open4Episode(const Open4Task &task)
      : task_(task), x_(task.start_x), y_(task.start_y) {}

  std::string Observe() const {
    return Open4Observation(x_, y_, task_.goal_x, task_.goal_y);
  }

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    StepOutcome out;
    if (finished_) {
      out.observation = absl::StrCat("invalid ", Observe());
      out.action_valid = false;
      out.done = true;
      out.success = AtGoal();
      out.score = Score();
      return out;
    }
    ++turns_;
    std::optional<Dir> move = ParseMove(action);
    if (!move) {
      out.action_valid = false;
      out.observation = absl::StrCat("invalid ", Observe());
    } else {
      int nx = x_, ny = y_;
      maze::Step(*move, &nx, &ny);
      if (nx >= 0 && ny >= 0 && nx < kOpen4Side && ny < kOpen4Side) {
        x_ = nx;
        y_ = ny;
      } else {
        out.info["bumped"] = true; // the border: a valid move that stays put
      }
      out.observation = Observe();
    }
    out.score = Score();
    if (AtGoal()) {
      out.reward = 1.0;
      out.done = out.success = true;
      finished_ = true;
    } else if (turns_ >= kOpen4TurnLimit) {
      out.truncated = true;
      finished_ = true;
    }
    out.info["distance"] = Distance();
    return out;
  }

  std::optional<std::string> OracleAction() const override {
    if (finished_ || AtGoal())
      return std::nullopt;
    if (x_ < task_.goal_x)
      return std::string("right");
    if (x_ > task_.goal_x)
      return std::string("left");
    if (y_ < task_.goal_y)
      return std::string("down");
    return std::string("up");
  }

private:
  int Distance() const {
    return std::abs(x_ - task_.goal_x) + std::abs(y_ - task_.goal_y);
  }
  bool AtGoal() const { return x_ == task_.goal_x && y_ == task_.goal_y; }
  double Score() const {
    const int initial = task_.MinTurns();
    if (initial <= 0)
      return 1.0;
    return std::clamp(1.0 - static_cast<double>(Distance()) / initial, 0.0,
                      1.0);
  }

  const Open4Task task_;
  int x_, y_;
  int turns_ = 0;
  bool finished_ = false;
};

} // namespace

int Open4Task::MinTurns() const {
  return std::abs(start_x - goal_x) + std::abs(start_y - goal_y);
}

absl::StatusOr<Open4Task> Open4TaskAt(Split split, int64_t index) {
  const int64_t count =
      split == Split::kTest ? kOpen4TestCount : kOpen4TrainCount;
  if (index < 0 || index >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("open4 ", SplitName(split), " index ", index,
                     " out of range [0, ", count, ")"));
  }
  const int64_t offset = split == Split::kTest ? 0 : kOpen4TestCount;
  return OrderedPairs()[static_cast<size_t>(offset + index)];
}

std::string Open4Observation(int x, int y, int goal_x, int goal_y) {
  return absl::StrCat("pos ", x, " ", y, " goal ", goal_x, " ", goal_y);
}

std::unique_ptr<Episode> NewOpen4Episode(const Open4Task &task,
                                         EpisodeStart *start) {
  auto episode = std::make_unique<Open4Episode>(task);
  // Few distinct words on purpose: a tiny model's word tokenizer is built
  // from the env's text.
  start->instruction = "reach the goal";
  start->observation = episode->Observe();
  start->info["side"] = kOpen4Side;
  start->info["min_turns"] = task.MinTurns();
  return episode;
}

} // namespace agentgym::env::maze
