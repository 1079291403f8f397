#ifndef AGENTGYM_TESTS_PLUGIN_FAULTY_ENV_SERVICE_H_
#define AGENTGYM_TESTS_PLUGIN_FAULTY_ENV_SERVICE_H_

// A deliberately broken Env server for the conformance checker's tests: the
// real EnvService with one contract violation injected, so each test can
// show that agentgym-env-check fails exactly the check that covers it.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "env_server/env_service.h"
#include "grpcpp/server.h"

namespace agentgym::env::testing {

enum class Fault {
  kNone,
  kUnknownSessionIsOk,        // Step of an unknown session id succeeds
  kAcceptsNonUtf8,            // malformed action text is stepped instead of rejected
  kRejectsEmptyAction,        // an empty action is rejected instead of answered in-game
  kNondeterministic,          // observations carry a global counter
  kBatchOutOfOrder,           // BatchStep answers items in reverse order
  kNeverReclaims,             // idle sessions are never reclaimed
  kStepsAfterEnd,             // stepping an ended episode succeeds
  kCloseUnknownIsInternal,    // Close of an unknown session answers INTERNAL
  kNoSessionCap,              // max_sessions is advertised but not enforced
  kIgnoresExpectedTurn,       // Step applies steps whatever their expected_turn
  kBatchIgnoresExpectedTurn,  // BatchStep does (Step honours it)
  kAppliesOutOfTurnSteps,     // repeats are replayed, but other out-of-turn steps applied
};

const char* FaultName(Fault fault);

// Serves the counter env (env_server/testing/counter_env.h) on 127.0.0.1 with
// `fault` injected. Reclaims idle sessions every 100 ms (unless the fault
// says otherwise). Shuts down and joins in the destructor.
class FaultyEnvServer {
 public:
  static absl::StatusOr<std::unique_ptr<FaultyEnvServer>> Start(Fault fault, int64_t max_sessions);
  ~FaultyEnvServer();
  std::string address() const { return address_; }

 private:
  FaultyEnvServer() = default;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<EnvService> inner_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  absl::Notification stop_;
  std::thread reaper_;
};

}  // namespace agentgym::env::testing

#endif  // AGENTGYM_TESTS_PLUGIN_FAULTY_ENV_SERVICE_H_
