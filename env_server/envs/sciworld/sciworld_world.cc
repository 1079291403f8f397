#include "env_server/envs/sciworld/sciworld_world.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace agentgym::env::sciworld {
namespace {

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

std::string StripThe(std::string s) {
  for (std::string_view article : {"the ", "a ", "an ", "some "}) {
    if (StartsWith(s, article)) return s.substr(article.size());
  }
  return s;
}

constexpr char kHelp[] =
    "Valid actions: look around, inventory, examine OBJ, open/close OBJ, go to LOCATION, "
    "pick up OBJ, drop OBJ, put OBJ in/on CONTAINER, activate/deactivate OBJ, use THERMOMETER "
    "on OBJ, mix CONTAINER, connect OBJ to OBJ, disconnect OBJ, focus on OBJ, read OBJ, wait.";

}  // namespace

std::string NormalizeCommand(std::string_view action) {
  std::string s;
  bool space = false;
  for (char c : action) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !s.empty();
      continue;
    }
    if (space) s += ' ';
    space = false;
    s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (StartsWith(s, "action:")) s = s.substr(7);
  while (!s.empty() && (s.front() == ' ')) s.erase(s.begin());
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

World::World() {
  Object inv;
  inv.name = "inventory";
  inv.container = true;
  inventory_ = Add(std::move(inv));
}

int World::AddRoom(const std::string& name) {
  Object room;
  room.name = name;
  room.room = true;
  room.container = true;
  return Add(std::move(room));
}

void World::Link(int a, int b) {
  doors_[a].push_back(b);
  doors_[b].push_back(a);
}

int World::Add(Object object) {
  objects_.push_back(std::move(object));
  doors_.emplace_back();
  UpdatePhase(objects_.back());
  return size() - 1;
}

void World::AddRecipe(Recipe recipe) {
  std::sort(recipe.ingredients.begin(), recipe.ingredients.end());
  recipes_.push_back(std::move(recipe));
}

int World::FindByName(const std::string& name) const {
  for (int i = 0; i < size(); ++i) {
    if (objects_[i].name == name && (objects_[i].room || objects_[i].parent != kNowhere)) return i;
  }
  return -1;
}

bool World::IsInside(int id, int ancestor) const {
  for (int p = objects_[id].parent, guard = 0; p != kNowhere && guard < size(); p = objects_[p].parent, ++guard) {
    if (p == ancestor) return true;
  }
  return false;
}

int World::RoomOf(int id) const {
  if (objects_[id].room) return id;
  for (int p = objects_[id].parent, guard = 0; p != kNowhere && guard < size(); p = objects_[p].parent, ++guard) {
    if (objects_[p].room) return p;
    if (p == inventory_) return agent_room_;
  }
  return -1;
}

bool World::Visible(int id) const {
  if (id < 0 || id >= size() || objects_[id].room || id == inventory_) return false;
  for (int p = objects_[id].parent, guard = 0; guard <= size(); p = objects_[p].parent, ++guard) {
    if (p == kNowhere) return false;
    if (p == agent_room_ || p == inventory_) return true;
    const Object& c = objects_[p];
    if (c.room || (c.openable && !c.open)) return false;
  }
  return false;
}

int World::ClosedContainerHiding(int id) const {
  int hiding = -1;
  for (int p = objects_[id].parent, guard = 0; p != kNowhere && guard < size(); p = objects_[p].parent, ++guard) {
    if (objects_[p].room || p == inventory_) break;
    if (objects_[p].openable && !objects_[p].open) hiding = p;
  }
  return hiding;
}

int World::NextRoomTowards(int to) const {
  std::vector<int> from(objects_.size(), -2);
  std::deque<int> queue = {agent_room_};
  from[agent_room_] = -1;
  while (!queue.empty()) {
    int r = queue.front();
    queue.pop_front();
    if (r == to) break;
    for (int n : doors_[r]) {
      if (from[n] != -2) continue;
      from[n] = r;
      queue.push_back(n);
    }
  }
  if (to == agent_room_ || from[to] == -2) return to;
  int hop = to;
  while (from[hop] != agent_room_) hop = from[hop];
  return hop;
}

std::vector<int> World::Children(int id) const {
  std::vector<int> kids;
  for (int i = 0; i < size(); ++i) {
    if (objects_[i].parent == id && !objects_[i].room) kids.push_back(i);
  }
  return kids;
}

