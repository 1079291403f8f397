#include "env_server/envs/babyai/levels.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/det_random.h"
#include "env_server/envs/babyai/oracle.h"

namespace agentgym::env::babyai {
namespace {

// BabyAI's RoomGrid: rows x cols square rooms of `size` (walls shared), doors
// in the shared walls. Builds one World; single use.
class RoomGrid {
 public:
  RoomGrid(int rows, int cols, int size, DetRng* rng)
      : rows_(rows), cols_(cols), size_(size), rng_(*rng),
        world_((size - 1) * cols + 1, (size - 1) * rows + 1),
        linked_(rows * cols * rows * cols, false) {
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        Room room{c * (size - 1), r * (size - 1), size, size};
        world_.rooms().push_back(room);
        for (int i = 0; i < size; ++i) {
          world_.SetWall(room.x0 + i, room.y0, true);
          world_.SetWall(room.x0 + i, room.y0 + size - 1, true);
          world_.SetWall(room.x0, room.y0 + i, true);
          world_.SetWall(room.x0 + size - 1, room.y0 + i, true);
        }
      }
    }
  }

  World& world() { return world_; }
  int num_rooms() const { return rows_ * cols_; }

  // A door between room `a` and its east (side 0) or south (side 1) neighbour.
  int AddDoor(int a, int side, Color color, DoorState state) {
    const Room& room = world_.rooms()[a];
    const int offset = static_cast<int>(rng_.UniformInt(1, size_ - 2));
    Object door;
    door.kind = Kind::kDoor;
    door.color = color;
    door.door = state;
    door.x = side == 0 ? room.x0 + size_ - 1 : room.x0 + offset;
    door.y = side == 0 ? room.y0 + offset : room.y0 + size_ - 1;
    const int b = side == 0 ? a + 1 : a + cols_;
    linked_[a * num_rooms() + b] = linked_[b * num_rooms() + a] = true;
    return world_.AddObject(door);
  }

  // Neighbour pairs (a, side) that are not linked yet.
  std::vector<std::pair<int, int>> FreeEdges(const std::function<bool(int, int)>& keep) const {
    std::vector<std::pair<int, int>> edges;
    for (int a = 0; a < num_rooms(); ++a) {
      if (a % cols_ + 1 < cols_ && !linked_[a * num_rooms() + a + 1] && keep(a, a + 1)) {
        edges.push_back({a, 0});
      }
      if (a / cols_ + 1 < rows_ && !linked_[a * num_rooms() + a + cols_] && keep(a, a + cols_)) {
        edges.push_back({a, 1});
      }
    }
    return edges;
  }

  // A random spanning tree of doors plus each other link with prob `extra`.
  std::vector<int> ConnectAll(DoorState state, double extra) {
    std::vector<int> doors;
    std::vector<bool> joined(num_rooms(), false);
    joined[rng_.Uniform(num_rooms())] = true;
    for (int n = 1; n < num_rooms(); ++n) {
      auto edges = FreeEdges([&](int a, int b) { return joined[a] != joined[b]; });
      auto [a, side] = rng_.Pick(edges);
      doors.push_back(AddDoor(a, side, RandomColor(), state));
      joined[a] = joined[side == 0 ? a + 1 : a + cols_] = true;
    }
    for (auto [a, side] : FreeEdges([](int, int) { return true; })) {
      if (rng_.Bernoulli(extra)) doors.push_back(AddDoor(a, side, RandomColor(), state));
    }
    return doors;
  }

  Color RandomColor() { return static_cast<Color>(rng_.Uniform(kNumColors)); }
  Kind RandomKind() { return static_cast<Kind>(rng_.Uniform(3)); }

