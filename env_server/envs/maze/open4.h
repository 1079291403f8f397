#ifndef AGENTGYM_ENV_SERVER_ENVS_MAZE_OPEN4_H_
#define AGENTGYM_ENV_SERVER_ENVS_MAZE_OPEN4_H_

// The maze env's `open4` task type: an open 4x4 grid (no walls) with a start
// and a goal, and a compact, word-only protocol that a tiny transformer with
// a word tokenizer can learn by RL from random init (see
// shared/LEARNING-FACTS.md):
//
//   instruction  "reach the goal"
//   observation  "pos X Y goal GX GY" after every step (also the first one)
//   invalid      "invalid pos X Y goal GX GY" (action_valid false, turn spent)
//   actions      up | down | left | right (also "move up", "Action: up", ...)
//
// Moving into the border keeps the position and is a valid action. Reward 1
// and done on reaching the goal, else 0. Coordinates as in the other maze
// types: x is the column (left = x - 1), y the row (up = y - 1).
//
// The 240 (start, goal) pairs with start != goal are split once, by a fixed
// hash order, into 192 train and 48 test tasks: disjoint by construction and
// the same on every machine.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "env_server/environment.h"

namespace agentgym::env::maze {

inline constexpr int kOpen4Side = 4;
inline constexpr int64_t kOpen4Pairs = 240; // 16 * 15
inline constexpr int64_t kOpen4TestCount = 48;
inline constexpr int64_t kOpen4TrainCount = kOpen4Pairs - kOpen4TestCount;
// The longest shortest path is 6 moves ((0,0) to (3,3)).
inline constexpr int kOpen4RecommendedMaxTurns = 6;
// The env's own limit (truncated): generous, so a run may give its policy a
// longer horizon than recommended; the actor's horizon normally ends first.
inline constexpr int kOpen4TurnLimit = 64;

struct Open4Task {
  int start_x = 0, start_y = 0;
  int goal_x = 0, goal_y = 0;
  // The fewest moves that reach the goal (the Manhattan distance).
  int MinTurns() const;
};

// The task at `index` of `split`; INVALID_ARGUMENT when out of range.
absl::StatusOr<Open4Task> Open4TaskAt(Split split, int64_t index);

// "pos X Y goal GX GY".
std::string Open4Observation(int x, int y, int goal_x, int goal_y);

// Starts an episode; fills the instruction, first observation and info
// ("side", "min_turns").
std::unique_ptr<Episode> NewOpen4Episode(const Open4Task &task,
                                         EpisodeStart *start);

} // namespace agentgym::env::maze

#endif // AGENTGYM_ENV_SERVER_ENVS_MAZE_OPEN4_H_