std::string World::Article(int id) const {
  const Object& o = objects_[id];
  if (o.mass_noun) return "some ";
  return std::string(std::string_view("aeiou").find(o.name[0]) != std::string_view::npos ? "an "
                                                                                        : "a ");
}

std::string World::Contents(int id) const {
  std::vector<std::string> parts;
  for (int kid : Children(id)) parts.push_back(Describe(kid));
  return parts.empty() ? "nothing" : absl::StrJoin(parts, ", ");
}

std::string World::Describe(int id) const {
  const Object& o = objects_[id];
  std::string s = Article(id) + o.name;
  if (o.stove) absl::StrAppend(&s, ", which is turned ", o.active ? "on" : "off");
  if (o.bulb) absl::StrAppend(&s, ", which is ", BulbLit(id) ? "on" : "off");
  if (o.container) {
    if (o.openable && !o.open) {
      absl::StrAppend(&s, " (closed)");
    } else {
      absl::StrAppend(&s, o.surface ? " (on which: " : " (containing ", Contents(id), ")");
    }
  }
  return s;
}

std::string World::LookAround() const {
  std::string s = absl::StrCat("This room is called the ", objects_[agent_room_].name,
                               ". In it, you see:\n\tthe agent");
  for (int kid : Children(agent_room_)) absl::StrAppend(&s, "\n\t", Describe(kid));
  std::vector<std::string> exits;
  for (int r : doors_[agent_room_]) exits.push_back(objects_[r].name);
  absl::StrAppend(&s, "\nFrom here you can go to: ", absl::StrJoin(exits, ", "), ".");
  return s;
}

std::string World::Inventory() const {
  std::vector<int> kids = Children(inventory_);
  if (kids.empty()) return "Your inventory is empty.";
  std::string s = "In your inventory, you see:";
  for (int kid : kids) absl::StrAppend(&s, "\n\t", Describe(kid));
  return s;
}

ActionResult World::Resolve(const std::string& raw, int* id) const {
  ActionResult r;
  std::string text = StripThe(raw);
  if (text.empty()) {
    r.valid = false;
    r.observation = "That command needs an object. " + std::string(kHelp);
    return r;
  }
  std::vector<int> exact, suffix, partial;
  for (int i = 0; i < size(); ++i) {
    if (!Visible(i)) continue;
    const std::string& n = objects_[i].name;
    if (n == text) exact.push_back(i);
    else if (n.size() > text.size() && n.compare(n.size() - text.size(), text.size(), text) == 0 &&
             n[n.size() - text.size() - 1] == ' ')
      suffix.push_back(i);
    else if (n.find(text) != std::string::npos) partial.push_back(i);
  }
  for (const std::vector<int>* tier : {&exact, &suffix, &partial}) {
    if (tier->size() == 1) {
      *id = tier->front();
      return r;
    }
    if (tier->size() > 1) {
      std::vector<std::string> names;
      for (int i : *tier) names.push_back(objects_[i].name);
      r.valid = false;
      r.observation = absl::StrCat("'", text, "' is ambiguous here: did you mean ",
                                   absl::StrJoin(names, " or "), "?");
      return r;
    }
  }
  r.valid = false;
  r.observation = absl::StrCat("No known object called '", text,
                               "' is here. Try 'look around' or 'inventory'.");
  return r;
}

int World::Degree(int id) const {
  int d = 0;
  for (const auto& [a, b] : wires_) d += (a == id) + (b == id);
  return d;
}

bool World::Connected(int a, int b) const {
  for (const auto& [x, y] : wires_) {
    if ((x == a && y == b) || (x == b && y == a)) return true;
  }
  return false;
}

void World::Disconnect(int id) {
  wires_.erase(std::remove_if(wires_.begin(), wires_.end(),
                              [id](const auto& w) { return w.first == id || w.second == id; }),
               wires_.end());
}

std::vector<int> World::LoopThrough(int id) const {
  if (Degree(id) != 2) return {};
  std::vector<int> members = {id};
  int prev_edge = -1, cur = id;
  for (size_t steps = 0; steps <= wires_.size(); ++steps) {
    int edge = -1;
    for (int e = 0; e < static_cast<int>(wires_.size()); ++e) {
      if (e != prev_edge && (wires_[e].first == cur || wires_[e].second == cur)) {
        edge = e;
        break;
      }
    }
    if (edge < 0) return {};
    int next = wires_[edge].first == cur ? wires_[edge].second : wires_[edge].first;
    if (next == id) return members;
    if (Degree(next) != 2) return {};
    members.push_back(next);
    prev_edge = edge;
    cur = next;
  }
  return {};
}

