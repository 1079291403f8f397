#include "env_server/envs/sciworld/sciworld_task_rules.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace agentgym::env::sciworld {

int SciTask::points() const {
  int p = 0;
  for (const Milestone& m : milestones_) p += m.done ? m.points : 0;
  return p;
}

bool SciTask::AllDone() const {
  return std::all_of(milestones_.begin(), milestones_.end(), [](const Milestone& m) { return m.done; });
}

SciTask::Verdict SciTask::WrongFocus(const World& world, int id) const {
  return {true, false,
          absl::StrCat("Focusing on the ", world.object(id).name,
                       " was not what the task asked for. The task has ended in failure.")};
}

std::optional<std::string> OracleGoTo(const World& world, int room) {
  if (world.agent_room() == room) return std::nullopt;
  return "go to " + world.object(world.NextRoomTowards(room)).name;
}

std::optional<std::string> OracleReach(const World& world, int id) {
  if (world.Visible(id)) return std::nullopt;
  int room = world.RoomOf(id);
  if (room >= 0 && room != world.agent_room()) return OracleGoTo(world, room);
  int hiding = world.ClosedContainerHiding(id);
  if (hiding >= 0) return "open " + world.object(hiding).name;
  return std::nullopt;
}

std::optional<std::string> OracleFetch(const World& world, int id) {
  if (world.object(id).parent == world.inventory()) return std::nullopt;
  if (auto step = OracleReach(world, id)) return step;
  return "pick up " + world.object(id).name;
}

bool InCategory(const Object& o, Category c) {
  if (o.room) return false;
  switch (c) {
    case Category::kLiving: return o.living();
    case Category::kNonLiving: return !o.living();
    case Category::kPlant: return o.plant;
    case Category::kAnimal: return o.animal;
  }
  return false;
}

namespace {

class MeasureTask : public SciTask {
 public:
  MeasureTask(std::string instruction, MeasureParams p) : p_(p) {
    instruction_ = std::move(instruction);
    milestones_ = {{"focus on the thermometer", 10}, {"focus on the substance", 10},
                   {"heat the substance", 15},       {"melt the substance", 15},
                   {"measure the melted substance", 20}, {"focus on the correct box", 30}};
  }

  Verdict Judge(const World& w, const std::string&, const ActionResult& r) override {
    const Object& s = w.object(p_.substance);
    if (s.temperature >= p_.initial_temperature + 10) Achieve(2);
    if (s.phase != Phase::kSolid) Achieve(3);
    if (r.measured == p_.substance && r.measured_phase != Phase::kSolid) Achieve(4);
    if (r.focus < 0) return {};
    if (r.focus == p_.thermometer) Achieve(0);
    else if (r.focus == p_.substance) Achieve(1);
    else if (r.focus == p_.right_box) {
      Achieve(5);
      if (AllDone()) return {true, true, "You chose the correct box. Task completed."};
      return {true, false, "That is the correct box, but the melting point was not measured as "
                           "the task asked. The task has ended."};
    } else {
      return WrongFocus(w, r.focus);
    }
    return {};
  }

  std::optional<std::string> Oracle(const World& w) const override {
    const Object& s = w.object(p_.substance);
    if (!milestones_[0].done) {
      if (auto step = OracleFetch(w, p_.thermometer)) return step;
      return "focus on thermometer";
    }
    if (!milestones_[1].done) {
      if (auto step = OracleFetch(w, p_.substance)) return step;
      return "focus on " + s.name;
    }
    if (!milestones_[4].done) {
      if (s.parent != p_.stove) {
        if (auto step = OracleFetch(w, p_.substance)) return step;
        if (auto step = OracleGoTo(w, p_.kitchen)) return step;
        return "put " + s.name + " on stove";
      }
      if (auto step = OracleGoTo(w, p_.kitchen)) return step;
      if (!w.object(p_.stove).active) return std::string("activate stove");
      return "use thermometer on " + s.name;
    }
    if (auto step = OracleReach(w, p_.right_box)) return step;
    return "focus on " + w.object(p_.right_box).name;
  }

 private:
  MeasureParams p_;
};

class ConductivityTask : public SciTask {
 public:
  ConductivityTask(std::string instruction, ConductivityParams p) : p_(std::move(p)) {
    instruction_ = std::move(instruction);
    milestones_ = {{"focus on the object", 15},
                   {"build a circuit with the battery, light bulb and object", 40},
                   {"put the object in the correct box", 45}};
  }

  Verdict Judge(const World& w, const std::string& command, const ActionResult& r) override {
    if (command == "examine light bulb" && milestones_[1].done) looked_at_bulb_ = true;
    if (r.focus >= 0) {
      if (r.focus != p_.target) return WrongFocus(w, r.focus);
      Achieve(0);
    }
    if (w.OnOneLoop({p_.battery, p_.bulb, p_.target})) Achieve(1);
    int parent = w.object(p_.target).parent;
    if (parent == p_.right_box) {
      Achieve(2);
      if (AllDone()) return {true, true, "The object is in the correct box. Task completed."};
      return {true, false, "The object is in the correct box, but it was not tested in a "
                           "circuit first. The task has ended."};
    }
    if (parent == p_.wrong_box) {
      return {true, false, "That is the wrong box. The task has ended in failure."};
    }
    return {};
  }

