#ifndef AGENTGYM_ENV_SERVER_TESTING_FLAKY_ENV_SERVER_H_
#define AGENTGYM_ENV_SERVER_TESTING_FLAKY_ENV_SERVER_H_

// An Env server on 127.0.0.1 (port 0) that fails calls on purpose, for tests
// of clients' retries: in front of a real EnvService over the counter env, it
// fails the next N calls of a method with UNAVAILABLE, either before
// forwarding them (the request was lost on the way in: nothing applied) or
// after (the call was applied and its reply lost: the case a retry must not
// apply twice). It records every call's deadline, and can play a server that
// ignores StepRequest.expected_turn.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "env_server/env_service.h"
#include "grpcpp/server.h"

namespace agentgym::env::testing {

class FlakyEnvServer {
 public:
  enum class Fail { kBeforeApplying, kAfterApplying };

  static absl::StatusOr<std::unique_ptr<FlakyEnvServer>> Start();
  ~FlakyEnvServer();

  const std::string& address() const { return address_; }
  EnvService& inner() { return *inner_; }

  // `method` is the Env method's name ("Step", "BatchStep", "Create", ...).
  void FailNext(const std::string& method, int count, Fail when);
  // Drop StepRequest.expected_turn (also in BatchStep items) before the real
  // service sees it, as a server would that does not know the field.
  void IgnoreExpectedTurns(bool ignore);

  // Calls of `method` received so far (every attempt counts), and their
  // deadlines.
  int calls(const std::string& method) const;
  std::vector<absl::Time> deadlines(const std::string& method) const;

  // Implementation: the service calls this per request; returns the failure
  // to inject for this call, if any.
  struct Injected {
    bool fail = false;
    Fail when = Fail::kBeforeApplying;
  };
  Injected OnCall(const std::string& method, absl::Time deadline);
  bool ignore_expected_turns() const;

 private:
  FlakyEnvServer() = default;
  struct Plan {
    int remaining = 0;
    Fail when = Fail::kBeforeApplying;
  };

  metrics::Registry metrics_;  // outlives inner_
  std::unique_ptr<EnvService> inner_;
  std::unique_ptr<v1::Env::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  mutable absl::Mutex mu_;
  std::map<std::string, Plan> plans_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<absl::Time>> seen_ ABSL_GUARDED_BY(mu_);
  bool ignore_expected_turns_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agentgym::env::testing

#endif  // AGENTGYM_ENV_SERVER_TESTING_FLAKY_ENV_SERVER_H_