bool World::BulbLit(int bulb) const {
  std::vector<int> loop = LoopThrough(bulb);
  bool battery = false;
  for (int m : loop) {
    if (!objects_[m].conductive) return false;
    battery = battery || objects_[m].battery;
  }
  return battery;
}

bool World::OnOneLoop(const std::vector<int>& members) const {
  if (members.empty()) return false;
  std::vector<int> loop = LoopThrough(members[0]);
  for (int m : members) {
    if (std::find(loop.begin(), loop.end(), m) == loop.end()) return false;
  }
  return true;
}

void World::Move(int id, int new_parent) {
  Disconnect(id);
  objects_[id].parent = new_parent;
}

void World::UpdatePhase(Object& o) {
  if (!o.has_substance) return;
  const Substance& s = o.substance;
  o.phase = o.temperature >= s.boil   ? Phase::kGas
            : o.temperature >= s.melt ? Phase::kLiquid
                                      : Phase::kSolid;
  const std::string& name = o.phase == Phase::kGas      ? s.gas
                            : o.phase == Phase::kLiquid ? s.liquid
                                                        : s.solid;
  if (!name.empty()) o.name = name;
}

void World::Tick() {
  for (int i = 0; i < size(); ++i) {
    Object& o = objects_[i];
    if (o.room || i == inventory_ || o.parent == kNowhere) continue;
    int context = 0;  // +1 heated by an active stove, -1 cooled by a freezer
    if (o.stove && o.active) context = 1;
    if (o.freezer) context = -1;
    for (int p = o.parent, guard = 0; context == 0 && p != kNowhere && guard < size();
         p = objects_[p].parent, ++guard) {
      if (objects_[p].stove && objects_[p].active) context = 1;
      if (objects_[p].freezer) context = -1;
    }
    if (context > 0) {
      o.temperature = std::min(o.temperature + 30.0, 500.0);
    } else if (context < 0) {
      o.temperature = std::max(o.temperature - 15.0, -18.0);
    } else {
      o.temperature += std::clamp(kRoomTemperature - o.temperature, -10.0, 10.0);
    }
    UpdatePhase(o);
  }
}

ActionResult World::Execute(const std::string& command) {
  ActionResult r = Act(command);
  if (r.valid) Tick();
  return r;
}

