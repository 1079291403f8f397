#ifndef AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_WORLD_H_
#define AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_WORLD_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentgym::env::sciworld {

enum class Phase { kSolid, kLiquid, kGas };

// A material whose phase follows its temperature. Names per phase let ice
// become water and then steam while staying the same object (so a focus on
// it keeps pointing at it).
struct Substance {
  double melt = 1e9;  // celsius
  double boil = 1e9;
  std::string solid, liquid, gas;
};

// One thing in the world: a room, a fixture, a container, a device, an
// organism or a portion of substance. Plain data; the World owns all of them.
struct Object {
  std::string name;
  int parent = -1;  // kNowhere when consumed by a reaction
  bool room = false;
  bool container = false;
  bool surface = false;  // "on the table" rather than "in the box"
  bool openable = false;
  bool open = true;
  bool movable = false;
  bool stove = false;    // heats what is on it while active
  bool freezer = false;  // always cools what is in it
  bool active = false;
  bool thermometer = false;
  bool animal = false;
  bool plant = false;
  bool battery = false;
  bool bulb = false;
  bool conductive = false;
  bool mass_noun = false;  // "some water" rather than "a water"
  std::string readable;    // text shown by `read`
  bool has_substance = false;
  Substance substance;
  Phase phase = Phase::kSolid;
  double temperature = 20.0;
  bool living() const { return animal || plant; }
};

// What one command did. The episode judges `focus` (task rules decide
// whether focusing on that object is right).
struct ActionResult {
  std::string observation;
  bool valid = true;
  int focus = -1;     // object the agent focused on, or -1
  int measured = -1;  // object the thermometer was used on, or -1
  Phase measured_phase = Phase::kSolid;  // its phase when measured (before the tick)
  bool mixed = false;
};

// The simulated lab: rooms joined by doorways, objects in a containment
// tree, a per-tick thermal model (stove heats, freezer cools, everything else
// relaxes to room temperature; substances change phase at their melting and
// boiling points), circuits (each object has two terminals, so connections
// form paths and loops; a light bulb lights when it sits on a loop with the
// battery whose every member conducts) and mixing by recipe. Not thread-safe;
// owned by one episode. Never fails on any command text.
class World {
 public:
  static constexpr int kNowhere = -1;
  static constexpr double kRoomTemperature = 20.0;

  struct Recipe {
    std::vector<std::string> ingredients;  // sorted names
    std::string product;
    bool product_mass_noun = true;
  };

  World();

  int AddRoom(const std::string& name);
  void Link(int room_a, int room_b);
  int Add(Object object);  // returns its id
  void AddRecipe(Recipe recipe);
  void set_agent_room(int room) { agent_room_ = room; }

  // Runs one normalized (lowercase, trimmed) command, then advances the clock
  // one tick if it was valid (`wait` advances one tick too).
  ActionResult Execute(const std::string& command);
  std::string LookAround() const;
  std::string Inventory() const;

  // Queries for task rules and oracles.
  const Object& object(int id) const { return objects_[id]; }
  Object& mutable_object(int id) { return objects_[id]; }
  int size() const { return static_cast<int>(objects_.size()); }
  int inventory() const { return inventory_; }
  int agent_room() const { return agent_room_; }
  int FindByName(const std::string& name) const;  // -1 if none (consumed objects excluded)
  int RoomOf(int id) const;                       // the room holding it; agent room if carried
  bool IsInside(int id, int ancestor) const;
  bool Visible(int id) const;
  // The first hop of a shortest route between rooms (or `to` itself).
  int NextRoomTowards(int to) const;
  // The outermost closed container that hides `id`, or -1.
  int ClosedContainerHiding(int id) const;
  bool BulbLit(int bulb) const;
  // True if `members` all lie on one closed loop of connections.
  bool OnOneLoop(const std::vector<int>& members) const;
  int Degree(int id) const;
  bool Connected(int a, int b) const;
  size_t ApproxBytes() const;

 private:
  ActionResult Act(const std::string& command);
  ActionResult Resolve(const std::string& text, int* id) const;
  std::string Article(int id) const;
  std::string Describe(int id) const;
  std::string Contents(int id) const;
  std::vector<int> Children(int id) const;
  // The loop (as member ids) through `id`, empty if `id` is on no loop.
  std::vector<int> LoopThrough(int id) const;
  void Disconnect(int id);
  void Move(int id, int new_parent);
  void Tick();
  void UpdatePhase(Object& o);

  std::vector<Object> objects_;
  std::vector<std::vector<int>> doors_;  // per object id; only rooms have entries
  std::vector<std::pair<int, int>> wires_;
  std::vector<Recipe> recipes_;
  int inventory_ = 0;
  int agent_room_ = 0;
};

// Lowercases, trims, collapses spaces and drops an optional "Action:" prefix
// and a trailing period.
std::string NormalizeCommand(std::string_view action);

}  // namespace agentgym::env::sciworld

#endif  // AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_WORLD_H_
