#ifndef AGENTGYM_LAUNCHER_ABLATE_COMMAND_H_
#define AGENTGYM_LAUNCHER_ABLATE_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

namespace agentgym::launcher {

struct AblateFlags {
  std::string config_path;  // empty: the embedded default
  std::vector<std::string> overrides;  // --set, applied to every variant first
  std::string variants = "fixed-short,fixed-long,paper-schedule,adaptive";
  int seeds = 3;
  int parallel = 1;
  int64_t steps = 0;  // 0: the config's run.total_steps
  int checkpoint_every = 25;
  std::string out_dir;  // empty: <run_root>/ablate-<time>
  std::string eval_task_types;  // comma-separated; empty: the task types of the configured ids
  int64_t eval_limit = 0;       // test tasks per env; 0: all
  std::string bin_dir;
  std::string log_level = "info";
};

// `agentgym ablate`: one `agentgym train` run per variant and seed (the
// same steps, tasks and tasks per step; seeds set model.init.seed and the
// coordinator's sampler seed), `parallel` at a time, each checkpointing
// every checkpoint_every steps; then every checkpoint is evaluated on the
// held-out split (greedy, the horizon of the base's last stage for all), and
// the results directory gets table.md (steps and seconds to 30 / 60 / 80%,
// final and best held-out success, collapse events, mean turns),
// results.json, curves.csv and success_vs_step.svg, plus each run's
// directory and log. Exit codes: 0 done (runs that failed are reported in
// the table), 2 bad command line or config, 1 nothing could be run.
int RunAblate(const AblateFlags& flags, const std::vector<std::string>& argv);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_ABLATE_COMMAND_H_
