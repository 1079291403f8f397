#ifndef AGENTGYM_LAUNCHER_EVAL_COMMAND_H_
#define AGENTGYM_LAUNCHER_EVAL_COMMAND_H_

#include <cstdint>
#include <string>

namespace agentgym::launcher {

struct EvalFlags {
  std::string model_dir;
  std::string endpoint;      // instead of model_dir
  std::string model_name;    // with endpoint
  std::string api_key_file;  // with endpoint; empty: $OPENAI_API_KEY
  std::string system_prompt; // with endpoint
  float temperature = 1.0f;  // with samples
  std::string envs;  // comma-separated
  std::string task_types;  // comma-separated; empty: all
  std::string split = "test";
  int64_t limit = 0;
  bool greedy = false;
  int samples = 0;  // 0: not given (greedy)
  uint64_t seed = 1;
  std::string json_path;
  std::string trajectory_out;  // JSONL of every episode; empty: none
  std::string env_server;  // empty: start one for the envs
  int max_turns = 0;
  int max_new_tokens = 32;
  int concurrent_episodes = 64;
  std::string bin_dir;
  std::string log_level = "warn";
};

// `agentgym eval`: actor::RunEval on the model directory or the endpoint,
// prints FormatEvalTable, and writes EvalReportToJson to --json. Exit 0, or 2
// with a message on any error.
int RunEvalCommand(const EvalFlags& flags);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_EVAL_COMMAND_H_
