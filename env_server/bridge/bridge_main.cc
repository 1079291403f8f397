// agentgym-env-bridge: serves AgentGym HTTP env servers over the Env gRPC
// contract, so the AgentGym ecosystem's environments work unchanged.
//
//   agentgym-env-bridge --upstream textcraft=http://127.0.0.1:36001
//   agentgym-env-bridge --config bridge.yaml --listen 127.0.0.1:50052
//   agentgym-env-bridge --print-known-envs
//
// Its own binary (not a mode of agentgym-env-server): it links no built-in env
// and its config is the upstream table; the server machinery (sessions, TTL,
// limits, batching, health, reflection) is the same EnvServer. Prints
// "listening on HOST:PORT" once ready; shuts down on SIGTERM / SIGINT.
// Exit codes (core/cli.h): 0 after a clean shutdown, 2 for bad flags or
// config (an unwritable --port-file too), 1 when it cannot serve.

#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/protobuf_log.h"
#include "core/security_flags.h"
#include "core/flag_checks.h"
#include "core/net_address.h"
#include "core/logging.h"
#include "env_server/bridge/bridge_env.h"
#include "env_server/env_server.h"

namespace {

namespace bridge = agentgym::env::bridge;

// A problem with the flags or the config: exit code 2.
int Fail(const absl::Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return agentgym::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // only the watcher thread takes them

  CLI::App app{"agentgym-env-bridge: AgentGym HTTP env servers over the Env gRPC contract"};
  std::string config_path, listen = "127.0.0.1:50052", port_file, log_level = "info";
  std::vector<std::string> overrides, upstreams;
  int64_t max_sessions = 4096, max_action_bytes = 64 * 1024;
  double ttl_s = 600;
  bool print_known = false;
  app.add_option("--config", config_path, "YAML: envs: {name: {base_url: ..., overrides}}");
  app.add_option("--upstream", upstreams, "<env>=<base_url> (repeatable; a known env's preset)");
  app.add_option("--set", overrides, "config override key.path=value (repeatable)");
  auto* listen_flag = app.add_option("--listen", listen,
                                     "host:port to serve on; port 0 picks a free port (wins "
                                     "over the config's listen)");
  app.add_option("--max-sessions", max_sessions, "maximum open sessions (1 to 1000000)");
  app.add_option("--session-ttl-s", ttl_s, "default idle TTL of a session, seconds (0, 7200]");
  app.add_option("--max-action-bytes", max_action_bytes, "largest action accepted (>= 1)");
  app.add_option("--port-file", port_file, "write the bound port here once serving");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  app.add_flag("--print-known-envs", print_known, "print the shipped table of known envs");
  agentgym::ServerSecurityOptions security;
  agentgym::AddServerSecurityFlags(app, &security);
  AG_PARSE_COMMAND_LINE(app, argc, argv);
  // Bad strings in requests: one log line per kind and minute, not per request.
  agentgym::InstallProtobufLogHandler();

  if (print_known) {
    std::cout << bridge::KnownEnvsYaml();
    return 0;
  }
  if (auto s = agentgym::SetLogLevel(log_level); !s.ok()) return Fail(s);
  // Ranges after parsing: CLI11's validators print unreadable ranges and let
  // NaN through (absl::Seconds(inf) would be an infinite TTL).
  const absl::Duration max_ttl = agentgym::env::EnvServerOptions().service.sessions.max_idle_ttl;
  for (const absl::Status& s :
       {agentgym::CheckInRange("--max-sessions", max_sessions, 1,
                               agentgym::env::kMaxSessionsLimit),
        agentgym::CheckAtLeast("--max-action-bytes", max_action_bytes, 1),
        agentgym::CheckPositive("--session-ttl-s", ttl_s, absl::ToDoubleSeconds(max_ttl))}) {
    if (!s.ok()) return Fail(s);
  }
  agentgym::Config config;
  if (!config_path.empty()) {
    auto loaded = agentgym::Config::FromFile(config_path);
    if (!loaded.ok()) return Fail(loaded.status());
    config = *std::move(loaded);
  }
  for (const auto& u : upstreams) {
    size_t eq = u.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(absl::InvalidArgumentError("--upstream '" + u + "' must be <env>=<base_url>"));
    }
    overrides.push_back("envs." + u.substr(0, eq) + ".base_url=" + u.substr(eq + 1));
  }
  if (auto s = config.ApplyOverrides(overrides); !s.ok()) return Fail(s);
  if (auto s = config.ExpectOnlyKeys("", {"envs", "listen"}); !s.ok()) return Fail(s);
  auto upstream_configs = bridge::ParseBridgeConfig(config.Find("envs"));
  if (!upstream_configs.ok()) return Fail(upstream_configs.status());

  std::map<std::string, std::unique_ptr<agentgym::env::Environment>> envs;
  std::vector<bridge::BridgeEnvironment*> bridges;  // owned by `envs`, then by the server
  for (auto& c : *upstream_configs) {
    std::string name = c.name;
    auto env = bridge::BridgeEnvironment::Create(std::move(c));
    if (!env.ok()) return Fail(env.status());
    agentgym::GetLogger("bridge")->info("env '{}' -> {}", name, (*env)->config().base_url);
    bridges.push_back(env->get());
    envs.emplace(name, *std::move(env));
  }
  agentgym::env::EnvServerOptions options;
  auto from_config = config.GetOr<std::string>("listen", listen);
  if (!from_config.ok()) return Fail(from_config.status());
  if (listen_flag->count() == 0) listen = *from_config;
  options.listen = listen;
  options.security = security;
  options.service.sessions.max_sessions = max_sessions;
  options.service.sessions.default_idle_ttl = absl::Seconds(ttl_s);
  options.service.max_action_bytes = max_action_bytes;
  options.reap_interval = std::min(absl::Seconds(5), absl::Seconds(ttl_s) / 2);
  if (!port_file.empty()) {  // refused before serving, not after
    if (auto s = agentgym::CheckPortFileWritable(port_file); !s.ok()) return Fail(s);
  }
  auto server = agentgym::env::EnvServer::StartWithEnvs(options, std::move(envs));
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return agentgym::ExitCodeFor(server.status());  // cannot listen: 1
  }
  if (!port_file.empty()) {
    if (auto s = agentgym::WritePortFile(port_file, (*server)->port()); !s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      (*server)->Shutdown(absl::ZeroDuration());
      return agentgym::kExitRuntime;
    }
  }
  // After the port file, so whoever sees this line can also read the file.
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    agentgym::GetLogger("bridge")->info("signal {}: shutting down", sig);
    // Calls in flight get the grace period. gRPC cancels them then, but its
    // Shutdown still waits for their handlers, which may sit in an upstream
    // call for its whole timeout (30 s by default): those calls are aborted
    // when the grace runs out, so the process exits well within Docker's
    // 10 s stop timeout.
    const absl::Duration grace = absl::Seconds(5);
    absl::Notification shut_down;
    std::thread aborter([&] {
      if (shut_down.WaitForNotificationWithTimeout(grace)) return;
      // Repeated: a handler between two upstream calls (a Create's create
      // and reset) starts its second one after the first check.
      do {
        for (auto* b : bridges) b->AbortIfBusy();
      } while (!shut_down.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
    });
    (*server)->Shutdown(grace);
    shut_down.Notify();
    aborter.join();
  });
  (*server)->Wait();
  watcher.join();
  return 0;
}
