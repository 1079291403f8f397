#ifndef AGENTGYM_LAUNCHER_FINAL_EVAL_H_
#define AGENTGYM_LAUNCHER_FINAL_EVAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "launcher/run_config.h"

namespace agentgym::launcher {

struct FinalEval {
  std::string table;        // FormatEvalTable, rows of the task types trained on
  std::string json;         // EvalReportToJson (every row)
  std::string description;  // "greedy, 48 tasks per env, horizon 8"
};

// The held-out evaluation at the end of `agentgym train` (run.eval): the
// model in `model_dir` on `env_server`, with the run's sampling settings
// (actor.max_new_tokens, actor.temperature) and the last stage's horizon.
absl::StatusOr<FinalEval> RunFinalEval(const RunSettings& settings, const Config& config,
                                       const std::string& model_dir,
                                       const std::string& env_server);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_FINAL_EVAL_H_
