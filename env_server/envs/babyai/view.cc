#include "env_server/envs/babyai/view.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>

#include "absl/strings/str_cat.h"

namespace agentgym::env::babyai {
namespace {

struct Sighting {
  int id;  // object id, or -1 for a wall
  int x, y, dist;
};

// World coordinates of view cell (i, j): the agent sits at (3, 6) looking
// towards j = 0, as in MiniGrid's gen_obs_grid.
int AbsX(const World& w, int i, int j) {
  int d = w.agent_dir(), r = (d + 1) & 3;
  return w.agent_x() + kDx[d] * (kViewSize - 1 - j) + kDx[r] * (i - kViewSize / 2);
}
int AbsY(const World& w, int i, int j) {
  int d = w.agent_dir(), r = (d + 1) & 3;
  return w.agent_y() + kDy[d] * (kViewSize - 1 - j) + kDy[r] * (i - kViewSize / 2);
}

// MiniGrid's Grid.process_vis: walls, closed and locked doors (and cells
// off the grid) hide what lies behind them.
std::vector<uint8_t> VisibilityMask(const World& w) {
  auto blocks = [&](int i, int j) {
    int x = AbsX(w, i, j), y = AbsY(w, i, j);
    if (w.IsWall(x, y)) return true;
    int id = w.ObjectAt(x, y);
    return id >= 0 && w.object(id).kind == Kind::kDoor && w.object(id).door != DoorState::kOpen;
  };
  std::vector<uint8_t> mask(kViewSize * kViewSize, 0);
  auto at = [&](int i, int j) -> uint8_t& { return mask[j * kViewSize + i]; };
  at(kViewSize / 2, kViewSize - 1) = 1;
  for (int j = kViewSize - 1; j >= 0; --j) {
    for (int i = 0; i < kViewSize - 1; ++i) {
      if (!at(i, j) || blocks(i, j)) continue;
      at(i + 1, j) = 1;
      if (j > 0) at(i + 1, j - 1) = at(i, j - 1) = 1;
    }
    for (int i = kViewSize - 1; i >= 1; --i) {
      if (!at(i, j) || blocks(i, j)) continue;
      at(i - 1, j) = 1;
      if (j > 0) at(i - 1, j - 1) = at(i, j - 1) = 1;
    }
  }
  return mask;
}

std::string BaseLabel(const Object& o) {
  if (o.kind == Kind::kDoor) return absl::StrCat(ColorName(o.color), " ", DoorStateName(o.door), " door");
  return absl::StrCat(ColorName(o.color), " ", KindName(o.kind));
}

// Shortest primitive plans over visible walkable cells (AgentGym's
// find_path): to face (tx, ty), or with `arrive` to stand on it.
//
// One breadth-first search from the agent's pose serves every target of a
// view (a view asks for a path to each visible object, several times):
// among the poses that satisfy a target, the one the search dequeues first
// is the one a search stopped at that target would have returned, so the
// plans are the same as one search per target, for a fraction of the work.
class PathFinder {
 public:
  PathFinder(const World& w, const std::vector<uint8_t>& visible)
      : w_(w), width_(w.width()), parent_(width_ * w.height() * 4, -2),
        order_(parent_.size(), -1), via_(parent_.size(), 0) {
    std::vector<int> queue;
    queue.reserve(64);
    const int start = Key(w.agent_x(), w.agent_y(), w.agent_dir());
    parent_[start] = -1;
    queue.push_back(start);
    for (size_t head = 0; head < queue.size(); ++head) {
      const int s = queue[head];
      order_[s] = static_cast<int>(head);
      const int d = s % 4, cell = s / 4, x = cell % width_, y = cell / width_;
      for (Prim p : {Prim::kForward, Prim::kLeft, Prim::kRight}) {
        int nx = x, ny = y, nd = d;
        if (p == Prim::kForward) {
          nx += kDx[d];
          ny += kDy[d];
          if (!w.InBounds(nx, ny) || !visible[ny * width_ + nx] || !w.Walkable(nx, ny)) continue;
        } else {
          nd = p == Prim::kLeft ? (d + 3) & 3 : (d + 1) & 3;
        }
        const int ns = Key(nx, ny, nd);
        if (parent_[ns] != -2) continue;
        parent_[ns] = s;
        via_[ns] = static_cast<uint8_t>(p);
        queue.push_back(ns);
      }
    }
  }

