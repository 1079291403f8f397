#ifndef AGENTGYM_LAUNCHER_RUN_CONFIG_H_
#define AGENTGYM_LAUNCHER_RUN_CONFIG_H_

// The launcher's view of the run config (docs/configuration.md): resolving
// defaults + file + --set overrides, checking every section (its own: `run`,
// `model.init`, `env_server`, `learner.world_size`; the others through the
// components' own readers), and the copy of the config the children read.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/config.h"
#include "launcher/model_init.h"
#include "launcher/supervisor.h"

namespace agentgym::launcher {

// The config `agentgym train` runs when given no --config:
// configs/tiny-grid-grpo.yaml, compiled in.
const std::string& EmbeddedDefaultConfig();

// What `run.eval` asks of the held-out evaluation at the end of a run.
struct EvalSettings {
  bool enabled = true;
  std::string split = "test";
  std::vector<std::string> envs;  // empty: every env in `envs`
  int64_t limit = 0;              // tasks per env; 0: all
  bool greedy = true;
  int samples = 1;
  int max_turns = 0;  // 0: the horizon of the last curriculum stage
  int concurrent_episodes = 64;
};

// The faults an env server injects (`env_server.faults`), as its flags.
struct FaultSettings {
  double step_failure_rate = 0;
  std::string delay_ms;  // "MIN:MAX"; empty: none
  double drop_rate = 0;
  int64_t seed = 0;
  bool Any() const { return step_failure_rate > 0 || !delay_ms.empty() || drop_rate > 0; }
};

struct RunSettings {
  std::string name = "run";
  int64_t total_steps = 0;  // run.total_steps (required)
  std::string run_root = "runs";
  int env_servers = 1;
  int actors = 1;
  int learner_world_size = 1;
  absl::Duration progress_interval = absl::Seconds(5);
  absl::Duration stop_grace = absl::Seconds(30);
  SupervisorOptions restart;
  EvalSettings eval;
  // Env servers: which envs (`env_server.envs`, default: the names in
  // `envs`), plus the flags the rest of the section becomes.
  std::vector<std::string> env_server_envs;
  std::vector<std::string> env_server_flags;
  FaultSettings faults;
  // Environment of every child (`run.child_env`), e.g. OMP_NUM_THREADS.
  std::vector<std::pair<std::string, std::string>> child_env;
  std::string model_dir;
  std::optional<ModelInitOptions> model_init;
  // Train tasks named in `envs` (env -> ids), for the tokenizer of model.init.
  std::vector<EnvTasks> envs;
  // The horizon of the last stage of the default curriculum track (eval).
  int final_horizon = 0;
};

// Defaults, then the file (or the embedded default when `path` is empty),
// then `overrides` (a.b=v). Errors: the file's (NOT_FOUND, INVALID_ARGUMENT
// with line and column) or a bad override.
absl::StatusOr<Config> ResolveConfig(const std::string& path,
                                     const std::vector<std::string>& overrides);

// Checks the sections other components read, given the config as the
// children will read it (ComponentConfig, with model.dir set).
using ComponentValidator = std::function<absl::Status(const Config& component_config)>;
// The coordinator's reader (`coordinator`, `envs`, `curriculum`).
absl::Status ValidateCoordinatorSections(const Config& component_config);

// Checks every section and reads the launcher's settings. INVALID_ARGUMENT
// naming the key: unknown keys (at the top level and in every section),
// wrong types, out-of-range values, and whatever `validate` refuses
// (`agentgym` passes ValidateComponentSections: coordinator, learner, actor).
absl::StatusOr<RunSettings> ValidateRunConfig(
    const Config& config, const ComponentValidator& validate = ValidateCoordinatorSections);

// The config the children read: `config` without the keys only the launcher
// reads (model.init, learner.world_size); the readers of `model` and
// `learner` refuse keys they do not know.
Config ComponentConfig(const Config& config);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_RUN_CONFIG_H_
