#include "env_server/envs/babyai/oracle.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace agentgym::env::babyai {
namespace {

// How a planned step changes the state: turn, walk, open a door and walk
// through it, or pick up an object in the way.
enum class Edge : uint8_t { kLeft, kRight, kForward, kDoor, kClear };

struct Step {
  Edge edge;
  int x, y;  // the cell entered (forward/door/clear) or faced after a turn
};

using FacePred = std::function<bool(int x, int y)>;

// Costs approximate primitives: a closed door costs a toggle, an object in
// the way costs picking it up and putting it aside.
constexpr int kDoorCost = 2;
constexpr int kClearCost = 12;

// Cheapest route to a pose facing a cell accepted by `goal`. With
// `ignore_locks`, locked doors count as closed (to find which key to fetch).
// Objects in the way are only cleared when `allow_clear` (and hands are free).
bool NavigateOnce(const World& w, const FacePred& goal, bool ignore_locks, bool allow_clear,
                  std::vector<Step>* out) {
  const int width = w.width();
  const int n = width * w.height() * 4;
  std::vector<int> dist(n, INT_MAX), parent(n, -1);
  std::vector<uint8_t> via(n, 0);
  using Item = std::pair<int, int>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  auto key = [&](int x, int y, int d) { return (y * width + x) * 4 + d; };
  const int start = key(w.agent_x(), w.agent_y(), w.agent_dir());
  dist[start] = 0;
  queue.push({0, start});
  const int held = w.carrying();
  while (!queue.empty()) {
    auto [cost, s] = queue.top();
    queue.pop();
    if (cost != dist[s]) continue;
    const int d = s % 4, x = (s / 4) % width, y = (s / 4) / width;
    if (goal(x + kDx[d], y + kDy[d])) {
      out->clear();
      for (int c = s; c != start; c = parent[c]) {
        const int cx = (c / 4) % width, cy = (c / 4) / width, cd = c % 4;
        const Edge e = static_cast<Edge>(via[c]);
        if (e == Edge::kLeft || e == Edge::kRight) {
          out->push_back({e, cx + kDx[cd], cy + kDy[cd]});
        } else {
          out->push_back({e, cx, cy});
        }
      }
      std::reverse(out->begin(), out->end());
      return true;
    }
    auto relax = [&](int ns, int step_cost, Edge e) {
      if (cost + step_cost < dist[ns]) {
        dist[ns] = cost + step_cost;
        parent[ns] = s;
        via[ns] = static_cast<uint8_t>(e);
        queue.push({dist[ns], ns});
      }
    };
    relax(key(x, y, (d + 3) & 3), 1, Edge::kLeft);
    relax(key(x, y, (d + 1) & 3), 1, Edge::kRight);
    const int fx = x + kDx[d], fy = y + kDy[d];
    if (w.IsWall(fx, fy)) continue;
    const int id = w.ObjectAt(fx, fy);
    if (id < 0) {
      relax(key(fx, fy, d), 1, Edge::kForward);
      continue;
    }
    const Object& o = w.object(id);
    if (o.kind == Kind::kDoor) {
      if (o.door == DoorState::kOpen) {
        relax(key(fx, fy, d), 1, Edge::kForward);
      } else if (o.door == DoorState::kClosed || ignore_locks ||
                 (held >= 0 && w.object(held).kind == Kind::kKey &&
                  w.object(held).color == o.color)) {
        relax(key(fx, fy, d), kDoorCost, Edge::kDoor);
      }
    } else if (held < 0 && allow_clear) {
      relax(key(fx, fy, d), kClearCost, Edge::kClear);
    }
  }
  return false;
}

// Walks around objects when it can and clears one only when it must: a
// cleared cell is then a cut cell, where PutDown never drops (no loops).
bool Navigate(const World& w, const FacePred& goal, bool ignore_locks, std::vector<Step>* out) {
  return NavigateOnce(w, goal, ignore_locks, false, out) ||
         NavigateOnce(w, goal, ignore_locks, true, out);
}

// Cut cells of the floor graph (free floor, doors, the agent's cell): an
// object dropped on one would split the reachable area (Tarjan's
// articulation points, recursive; depth is bounded by the grid size).
class CutCells {
 public:
  explicit CutCells(const World& w)
      : w_(w), n_(w.width() * w.height()), order_(n_, 0), low_(n_, 0), cut_(n_, 0) {
    Visit(w.agent_y() * w.width() + w.agent_x(), -1);
  }
  bool IsCut(int x, int y) const { return cut_[y * w_.width() + x] != 0; }