  std::optional<std::string> Oracle(const World& w) const override {
    const std::string& target = w.object(p_.target).name;
    if (!milestones_[0].done) {
      if (auto step = OracleFetch(w, p_.target)) return step;
      return "focus on " + target;
    }
    if (!milestones_[1].done) {
      if (auto step = OracleFetch(w, p_.target)) return step;
      if (auto step = OracleGoTo(w, p_.workshop)) return step;
      // The loop battery - red wire - bulb - black wire - target - blue wire.
      std::vector<int> loop = {p_.battery, p_.wires[0], p_.bulb, p_.wires[1], p_.target, p_.wires[2]};
      for (size_t i = 0; i < loop.size(); ++i) {
        int a = loop[i], b = loop[(i + 1) % loop.size()];
        if (!w.Connected(a, b)) {
          for (int x : {a, b}) {
            if (w.Degree(x) >= 2) return "disconnect " + w.object(x).name;
          }
          return "connect " + w.object(a).name + " to " + w.object(b).name;
        }
      }
    }
    if (!looked_at_bulb_) return std::string("examine light bulb");
    if (auto step = OracleReach(w, p_.right_box)) return step;
    return "put " + target + " in " + w.object(p_.right_box).name;
  }

 private:
  ConductivityParams p_;
  bool looked_at_bulb_ = false;
};

class FindTask : public SciTask {
 public:
  FindTask(std::string instruction, FindParams p) : p_(p) {
    instruction_ = std::move(instruction);
    milestones_ = {{"focus on a matching thing", 40}, {"move the thing", 20},
                   {"put the thing in the box", 40}};
  }

  Verdict Judge(const World& w, const std::string&, const ActionResult& r) override {
    if (r.focus >= 0) {
      if (!InCategory(w.object(r.focus), p_.category) || (focused_ >= 0 && r.focus != focused_)) {
        return WrongFocus(w, r.focus);
      }
      if (focused_ < 0) {
        focused_ = r.focus;
        focused_parent_ = w.object(r.focus).parent;
      }
      Achieve(0);
    }
    if (focused_ < 0) return {};
    if (w.object(focused_).parent != focused_parent_) Achieve(1);
    if (w.object(focused_).parent == p_.box) {
      Achieve(2);
      return {true, true, "The " + w.object(focused_).name + " is in the box. Task completed."};
    }
    return {};
  }

  std::optional<std::string> Oracle(const World& w) const override {
    int target = focused_;
    if (target < 0) {
      // Prefer loose things over fixtures; the lowest id keeps it deterministic.
      for (int i = 0; i < w.size() && target < 0; ++i) {
        const Object& o = w.object(i);
        if (o.movable && o.parent != World::kNowhere && !o.container && o.readable.empty() &&
            InCategory(o, p_.category)) {
          target = i;
        }
      }
      if (target < 0) return std::nullopt;
      if (auto step = OracleReach(w, target)) return step;
      return "focus on " + w.object(target).name;
    }
    if (auto step = OracleFetch(w, target)) return step;
    if (auto step = OracleGoTo(w, p_.box_room)) return step;
    return "put " + w.object(target).name + " in " + w.object(p_.box).name;
  }

 private:
  FindParams p_;
  int focused_ = -1;
  int focused_parent_ = -1;
};

class ChemMixTask : public SciTask {
 public:
  ChemMixTask(std::string instruction, ChemParams p) : p_(std::move(p)) {
    instruction_ = std::move(instruction);
    std::vector<std::string> base;
    for (const ChemStep& step : p_.steps) {
      for (const std::string& ing : step.ingredients) {
        bool intermediate = std::any_of(p_.steps.begin(), p_.steps.end(),
                                        [&](const ChemStep& s) { return s.product == ing; });
        if (!intermediate) base.push_back(ing);
      }
    }
    int share = 40 / static_cast<int>(base.size());
    for (size_t i = 0; i < base.size(); ++i) {
      int pts = i + 1 == base.size() ? 40 - share * static_cast<int>(i) : share;
      milestones_.push_back({"put " + base[i] + " in a container to mix", pts});
    }
    int product_points = p_.steps.size() > 1 ? 20 : 40;
    if (p_.steps.size() > 1) {
      for (size_t i = 0; i + 1 < p_.steps.size(); ++i) {
        milestones_.push_back({"make " + p_.steps[i].product, 20 / static_cast<int>(p_.steps.size() - 1)});
      }
      milestones_.back().points += 20 - 20 / static_cast<int>(p_.steps.size() - 1) *
                                            static_cast<int>(p_.steps.size() - 1);
    }
    milestones_.push_back({"make " + p_.steps.back().product, product_points});
    milestones_.push_back({"focus on " + p_.steps.back().product, 20});
    base_ = base;
  }

