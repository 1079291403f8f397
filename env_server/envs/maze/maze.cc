#include "env_server/envs/maze/maze.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/det_random.h"
#include "env_server/env_registry.h"
#include "env_server/envs/maze/open4.h"

namespace agentgym::env::maze {
namespace {

struct SizeSpec {
  const char* name;
  int side;
  int max_turns;
  int64_t train;
  int64_t test;
};

// max_turns leaves ~50% slack over the longest possible shortest path
// (side*side - 1 moves in a perfect maze).
constexpr SizeSpec kSizes[] = {
    {"small", 5, 40, 10000, 1000},
    {"medium", 9, 120, 10000, 1000},
    {"large", 15, 340, 10000, 1000},
};

constexpr int kMaxAttempts = 1000;

const SizeSpec* FindSize(const std::string& name) {
  for (const SizeSpec& s : kSizes) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

bool IsTestFingerprint(uint64_t fp) { return fp % 10 == 0; }

std::string Normalize(std::string_view action) {
  std::string s;
  for (char c : action) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto trim = [](std::string& t) {
    size_t b = t.find_first_not_of(" \t\r\n");
    size_t e = t.find_last_not_of(" \t\r\n.");
    t = (b == std::string::npos || e < b) ? "" : t.substr(b, e - b + 1);
  };
  trim(s);
  if (s.rfind("action:", 0) == 0) s = s.substr(7);
  trim(s);
  return s;
}

class MazeEpisode : public Episode {
 public:
  MazeEpisode(MazeTask task, int max_turns)
      : task_(std::move(task)),
        max_turns_(max_turns),
        x_(task_.start_x),
        y_(task_.start_y),
        goal_dist_(task_.grid.Distances(task_.goal_x, task_.goal_y)) {
    initial_distance_ = DistanceFrom(x_, y_);
  }

  // The fewest moves from the start to the goal.
  int MinTurns() const { return initial_distance_; }

  std::string Observe() const {
    std::vector<std::string> walls, moves;
    for (int d = 0; d < 4; ++d) {
      if (task_.grid.Wall(x_, y_, static_cast<Dir>(d))) {
        walls.push_back(DirName(static_cast<Dir>(d)));
      } else {
        moves.push_back(MoveName(static_cast<Dir>(d)));
      }
    }
    std::string text = absl::StrCat("You are at (", x_, ", ", y_, "). The goal is at (",
                                    task_.goal_x, ", ", task_.goal_y, ").");
    if (!walls.empty()) absl::StrAppend(&text, " There is a wall to your ", absl::StrJoin(walls, ", "), ".");
    absl::StrAppend(&text, " You can move ", absl::StrJoin(moves, ", "), ".");
    return text;
  }

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    StepOutcome out;
    if (finished_) {
      out.observation = "The episode is over.";
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
      out.observation = absl::StrCat(
          "Invalid action. Use one of: move up, move down, move left, move right. ", Observe());
    } else if (task_.grid.Wall(x_, y_, *move)) {
      out.observation = absl::StrCat("You bump into a wall to the ", DirName(*move),
                                     " and stay in place. ", Observe());
      out.info["bumped"] = true;
    } else {
      maze::Step(*move, &x_, &y_);
      out.observation = Observe();
    }
    out.score = Score();
    if (AtGoal()) {
      out.observation = absl::StrCat("You reached the goal at (", x_, ", ", y_, ")!");
      out.reward = 1.0;
      out.done = out.success = true;
      finished_ = true;
    } else if (turns_ >= max_turns_) {
      out.truncated = true;
      out.observation += absl::StrCat(" You ran out of turns (", max_turns_, ").");
      finished_ = true;
    }
    out.info["distance"] = DistanceFrom(x_, y_);
    return out;
  }

  std::optional<std::string> OracleAction() const override {
    if (finished_ || AtGoal()) return std::nullopt;
    Dir best = kNorth;
    int best_dist = DistanceFrom(x_, y_);
    for (int d = 0; d < 4; ++d) {
      if (task_.grid.Wall(x_, y_, static_cast<Dir>(d))) continue;
      int nx = x_, ny = y_;
      maze::Step(static_cast<Dir>(d), &nx, &ny);
      if (DistanceFrom(nx, ny) < best_dist) {
        best = static_cast<Dir>(d);
        best_dist = DistanceFrom(nx, ny);
      }
    }
    return absl::StrCat("move ", MoveName(best));
  }

  size_t ApproxBytes() const override {
    return goal_dist_.capacity() * sizeof(int) +
           static_cast<size_t>(task_.grid.width() * task_.grid.height()) + 64;
  }

 private:
  int DistanceFrom(int x, int y) const { return goal_dist_[y * task_.grid.width() + x]; }
  bool AtGoal() const { return x_ == task_.goal_x && y_ == task_.goal_y; }
  double Score() const {
    if (initial_distance_ <= 0) return 1.0;
    double s = 1.0 - static_cast<double>(DistanceFrom(x_, y_)) / initial_distance_;
    return std::clamp(s, 0.0, 1.0);
  }

  MazeTask task_;
  int max_turns_;
  int x_, y_;
  std::vector<int> goal_dist_;  // moves from each cell to the goal
  int initial_distance_ = 0;
  int turns_ = 0;
  bool finished_ = false;
};

}  // namespace

std::optional<Dir> ParseMove(std::string_view action) {
  std::string s = Normalize(action);
  for (const char* prefix : {"move ", "go ", "walk "}) {
    if (s.rfind(prefix, 0) == 0) {
      s = s.substr(std::string(prefix).size());
      size_t b = s.find_first_not_of(' ');
      s = b == std::string::npos ? "" : s.substr(b);
      break;
    }
  }
  if (s == "up" || s == "north" || s == "n") return kNorth;
  if (s == "right" || s == "east" || s == "e") return kEast;
  if (s == "down" || s == "south" || s == "s") return kSouth;
  if (s == "left" || s == "west" || s == "w") return kWest;
  return std::nullopt;
}

MazeEnv::MazeEnv() {
  description_.name = "maze";
  description_.description =
      "Navigate a text grid maze (randomized-DFS perfect maze) from the start cell to the goal; "
      "open4 is an open 4x4 grid with a compact observation, for tiny models trained from "
      "scratch.";
  description_.action_format =
      "move up|down|left|right (also: up, down, north, south, east, west, go <dir>); "
      "an optional 'Action:' prefix is accepted";
  description_.mirrors = "AgentGym maze (LMRL-Gym maze)";
  description_.recommended_max_turns = kSizes[0].max_turns;
  for (const SizeSpec& s : kSizes) {
    description_.task_types.push_back(
        {s.name, absl::StrCat(s.side, "x", s.side, " maze"), s.train, s.test, s.max_turns});
    description_.recommended_max_turns = std::max(description_.recommended_max_turns, s.max_turns);
  }
  description_.task_types.push_back(
      {"open4",
       "open 4x4 grid, no walls; compact observation 'pos X Y goal GX GY', instruction "
       "'reach the goal' (learnable from scratch by a tiny model)",
       kOpen4TrainCount, kOpen4TestCount, kOpen4RecommendedMaxTurns});
}

absl::StatusOr<std::unique_ptr<MazeEnv>> MazeEnv::Create(const EnvOptions& options) {
  if (!options.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("maze takes no options; got '", options.begin()->first, "'"));
  }
  return std::unique_ptr<MazeEnv>(new MazeEnv());
}

