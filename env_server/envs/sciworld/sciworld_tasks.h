#ifndef AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_TASKS_H_
#define AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_TASKS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "env_server/envs/sciworld/sciworld_world.h"

namespace agentgym::env::sciworld {

enum class TaskType { kMeasure, kConductivity, kFind, kChemMix, kLifespan };
inline constexpr TaskType kAllTaskTypes[] = {TaskType::kMeasure, TaskType::kConductivity,
                                             TaskType::kFind, TaskType::kChemMix,
                                             TaskType::kLifespan};
const char* TaskTypeName(TaskType type);

struct Milestone {
  std::string name;
  int points = 0;
  bool done = false;
};

// The rules of one task: its sub-goals (points summing to 100), how each
// world action advances or ends it, and a scripted oracle that reads the
// hidden state. Owned by the episode together with its World; not
// thread-safe.
class SciTask {
 public:
  struct Verdict {
    bool ended = false;
    bool success = false;
    std::string note;  // appended to the observation when non-empty
  };
  virtual ~SciTask() = default;

  const std::string& instruction() const { return instruction_; }
  const std::vector<Milestone>& milestones() const { return milestones_; }
  int points() const;
  bool AllDone() const;

  // Called after every valid action (already applied to `world`).
  virtual Verdict Judge(const World& world, const std::string& command,
                        const ActionResult& result) = 0;
  // The oracle's next command, or nullopt when it has nothing left to do.
  virtual std::optional<std::string> Oracle(const World& world) const = 0;

 protected:
  // A wrong `focus on` ends the episode with failure, as in ScienceWorld.
  Verdict WrongFocus(const World& world, int id) const;
  void Achieve(size_t index) { milestones_[index].done = true; }

  std::string instruction_;
  std::vector<Milestone> milestones_;
};

// Every task type's variations ("specs") are numbered 0..SpecSpace-1; codes
// that do not describe a valid variation are skipped. A spec belongs to the
// test split iff FNV-1a("<type>/<spec key>") % 5 == 0, so train and test
// never share a variation. Immutable; thread-safe.
class TaskCatalog {
 public:
  TaskCatalog();
  const std::vector<uint32_t>& Specs(TaskType type, bool test) const;
  // A canonical text of the variation (what the split is decided on).
  static std::string SpecKey(TaskType type, uint32_t spec);
  static bool ValidSpec(TaskType type, uint32_t spec);

 private:
  std::vector<uint32_t> specs_[5][2];
};

// Builds the world of (type, spec) into `world` (fresh) with the seed
// choosing the start room, distractors and their placement, and returns the
// task rules.
std::unique_ptr<SciTask> BuildTask(TaskType type, uint32_t spec, uint64_t seed, World* world);

// Oracle helpers shared by the task rules.
std::optional<std::string> OracleGoTo(const World& world, int room);
// Moves towards `id`, opens what hides it and picks it up; nullopt once carried.
std::optional<std::string> OracleFetch(const World& world, int id);
// Moves towards `id` and opens what hides it; nullopt once it is visible.
std::optional<std::string> OracleReach(const World& world, int id);

}  // namespace agentgym::env::sciworld

#endif  // AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_TASKS_H_
