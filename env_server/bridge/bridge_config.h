#ifndef AGENTGYM_ENV_SERVER_BRIDGE_BRIDGE_CONFIG_H_
#define AGENTGYM_ENV_SERVER_BRIDGE_BRIDGE_CONFIG_H_

// The per-env description of an AgentGym HTTP env server: endpoints, field
// names, reply shapes, action parsing, scoring, error mapping, timeouts and
// task ranges. Built from the shipped table (agentgym_envs.yaml) with the
// user's YAML merged over it; see that file for every key.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "env_server/bridge/action_parser.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace agentgym::env::bridge {

struct TaskRange {
  std::string type;
  std::string description;
  int64_t train_start = 0, train_count = 0;
  int64_t test_start = 0, test_count = 0;
  int32_t recommended_max_turns = 0;
};

struct ErrorRule {
  std::string match;  // PCRE2 pattern over the error text
  absl::StatusCode code = absl::StatusCode::kInternal;
};

struct UpstreamConfig {
  std::string name;    // the env name clients see
  std::string preset;  // the known env it starts from ("" = none)
  std::string base_url;  // http://host:port
  std::string description, action_format, mirrors;
  int32_t recommended_max_turns = 0;
  std::string session_key;
  std::string create_path, create_id_field, create_task_key;
  nlohmann::json create_body;
  std::string reset_path, reset_task_key, reset_seed_key;
  nlohmann::json reset_body;
  std::vector<std::string> reset_observation_fields;
  bool reset_fetch_observation = false;
  std::string step_path, action_key, observation_field, reward_field, done_field, score_field;
  // PCRE2 over a step's observation: a match means the upstream could not
  // execute the action (action_valid = false). "" = every answered step is valid.
  std::string invalid_observation;
  std::string observation_path, close_path;
  double score_scale = 1.0;
  // Success: `success_field` of the step reply equals (within 1e-9) or is
  // above `success_value`; judged on done steps only unless
  // !success_when_done, in which case a success ends the episode
  // (success_ends_episode). "" = the env never reports success.
  enum class SuccessTest { kEquals, kAbove };
  std::string success_field;
  SuccessTest success_test = SuccessTest::kEquals;
  double success_value = 1.0;
  bool success_when_done = true;
  bool success_ends_episode = false;
  int32_t max_turns = 0;
  std::string error_field;
  absl::StatusCode error_default_code = absl::StatusCode::kInternal;
  std::vector<ErrorRule> error_rules;
  ActionParserConfig action;
  absl::Duration connect_timeout, request_timeout, close_timeout;
  // A kept-open connection idle longer than this is closed, not reused.
  absl::Duration idle_timeout;
  int pool_size = 16;          // connections kept open between requests
  int max_connections = 256;   // requests in flight at once (>= pool_size)
  std::vector<TaskRange> tasks;
};

// The shipped table of known envs (agentgym_envs.yaml, compiled in).
const std::string& KnownEnvsYaml();

// Reads `envs:` of a bridge config: a map env name -> overrides. A known
// env's name picks its table entry; any other name needs `preset: <known
// env>` or `preset: none` (the bare defaults). INVALID_ARGUMENT naming the
// env and key for anything malformed, including every key the table does
// not have (except inside create.body, reset.body and action.aliases).
absl::StatusOr<std::vector<UpstreamConfig>> ParseBridgeConfig(const YAML::Node& envs);

// One env's config from the defaults, its preset and `overrides` (JSON).
absl::StatusOr<UpstreamConfig> ResolveUpstream(const std::string& name,
                                               const nlohmann::json& overrides);

// YAML to JSON: maps, sequences, and scalars typed as YAML 1.2 core would
// (null, booleans, integers, floats; quoted scalars stay strings).
nlohmann::json YamlToJson(const YAML::Node& node);

}  // namespace agentgym::env::bridge

#endif  // AGENTGYM_ENV_SERVER_BRIDGE_BRIDGE_CONFIG_H_