ActionResult World::Act(const std::string& c) {
  ActionResult r;
  auto fail = [&r](std::string text) {
    r.valid = false;
    r.observation = std::move(text);
    return r;
  };
  auto arg = [&c](std::string_view verb) { return c.substr(verb.size()); };
  int id = -1, other = -1;

  if (c == "look around" || c == "look") {
    r.observation = LookAround();
  } else if (c == "inventory" || c == "look at inventory" || c == "i") {
    r.observation = Inventory();
  } else if (c == "wait" || c == "wait1" || c == "wait 1") {
    r.observation = "You wait.";
  } else if (StartsWith(c, "examine ") || StartsWith(c, "look at ") || StartsWith(c, "look in ")) {
    ActionResult found = Resolve(arg(StartsWith(c, "examine ") ? "examine " : "look at "), &id);
    if (!found.valid) return found;
    const Object& o = objects_[id];
    r.observation = Describe(id) + ".";
    if (o.living()) absl::StrAppend(&r.observation, " It is a living ", o.animal ? "animal." : "plant.");
    if (!o.readable.empty()) absl::StrAppend(&r.observation, " It has writing on it.");
    std::vector<std::string> links;
    for (const auto& [a, b] : wires_) {
      if (a == id || b == id) links.push_back(objects_[a == id ? b : a].name);
    }
    if (!links.empty()) absl::StrAppend(&r.observation, " It is connected to: ", absl::StrJoin(links, ", "), ".");
  } else if (StartsWith(c, "open ") || StartsWith(c, "close ")) {
    bool open = StartsWith(c, "open ");
    ActionResult found = Resolve(arg(open ? "open " : "close "), &id);
    if (!found.valid) return found;
    Object& o = objects_[id];
    if (!o.openable) return fail(absl::StrCat("The ", o.name, " can't be opened or closed."));
    if (o.open == open) return fail(absl::StrCat("The ", o.name, " is already ", open ? "open." : "closed."));
    o.open = open;
    r.observation = absl::StrCat("The ", o.name, " is now ", open ? "open." : "closed.");
    if (open) absl::StrAppend(&r.observation, " It contains: ", Contents(id), ".");
  } else if (StartsWith(c, "go to ") || StartsWith(c, "go ")) {
    std::string where = StripThe(arg(StartsWith(c, "go to ") ? "go to " : "go "));
    if (where == objects_[agent_room_].name) return fail("You are already in the " + where + ".");
    for (int room : doors_[agent_room_]) {
      if (objects_[room].name == where) {
        agent_room_ = room;
        r.observation = "You move to the " + where + ".";
        return r;
      }
    }
    std::vector<std::string> exits;
    for (int room : doors_[agent_room_]) exits.push_back(objects_[room].name);
    return fail(absl::StrCat("You can't go to '", where, "' from here. From here you can go to: ",
                             absl::StrJoin(exits, ", "), "."));
  } else if (StartsWith(c, "pick up ") || StartsWith(c, "take ") || StartsWith(c, "get ")) {
    ActionResult found = Resolve(arg(StartsWith(c, "pick up ") ? "pick up " : StartsWith(c, "take ") ? "take " : "get "), &id);
    if (!found.valid) return found;
    if (!objects_[id].movable) return fail(absl::StrCat("The ", objects_[id].name, " can't be picked up."));
    if (objects_[id].parent == inventory_) return fail(absl::StrCat("The ", objects_[id].name, " is already in your inventory."));
    Move(id, inventory_);
    r.observation = absl::StrCat("You move the ", objects_[id].name, " to the inventory.");
  } else if (StartsWith(c, "drop ")) {
    ActionResult found = Resolve(arg("drop "), &id);
    if (!found.valid) return found;
    if (!IsInside(id, inventory_)) return fail(absl::StrCat("You are not carrying the ", objects_[id].name, "."));
    Move(id, agent_room_);
    r.observation = absl::StrCat("You move the ", objects_[id].name, " to the ", objects_[agent_room_].name, ".");
  } else if (StartsWith(c, "put ") || StartsWith(c, "move ") || StartsWith(c, "place ")) {
    std::string rest = c.substr(c.find(' ') + 1);
    size_t best = std::string::npos, sep_len = 0;
    for (std::string_view sep : {" in ", " into ", " on ", " to "}) {
      size_t at = rest.find(sep);
      if (at != std::string::npos && at < best) {
        best = at;
        sep_len = sep.size();
      }
    }
    if (best == std::string::npos) return fail("Use: put OBJ in CONTAINER (or put OBJ on SURFACE).");
    ActionResult found = Resolve(rest.substr(0, best), &id);
    if (!found.valid) return found;
    found = Resolve(rest.substr(best + sep_len), &other);
    if (!found.valid) return found;
    const Object& o = objects_[id];
    const Object& dest = objects_[other];
    if (!o.movable) return fail(absl::StrCat("The ", o.name, " can't be moved."));
    if (!dest.container) return fail(absl::StrCat("You can't put things in the ", dest.name, "."));
    if (dest.openable && !dest.open) return fail(absl::StrCat("The ", dest.name, " is closed."));
    if (id == other || IsInside(other, id)) return fail("You can't put something inside itself.");
    if (o.parent == other) return fail(absl::StrCat("The ", o.name, " is already there."));
    Move(id, other);
    r.observation = absl::StrCat("You move the ", o.name, " to the ", dest.name, ".");
  } else if (StartsWith(c, "activate ") || StartsWith(c, "turn on ") || StartsWith(c, "deactivate ") ||
             StartsWith(c, "turn off ")) {
    bool on = StartsWith(c, "activate ") || StartsWith(c, "turn on ");
    std::string target;
    for (std::string_view verb : {"activate ", "turn on ", "deactivate ", "turn off "}) {
      if (StartsWith(c, verb)) target = c.substr(verb.size());
    }
    ActionResult found = Resolve(target, &id);
    if (!found.valid) return found;
    Object& o = objects_[id];
    if (o.bulb) return fail("The light bulb has no switch: it lights when it is part of a working circuit.");
    if (!o.stove) return fail(absl::StrCat("The ", o.name, " can't be turned on or off."));
    if (o.active == on) return fail(absl::StrCat("The ", o.name, " is already ", on ? "on." : "off."));
    o.active = on;
    r.observation = absl::StrCat("The ", o.name, " is now ", on ? "activated." : "deactivated.");
  } else if (StartsWith(c, "use ")) {
    size_t on = c.find(" on ");
    if (on == std::string::npos) return fail("Use: use THERMOMETER on OBJ.");
    ActionResult found = Resolve(c.substr(4, on - 4), &id);
    if (!found.valid) return found;
    if (!objects_[id].thermometer) return fail(absl::StrCat("You can't use the ", objects_[id].name, " on things."));
    found = Resolve(c.substr(on + 4), &other);
    if (!found.valid) return found;
    r.measured = other;
    r.measured_phase = objects_[other].phase;
    r.observation = absl::StrCat("The thermometer measures a temperature of ",
                                 static_cast<int>(std::lround(objects_[other].temperature)),
                                 " degrees celsius.");
  } else if (StartsWith(c, "mix ")) {
    ActionResult found = Resolve(arg("mix "), &id);
    if (!found.valid) return found;
    if (!objects_[id].container || objects_[id].room) return fail(absl::StrCat("The ", objects_[id].name, " is not a container you can mix."));
    std::vector<int> kids = Children(id);
    std::vector<std::string> names;
    for (int k : kids) names.push_back(objects_[k].name);
    std::sort(names.begin(), names.end());
    for (const Recipe& recipe : recipes_) {
      if (recipe.ingredients != names) continue;
      for (int k : kids) Move(k, kNowhere);
      Object product;
      product.name = recipe.product;
      product.movable = true;
      product.mass_noun = recipe.product_mass_noun;
      product.parent = id;
      Add(std::move(product));
      r.mixed = true;
      r.observation = absl::StrCat("You mix the contents of the ", objects_[id].name, " and produce ", recipe.product, ".");
      return r;
    }
    r.observation = absl::StrCat("You mix the contents of the ", objects_[id].name, ", but nothing new is produced.");
  } else if (StartsWith(c, "connect ")) {
    std::string rest = arg("connect ");
    size_t best = std::string::npos, sep_len = 0;
    for (std::string_view sep : {" to ", " and ", " with "}) {
      size_t at = rest.find(sep);
      if (at != std::string::npos && at < best) {
        best = at;
        sep_len = sep.size();
      }
    }
    if (best == std::string::npos) return fail("Use: connect OBJ to OBJ.");
    ActionResult found = Resolve(rest.substr(0, best), &id);
    if (!found.valid) return found;
    found = Resolve(rest.substr(best + sep_len), &other);
    if (!found.valid) return found;
    if (id == other) return fail("You can't connect something to itself.");
    for (int x : {id, other}) {
      if (!objects_[x].movable) return fail(absl::StrCat("The ", objects_[x].name, " has no terminals to connect."));
      if (Degree(x) >= 2) return fail(absl::StrCat("Both terminals of the ", objects_[x].name, " are in use; disconnect it first."));
    }
    wires_.emplace_back(id, other);
    r.observation = absl::StrCat("The ", objects_[id].name, " is now connected to the ", objects_[other].name, ".");
  } else if (StartsWith(c, "disconnect ")) {
    ActionResult found = Resolve(arg("disconnect "), &id);
    if (!found.valid) return found;
    if (Degree(id) == 0) return fail(absl::StrCat("The ", objects_[id].name, " is not connected to anything."));
    Disconnect(id);
    r.observation = absl::StrCat("The ", objects_[id].name, " is now disconnected.");
  } else if (StartsWith(c, "focus on ")) {
    ActionResult found = Resolve(arg("focus on "), &id);
    if (!found.valid) return found;
    r.focus = id;
    r.observation = absl::StrCat("You focus on the ", objects_[id].name, ".");
  } else if (StartsWith(c, "read ")) {
    ActionResult found = Resolve(arg("read "), &id);
    if (!found.valid) return found;
    if (objects_[id].readable.empty()) return fail(absl::StrCat("There is nothing written on the ", objects_[id].name, "."));
    r.observation = absl::StrCat("The ", objects_[id].name, " reads: ", objects_[id].readable);
  } else {
    return fail(absl::StrCat(c.empty() ? "Empty action." : "I don't understand that action.", " ", kHelp));
  }
  return r;
}

size_t World::ApproxBytes() const {
  size_t bytes = objects_.capacity() * sizeof(Object) + wires_.capacity() * sizeof(wires_[0]);
  for (const Object& o : objects_) bytes += o.name.capacity() + o.readable.capacity();
  for (const auto& d : doors_) bytes += d.capacity() * sizeof(int) + sizeof(d);
  return bytes;
}

}  // namespace agentgym::env::sciworld
