#ifndef AGENTGYM_ENV_SERVER_ENVIRONMENT_H_
#define AGENTGYM_ENV_SERVER_ENVIRONMENT_H_

// The interface every built-in environment implements. An env is one class
// deriving from Environment, one deriving from Episode, and a registration
// line (AG_REGISTER_ENV in env_registry.h): the server, task ids, sampling,
// sessions, TTLs, limits and the gRPC mapping are handled by the framework.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace agentgym::env {

enum class Split { kTrain, kTest };

const char* SplitName(Split split);  // "train" | "test"

// One kind of task an env offers. Tasks of a type are numbered 0..count-1 in
// each split; the framework turns (type, split, index) into the task id
// "<type>/<split>/<index>" that clients see.
struct TaskTypeInfo {
  std::string name;         // [a-z0-9_-]+, unique within the env
  std::string description;  // one line, for docs and --list
  int64_t train_count = 0;
  int64_t test_count = 0;
  int32_t recommended_max_turns = 0;  // an oracle's turns with slack
};

struct EnvDescription {
  std::string name;
  std::string description;
  std::string action_format;  // the grammar the agent must follow
  std::string mirrors;        // the AgentGym env this corresponds to
  int32_t recommended_max_turns = 0;
  std::vector<TaskTypeInfo> task_types;
};

struct TaskKey {
  std::string type;
  Split split = Split::kTrain;
  int64_t index = 0;
};

// What the agent sees when an episode starts.
struct EpisodeStart {
  std::string instruction;  // the goal, stated once
  std::string observation;  // the first observation
  nlohmann::json info = nlohmann::json::object();
};

// What one step produced. An in-game invalid action is a normal outcome with
// action_valid = false and an observation that explains the problem.
struct StepOutcome {
  std::string observation;
  double reward = 0.0;
  bool done = false;       // ended by the env's rules (success or failure)
  bool truncated = false;  // the env's own turn limit was reached
  bool success = false;    // the task was achieved; never "reward > 0"
  double score = 0.0;      // progress in [0, 1]
  bool action_valid = true;
  nlohmann::json info = nlohmann::json::object();
};

// One running episode. Owned by one session; the framework serializes calls,
// so implementations need no locking. Must never crash or throw on any
// action text (including empty, huge or binary strings already checked to be
// valid UTF-8 and within the server's size limit).
class Episode {
 public:
  virtual ~Episode() = default;
  // Built-in envs always return an outcome (an in-game invalid action is an
  // outcome with action_valid = false). An error Status is for episodes backed
  // by something that can fail (e.g. the HTTP bridge's upstream server):
  // UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL with a message.
  virtual absl::StatusOr<StepOutcome> Step(std::string_view action) = 0;

  // The next action of a scripted solver that may read the hidden state, or
  // nullopt when the env has none or the episode is over. Tests use it to
  // prove every task solvable; the scripted demo client replays it.
  virtual std::optional<std::string> OracleAction() const { return std::nullopt; }
  // Bytes this episode holds beyond sizeof(*this); used for memory bounds.
  virtual size_t ApproxBytes() const { return 0; }
};

// Key/value options for one env, from `--env-opt <env>.<key>=<value>` or the
// server's YAML config (e.g. textcraft.recipes_dir).
using EnvOptions = std::map<std::string, std::string>;

// An environment: its description plus a factory of episodes. Shared by every
// session of the env, so NewEpisode must be thread-safe (it is const).
class Environment {
 public:
  virtual ~Environment() = default;
  virtual const EnvDescription& Describe() const = 0;

  // Starts an episode of task `key` (already validated against Describe():
  // the type exists and the index is in range for the split). Deterministic in
  // (key, seed). Errors are returned as Status (INTERNAL for env bugs).
  virtual absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(
      const TaskKey& key, uint64_t seed, EpisodeStart* start) const = 0;

  // True when NewEpisode or Step may wait on something outside the process
  // (a network service, a subprocess). The server then runs on gRPC's
  // synchronous API, where a slow step holds one worker thread instead of
  // one of gRPC's own threads (see EnvServerOptions::GrpcApi::kAuto).
  virtual bool StepsMayBlock() const { return false; }

  // The fewest turns task `key` needs (already validated as for NewEpisode),
  // where the env knows it cheaply (e.g. the oracle's path length); 0 =
  // unknown, the default. ListTasks reports it as TaskRef.min_turns, which the
  // coordinator's solvability-aware curriculum uses. Must be thread-safe.
  virtual int32_t MinTurns(const TaskKey& key) const { return 0; }
};

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_ENVIRONMENT_H_