  // Returns false if no visible path exists.
  bool Path(int tx, int ty, bool arrive, std::vector<Prim>* plan) const {
    int best = -1;
    for (int d = 0; d < 4; ++d) {
      // Facing (tx, ty) with direction d means standing one step behind it.
      const int x = arrive ? tx : tx - kDx[d];
      const int y = arrive ? ty : ty - kDy[d];
      if (!w_.InBounds(x, y)) continue;
      const int s = Key(x, y, d);
      if (order_[s] >= 0 && (best < 0 || order_[s] < order_[best])) best = s;
    }
    if (best < 0) return false;
    plan->clear();
    for (int c = best; parent_[c] >= 0; c = parent_[c]) plan->push_back(static_cast<Prim>(via_[c]));
    std::reverse(plan->begin(), plan->end());
    return true;
  }

 private:
  int Key(int x, int y, int d) const { return (y * width_ + x) * 4 + d; }

  const World& w_;
  const int width_;
  std::vector<int> parent_;  // -2 unreached, -1 the start
  std::vector<int> order_;   // dequeue position, -1 unreached
  std::vector<uint8_t> via_;
};

std::vector<Prim> Concat(std::vector<Prim> a, std::initializer_list<Prim> b) {
  a.insert(a.end(), b);
  return a;
}

}  // namespace

View ComputeView(const World& w) {
  View view;
  const int d = w.agent_dir(), r = (d + 1) & 3;
  std::vector<uint8_t> mask = VisibilityMask(w);
  view.visible.assign(static_cast<size_t>(w.width() * w.height()), 0);
  std::vector<Sighting> seen;
  int barrier = -1;
  const char* barrier_name = nullptr;
  for (int j = 0; j < kViewSize; ++j) {
    for (int i = 0; i < kViewSize; ++i) {
      if (!mask[j * kViewSize + i]) continue;
      int x = AbsX(w, i, j), y = AbsY(w, i, j);
      if (!w.InBounds(x, y)) continue;
      view.visible[y * w.width() + x] = 1;
      int dist = std::abs(x - w.agent_x()) + std::abs(y - w.agent_y());
      if (dist == 0) continue;
      int id = w.ObjectAt(x, y);
      bool wall = w.IsWall(x, y);
      if (!wall && id < 0) continue;
      if (!wall) seen.push_back({id, x, y, dist});
      bool is_box = !wall && w.object(id).kind == Kind::kBox;
      if ((wall || is_box) && i == kViewSize / 2 && (barrier < 0 || dist < barrier)) {
        barrier = dist;
        barrier_name = wall ? "wall" : "box";
      }
    }
  }
  std::stable_sort(seen.begin(), seen.end(),
                   [](const Sighting& a, const Sighting& b) { return a.dist < b.dist; });

  std::map<std::string, int> counts;
  std::string& text = view.description;
  for (const Sighting& s : seen) {
    const std::string base = BaseLabel(w.object(s.id));
    VisibleObject v;
    v.id = s.id;
    v.label = absl::StrCat(base, " ", ++counts[base]);
    int rx = s.x - w.agent_x(), ry = s.y - w.agent_y();
    v.front = rx * kDx[d] + ry * kDy[d];
    v.right = rx * kDx[r] + ry * kDy[r];
    view.objects.push_back(std::move(v));
  }
  if (view.objects.empty()) {
    text = "You cannot see any objects within sight. ";
  } else {
    text = "In front of you in this room, you can see several objects: ";
    for (const VisibleObject& v : view.objects) {
      if (v.right == 0) {
        absl::StrAppend(&text, "There is a ", v.label, " right in front of you ", v.front,
                        " steps away. ");
      } else {
        absl::StrAppend(&text, "There is a ", v.label, " ", v.front, " steps in front of you and ",
                        std::abs(v.right), " steps to your ", v.right > 0 ? "right" : "left",
                        ". ");
      }
    }
  }
  text += "The room has walls around you. ";
  if (barrier > 0) absl::StrAppend(&text, "You are facing a ", barrier_name, " ", barrier, " steps away. ");
  const int carrying = w.carrying();
  if (carrying >= 0) {
    absl::StrAppend(&text, "You are carrying a ", ColorName(w.object(carrying).color), " ",
                    KindName(w.object(carrying).kind), ".");
  } else {
    text += "You are not carrying anything.";
  }

  auto& acts = view.actions;
  auto& errs = view.errors;
  acts.push_back({"turn left", {Prim::kLeft}});
  acts.push_back({"turn right", {Prim::kRight}});
  if (w.Walkable(w.FrontX(), w.FrontY())) {
    acts.push_back({"move forward", {Prim::kForward}});
  } else {
    errs.emplace_back("move forward", "There is a barrier in front of you, you can't move forward.");
  }
  std::vector<Prim> plan;
  const PathFinder paths(w, view.visible);
  if (carrying < 0) {
    for (const VisibleObject& v : view.objects) {
      if (w.object(v.id).kind == Kind::kDoor) continue;
      const Object& o = w.object(v.id);
      std::string name = absl::StrCat("pick up ", v.label);
      if (paths.Path(o.x, o.y, false, &plan)) {
        acts.push_back({name, Concat(plan, {Prim::kPickup})});
      } else {
        errs.emplace_back(name, absl::StrCat("You cannot pick up ", v.label,
                                             ", as there is no path leading to it."));
      }
    }
  } else {
    for (const VisibleObject& v : view.objects) {
      if (w.object(v.id).kind == Kind::kDoor) continue;
      errs.emplace_back(absl::StrCat("pick up ", v.label),
                        absl::StrCat("You cannot pick up ", v.label,
                                     ", as you are already carrying something."));
    }
  }
  if (carrying >= 0 && w.FreeFloor(w.FrontX(), w.FrontY())) {
    acts.push_back({"drop", {Prim::kDrop}});
  } else {
    errs.emplace_back("drop", carrying >= 0
                                  ? "You cannot drop the object, as there is already an object "
                                    "in front of you."
                                  : "You cannot drop the object, as you are not carrying anything.");
  }
  bool toggle_added = false;
  for (const VisibleObject& v : view.objects) {
    const Object& o = w.object(v.id);
    if (o.kind != Kind::kDoor) continue;
    const std::string through = absl::StrCat("go through ", v.label);
    const std::string toggle_through = absl::StrCat("toggle and go through ", v.label);
    const std::string no_path = ", as there is no path leading to it.";
    if (o.door == DoorState::kOpen) {
      if (paths.Path(o.x, o.y, true, &plan)) {
        acts.push_back({through, plan});
      } else {
        errs.emplace_back(through, absl::StrCat("You cannot go through ", v.label, no_path));
      }
      continue;
    }
    errs.emplace_back(through, absl::StrCat("You cannot go through ", v.label,
                                            ", as it is closed. You should toggle it first."));
    if (o.door == DoorState::kLocked) {
      const bool has_key = carrying >= 0 && w.object(carrying).kind == Kind::kKey;
      if (!has_key || w.object(carrying).color != o.color) {
        errs.emplace_back(toggle_through,
                          absl::StrCat("You cannot toggle and go through ", v.label,
                                       has_key ? ", as the color of the key you are carrying "
                                                 "does not match the color of door."
                                               : ", as you are not carrying a key."));
        continue;
      }
    }
    if (paths.Path(o.x, o.y, false, &plan)) {
      if (plan.empty() && !toggle_added) {
        acts.push_back({"toggle", {Prim::kToggle}});
        toggle_added = true;
      }
      acts.push_back({toggle_through, Concat(plan, {Prim::kToggle, Prim::kForward})});
    } else {
      errs.emplace_back(toggle_through,
                        absl::StrCat("You cannot toggle and go through ", v.label, no_path));
    }
  }
  for (const VisibleObject& v : view.objects) {
    const Object& o = w.object(v.id);
    std::string name = absl::StrCat("go to ", v.label);
    if (paths.Path(o.x, o.y, false, &plan)) {
      acts.push_back({name, plan});
    } else {
      errs.emplace_back(name, absl::StrCat("You cannot go to ", v.label,
                                           ", as there is no path leading to it."));
    }
  }
  acts.push_back({"check available actions", {}});
  return view;
}

const ActionChoice* View::Find(const std::string& name) const {
  for (const ActionChoice& a : actions) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const std::string* View::ErrorFor(const std::string& name) const {
  for (const auto& [action, message] : errors) {
    if (action == name) return &message;
  }
  return nullptr;
}

std::string View::ActionsLine() const {
  std::string line = "Available actions: [";
  for (size_t i = 0; i < actions.size(); ++i) {
    absl::StrAppend(&line, i ? ", " : "", "\"", actions[i].name, "\"");
  }
  line += "]";
  return line;
}

std::string View::ActionsSentence() const {
  std::string line = "You can take the following actions: ";
  for (size_t i = 0; i < actions.size(); ++i) absl::StrAppend(&line, i ? ", " : "", actions[i].name);
  return line;
}

size_t View::ApproxBytes() const {
  size_t n = visible.capacity() + description.capacity() +
             objects.capacity() * sizeof(VisibleObject) +
             actions.capacity() * sizeof(ActionChoice) + errors.capacity() * 2 * sizeof(std::string);
  for (const auto& o : objects) n += o.label.capacity();
  for (const auto& a : actions) n += a.name.capacity() + a.plan.capacity();
  for (const auto& [k, v] : errors) n += k.capacity() + v.capacity();
  return n;
}

}  // namespace agentgym::env::babyai