  // A free interior cell of `room`, not beside a door (so objects never block
  // a doorway), or false.
  bool RandomCell(int room, bool avoid_doors, int* x, int* y) {
    const Room& r = world_.rooms()[room];
    for (int attempt = 0; attempt < 100; ++attempt) {
      int cx = r.x0 + static_cast<int>(rng_.UniformInt(1, r.w - 2));
      int cy = r.y0 + static_cast<int>(rng_.UniformInt(1, r.h - 2));
      if (!world_.FreeFloor(cx, cy)) continue;
      bool near_door = false;
      for (int d = 0; d < 4 && avoid_doors; ++d) {
        int id = world_.ObjectAt(cx + kDx[d], cy + kDy[d]);
        near_door = near_door || (id >= 0 && world_.object(id).kind == Kind::kDoor);
      }
      if (near_door) continue;
      *x = cx;
      *y = cy;
      return true;
    }
    return false;
  }

  int AddObject(int room, Kind kind, Color color) {
    Object obj;
    obj.kind = kind;
    obj.color = color;
    if (!RandomCell(room, true, &obj.x, &obj.y)) return -1;
    return world_.AddObject(obj);
  }

  bool PlaceAgent(int room) {
    int x, y;
    if (!RandomCell(room, false, &x, &y)) return false;
    world_.PlaceAgent(x, y, static_cast<int>(rng_.Uniform(4)));
    return true;
  }

  // Rooms reachable from `from` through doors other than `skip_door`.
  std::vector<bool> Reachable(int from, int skip_door) const {
    std::vector<bool> seen(num_rooms(), false);
    std::vector<int> stack = {from};
    seen[from] = true;
    while (!stack.empty()) {
      int a = stack.back();
      stack.pop_back();
      for (int id = 0; id < static_cast<int>(world_.objects().size()); ++id) {
        const Object& o = world_.object(id);
        if (o.kind != Kind::kDoor || id == skip_door) continue;
        int ra = -1, rb = -1;
        for (int d = 0; d < 4; ++d) {
          int room = world_.RoomOf(o.x + kDx[d], o.y + kDy[d]);
          if (world_.IsWall(o.x + kDx[d], o.y + kDy[d])) continue;
          (ra < 0 ? ra : rb) = room;
        }
        int other = ra == a ? rb : rb == a ? ra : -1;
        if (other >= 0 && !seen[other]) {
          seen[other] = true;
          stack.push_back(other);
        }
      }
    }
    return seen;
  }

 private:
  int rows_, cols_, size_;
  DetRng& rng_;
  World world_;
  std::vector<bool> linked_;
};

bool Pickable(Kind k) { return k != Kind::kDoor; }

// A description of object `id`: its kind, its colour unless `color_prob`
// says otherwise, and (with `loc_prob`) a location word when the object is
// in the agent's room. Resolved against the world.
ObjDesc Describe(const World& w, int id, DetRng& rng, double color_prob, double loc_prob) {
  ObjDesc desc;
  desc.kind = w.object(id).kind;
  if (rng.Bernoulli(color_prob)) desc.color = w.object(id).color;
  if (rng.Bernoulli(loc_prob)) {
    std::vector<Loc> locs;
    for (Loc loc : {Loc::kFront, Loc::kBehind, Loc::kLeft, Loc::kRight}) {
      if (MatchesLoc(w, id, loc)) locs.push_back(loc);
    }
    if (!locs.empty()) desc.loc = rng.Pick(locs);
  }
  desc.Resolve(w);
  return desc;
}

std::vector<int> IdsWhere(const World& w, const std::function<bool(const Object&)>& pred) {
  std::vector<int> ids;
  for (int id = 0; id < static_cast<int>(w.objects().size()); ++id) {
    if (pred(w.object(id))) ids.push_back(id);
  }
  return ids;
}

using Builder = std::function<bool(DetRng&, Task*)>;

bool BuildMultiRoom(DetRng& rng, Task* task, DoorState doors, InstrKind kind) {
  RoomGrid g(2, 2, 6, &rng);
  g.ConnectAll(doors, 0.5);
  for (int i = 0; i < 7; ++i) g.AddObject(static_cast<int>(rng.Uniform(4)), g.RandomKind(), g.RandomColor());
  if (!g.PlaceAgent(static_cast<int>(rng.Uniform(4)))) return false;
  auto objs = IdsWhere(g.world(), [](const Object& o) { return Pickable(o.kind); });
  if (objs.empty()) return false;
  task->world = g.world();
  task->mission.kind = kind;
  task->mission.target = Describe(task->world, rng.Pick(objs), rng, 1.0, 0.0);
  return true;
}

