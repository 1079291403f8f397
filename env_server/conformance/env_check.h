#ifndef AGENTGYM_ENV_SERVER_CONFORMANCE_ENV_CHECK_H_
#define AGENTGYM_ENV_SERVER_CONFORMANCE_ENV_CHECK_H_

// The Env contract's acceptance test: drives any Env server (C++, Python SDK,
// HTTP bridge, anything implementing proto/agentgym/env/v1/env.proto) through
// discovery, sessions, the error model, the batched path, concurrency, TTL
// and determinism, and reports one result per check.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace agentgym::env::conformance {

struct CheckOptions {
  std::string target;     // host:port
  std::string env;        // empty: every env the server lists
  absl::Duration rpc_timeout = absl::Seconds(10);  // deadline of every call
  // Actions replayed (cyclically) in episodes; arbitrary text is fine, since
  // an in-game invalid action must still be a successful step.
  std::vector<std::string> actions = {"look", "inventory", "Action: go north", "help", "1"};
  int max_episode_turns = 200;  // an episode that has not ended by then: skip
  int concurrent_sessions = 16;
  bool check_ttl = true;
  absl::Duration ttl_max_wait = absl::Seconds(20);  // for the reaper to act
  int64_t max_sessions_probe = 512;  // probe RESOURCE_EXHAUSTED up to this cap
};

enum class Outcome { kPass, kFail, kSkip };

struct CheckResult {
  std::string name;    // e.g. "counter/actions.non_utf8"
  Outcome outcome = Outcome::kPass;
  std::string detail;  // what was seen; the reason for a failure or skip
};

// Runs every check; never throws or crashes on a misbehaving server.
std::vector<CheckResult> RunConformance(const CheckOptions& options);

// The pass/fail table with reasons and a closing summary line whose verdict
// is Passed(results, strict)'s, e.g. "conformance FAILED under --strict: 1
// skipped (...)".
std::string FormatReport(const std::vector<CheckResult>& results, bool strict = false);

// True when no check failed (and, with `strict`, none was skipped).
bool Passed(const std::vector<CheckResult>& results, bool strict);

}  // namespace agentgym::env::conformance

#endif  // AGENTGYM_ENV_SERVER_CONFORMANCE_ENV_CHECK_H_
