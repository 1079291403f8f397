// agentgym-learner: one learner rank. Parses flags and the run config,
// builds the Learner, prints "listening on HOST:PORT" once it serves, and
// trains until --max-steps (learner.max_steps / run.total_steps) or
// SIGTERM/SIGINT, then writes a final checkpoint.
//
//   agentgym-learner --config run.yaml --listen 127.0.0.1:0 --run-dir RUN
//       [--coordinator HOST:PORT] [--rank R --world-size W --rendezvous HOST:PORT]
//       [--resume] [--max-steps N] [--port-file F] [--set k=v ...]
//
// Exit codes (core/cli.h): 0 done, 2 bad flags or config, 1 run-time failures
// (cannot listen, cannot write --port-file once serving, a failed step).
#include <csignal>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "core/protobuf_log.h"
#include "core/security_flags.h"
#include "core/stop_signals.h"
#include "learner/learner.h"

namespace {

int Fail(const absl::Status& status, int code) {
  std::cerr << "agentgym-learner: " << status.ToString() << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  agentgym::InstallStopSignals();  // before any thread of ours starts
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
  agentgym::ServerSecurityOptions security;
  agentgym::AddServerSecurityFlags(app, &security);
  agentgym::PeerSecurityFlags peer_security;
  agentgym::AddPeerSecurityFlags(app, &peer_security);
  std::string advertise;
  app.add_option("--advertise", advertise,
                 "host:port actors dial for this learner; its host is also where the rendezvous "
                 "store and Gloo bind (default: the --listen address; set it when ranks or actors "
                 "are on other machines)");
  AG_PARSE_COMMAND_LINE(app, argc, argv);  // CLI11's errors exit 2 (core/cli.h)
  // Bad strings in requests: one log line per kind and minute, not per request.
  agentgym::InstallProtobufLogHandler();

  constexpr int kUsage = agentgym::kExitUsage;
  if (absl::Status s = agentgym::SetLogLevel(log_level); !s.ok()) return Fail(s, kUsage);
  agentgym::Config config;
  if (!config_path.empty()) {
    auto loaded = agentgym::Config::FromFile(config_path);
    if (!loaded.ok()) return Fail(loaded.status(), kUsage);
    config = *std::move(loaded);
  }
  if (absl::Status s = config.ApplyOverrides(overrides); !s.ok()) return Fail(s, kUsage);
  auto options = agentgym::learner::LearnerOptionsFromConfig(config);
  if (!options.ok()) return Fail(options.status(), kUsage);
  if (max_steps >= 0) options->train.max_steps = max_steps;
  if (auto hp = agentgym::ParseHostPort(listen); !hp.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--listen: ", hp.status().message())),
                kUsage);
  }
  if (!advertise.empty()) {
    if (auto hp = agentgym::ParseHostPort(advertise, /*min_port=*/1); !hp.ok()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat("--advertise: ", hp.status().message())),
                  kUsage);
    }
  }
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    return Fail(absl::InvalidArgumentError("--rank must be in [0, --world-size)"), kUsage);
  }
  if (!port_file.empty()) {  // an unwritable --port-file is refused before serving
    if (auto s = agentgym::CheckPortFileWritable(port_file); !s.ok()) return Fail(s, kUsage);
  }

  // Stop signals are collected by one watcher (core/stop_signals.h), so
  // shutdown runs on the training thread.
  absl::Notification stop, finished;
  std::thread watcher([&] {
    while (!finished.HasBeenNotified()) {
      const int sig = agentgym::WaitForStopSignal(absl::Milliseconds(200));
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
  run.security = security;
  run.coordinator = coordinator;
  run.coordinator_security = peer_security.For(security);
  run.advertise = advertise;
  run.rendezvous = rendezvous;
  run.run_dir = run_dir;
  run.rank = rank;
  run.world_size = world_size;
  run.resume = resume;
  absl::Status port_status;
  run.on_listening = [&](const std::string& address, int port) {
    if (!port_file.empty()) {
      port_status = agentgym::WritePortFile(port_file, port);
      if (!port_status.ok()) {
        port_status = absl::Status(port_status.code(),
                                   absl::StrCat("--port-file: ", port_status.message()));
        return port_status;  // Create fails; the server never says it is listening
      }
    }
    // After the port file, so whoever sees this line can also read the file.
    std::cout << "listening on " << address << std::endl;
    return absl::OkStatus();
  };
  auto learner = agentgym::learner::Learner::Create(run);
  if (!learner.ok()) {
    join_watcher();
    // The port file checked writable before serving and still not written:
    // a run-time failure. Otherwise bad options or model: 2; cannot listen,
    // a peer that is not there: 1.
    if (!port_status.ok()) return Fail(port_status, agentgym::kExitRuntime);
    return Fail(learner.status(), agentgym::ExitCodeFor(learner.status()));
  }
  absl::Status result = (*learner)->Run(&stop);
  learner->reset();
  join_watcher();
  if (!result.ok()) return Fail(result, agentgym::kExitRuntime);
  return agentgym::kExitOk;
}