uint64_t MazeEnv::Fingerprint(const MazeTask& task) {
  return DetRng::Hash(absl::StrCat(task.grid.Layout(), "|", task.start_x, ",", task.start_y, "|",
                                   task.goal_x, ",", task.goal_y));
}

absl::StatusOr<MazeTask> MazeEnv::MakeTask(const TaskKey& key) const {
  const SizeSpec* size = FindSize(key.type);
  if (size == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown maze type ", key.type));
  bool want_test = key.split == Split::kTest;
  uint64_t base = DetRng::Mix(DetRng::Hash(absl::StrCat("maze/", key.type)),
                              static_cast<uint64_t>(key.index));
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    DetRng rng(DetRng::Mix(base, static_cast<uint64_t>(attempt)));
    MazeTask task;
    task.grid = MazeGrid::Generate(size->side, size->side, rng);
    const int cells = size->side * size->side;
    // Start and goal at least `side` moves apart so no task is trivial.
    for (int tries = 0; tries < 100; ++tries) {
      int s = static_cast<int>(rng.Uniform(cells)), g = static_cast<int>(rng.Uniform(cells));
      task.start_x = s % size->side;
      task.start_y = s / size->side;
      task.goal_x = g % size->side;
      task.goal_y = g / size->side;
      std::vector<int> dist = task.grid.Distances(task.goal_x, task.goal_y);
      if (dist[s] >= size->side) break;
    }
    std::vector<int> dist = task.grid.Distances(task.goal_x, task.goal_y);
    if (dist[task.start_y * size->side + task.start_x] < size->side) continue;
    if (IsTestFingerprint(Fingerprint(task)) == want_test) return task;
  }
  return absl::InternalError(absl::StrCat("could not generate maze ", key.type, "/", key.index));
}

int32_t MazeEnv::MinTurns(const TaskKey& key) const {
  if (key.type != "open4") return 0;
  absl::StatusOr<Open4Task> task = Open4TaskAt(key.split, key.index);
  return task.ok() ? task->MinTurns() : 0;
}

absl::StatusOr<std::unique_ptr<Episode>> MazeEnv::NewEpisode(const TaskKey& key, uint64_t seed,
                                                            EpisodeStart* start) const {
  if (key.type == "open4") {
    absl::StatusOr<Open4Task> task = Open4TaskAt(key.split, key.index);
    if (!task.ok()) return task.status();
    return NewOpen4Episode(*task, start);
  }
  absl::StatusOr<MazeTask> task = MakeTask(key);
  if (!task.ok()) return task.status();
  const SizeSpec* size = FindSize(key.type);
  auto episode = std::make_unique<MazeEpisode>(*std::move(task), size->max_turns);
  start->instruction = absl::StrCat(
      "You are in a ", size->side, "x", size->side,
      " grid maze. Coordinates are (x, y) with x from 0 (west) to ", size->side - 1,
      " (east) and y from 0 (north) to ", size->side - 1,
      " (south). Reach the goal by moving one cell per action: move up (north), move down "
      "(south), move left (west) or move right (east). Walls block movement. You have ",
      size->max_turns, " actions.");
  start->observation = episode->Observe();
  start->info["side"] = size->side;
  start->info["min_turns"] = episode->MinTurns();
  return std::unique_ptr<Episode>(std::move(episode));
}

AG_REGISTER_ENV("maze", [](const EnvOptions& o) -> absl::StatusOr<std::unique_ptr<Environment>> {
  auto env = MazeEnv::Create(o);
  if (!env.ok()) return env.status();
  return std::unique_ptr<Environment>(*std::move(env));
});

}  // namespace agentgym::env::maze
