#ifndef AGENTGYM_ENV_SERVER_ENVS_MAZE_MAZE_H_
#define AGENTGYM_ENV_SERVER_ENVS_MAZE_MAZE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "env_server/environment.h"
#include "env_server/envs/maze/maze_grid.h"

namespace agentgym::env::maze {

// One maze task, fully determined by its TaskKey (the seed is not used: a maze
// has no randomness once generated).
struct MazeTask {
  MazeGrid grid;
  int start_x = 0, start_y = 0;
  int goal_x = 0, goal_y = 0;
};

// The "maze" env: text grid mazes (small 5x5, medium 9x9, large 15x15) carved
// by randomized DFS. Train and test tasks are disjoint by construction: a task
// belongs to the test split iff the hash of its layout, start and goal is
// 0 mod 10, and generation rejects candidates of the other split. The
// `open4` type (open 4x4 grid, compact observations) lives in open4.h.
// CreateResponse.info carries "min_turns", the fewest moves that solve the
// task. Immutable after Create; NewEpisode is thread-safe.
class MazeEnv : public Environment {
 public:
  static absl::StatusOr<std::unique_ptr<MazeEnv>> Create(const EnvOptions& options);

  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;
  // open4: the Manhattan distance from start to goal; walled types: unknown (0).
  int32_t MinTurns(const TaskKey& key) const override;

  // The task behind a key of a walled type (exposed for tests: split disjointness, layouts).
  absl::StatusOr<MazeTask> MakeTask(const TaskKey& key) const;
  // Fingerprint deciding the split of a task.
  static uint64_t Fingerprint(const MazeTask& task);

 private:
  MazeEnv();
  EnvDescription description_;
};

// Parses a move ("up", "move north", "Action: go left", ...); nullopt if the
// text is not a move.
std::optional<Dir> ParseMove(std::string_view action);

}  // namespace agentgym::env::maze

#endif  // AGENTGYM_ENV_SERVER_ENVS_MAZE_MAZE_H_
