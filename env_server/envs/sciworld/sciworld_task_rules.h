#ifndef AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_TASK_RULES_H_
#define AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_TASK_RULES_H_

// The five task rule sets, created by BuildTask (sciworld_tasks.cc) once the
// world is built; the ids refer to objects of that world.

#include <memory>
#include <string>
#include <vector>

#include "env_server/envs/sciworld/sciworld_tasks.h"

namespace agentgym::env::sciworld {

struct MeasureParams {
  int thermometer, substance, right_box, wrong_box, stove, kitchen;
  double initial_temperature;
};
struct ConductivityParams {
  int target, battery, bulb, right_box, wrong_box, workshop;
  std::vector<int> wires;  // exactly three
};
enum class Category { kLiving, kNonLiving, kPlant, kAnimal };
struct FindParams {
  Category category;
  int box, box_room;
};
struct ChemStep {
  std::vector<std::string> ingredients;
  std::string product;
};
struct ChemParams {
  std::vector<ChemStep> steps;  // in order; the last makes the target
  int bowl;
};
struct LifespanParams {
  std::vector<int> answers;  // focus order (one, or longest then shortest)
  int outside;
};

std::unique_ptr<SciTask> MakeMeasureTask(std::string instruction, MeasureParams p);
std::unique_ptr<SciTask> MakeConductivityTask(std::string instruction, ConductivityParams p);
std::unique_ptr<SciTask> MakeFindTask(std::string instruction, FindParams p);
std::unique_ptr<SciTask> MakeChemMixTask(std::string instruction, ChemParams p);
std::unique_ptr<SciTask> MakeLifespanTask(std::string instruction, LifespanParams p);

bool InCategory(const Object& o, Category c);

}  // namespace agentgym::env::sciworld

#endif  // AGENTGYM_ENV_SERVER_ENVS_SCIWORLD_SCIWORLD_TASK_RULES_H_
