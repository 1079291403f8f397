// agentgym-actor: rollouts for training. Parses flags, builds an Actor,
// runs it until SIGTERM/SIGINT (or --max-episodes). Exit codes (core/cli.h):
// 0 after a clean stop, 2 for bad flags or config (a missing config file
// too), 1 for run-time failures (the coordinator cannot be reached, a run
// that ends in an error). The actor serves no gRPC and has no port file.
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "actor/actor.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/security_flags.h"
#include "core/stop_signals.h"
#include "policy/torch_runtime.h"

namespace {

// Before the run: what the user must fix is 2, the rest 1 (ExitCodeFor);
// `code` overrides that for failures of the run itself.
int Fail(const absl::Status& s, std::optional<int> code = std::nullopt) {
  std::cerr << "agentgym-actor: error: " << s.message() << "\n";
  agentgym::GetLogger("actor")->error("{}", s.ToString());
  return code ? *code : agentgym::ExitCodeFor(s);
}

}  // namespace

int main(int argc, char** argv) {
  agentgym::InstallStopSignals();  // before any thread of ours starts
  CLI::App app{"agentgym-actor: multi-turn rollouts against env servers for the learner"};
  std::string config_path, coordinator, learner, actor_id, trajectory_out, log_level = "info";
  std::vector<std::string> overrides;
  int64_t max_episodes = 0;
  double coordinator_timeout_s = 30;
  app.add_option("--config", config_path, "run config YAML (sections model, actor, algorithm)")->required();
  app.add_option("--set", overrides, "config override key.path=value (repeatable)");
  app.add_option("--coordinator", coordinator, "host:port of agentgym-coordinator")->required();
  app.add_option("--learner", learner,
                 "host:port of the learner (default: the coordinator's learner address; with "
                 "--trajectory-out and no --learner, trajectories go only to the file)");
  app.add_option("--actor-id", actor_id, "id of this actor (trajectory ids are <actor-id>/<n>)");
  app.add_option("--trajectory-out", trajectory_out, "also write trajectories to this JSONL file");
  app.add_option("--max-episodes", max_episodes, "stop after this many episode attempts (0: run until stopped)");
  app.add_option("--coordinator-timeout-s", coordinator_timeout_s, "how long to wait for the coordinator");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  agentgym::ClientSecurityOptions security;
  agentgym::AddClientSecurityFlags(app, &security);
  AG_PARSE_COMMAND_LINE(app, argc, argv);  // CLI11's errors exit 2 (core/cli.h)

  if (absl::Status s = agentgym::SetLogLevel(log_level); !s.ok()) return Fail(s);
  if (max_episodes < 0) return Fail(absl::InvalidArgumentError("--max-episodes must be >= 0"));
  if (!(coordinator_timeout_s > 0)) return Fail(absl::InvalidArgumentError("--coordinator-timeout-s must be > 0"));
  absl::StatusOr<agentgym::Config> config = agentgym::Config::FromFile(config_path);
  if (!config.ok()) return Fail(config.status());
  if (absl::Status s = config->ApplyOverrides(overrides); !s.ok()) return Fail(s);
  absl::StatusOr<agentgym::actor::ActorConfig> actor_config = agentgym::actor::ActorConfigFromConfig(*config);
  if (!actor_config.ok()) return Fail(actor_config.status());

  agentgym::policy::TorchRuntimeOptions runtime;
  runtime.intra_op_threads = actor_config->intra_op_threads;
  if (absl::Status s = agentgym::policy::ConfigureTorchRuntime(runtime); !s.ok()) return Fail(s);

  agentgym::actor::ActorRunOptions options;
  options.config = *actor_config;
  options.coordinator = coordinator;
  options.learner = learner;
  options.actor_id = actor_id;
  options.trajectory_out = trajectory_out;
  options.max_episodes = max_episodes;
  options.coordinator_timeout = absl::Seconds(coordinator_timeout_s);
  options.security = security;
  absl::StatusOr<std::unique_ptr<agentgym::actor::Actor>> actor = agentgym::actor::Actor::Create(options);
  if (!actor.ok()) return Fail(actor.status());

  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (agentgym::WaitForStopSignal(absl::Milliseconds(200)) > 0) {
        agentgym::GetLogger("actor")->info("signal: stopping (running episodes are cancelled)");
        (*actor)->Stop();
        return;
      }
    }
  });
  absl::Status s = (*actor)->Run();
  done.store(true);
  watcher.join();
  actor->reset();
  if (!s.ok()) return Fail(s, agentgym::kExitRuntime);
  return agentgym::kExitOk;
}