 private:
  bool Node(int x, int y) const {
    if (w_.IsWall(x, y)) return false;
    const int id = w_.ObjectAt(x, y);
    return id < 0 || (w_.object(id).kind == Kind::kDoor && w_.object(id).door != DoorState::kLocked);
  }
  void Visit(int c, int parent) {
    order_[c] = low_[c] = ++clock_;
    int children = 0;
    const int x = c % w_.width(), y = c / w_.width();
    for (int d = 0; d < 4; ++d) {
      const int nx = x + kDx[d], ny = y + kDy[d];
      if (!Node(nx, ny)) continue;
      const int nc = ny * w_.width() + nx;
      if (order_[nc] == 0) {
        ++children;
        Visit(nc, c);
        low_[c] = std::min(low_[c], low_[nc]);
        if (parent >= 0 && low_[nc] >= order_[c]) cut_[c] = 1;
      } else if (nc != parent) {
        low_[c] = std::min(low_[c], order_[nc]);
      }
    }
    if (parent < 0 && children > 1) cut_[c] = 1;
  }

  const World& w_;
  int n_;
  int clock_ = 0;
  std::vector<int> order_, low_;
  std::vector<uint8_t> cut_;
};

const std::string* LabelOf(const View& view, int id) {
  for (const VisibleObject& v : view.objects) {
    if (v.id == id) return &v.label;
  }
  return nullptr;
}

bool IsDoor(const World& w, int x, int y) {
  int id = w.ObjectAt(x, y);
  return id >= 0 && w.object(id).kind == Kind::kDoor;
}

// Picks an offered action for a planned route: a high-level door action when
// the next door on the route is in sight, else the route's first primitive.
std::string Follow(const World& w, const View& view, const std::vector<Step>& route) {
  for (const Step& s : route) {
    if (s.edge == Edge::kClear) break;
    if ((s.edge == Edge::kForward || s.edge == Edge::kDoor) && IsDoor(w, s.x, s.y)) {
      const int id = w.ObjectAt(s.x, s.y);
      if (const std::string* label = LabelOf(view, id)) {
        std::string name = absl::StrCat(
            w.object(id).door == DoorState::kOpen ? "go through " : "toggle and go through ",
            *label);
        if (view.Find(name)) return name;
      }
      break;
    }
  }
  const Step& first = route.front();
  switch (first.edge) {
    case Edge::kLeft: return "turn left";
    case Edge::kRight: return "turn right";
    case Edge::kForward: return "move forward";
    case Edge::kDoor:
    case Edge::kClear: {
      const std::string* label = LabelOf(view, w.ObjectAt(first.x, first.y));
      if (label == nullptr) return "turn left";
      std::string name = absl::StrCat(
          first.edge == Edge::kDoor ? "toggle and go through " : "pick up ", *label);
      return view.Find(name) ? name : "toggle";
    }
  }
  return "turn left";
}

enum class Final { kGoTo, kPickup, kToggle };

class Solver {
 public:
  Solver(const World& w, const Mission& m, const View& v) : w_(w), m_(m), view_(v) {}

  std::string Act() {
    if (m_.Achieved(w_)) return "check available actions";
    const int held = w_.carrying();
    goal_ids_ = m_.kind == InstrKind::kPutNext && held >= 0 && m_.target.Contains(held)
                    ? m_.fixed.ids
                    : m_.target.ids;
    switch (m_.kind) {
      case InstrKind::kGoTo:
        if (held >= 0 && m_.target.Contains(held)) return PutDown(nullptr);
        return Approach(m_.target.ids, Final::kGoTo);
      case InstrKind::kPickup:
        if (held >= 0) return KeyRouteOr([this] { return PutDown(nullptr); });
        return Approach(m_.target.ids, Final::kPickup);
      case InstrKind::kOpen: return Open();
      case InstrKind::kPutNext: {
        FacePred next_to_fixed = [this](int x, int y) {
          if (!w_.FreeFloor(x, y)) return false;
          for (int b : m_.fixed.ids) {
            const Object& o = w_.object(b);
            if (o.x >= 0 && std::abs(o.x - x) + std::abs(o.y - y) == 1) return true;
          }
          return false;
        };
        if (held >= 0 && m_.target.Contains(held)) return PutDown(&next_to_fixed);
        if (held >= 0) return KeyRouteOr([this] { return PutDown(nullptr); });
        // With free hands, first clear the way to a drop spot if objects wall
        // it off (it cannot be cleared while carrying the object to move).
        std::vector<Step> route;
        if (!NavigateOnce(w_, next_to_fixed, false, false, &route) &&
            NavigateOnce(w_, next_to_fixed, false, true, &route) && !route.empty()) {
          return Follow(w_, view_, route);
        }
        return Approach(m_.target.ids, Final::kPickup);
      }
    }
    return "turn left";
  }

 private:
  // While holding the key of a locked door on the way to the goal, heads
  // through that door (instead of dropping the key to free the hands).
  std::string KeyRouteOr(const std::function<std::string()>& otherwise) {
    const int held = w_.carrying();
    std::vector<Step> route;
    if (w_.object(held).kind == Kind::kKey && Navigate(w_, Facing(goal_ids_), false, &route)) {
      for (const Step& s : route) {
        const int id = w_.ObjectAt(s.x, s.y);
        if (s.edge == Edge::kDoor && w_.object(id).door == DoorState::kLocked) {
          return Follow(w_, view_, route);
        }
      }
    }
    return otherwise();
  }