bool BuildActionObjDoor(DetRng& rng, Task* task) {
  RoomGrid g(3, 3, 7, &rng);
  std::vector<int> colors = {0, 1, 2, 3, 4, 5};
  rng.Shuffle(colors);
  const int mid = 4;
  g.AddDoor(mid, 0, static_cast<Color>(colors[0]), DoorState::kClosed);
  g.AddDoor(mid, 1, static_cast<Color>(colors[1]), DoorState::kClosed);
  g.AddDoor(mid - 1, 0, static_cast<Color>(colors[2]), DoorState::kClosed);
  g.AddDoor(mid - 3, 1, static_cast<Color>(colors[3]), DoorState::kClosed);
  for (int i = 0; i < 3; ++i) g.AddObject(mid, g.RandomKind(), g.RandomColor());
  if (!g.PlaceAgent(mid)) return false;
  task->world = g.world();
  const World& w = task->world;
  const int id = static_cast<int>(rng.Uniform(w.objects().size()));
  const bool is_door = w.object(id).kind == Kind::kDoor;
  task->mission.kind = rng.Bernoulli(0.5) ? InstrKind::kGoTo
                       : is_door          ? InstrKind::kOpen
                                          : InstrKind::kPickup;
  task->mission.target = Describe(w, id, rng, 1.0, 0.0);
  return true;
}

bool BuildFindObj(DetRng& rng, Task* task) {
  RoomGrid g(3, 3, 5, &rng);
  g.ConnectAll(DoorState::kClosed, 0.25);
  if (g.AddObject(static_cast<int>(rng.Uniform(9)), g.RandomKind(), g.RandomColor()) < 0) return false;
  if (!g.PlaceAgent(4)) return false;
  task->world = g.world();
  auto objs = IdsWhere(task->world, [](const Object& o) { return Pickable(o.kind); });
  task->mission.kind = InstrKind::kPickup;
  task->mission.target = Describe(task->world, objs[0], rng, 0.0, 0.0);
  return true;
}

bool BuildOneRoom(DetRng& rng, Task* task) {
  RoomGrid g(1, 1, 8, &rng);
  int id = g.AddObject(0, Kind::kBall, g.RandomColor());
  if (id < 0 || !g.PlaceAgent(0)) return false;
  task->world = g.world();
  task->mission.kind = InstrKind::kPickup;
  task->mission.target = Describe(task->world, id, rng, 0.0, 0.0);
  return true;
}

