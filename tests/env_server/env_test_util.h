#ifndef AGENTGYM_TESTS_ENV_SERVER_ENV_TEST_UTIL_H_
#define AGENTGYM_TESTS_ENV_SERVER_ENV_TEST_UTIL_H_

// Helpers shared by the env server's integration tests: clients of a server
// process, a health probe, and a scripted player that replays an env's oracle
// through the server (the envs are deterministic, so an in-process episode of
// the same (task, seed) knows the actions and what the server must answer).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "env_server/client/env_client.h"
#include "env_server/environment.h"

namespace agentgym::testing {

// A client with a per-call deadline and no retries by default (a test wants
// to see the first answer).
std::unique_ptr<env::EnvClient> MakeClient(const std::string& target,
                                           absl::Duration timeout = absl::Seconds(20),
                                           int max_attempts = 1);

// grpc.health.v1 Check of `service` ("" = the whole server): SERVING or not.
absl::StatusOr<bool> IsServing(const std::string& target, const std::string& service = "");

struct ScriptedEpisode {
  std::string task_id;
  int turns = 0;
  bool success = false;
  int recommended_max_turns = 0;
};

// Creates a session of `env_name` (task sampled from `task_type` in `split`
// with `seed`), replays the local oracle through the server until the episode
// ends or the task's recommended_max_turns run out, checks every server
// observation against the local episode, and closes the session.
// `options` must be the env options the server was started with.
absl::StatusOr<ScriptedEpisode> PlayScripted(env::EnvClient& client, const std::string& env_name,
                                             const std::string& task_type, env::Split split,
                                             uint64_t seed, const env::EnvOptions& options = {});

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_ENV_SERVER_ENV_TEST_UTIL_H_
