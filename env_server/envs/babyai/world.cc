#include "env_server/envs/babyai/world.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace agentgym::env::babyai {

const char* ColorName(Color c) {
  static const char* const kNames[kNumColors] = {"red",    "green",  "blue",
                                                 "purple", "yellow", "grey"};
  return kNames[static_cast<int>(c)];
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kBall: return "ball";
    case Kind::kBox: return "box";
    case Kind::kKey: return "key";
    case Kind::kDoor: return "door";
  }
  return "?";
}

const char* DoorStateName(DoorState s) {
  switch (s) {
    case DoorState::kOpen: return "open";
    case DoorState::kClosed: return "closed";
    case DoorState::kLocked: return "locked";
  }
  return "?";
}

World::World(int width, int height)
    : width_(width),
      height_(height),
      walls_(static_cast<size_t>(width * height), 0),
      cells_(static_cast<size_t>(width * height), -1) {}

absl::StatusOr<World> World::FromAscii(std::string_view map) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= map.size()) {
    size_t end = map.find('\n', pos);
    if (end == std::string_view::npos) end = map.size();
    std::string_view line = map.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty() || lines[0].size() < 2 || lines[0].size() % 2 != 0) {
    return absl::InvalidArgumentError("map needs rows of two-character cells");
  }
  const int w = static_cast<int>(lines[0].size() / 2);
  const int h = static_cast<int>(lines.size());
  World world(w, h);
  bool has_agent = false;
  for (int y = 0; y < h; ++y) {
    if (lines[y].size() != static_cast<size_t>(2 * w)) {
      return absl::InvalidArgumentError(absl::StrCat("row ", y, " has the wrong width"));
    }
    for (int x = 0; x < w; ++x) {
      std::string_view cell = lines[y].substr(2 * x, 2);
      static constexpr std::string_view kDirs = ">v<^";
      if (cell == "##") {
        world.SetWall(x, y, true);
      } else if (cell == "..") {
      } else if (kDirs.find(cell[0]) != std::string_view::npos && cell[1] == '.') {
        world.PlaceAgent(x, y, static_cast<int>(kDirs.find(cell[0])));
        has_agent = true;
      } else {
        static constexpr std::string_view kColors = "rgbpye";
        static constexpr std::string_view kKinds = "axkocl";
        size_t c = kColors.find(cell[0]);
        size_t k = kKinds.find(cell[1]);
        if (c == std::string_view::npos || k == std::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrCat("bad cell '", std::string(cell), "'"));
        }
        Object obj;
        obj.color = static_cast<Color>(c);
        obj.kind = k < 3 ? static_cast<Kind>(k) : Kind::kDoor;
        obj.door = k == 3 ? DoorState::kOpen : k == 4 ? DoorState::kClosed : DoorState::kLocked;
        obj.x = x;
        obj.y = y;
        world.AddObject(obj);
      }
    }
  }
  if (!has_agent) return absl::InvalidArgumentError("map has no agent");
  world.rooms().push_back(Room{0, 0, w, h});
  return world;
}

bool World::Walkable(int x, int y) const {
  if (IsWall(x, y)) return false;
  int id = cells_[Idx(x, y)];
  return id < 0 || (objects_[id].kind == Kind::kDoor && objects_[id].door == DoorState::kOpen);
}

bool World::FreeFloor(int x, int y) const {
  return !IsWall(x, y) && cells_[Idx(x, y)] < 0;
}

int World::AddObject(const Object& obj) {
  int id = static_cast<int>(objects_.size());
  objects_.push_back(obj);
  if (obj.kind == Kind::kDoor) walls_[Idx(obj.x, obj.y)] = 0;
  cells_[Idx(obj.x, obj.y)] = static_cast<int16_t>(id);
  return id;
}

int World::RoomOf(int x, int y) const {
  for (size_t i = 0; i < rooms_.size(); ++i) {
    if (rooms_[i].Contains(x, y)) return static_cast<int>(i);
  }
  return -1;
}

bool World::TurnLeft() {
  dir_ = (dir_ + 3) & 3;
  return true;
}

bool World::TurnRight() {
  dir_ = (dir_ + 1) & 3;
  return true;
}

bool World::Forward() {
  if (!Walkable(FrontX(), FrontY())) return false;
  ax_ = FrontX();
  ay_ = FrontY();
  return true;
}

bool World::Pickup() {
  int id = ObjectAt(FrontX(), FrontY());
  if (carrying_ >= 0 || id < 0 || objects_[id].kind == Kind::kDoor) return false;
  cells_[Idx(FrontX(), FrontY())] = -1;
  objects_[id].x = objects_[id].y = -1;
  carrying_ = id;
  return true;
}

bool World::Drop() {
  if (carrying_ < 0 || !FreeFloor(FrontX(), FrontY())) return false;
  Object& obj = objects_[carrying_];
  obj.x = FrontX();
  obj.y = FrontY();
  cells_[Idx(obj.x, obj.y)] = static_cast<int16_t>(carrying_);
  carrying_ = -1;
  return true;
}

bool World::Toggle() {
  int id = ObjectAt(FrontX(), FrontY());
  if (id < 0 || objects_[id].kind != Kind::kDoor) return false;
  Object& door = objects_[id];
  switch (door.door) {
    case DoorState::kOpen: door.door = DoorState::kClosed; return true;
    case DoorState::kClosed: door.door = DoorState::kOpen; return true;
    case DoorState::kLocked:
      if (carrying_ >= 0 && objects_[carrying_].kind == Kind::kKey &&
          objects_[carrying_].color == door.color) {
        door.door = DoorState::kOpen;
        return true;
      }
      return false;
  }
  return false;
}

size_t World::ApproxBytes() const {
  return walls_.capacity() + cells_.capacity() * sizeof(int16_t) +
         objects_.capacity() * sizeof(Object) + rooms_.capacity() * sizeof(Room);
}

}  // namespace agentgym::env::babyai
