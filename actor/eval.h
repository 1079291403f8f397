#ifndef AGENTGYM_ACTOR_EVAL_H_
#define AGENTGYM_ACTOR_EVAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgym::actor {

// `agentgym eval`: runs a policy over the tasks of a split with the same
// episode engine as training and reports success per env and task type.
struct EvalOptions {
  // The policy: exactly one of a model directory (our engine) and an
  // OpenAI-compatible chat-completions endpoint (http://host:port/v1, with
  // model_name and, when the server wants one, api_key), scored on the same
  // envs with the same prompts (actor/prompts.h).
  std::string model_dir;
  std::string endpoint;
  std::string model_name;
  std::string api_key;
  // With an endpoint: the system prompt before the env's action format
  // (a model directory brings its own).
  std::string system_prompt;
  std::vector<std::string> envs;
  // Only tasks of these types (ListTasksRequest.task_type, per type); empty:
  // every type. A type no env has gives no tasks (NOT_FOUND when nothing at
  // all is left to run).
  std::vector<std::string> task_types;
  std::string env_server;  // empty: start an in-process built-in env server on 127.0.0.1:0
  std::string split = "test";
  int64_t limit = 0;  // tasks per env; 0: all
  bool greedy = true;
  int samples = 1;    // episodes per task (a group sharing the prompt)
  int max_turns = 0;  // 0: the env's recommended
  uint64_t seed = 1;
  int concurrent_episodes = 64;
  int max_new_tokens = 32;
  float temperature = 1.0f;  // when !greedy
  // Also writes every episode's trajectory (exact tokens, turns, rewards)
  // to this JSONL file; with an endpoint, its chat transcript (there are no
  // tokens); empty: none.
  std::string trajectory_out;
};

struct EvalRow {
  std::string env, task_type;
  int64_t episodes = 0, successes = 0;
  double success_rate = 0, mean_score = 0, mean_turns = 0, mean_reward = 0;
};

struct EvalReport {
  // Per env and task type, plus one row per env with task_type "all".
  std::vector<EvalRow> rows;
  int64_t env_errors = 0;  // episode attempts that failed on the env side (rerun, not counted in rows)
  int64_t dropped_groups = 0;  // tasks whose episodes kept failing (missing from rows)
};

// INVALID_ARGUMENT for bad options (no envs, unknown split, samples < 1,
// both or neither of model_dir and endpoint, a malformed endpoint); NOT_FOUND
// for an unknown env or a missing model directory; UNAVAILABLE when the env
// server or the endpoint cannot be reached; the endpoint's UNAUTHENTICATED
// and the like as ChatEndpointClient returns them.
absl::StatusOr<EvalReport> RunEval(const EvalOptions& options);
std::string FormatEvalTable(const EvalReport& report);
std::string EvalReportToJson(const EvalReport& report);

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_EVAL_H_
