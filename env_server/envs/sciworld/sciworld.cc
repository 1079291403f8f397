#include "env_server/envs/sciworld/sciworld.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "env_server/env_registry.h"
#include "env_server/envs/sciworld/sciworld_world.h"

namespace agentgym::env::sciworld {
namespace {

// Oracle turns measured over the test samples, with about 2x slack.
constexpr int kTypeTurns[] = {/*measure=*/50, /*test_conductivity=*/40, /*find=*/30,
                              /*chem_mix=*/50, /*lifespan=*/15};
constexpr size_t kMaxCommandChars = 300;

class SciWorldEpisode : public Episode {
 public:
  SciWorldEpisode(std::unique_ptr<World> world, std::unique_ptr<SciTask> task)
      : world_(std::move(world)), task_(std::move(task)) {}

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    StepOutcome out;
    double before = task_->points() / 100.0;
    if (finished_) {
      out.observation = "The task has ended. No further actions are possible.";
      out.action_valid = false;
      out.done = true;
      out.success = success_;
      out.score = before;
      return out;
    }
    ++steps_;
    std::string command = NormalizeCommand(action);
    if (command.size() > kMaxCommandChars) {
      out.action_valid = false;
      out.observation = absl::StrCat("That action is too long (", command.size(), " characters).");
    } else {
      ActionResult result = world_->Execute(command);
      out.action_valid = result.valid;
      out.observation = std::move(result.observation);
      if (result.valid) {
        SciTask::Verdict verdict = task_->Judge(*world_, command, result);
        if (!verdict.note.empty()) absl::StrAppend(&out.observation, "\n", verdict.note);
        if (verdict.ended) {
          finished_ = true;
          success_ = verdict.success;
          out.done = true;
          out.success = verdict.success;
        }
      }
    }
    out.score = std::clamp(task_->points() / 100.0, 0.0, 1.0);
    out.reward = out.score - before;
    if (!finished_ && steps_ >= SciWorldEnv::kMaxSteps) {
      finished_ = true;
      out.truncated = true;
      absl::StrAppend(&out.observation, "\nYou have used all ", SciWorldEnv::kMaxSteps,
                      " steps; the episode is over.");
    }
    out.info["points"] = task_->points();
    return out;
  }

  std::optional<std::string> OracleAction() const override {
    if (finished_) return std::nullopt;
    return task_->Oracle(*world_);
  }

  size_t ApproxBytes() const override {
    return sizeof(World) + world_->ApproxBytes() + task_->instruction().capacity() +
           task_->milestones().capacity() * sizeof(Milestone) + 256;
  }

 private:
  std::unique_ptr<World> world_;
  std::unique_ptr<SciTask> task_;
  int steps_ = 0;
  bool finished_ = false;
  bool success_ = false;
};

}  // namespace

SciWorldEnv::SciWorldEnv() {
  description_.name = "sciworld";
  description_.description =
      "A small ScienceWorld-style lab: measure melting points, test conductivity, find "
      "organisms, mix chemicals and compare life spans by acting in a text world.";
  description_.action_format =
      "look around | inventory | examine OBJ | open OBJ | close OBJ | go to LOCATION | pick up OBJ "
      "| drop OBJ | put OBJ in/on CONTAINER | activate OBJ | deactivate OBJ | use THERMOMETER on "
      "OBJ | mix CONTAINER | connect OBJ to OBJ | disconnect OBJ | focus on OBJ | read OBJ | wait; "
      "an optional 'Action:' prefix is accepted";
  description_.mirrors = "AgentGym sciworld (ScienceWorld)";
  static const char* kDescriptions[] = {
      "measure a substance's melting point and focus on the box the answer names",
      "build a battery / light bulb circuit to test an object's conductivity, then box it",
      "find a living / non-living thing, plant or animal and move it to a box",
      "follow a recipe to mix a substance (one or two reactions) and focus on it",
      "focus on the longest- and/or shortest-lived animal outside"};
  for (TaskType type : kAllTaskTypes) {
    int t = static_cast<int>(type);
    description_.task_types.push_back(
        {TaskTypeName(type), kDescriptions[t],
         static_cast<int64_t>(catalog_.Specs(type, false).size()),
         static_cast<int64_t>(catalog_.Specs(type, true).size()), kTypeTurns[t]});
    description_.recommended_max_turns = std::max(description_.recommended_max_turns, kTypeTurns[t]);
  }
}

absl::StatusOr<std::unique_ptr<SciWorldEnv>> SciWorldEnv::Create(const EnvOptions& options) {
  if (!options.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sciworld takes no options; got '", options.begin()->first, "'"));
  }
  return std::unique_ptr<SciWorldEnv>(new SciWorldEnv());
}

absl::StatusOr<std::pair<TaskType, uint32_t>> SciWorldEnv::Lookup(const TaskKey& key) const {
  for (TaskType type : kAllTaskTypes) {
    if (key.type != TaskTypeName(type)) continue;
    const auto& specs = catalog_.Specs(type, key.split == Split::kTest);
    if (key.index < 0 || key.index >= static_cast<int64_t>(specs.size())) {
      return absl::OutOfRangeError(absl::StrCat("sciworld ", key.type, " index ", key.index,
                                                " out of range [0, ", specs.size(), ")"));
    }
    return std::make_pair(type, specs[static_cast<size_t>(key.index)]);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown sciworld task type '", key.type, "'"));
}

absl::StatusOr<std::string> SciWorldEnv::VariationOf(const TaskKey& key) const {
  auto found = Lookup(key);
  if (!found.ok()) return found.status();
  return TaskCatalog::SpecKey(found->first, found->second);
}

absl::StatusOr<std::unique_ptr<Episode>> SciWorldEnv::NewEpisode(const TaskKey& key, uint64_t seed,
                                                                EpisodeStart* start) const {
  auto found = Lookup(key);
  if (!found.ok()) return found.status();
  auto world = std::make_unique<World>();
  std::unique_ptr<SciTask> task = BuildTask(found->first, found->second, seed, world.get());
  if (task == nullptr) return absl::InternalError("sciworld: could not build task " + key.type);
  start->instruction = task->instruction();
  start->observation = world->LookAround();
  start->info["variation"] = TaskCatalog::SpecKey(found->first, found->second);
  return std::unique_ptr<Episode>(std::make_unique<SciWorldEpisode>(std::move(world), std::move(task)));
}

AG_REGISTER_ENV("sciworld", [](const EnvOptions& o) -> absl::StatusOr<std::unique_ptr<Environment>> {
  auto env = SciWorldEnv::Create(o);
  if (!env.ok()) return env.status();
  return std::unique_ptr<Environment>(*std::move(env));
});

}  // namespace agentgym::env::sciworld
