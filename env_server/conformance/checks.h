#ifndef AGENTGYM_ENV_SERVER_CONFORMANCE_CHECKS_H_
#define AGENTGYM_ENV_SERVER_CONFORMANCE_CHECKS_H_

// Internals of the conformance checker: the shared context, a verdict
// collector, and the check groups (one file each).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/client/env_client.h"
#include "env_server/conformance/env_check.h"

namespace agentgym::env::conformance {

// What the checks of one env share. The client is thread-safe.
struct Context {
  const CheckOptions* options;
  EnvClient* client;
  v1::ListEnvsResponse server;  // as discovered
  v1::EnvInfo env;              // the env under test
  std::string first_task_id;    // a listed train task ("" when none)
};

// Collects the outcome of one check: the first failure wins; a skip counts
// only when nothing failed.
class Verdict {
 public:
  void Fail(std::string reason);
  void Skip(std::string reason);
  void Note(std::string detail);
  bool failed() const { return failed_; }
  // Returns false (and fails) when `status` does not have `want`.
  bool ExpectCode(const absl::Status& status, absl::StatusCode want, const std::string& what);
  // Returns false (and fails, naming `what`) when `status` is not OK.
  bool ExpectOk(const absl::Status& status, const std::string& what);
  CheckResult Finish(std::string name) const;

 private:
  bool failed_ = false;
  bool skipped_ = false;
  std::string reason_;
  std::vector<std::string> notes_;
};

using CheckFn = std::function<void(Context&, Verdict&)>;
struct NamedCheck {
  std::string name;
  CheckFn fn;
};

// Check groups; names are relative to the env ("episode", "batch.step", ...).
std::vector<NamedCheck> SessionChecks();
std::vector<NamedCheck> ActionChecks();
std::vector<NamedCheck> BatchChecks();
std::vector<NamedCheck> TurnChecks();
std::vector<NamedCheck> ConcurrencyChecks();
// Server-wide checks that need an env (TTL, session cap): run once.
std::vector<NamedCheck> ServerChecks();

// Helpers shared by the groups.
std::string CodeName(absl::StatusCode code);
v1::CreateRequest CreateForTask(const Context& ctx, uint64_t seed);
// Closes the session when it goes out of scope (errors ignored).
class SessionCloser {
 public:
  SessionCloser(EnvClient* client, std::string id) : client_(client), id_(std::move(id)) {}
  ~SessionCloser() {
    if (!id_.empty()) (void)client_->Close(id_);
  }
  void Release() { id_.clear(); }
  SessionCloser(const SessionCloser&) = delete;
  SessionCloser& operator=(const SessionCloser&) = delete;

 private:
  EnvClient* client_;
  std::string id_;
};
// Steps `session` with the configured actions until the episode ends or
// `max_turns`; returns the results (an error Status aborts).
absl::StatusOr<std::vector<v1::StepResult>> PlayEpisode(Context& ctx, const std::string& session,
                                                        int max_turns);
// A one-line summary of a step result, for comparisons and messages.
std::string Summarize(const v1::StepResult& r);

}  // namespace agentgym::env::conformance

#endif  // AGENTGYM_ENV_SERVER_CONFORMANCE_CHECKS_H_
