#ifndef AGENTGYM_TESTS_COORDINATOR_COORDINATOR_PROCESS_H_
#define AGENTGYM_TESTS_COORDINATOR_COORDINATOR_PROCESS_H_

// Helpers for tests that run the real binaries: an agentgym-coordinator child
// process on 127.0.0.1 port 0, and agentgym-ctl invocations. Thin wrappers
// over tests/common/test_process.h.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/common/test_process.h"

namespace agentgym::testutil {

// Starts `agentgym-coordinator <args>` (the caller passes --listen) and waits
// for its "listening on" line, then for "metrics on port N" when
// --metrics-listen is given. The child is stopped with SIGTERM by Stop() or
// the destructor (killed if it is still running 30 s later) and reaped.
class CoordinatorProcess {
 public:
  explicit CoordinatorProcess(const std::vector<std::string>& args);
  ~CoordinatorProcess() { Stop(); }
  CoordinatorProcess(const CoordinatorProcess&) = delete;
  CoordinatorProcess& operator=(const CoordinatorProcess&) = delete;

  bool ok() const { return process_.ok(); }
  // Why it did not start (with its stdout and stderr), if it did not.
  absl::Status status() const { return process_.status(); }
  // HOST:PORT as printed; empty if it did not start.
  const std::string& address() const;
  int metrics_port() const { return metrics_port_; }
  // SIGTERM, then waits up to 30 s; returns the exit code (128+N if signal N
  // ended it, -1 if it had to be killed or never started).
  int Stop();

 private:
  absl::StatusOr<std::unique_ptr<testing::ServerProcess>> process_;
  int metrics_port_ = 0;
};

struct CommandResult {
  int code = -1;       // -1 if killed by a signal or it could not be run
  std::string output;  // stdout and stderr together
};

// Runs agentgym-ctl with `args`, split at spaces (no quoting).
CommandResult Ctl(const std::string& args);

// Runs `agentgym-coordinator <args>` for a start that should be refused and
// returns its exit code and output (stdout and stderr). If it starts serving
// after all (prints "listening on"), it is killed at once and `code` is
// kStartedAnyway, so a test can never hang on it.
inline constexpr int kStartedAnyway = -2;
CommandResult RunCoordinatorExpectingRefusal(const std::vector<std::string>& args);

// A fresh path under $TEST_TMPDIR or /tmp, removed first.
std::string TempPath(const std::string& name);

}  // namespace agentgym::testutil

#endif  // AGENTGYM_TESTS_COORDINATOR_COORDINATOR_PROCESS_H_
