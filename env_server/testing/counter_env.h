#ifndef AGENTGYM_ENV_SERVER_TESTING_COUNTER_ENV_H_
#define AGENTGYM_ENV_SERVER_TESTING_COUNTER_ENV_H_

// A minimal env for framework tests, independent of the built-in envs:
// reach the target number with "inc" / "dec" actions.
//   task types: "count" (train 10, test 5, target = 1 + index % 4).
//   actions: "inc", "dec"; anything else is invalid (observation says so).
//   reward 1 and success when the counter equals the target; truncated after
//   `max_turns` (8) turns.

#include <memory>

#include "env_server/environment.h"

namespace agentgym::env::testing {

std::unique_ptr<Environment> MakeCounterEnv();

}  // namespace agentgym::env::testing

#endif  // AGENTGYM_ENV_SERVER_TESTING_COUNTER_ENV_H_
