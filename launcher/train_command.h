#ifndef AGENTGYM_LAUNCHER_TRAIN_COMMAND_H_
#define AGENTGYM_LAUNCHER_TRAIN_COMMAND_H_

#include <string>
#include <vector>

namespace agentgym::launcher {

struct TrainFlags {
  std::string config_path;  // empty: the embedded default (configs/tiny-grid-grpo.yaml)
  std::vector<std::string> overrides;
  bool print_config = false;
  // Write the run directory (config.yaml, components.yaml, the initial
  // model) and stop: the roles are then started by hand, Slurm or
  // Kubernetes, each with --config <run dir>/components.yaml.
  bool prepare_only = false;
  std::string resume_dir;  // runs/<dir> to continue
  std::string run_root;    // overrides run.run_root
  std::string bin_dir;     // where the component binaries are
  std::string log_level = "info";
};

// `agentgym train`: resolves and checks the config, makes the run directory,
// supervises coordinator, env servers, learner ranks and actors until the
// learner reaches run.total_steps, stops them in order, evaluates the final
// checkpoint on the held-out split and writes summary.md. Exit codes: 0 done,
// 1 the run failed (a crash loop, a child that would not start), 2 bad
// command line or config, 130 stopped by SIGINT/SIGTERM (after the learner
// checkpointed).
int RunTrain(const TrainFlags& flags);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_TRAIN_COMMAND_H_
