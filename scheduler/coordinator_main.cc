// agentgym-coordinator: registry, task sampler, horizon curriculum and run
// status for one training run. Parses flags and config, starts the server,
// prints the bound address, and runs until SIGINT/SIGTERM. Exit codes
// (core/cli.h): 0 after a clean shutdown, 2 for bad flags or config, 1 when
// it cannot start serving (e.g. the port is taken).
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/protobuf_log.h"
#include "core/security_flags.h"
#include "core/logging.h"
#include "scheduler/coordinator_options.h"
#include "scheduler/coordinator_server.h"

namespace {

// A problem with the flags or the config: exit code 2.
int Fail(const absl::Status& status) {
  std::cerr << "agentgym-coordinator: error: " << status.ToString() << "\n";
  return agentgym::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agentgym-coordinator: the one place that knows the whole run"};
  std::string config_path, curriculum_path, listen, metrics_listen, metrics_jsonl, state_file;
  std::string log_level = "info";
  std::vector<std::string> overrides;
  app.add_option("--config", config_path, "run config (YAML)")->check(CLI::ExistingFile);
  app.add_option("--curriculum", curriculum_path,
                 "a curriculum preset (YAML with a `curriculum:` key), e.g. "
                 "deploy/presets/curriculum/textcraft.yaml; replaces the config's")
      ->check(CLI::ExistingFile);
  app.add_option("--listen", listen, "host:port to serve on; port 0 picks a free one");
  app.add_option("--metrics-listen", metrics_listen, "host:port for Prometheus /metrics");
  app.add_option("--metrics-jsonl", metrics_jsonl, "append per-step metrics to this file");
  app.add_option("--state-file", state_file,
                 "save the curriculum stage and paused flag here on every change; load it at "
                 "start (coordinator.state_file)");
  app.add_option("--set", overrides, "config override key.path=value (repeatable)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  agentgym::ServerSecurityOptions security;
  agentgym::AddServerSecurityFlags(app, &security);
  agentgym::PeerSecurityFlags peer_security;
  agentgym::AddPeerSecurityFlags(app, &peer_security);
  AG_PARSE_COMMAND_LINE(app, argc, argv);
  // Bad strings in requests: one log line per kind and minute, not per request.
  agentgym::InstallProtobufLogHandler();

  if (absl::Status s = agentgym::SetLogLevel(log_level); !s.ok()) return Fail(s);
  agentgym::Config config;
  if (!config_path.empty()) {
    auto loaded = agentgym::Config::FromFile(config_path);
    if (!loaded.ok()) return Fail(loaded.status());
    config = *std::move(loaded);
  }
  if (!curriculum_path.empty()) {
    auto preset = agentgym::Config::FromFile(curriculum_path);
    if (!preset.ok()) return Fail(preset.status());
    if (!preset->Has("curriculum")) {
      return Fail(absl::InvalidArgumentError(curriculum_path + " has no `curriculum:` key"));
    }
    // Only `curriculum:` is taken from a preset; anything else would be lost.
    if (absl::Status s = preset->ExpectOnlyKeys("", {"curriculum"}); !s.ok()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(curriculum_path, ": ", s.message())));
    }
    YAML::Node root = config.root();
    root["curriculum"] = YAML::Clone(preset->Find("curriculum"));
  }
  if (absl::Status s = config.ApplyOverrides(overrides); !s.ok()) return Fail(s);
  auto options = agentgym::scheduler::CoordinatorOptionsFromConfig(config);
  if (!options.ok()) return Fail(options.status());
  // Flags win over the config. They are set on the parsed options rather
  // than spliced into the YAML, so no value needs quoting and none can fail
  // to apply.
  if (!listen.empty()) options->listen = listen;
  if (!metrics_listen.empty()) options->metrics_listen = metrics_listen;
  if (!metrics_jsonl.empty()) options->metrics_jsonl = metrics_jsonl;
  if (!state_file.empty()) options->service.state_file = state_file;
  options->security = security;
  options->env_server_security = peer_security.For(security);

  // Block the stop signals in every thread (the server's threads inherit the
  // mask) and wait for them here, so shutdown runs on this thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = agentgym::scheduler::CoordinatorServer::Start(*std::move(options));
  if (!server.ok()) {
    std::cerr << "agentgym-coordinator: error: " << server.status().ToString() << "\n";
    return agentgym::ExitCodeFor(server.status());  // cannot listen: 1; bad state file: 2
  }
  // Scripts and tests read the bound address (host as listened on, the
  // actual port) from this line.
  std::cout << "listening on " << (*server)->bound_address() << std::endl;
  if ((*server)->metrics_port() > 0) {
    std::cout << "metrics on port " << (*server)->metrics_port() << std::endl;
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  agentgym::GetLogger("coordinator")->info("signal {}: shutting down", signal);
  (*server)->Shutdown();
  return 0;
}