  Verdict Judge(const World& w, const std::string&, const ActionResult& r) override {
    for (size_t i = 0; i < base_.size(); ++i) {
      int id = w.FindByName(base_[i]);
      if (id < 0) {
        if (made_any_) Achieve(i);  // consumed by a reaction
        continue;
      }
      int parent = w.object(id).parent;
      if (parent >= 0 && parent != w.inventory() && !w.object(parent).room) {
        for (int j = 0; j < w.size(); ++j) {
          if (j != id && w.object(j).parent == parent && IsIngredient(w.object(j).name)) Achieve(i);
        }
      }
    }
    if (r.mixed) made_any_ = true;
    for (size_t s = 0; s < p_.steps.size(); ++s) {
      if (w.FindByName(p_.steps[s].product) >= 0) {
        Achieve(base_.size() + s);
        made_[s] = true;
      }
    }
    if (r.focus < 0) return {};
    if (w.object(r.focus).name != p_.steps.back().product) return WrongFocus(w, r.focus);
    Achieve(milestones_.size() - 1);
    if (AllDone()) return {true, true, "You made " + p_.steps.back().product + ". Task completed."};
    return {true, false, "The task has ended before every step was done."};
  }

  std::optional<std::string> Oracle(const World& w) const override {
    const std::string& product = p_.steps.back().product;
    int made = w.FindByName(product);
    if (made >= 0) {
      if (auto step = OracleReach(w, made)) return step;
      return "focus on " + product;
    }
    size_t s = 0;
    while (s + 1 < p_.steps.size() && made_[s]) ++s;
    if (auto step = OracleFetch(w, p_.bowl)) return step;
    for (const std::string& ing : p_.steps[s].ingredients) {
      int id = w.FindByName(ing);
      if (id < 0) return std::nullopt;  // consumed elsewhere: the oracle cannot recover
      if (w.object(id).parent == p_.bowl) continue;
      if (auto step = OracleReach(w, id)) return step;
      return "put " + ing + " in glass bowl";
    }
    return std::string("mix glass bowl");
  }

 private:
  bool IsIngredient(const std::string& name) const {
    for (const ChemStep& step : p_.steps) {
      if (std::find(step.ingredients.begin(), step.ingredients.end(), name) != step.ingredients.end())
        return true;
    }
    return false;
  }

  ChemParams p_;
  std::vector<std::string> base_;  // base ingredients, in milestone order
  bool made_any_ = false;
  bool made_[4] = {false, false, false, false};
};

class LifespanTask : public SciTask {
 public:
  LifespanTask(std::string instruction, LifespanParams p) : p_(std::move(p)) {
    instruction_ = std::move(instruction);
    if (p_.answers.size() == 1) {
      milestones_ = {{"go outside", 25}, {"focus on the right animal", 75}};
    } else {
      milestones_ = {{"go outside", 20}, {"focus on the longest-lived animal", 40},
                     {"focus on the shortest-lived animal", 40}};
    }
  }

  Verdict Judge(const World& w, const std::string&, const ActionResult& r) override {
    if (w.agent_room() == p_.outside) Achieve(0);
    if (r.focus < 0) return {};
    if (next_ >= p_.answers.size() || r.focus != p_.answers[next_]) return WrongFocus(w, r.focus);
    Achieve(1 + next_);
    ++next_;
    if (next_ == p_.answers.size()) return {true, AllDone(), "Task completed."};
    return {};
  }

  std::optional<std::string> Oracle(const World& w) const override {
    if (next_ >= p_.answers.size()) return std::nullopt;
    if (auto step = OracleReach(w, p_.answers[next_])) return step;
    return "focus on " + w.object(p_.answers[next_]).name;
  }

 private:
  LifespanParams p_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<SciTask> MakeMeasureTask(std::string instruction, MeasureParams p) {
  return std::make_unique<MeasureTask>(std::move(instruction), p);
}
std::unique_ptr<SciTask> MakeConductivityTask(std::string instruction, ConductivityParams p) {
  return std::make_unique<ConductivityTask>(std::move(instruction), std::move(p));
}
std::unique_ptr<SciTask> MakeFindTask(std::string instruction, FindParams p) {
  return std::make_unique<FindTask>(std::move(instruction), p);
}
std::unique_ptr<SciTask> MakeChemMixTask(std::string instruction, ChemParams p) {
  return std::make_unique<ChemMixTask>(std::move(instruction), std::move(p));
}
std::unique_ptr<SciTask> MakeLifespanTask(std::string instruction, LifespanParams p) {
  return std::make_unique<LifespanTask>(std::move(instruction), std::move(p));
}

}  // namespace agentgym::env::sciworld
