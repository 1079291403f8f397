// agentgym-env-check: the conformance test of the Env contract, for any
// server that implements it.
//
//   agentgym-env-check --target 127.0.0.1:50051 [--env textcraft]
//
// Prints a pass/fail table with reasons; exits 0 when every check passed,
// 1 when one failed (or, with --strict, was skipped), 2 on bad usage.

#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "core/cli.h"
#include "core/flag_checks.h"
#include "core/logging.h"
#include "env_server/conformance/env_check.h"

int main(int argc, char** argv) {
  namespace cf = agentgym::env::conformance;
  CLI::App app{"agentgym-env-check: drives an Env server through the contract"};
  cf::CheckOptions options;
  std::vector<std::string> actions;
  double rpc_timeout_s = 10, ttl_wait_s = 20;
  bool skip_ttl = false, strict = false;
  app.add_option("--target", options.target, "host:port of the Env server")->required();
  app.add_option("--env", options.env, "check only this env (default: every listed env)");
  app.add_option("--action", actions,
                 "action text replayed in episodes (repeatable; default: generic probes)");
  app.add_option("--max-turns", options.max_episode_turns,
                 "turns after which an episode that has not ended is a skip (>= 1)");
  app.add_option("--concurrency", options.concurrent_sessions,
                 "parallel sessions to run (1..4096)");
  app.add_option("--rpc-timeout-s", rpc_timeout_s, "deadline of every RPC (0, 3600]");
  app.add_option("--ttl-max-wait-s", ttl_wait_s,
                 "how long to wait for the server to reclaim an idle session (0, 3600]");
  app.add_option("--max-sessions-probe", options.max_sessions_probe,
                 "probe RESOURCE_EXHAUSTED only when max_sessions is at most this");
  app.add_flag("--skip-ttl", skip_ttl, "skip the idle-TTL check (it takes seconds)");
  app.add_flag("--strict", strict, "count skipped checks as failures");
  AG_PARSE_COMMAND_LINE(app, argc, argv);  // CLI11's errors exit 2 (core/cli.h)
  // Ranges after parsing: CLI11's validators print unreadable ranges.
  for (const absl::Status& s :
       {agentgym::CheckAtLeast("--max-turns", options.max_episode_turns, 1),
        agentgym::CheckInRange("--concurrency", options.concurrent_sessions, 1, 4096),
        agentgym::CheckPositive("--rpc-timeout-s", rpc_timeout_s, 3600),
        agentgym::CheckPositive("--ttl-max-wait-s", ttl_wait_s, 3600),
        agentgym::CheckAtLeast("--max-sessions-probe", options.max_sessions_probe, 0)}) {
    if (!s.ok()) {
      std::cerr << "agentgym-env-check: " << s.message() << "\n";
      return 2;
    }
  }

  (void)agentgym::SetLogLevel("warn");
  if (!actions.empty()) options.actions = actions;
  options.rpc_timeout = absl::Seconds(rpc_timeout_s);
  options.ttl_max_wait = absl::Seconds(ttl_wait_s);
  options.check_ttl = !skip_ttl;
  auto results = cf::RunConformance(options);
  std::cout << "agentgym-env-check " << options.target
            << (options.env.empty() ? "" : " env " + options.env) << "\n"
            << cf::FormatReport(results, strict);
  std::cout.flush();
  return cf::Passed(results, strict) ? 0 : 1;
}
