#include "env_server/envs/maze/maze_grid.h"

#include <deque>
#include <utility>

namespace agentgym::env::maze {

const char* DirName(Dir d) {
  static const char* kNames[] = {"north", "east", "south", "west"};
  return kNames[d];
}

const char* MoveName(Dir d) {
  static const char* kNames[] = {"up", "right", "down", "left"};
  return kNames[d];
}

void Step(Dir d, int* x, int* y) {
  static const int kDx[] = {0, 1, 0, -1};
  static const int kDy[] = {-1, 0, 1, 0};
  *x += kDx[d];
  *y += kDy[d];
}

static Dir Opposite(Dir d) { return static_cast<Dir>((d + 2) % 4); }

MazeGrid MazeGrid::Generate(int width, int height, DetRng& rng) {
  MazeGrid g;
  g.width_ = width;
  g.height_ = height;
  g.open_.assign(static_cast<size_t>(width * height), 0);
  std::vector<bool> seen(g.open_.size(), false);
  std::vector<std::pair<int, int>> stack;
  int sx = static_cast<int>(rng.Uniform(width)), sy = static_cast<int>(rng.Uniform(height));
  stack.emplace_back(sx, sy);
  seen[g.Index(sx, sy)] = true;
  while (!stack.empty()) {
    auto [x, y] = stack.back();
    std::vector<Dir> options;
    for (int d = 0; d < 4; ++d) {
      int nx = x, ny = y;
      Step(static_cast<Dir>(d), &nx, &ny);
      if (g.InBounds(nx, ny) && !seen[g.Index(nx, ny)]) options.push_back(static_cast<Dir>(d));
    }
    if (options.empty()) {
      stack.pop_back();
      continue;
    }
    Dir d = rng.Pick(options);
    int nx = x, ny = y;
    Step(d, &nx, &ny);
    g.open_[g.Index(x, y)] |= static_cast<uint8_t>(1u << d);
    g.open_[g.Index(nx, ny)] |= static_cast<uint8_t>(1u << Opposite(d));
    seen[g.Index(nx, ny)] = true;
    stack.emplace_back(nx, ny);
  }
  return g;
}

bool MazeGrid::Wall(int x, int y, Dir d) const {
  if (!InBounds(x, y)) return true;
  return (open_[Index(x, y)] & (1u << d)) == 0;
}

std::vector<int> MazeGrid::Distances(int x, int y) const {
  std::vector<int> dist(open_.size(), -1);
  std::deque<std::pair<int, int>> queue;
  dist[Index(x, y)] = 0;
  queue.emplace_back(x, y);
  while (!queue.empty()) {
    auto [cx, cy] = queue.front();
    queue.pop_front();
    for (int d = 0; d < 4; ++d) {
      if (Wall(cx, cy, static_cast<Dir>(d))) continue;
      int nx = cx, ny = cy;
      Step(static_cast<Dir>(d), &nx, &ny);
      if (dist[Index(nx, ny)] >= 0) continue;
      dist[Index(nx, ny)] = dist[Index(cx, cy)] + 1;
      queue.emplace_back(nx, ny);
    }
  }
  return dist;
}

Dir MazeGrid::NextStep(int x, int y, int tx, int ty) const {
  // Walk downhill on the distance field from the target.
  std::vector<int> dist = Distances(tx, ty);
  for (int d = 0; d < 4; ++d) {
    if (Wall(x, y, static_cast<Dir>(d))) continue;
    int nx = x, ny = y;
    Step(static_cast<Dir>(d), &nx, &ny);
    if (dist[Index(nx, ny)] == dist[Index(x, y)] - 1) return static_cast<Dir>(d);
  }
  return kNorth;  // only reached when already at the target
}

std::string MazeGrid::Layout() const {
  std::string s;
  s.reserve(open_.size());
  for (uint8_t o : open_) s += static_cast<char>('a' + o);
  return s;
}

}  // namespace agentgym::env::maze