  // Drops what the agent holds: where `where` accepts, or (null) on free
  // floor that is no cut cell and not beside a door or a goal object, so it
  // never blocks a way (else a cleared obstacle could be put straight back).
  std::string PutDown(const FacePred* where) {
    CutCells cuts(w_);
    FacePred aside = [this, &cuts](int x, int y) {
      if (!w_.FreeFloor(x, y) || cuts.IsCut(x, y)) return false;
      for (int d = 0; d < 4; ++d) {
        const int id = w_.ObjectAt(x + kDx[d], y + kDy[d]);
        if (id < 0) continue;
        if (w_.object(id).kind == Kind::kDoor ||
            std::find(goal_ids_.begin(), goal_ids_.end(), id) != goal_ids_.end()) {
          return false;
        }
      }
      return true;
    };
    FacePred anywhere = [this](int x, int y) { return w_.FreeFloor(x, y); };
    std::vector<Step> route;
    if (Navigate(w_, where ? *where : aside, false, &route) ||
        (!where && Navigate(w_, anywhere, false, &route))) {
      return route.empty() ? "drop" : Follow(w_, view_, route);
    }
    return where ? PutDown(nullptr) : "turn left";
  }

  std::string Open() {
    const int held = w_.carrying();
    std::vector<int> openable, locked;
    for (int id : m_.target.ids) {
      const Object& door = w_.object(id);
      const bool has_key = held >= 0 && w_.object(held).kind == Kind::kKey &&
                           w_.object(held).color == door.color;
      if (door.door == DoorState::kClosed || (door.door == DoorState::kLocked && has_key)) {
        openable.push_back(id);
      } else if (door.door == DoorState::kLocked) {
        locked.push_back(id);
      }
    }
    std::vector<Step> route;
    if (!openable.empty() && Navigate(w_, Facing(openable), false, &route)) {
      return Approach(openable, Final::kToggle);
    }
    return FetchKeyFor(locked);
  }

  // Goes for a key matching one of `doors` (dropping whatever is held first).
  std::string FetchKeyFor(const std::vector<int>& doors) {
    if (w_.carrying() >= 0) return PutDown(nullptr);
    std::vector<int> keys;
    for (int id = 0; id < static_cast<int>(w_.objects().size()); ++id) {
      const Object& o = w_.object(id);
      if (o.kind != Kind::kKey || o.x < 0) continue;
      for (int door : doors) {
        if (w_.object(door).color == o.color) keys.push_back(id);
      }
    }
    if (keys.empty()) return "turn left";
    return Approach(keys, Final::kPickup, /*may_fetch_key=*/false);
  }

  FacePred Facing(const std::vector<int>& ids) const {
    return [this, ids](int x, int y) {
      int id = w_.ObjectAt(x, y);
      return id >= 0 && std::find(ids.begin(), ids.end(), id) != ids.end();
    };
  }

  std::string Approach(const std::vector<int>& ids, Final final, bool may_fetch_key = true) {
    static const char* const kVerb[] = {"go to ", "pick up ", "toggle and go through "};
    for (const VisibleObject& v : view_.objects) {
      if (std::find(ids.begin(), ids.end(), v.id) == ids.end()) continue;
      std::string name = absl::StrCat(kVerb[static_cast<int>(final)], v.label);
      if (view_.Find(name)) return name;
    }
    std::vector<Step> route;
    if (Navigate(w_, Facing(ids), false, &route)) {
      if (!route.empty()) return Follow(w_, view_, route);
      if (final == Final::kToggle) return "toggle";
      return "turn left";  // facing it but the action is not offered: look again
    }
    if (!may_fetch_key || !Navigate(w_, Facing(ids), true, &route)) {
      return w_.carrying() >= 0 ? PutDown(nullptr) : "turn left";
    }
    // The way is shut by locked doors: fetch the key of the first one.
    for (const Step& s : route) {
      int id = w_.ObjectAt(s.x, s.y);
      if (s.edge == Edge::kDoor && w_.object(id).door == DoorState::kLocked) {
        return FetchKeyFor({id});
      }
    }
    return "turn left";
  }

  const World& w_;
  const Mission& m_;
  const View& view_;
  std::vector<int> goal_ids_;  // what the mission needs the agent to face next
};

}  // namespace

std::string OracleAction(const World& world, const Mission& mission, const View& view) {
  return Solver(world, mission, view).Act();
}

int SimulateOracle(World world, const Mission& mission, int max_turns) {
  for (int turn = 1; turn <= max_turns; ++turn) {
    View view = ComputeView(world);
    const ActionChoice* choice = view.Find(OracleAction(world, mission, view));
    if (choice == nullptr) return -1;
    if (RunPlan(&world, mission, choice->plan)) return turn;
  }
  return -1;
}

}  // namespace agentgym::env::babyai
