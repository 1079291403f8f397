// agentgym-learner: one learner rank. Parses flags and the run config,
// builds the Learner, prints "listening on HOST:PORT" once it serves, and
// trains until --max-steps (learner.max_steps / run.total_steps) or
// SIGTERM/SIGINT, then writes a final checkpoint.
//
//   agentgym-learner --config run.yaml --listen 127.0.0.1:0 --run-dir RUN
//       [--coordinator HOST:PORT] [--rank R --world-size W --rendezvous HOST:PORT]
//       [--resume] [--max-steps N] [--port-file F] [--set k=v ...]
//
// Exit codes: 0 done, 1 runtime failure, 2 bad flags or config.
#include <csignal>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/notification.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "learner/learner.h"

namespace {

int Fail(const absl::Status& status, int code) {
  std::cerr << "agentgym-learner: " << status.ToString() << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agentgym-learner: trains the policy on trajectories and serves its weights"};
  std::string config_path, listen = "127.0.0.1:0", coordinator, rendezvous, run_dir, port_file;
  std::string log_level = "info";
  std::vector<std::string> overrides;
  int rank = 0, world_size = 1;
  bool resume = false;
  int64_t max_steps = -1;
  app.add_option("--config", config_path, "run config (YAML)")->check(CLI::ExistingFile);
  app.add_option("--set", overrides, "config override key.path=value (repeatable)");
  app.add_option("--listen", listen, "host:port to serve on; port 0 picks a free one");
  app.add_option("--port-file", port_file, "write the bound port here once serving");
  app.add_option("--coordinator", coordinator, "host:port of agentgym-coordinator");
  app.add_option("--rank", rank, "this learner's data-parallel rank");
  app.add_option("--world-size", world_size, "number of learner ranks");
  app.add_option("--rendezvous", rendezvous,
                 "host:port of the c10d store rank 0 hosts (default: rank 0 picks one and "
                 "the others learn it from the coordinator)");
  app.add_option("--run-dir", run_dir, "checkpoints and learner-metrics.jsonl go here")->required();
  app.add_flag("--resume", resume, "continue from <run-dir>/checkpoints/latest");
  app.add_option("--max-steps", max_steps, "stop after this many training steps (0: forever)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);

  if (absl::Status s = agentgym::SetLogLevel(log_level); !s.ok()) return Fail(s, 2);
  agentgym::Config config;
  if (!config_path.empty()) {
    auto loaded = agentgym::Config::FromFile(config_path);
    if (!loaded.ok()) return Fail(loaded.status(), 2);
    config = *std::move(loaded);
  }
  if (absl::Status s = config.ApplyOverrides(overrides); !s.ok()) return Fail(s, 2);
  auto options = agentgym::learner::LearnerOptionsFromConfig(config);
  if (!options.ok()) return Fail(options.status(), 2);
  if (max_steps >= 0) options->train.max_steps = max_steps;
  if (auto hp = agentgym::ParseHostPort(listen); !hp.ok()) return Fail(hp.status(), 2);
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    return Fail(absl::InvalidArgumentError("--rank must be in [0, --world-size)"), 2);
  }

  // Stop signals are blocked in every thread (they inherit the mask) and
  // collected by one watcher, so shutdown runs on the training thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  absl::Notification stop, finished;
  std::thread watcher([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!finished.HasBeenNotified()) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig > 0) {
        agentgym::GetLogger("learner")->info("signal {}: finishing the step and checkpointing", sig);
        if (!stop.HasBeenNotified()) stop.Notify();
      }
    }
  });
  auto join_watcher = [&] {
    finished.Notify();
    watcher.join();
  };

  agentgym::learner::LearnerRunOptions run;
  run.options = *options;
  run.listen = listen;
  run.coordinator = coordinator;
  run.rendezvous = rendezvous;
  run.run_dir = run_dir;
  run.rank = rank;
  run.world_size = world_size;
  run.resume = resume;
  absl::Status port_status;
  run.on_listening = [&](const std::string& address, int port) {
    if (!port_file.empty()) port_status = agentgym::WritePortFile(port_file, port);
    // After the port file, so whoever sees this line can also read the file.
    std::cout << "listening on " << address << std::endl;
  };
  auto learner = agentgym::learner::Learner::Create(run);
  if (!learner.ok()) {
    join_watcher();
    const bool usage = learner.status().code() == absl::StatusCode::kInvalidArgument;
    return Fail(learner.status(), usage ? 2 : 1);
  }
  if (!port_status.ok()) {
    join_watcher();
    return Fail(port_status, 2);
  }
  absl::Status result = (*learner)->Run(&stop);
  learner->reset();
  join_watcher();
  if (!result.ok()) return Fail(result, 1);
  return 0;
}
