#ifndef AGENTGYM_ENV_SERVER_ENVS_BABYAI_WORLD_H_
#define AGENTGYM_ENV_SERVER_ENVS_BABYAI_WORLD_H_

// The hidden full state of a BabyAI-like gridworld: walls, doors, movable
// objects (ball, box, key) and the agent, with MiniGrid's primitive actions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgym::env::babyai {

enum class Color : uint8_t { kRed, kGreen, kBlue, kPurple, kYellow, kGrey };
inline constexpr int kNumColors = 6;
enum class Kind : uint8_t { kBall, kBox, kKey, kDoor };
enum class DoorState : uint8_t { kOpen, kClosed, kLocked };

const char* ColorName(Color c);
const char* KindName(Kind k);
const char* DoorStateName(DoorState s);

// MiniGrid directions: 0 east (+x), 1 south (+y), 2 west, 3 north.
inline constexpr int kDx[4] = {1, 0, -1, 0};
inline constexpr int kDy[4] = {0, 1, 0, -1};

struct Object {
  Kind kind = Kind::kBall;
  Color color = Color::kRed;
  DoorState door = DoorState::kClosed;  // doors only
  int x = -1, y = -1;                   // -1 while carried
};

// A rectangular room (walls included), as BabyAI's RoomGrid lays them out.
struct Room {
  int x0 = 0, y0 = 0, w = 0, h = 0;
  bool Contains(int x, int y) const { return x >= x0 && x < x0 + w && y >= y0 && y < y0 + h; }
};

// Grid + objects + agent. Plain value type (copyable, so generators can try a
// layout on a copy); no thread-safety. Objects are addressed by a stable id
// (index into objects()), so instruction target sets survive pick-up/drop.
class World {
 public:
  World(int width, int height);

  // Parses a map (for tests), one row per line, every cell two characters:
  // "##" wall, ".." floor, ">." "v." "<." "^." the agent facing east, south,
  // west, north, or <colour><kind> for an object, colour one of r g b p y e
  // (grey) and kind one of a (ball) x (box) k (key) o (open door) c (closed
  // door) l (locked door), e.g. "rk" a red key. One room spans the map.
  static absl::StatusOr<World> FromAscii(std::string_view map);

  int width() const { return width_; }
  int height() const { return height_; }
  bool InBounds(int x, int y) const { return x >= 0 && y >= 0 && x < width_ && y < height_; }
  bool IsWall(int x, int y) const { return !InBounds(x, y) || walls_[Idx(x, y)]; }
  void SetWall(int x, int y, bool wall) { walls_[Idx(x, y)] = wall; }
  // Object id at (x, y) or -1.
  int ObjectAt(int x, int y) const { return InBounds(x, y) ? cells_[Idx(x, y)] : -1; }
  // The agent can stand here: floor with nothing on it, or an open door.
  bool Walkable(int x, int y) const;
  // Floor with nothing on it (where an object may be dropped or placed).
  bool FreeFloor(int x, int y) const;

  int AddObject(const Object& obj);  // obj.x/y must be free floor (or a wall cell for a door)
  const Object& object(int id) const { return objects_[id]; }
  const std::vector<Object>& objects() const { return objects_; }
  void SetDoorState(int id, DoorState s) { objects_[id].door = s; }

  std::vector<Room>& rooms() { return rooms_; }
  const std::vector<Room>& rooms() const { return rooms_; }
  // Index of the first room containing (x, y), or -1.
  int RoomOf(int x, int y) const;

  int agent_x() const { return ax_; }
  int agent_y() const { return ay_; }
  int agent_dir() const { return dir_; }
  int carrying() const { return carrying_; }  // object id or -1
  void PlaceAgent(int x, int y, int dir) { ax_ = x; ay_ = y; dir_ = dir & 3; }
  int FrontX() const { return ax_ + kDx[dir_]; }
  int FrontY() const { return ay_ + kDy[dir_]; }

  // MiniGrid primitives; each returns whether it changed the state.
  bool TurnLeft();
  bool TurnRight();
  bool Forward();
  bool Pickup();
  bool Drop();
  bool Toggle();  // doors: open<->closed; locked opens with a same-colour key

  // Bytes held beyond sizeof(World).
  size_t ApproxBytes() const;

 private:
  int Idx(int x, int y) const { return y * width_ + x; }

  int width_, height_;
  std::vector<uint8_t> walls_;
  std::vector<int16_t> cells_;  // object id per cell, -1 if none
  std::vector<Object> objects_;
  std::vector<Room> rooms_;
  int ax_ = 1, ay_ = 1, dir_ = 0;
  int carrying_ = -1;
};

}  // namespace agentgym::env::babyai

#endif  // AGENTGYM_ENV_SERVER_ENVS_BABYAI_WORLD_H_