bool BuildSynthLoc(DetRng& rng, Task* task) {
  RoomGrid g(2, 2, 6, &rng);
  std::vector<int> doors = g.ConnectAll(DoorState::kClosed, 0.5);
  for (int id : doors) {
    if (rng.Bernoulli(0.4)) g.world().SetDoorState(id, DoorState::kOpen);
  }
  const int agent_room = static_cast<int>(rng.Uniform(4));
  if (rng.Bernoulli(0.5)) {  // a locked door, its key on the agent's side
    const int locked = rng.Pick(doors);
    g.world().SetDoorState(locked, DoorState::kLocked);
    std::vector<bool> side = g.Reachable(agent_room, locked);
    std::vector<int> rooms;
    for (int r = 0; r < 4; ++r) {
      if (side[r]) rooms.push_back(r);
    }
    if (g.AddObject(rng.Pick(rooms), Kind::kKey, g.world().object(locked).color) < 0) return false;
  }
  for (int i = 0; i < 6; ++i) g.AddObject(static_cast<int>(rng.Uniform(4)), g.RandomKind(), g.RandomColor());
  if (!g.PlaceAgent(agent_room)) return false;
  task->world = g.world();
  const World& w = task->world;
  Mission& m = task->mission;
  auto pickable = IdsWhere(w, [](const Object& o) { return Pickable(o.kind); });
  auto closed = IdsWhere(w, [](const Object& o) {
    return o.kind == Kind::kDoor && o.door != DoorState::kOpen;
  });
  m.kind = static_cast<InstrKind>(rng.Uniform(4));
  switch (m.kind) {
    case InstrKind::kGoTo:
      m.target = Describe(w, static_cast<int>(rng.Uniform(w.objects().size())), rng, 0.5, 0.5);
      break;
    case InstrKind::kPickup:
      m.target = Describe(w, rng.Pick(pickable), rng, 0.5, 0.5);
      break;
    case InstrKind::kOpen:
      if (closed.empty()) return false;
      m.target = Describe(w, rng.Pick(closed), rng, 0.5, 0.5);
      break;
    case InstrKind::kPutNext: {
      const int a = rng.Pick(pickable);
      int b = rng.Pick(pickable);
      if (a == b) return false;
      m.target = Describe(w, a, rng, 0.5, 0.5);
      m.fixed = Describe(w, b, rng, 0.5, 0.5);
      for (int id : m.target.ids) {
        if (m.fixed.Contains(id)) return false;
      }
      break;
    }
  }
  return true;
}

}  // namespace

const std::vector<LevelSpec>& LevelSpecs() {
  static const std::vector<LevelSpec> kSpecs = {
      {"goto", "GoTo: go to an object somewhere in four rooms joined by open doors", 400, 50, 30},
      {"pickup", "Pickup: pick up an object somewhere in four rooms behind closed doors", 400, 50,
       40},
      {"action_obj_door",
       "ActionObjDoor: pick up / go to an object or open / go to a door of the agent's room", 400,
       50, 20},
      {"find_obj", "FindObj: pick up the only object, hidden in a random room of a 3x3 grid", 400,
       50, 40},
      {"one_room", "OneRoom: pick up the ball in a single 8x8 room", 400, 50, 15},
      {"synth_loc",
       "SynthLoc: go to / pick up / open / put next, with location words and locked doors", 400,
       50, 50},
  };
  return kSpecs;
}

const LevelSpec* FindLevel(const std::string& name) {
  for (const LevelSpec& spec : LevelSpecs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

absl::StatusOr<Task> GenerateTask(const LevelSpec& level, uint64_t layout_seed) {
  const std::string name = level.name;
  Builder build;
  if (name == "goto") {
    build = [](DetRng& r, Task* t) { return BuildMultiRoom(r, t, DoorState::kOpen, InstrKind::kGoTo); };
  } else if (name == "pickup") {
    build = [](DetRng& r, Task* t) {
      return BuildMultiRoom(r, t, DoorState::kClosed, InstrKind::kPickup);
    };
  } else if (name == "action_obj_door") {
    build = BuildActionObjDoor;
  } else if (name == "find_obj") {
    build = BuildFindObj;
  } else if (name == "one_room") {
    build = BuildOneRoom;
  } else if (name == "synth_loc") {
    build = BuildSynthLoc;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown babyai level '", name, "'"));
  }
  const int budget = level.max_turns * 2 / 3;
  for (uint64_t attempt = 0; attempt < 200; ++attempt) {
    DetRng rng(DetRng::Mix(layout_seed, attempt));
    Task task{World(1, 1), Mission{}, 0};
    if (!build(rng, &task) || task.mission.target.ids.empty()) continue;
    if (task.mission.kind == InstrKind::kPutNext && task.mission.fixed.ids.empty()) continue;
    if (task.mission.Achieved(task.world)) continue;
    task.oracle_turns = SimulateOracle(task.world, task.mission, budget);
    if (task.oracle_turns > 0) return task;
  }
  return absl::InternalError(absl::StrCat("babyai: no solvable ", name, " layout for seed ",
                                          layout_seed));
}

}  // namespace agentgym::env::babyai
