#ifndef AGENTGYM_ENV_SERVER_ENVS_MAZE_MAZE_GRID_H_
#define AGENTGYM_ENV_SERVER_ENVS_MAZE_MAZE_GRID_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/det_random.h"

namespace agentgym::env::maze {

enum Dir { kNorth = 0, kEast = 1, kSouth = 2, kWest = 3 };

const char* DirName(Dir d);  // "north" ...
const char* MoveName(Dir d);  // "up" | "right" | "down" | "left"

// A perfect maze (a spanning tree over the cells) on a width x height grid of
// cells, carved by randomized depth-first search. Coordinates are (x, y) with
// x the column growing east and y the row growing south, so "north"/"up" is
// y - 1. Immutable after Generate; copyable value type.
class MazeGrid {
 public:
  // Carves a maze from `rng` (iterative DFS, so 15x15 never recurses deeply).
  static MazeGrid Generate(int width, int height, DetRng& rng);

  int width() const { return width_; }
  int height() const { return height_; }
  bool InBounds(int x, int y) const { return x >= 0 && y >= 0 && x < width_ && y < height_; }
  // True if a wall blocks leaving (x, y) towards `d` (the outer border too).
  bool Wall(int x, int y, Dir d) const;
  // Shortest path lengths (in moves) from (x, y) to every cell, row-major.
  std::vector<int> Distances(int x, int y) const;
  // The first move of a shortest path from (x, y) to (tx, ty).
  Dir NextStep(int x, int y, int tx, int ty) const;
  // A canonical text of the wall layout, for fingerprints and tests.
  std::string Layout() const;

 private:
  int Index(int x, int y) const { return y * width_ + x; }
  int width_ = 0;
  int height_ = 0;
  // open_[cell] bit d set = no wall towards Dir d.
  std::vector<uint8_t> open_;
};

// Moves (x, y) one cell towards d (no wall check).
void Step(Dir d, int* x, int* y);

}  // namespace agentgym::env::maze

#endif  // AGENTGYM_ENV_SERVER_ENVS_MAZE_MAZE_GRID_H_
