#include "env_server/envs/babyai/babyai_env.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/det_random.h"
#include "env_server/env_registry.h"
#include "env_server/envs/babyai/oracle.h"

namespace agentgym::env::babyai {
namespace {

constexpr size_t kMaxActionChars = 256;  // longer text cannot be a valid action
constexpr char kNotRecognized[] = "The action is not recognized. Please check valid actions.";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::string NormalizeAction(std::string_view raw) {
  std::string s;
  s.reserve(std::min(raw.size(), kMaxActionChars + 1));
  bool pending_space = false;
  for (char c : raw) {
    if (s.size() > kMaxActionChars) break;
    if (IsSpace(c)) {
      pending_space = !s.empty();
      continue;
    }
    if (pending_space) s += ' ';
    pending_space = false;
    s += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  constexpr std::string_view kPrefix = "action:";
  if (s.compare(0, kPrefix.size(), kPrefix) == 0) {
    s.erase(0, kPrefix.size());
    if (!s.empty() && s[0] == ' ') s.erase(0, 1);
  }
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  if (s.compare(0, 7, "pickup ") == 0) s.replace(0, 6, "pick up");
  return s;
}

BabyAIEpisode::BabyAIEpisode(World world, Mission mission, int max_turns)
    : world_(std::move(world)),
      mission_(std::move(mission)),
      view_(ComputeView(world_)),
      max_turns_(max_turns) {}

std::string BabyAIEpisode::Observation() const {
  return absl::StrCat(view_.description, "\n", view_.ActionsLine());
}

absl::StatusOr<StepOutcome> BabyAIEpisode::Step(std::string_view raw) {
  StepOutcome out;
  if (over_) {
    out.observation = "The episode is over.";
    out.done = success_;
    out.truncated = !success_;
    out.success = success_;
    out.score = success_ ? 1.0 : progress_;
    out.action_valid = false;
    return out;
  }
  ++turns_;
  const std::string action = NormalizeAction(raw);
  std::string body;
  bool achieved = false;
  if (action == "check available actions") {
    body = view_.ActionsSentence();
  } else if (const ActionChoice* choice = view_.Find(action)) {
    achieved = RunPlan(&world_, mission_, choice->plan);
    view_ = ComputeView(world_);
    body = view_.description;
  } else {
    const std::string* why = view_.ErrorFor(action);
    body = why ? *why : kNotRecognized;
    out.action_valid = false;
  }
  progress_ = std::max(progress_, mission_.Progress(world_));
  if (achieved) {
    success_ = over_ = true;
    out.done = out.success = true;
    out.reward = 1.0 - 0.9 * static_cast<double>(turns_) / max_turns_;
    body += "\nThe task is completed.";
  } else if (turns_ >= max_turns_) {
    over_ = true;
    out.truncated = true;
  }
  out.score = success_ ? 1.0 : progress_;
  out.observation = absl::StrCat(body, "\n", view_.ActionsLine());
  out.info = {{"turns", turns_}, {"max_turns", max_turns_}};
  return out;
}

std::optional<std::string> BabyAIEpisode::OracleAction() const {
  if (over_) return std::nullopt;
  return babyai::OracleAction(world_, mission_, view_);
}

size_t BabyAIEpisode::ApproxBytes() const {
  return world_.ApproxBytes() + view_.ApproxBytes() +
         (mission_.target.ids.capacity() + mission_.fixed.ids.capacity()) * sizeof(int);
}

absl::StatusOr<std::unique_ptr<Environment>> BabyAIEnv::Create(const EnvOptions& options) {
  if (!options.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("babyai takes no options; got '", options.begin()->first, "'"));
  }
  return std::unique_ptr<Environment>(new BabyAIEnv());
}

BabyAIEnv::BabyAIEnv() {
  description_.name = "babyai";
  description_.description =
      "Text gridworld after BabyAI: rooms, doors (locked ones need the same-colour key), balls, "
      "boxes and keys; the agent sees a 7x7 egocentric view described in text and follows a "
      "BabyAI instruction.";
  description_.action_format =
      "One action from the \"Available actions\" list at the end of each observation, e.g. "
      "\"turn left\", \"turn right\", \"move forward\", \"go to red ball 1\", \"pick up red ball "
      "1\", \"drop\", \"toggle\", \"go through red open door 1\", \"toggle and go through red "
      "closed door 1\", \"check available actions\". Case-insensitive; an \"Action:\" prefix is "
      "allowed.";
  description_.mirrors = "AgentGym BabyAI (agentenv-babyai, BabyAI-text high-level actions)";
  for (const LevelSpec& spec : LevelSpecs()) {
    TaskTypeInfo info;
    info.name = spec.name;
    info.description = spec.description;
    info.train_count = spec.train_count;
    info.test_count = spec.test_count;
    info.recommended_max_turns = spec.max_turns;
    description_.recommended_max_turns =
        std::max(description_.recommended_max_turns, spec.max_turns);
    description_.task_types.push_back(std::move(info));
  }
}

uint64_t BabyAIEnv::LayoutSeed(const TaskKey& key) {
  constexpr uint64_t kTestOffset = uint64_t{1} << 40;
  const uint64_t index = static_cast<uint64_t>(key.index) + (key.split == Split::kTest ? kTestOffset : 0);
  return DetRng::Mix(DetRng::Hash(absl::StrCat("babyai/", key.type)), index);
}

absl::StatusOr<std::unique_ptr<Episode>> BabyAIEnv::NewEpisode(const TaskKey& key, uint64_t seed,
                                                               EpisodeStart* start) const {
  // The layout is a function of the task alone; `seed` does not change it,
  // so every rollout of a task id (e.g. a GRPO group) sees the same world.
  const LevelSpec* spec = FindLevel(key.type);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("babyai has no task type '", key.type, "'"));
  }
  const int64_t count = key.split == Split::kTrain ? spec->train_count : spec->test_count;
  if (key.index < 0 || key.index >= count) {
    return absl::OutOfRangeError(absl::StrCat("babyai ", key.type, "/", SplitName(key.split),
                                              " has ", count, " tasks; got index ", key.index));
  }
  auto found = FindOrGenerate(*spec, key);
  if (!found.ok()) return found.status();
  const Task& task = **found;
  auto episode = std::make_unique<BabyAIEpisode>(task.world, task.mission, spec->max_turns);
  if (start != nullptr) {
    start->instruction = absl::StrCat("Your goal: ", episode->mission().Text());
    start->observation = episode->Observation();
    start->info = {{"mission", episode->mission().Text()},
                   {"max_turns", spec->max_turns},
                   {"oracle_turns", task.oracle_turns}};
  }
  return std::unique_ptr<Episode>(std::move(episode));
}

absl::StatusOr<std::shared_ptr<const Task>> BabyAIEnv::FindOrGenerate(const LevelSpec& spec,
                                                                      const TaskKey& key) const {
  const std::string id = absl::StrCat(key.type, "/", SplitName(key.split), "/", key.index);
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(id);
    if (it != tasks_.end()) return it->second;
  }
  // Generated outside the lock; two sessions racing on a new task both
  // generate the same (deterministic) one and the first stored wins.
  auto task = GenerateTask(spec, LayoutSeed(key));
  if (!task.ok()) return task.status();
  auto shared = std::make_shared<const Task>(*std::move(task));
  absl::MutexLock lock(&mu_);
  return tasks_.emplace(id, std::move(shared)).first->second;
}

AG_REGISTER_ENV("babyai", BabyAIEnv::Create);

}  // namespace agentgym::env::babyai
