#ifndef AGENTGYM_TESTS_COORDINATOR_COORDINATOR_PROCESS_H_
#define AGENTGYM_TESTS_COORDINATOR_COORDINATOR_PROCESS_H_

// Helpers for tests that run the real binaries: an agentgym-coordinator child
// process on 127.0.0.1 port 0, and agentgym-ctl invocations.

#include <sys/types.h>

#include <string>
#include <vector>

namespace agentgym::testutil {

// Starts `agentgym-coordinator <args>` and waits for its "listening on" line.
// The child is killed with SIGTERM and reaped by Stop() or the destructor.
class CoordinatorProcess {
 public:
  explicit CoordinatorProcess(const std::vector<std::string>& args);
  ~CoordinatorProcess();
  CoordinatorProcess(const CoordinatorProcess&) = delete;
  CoordinatorProcess& operator=(const CoordinatorProcess&) = delete;

  bool ok() const { return !address_.empty(); }
  const std::string& address() const { return address_; }
  int metrics_port() const { return metrics_port_; }
  // SIGTERM, then waits; returns the exit code (-1 if killed by a signal).
  int Stop();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string address_;
  int metrics_port_ = 0;
};

struct CommandResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

// Runs agentgym-ctl with `args` (shell-quoted by the caller when needed).
CommandResult Ctl(const std::string& args);

// Runs `agentgym-coordinator <args>` for a start that should be refused and
// returns its exit code and output (stdout and stderr). If it starts serving
// after all (prints "listening on"), it is stopped at once and `code` is
// kStartedAnyway, so a test can never hang on it.
inline constexpr int kStartedAnyway = -2;
CommandResult RunCoordinatorExpectingRefusal(const std::vector<std::string>& args);

// A fresh path under $TEST_TMPDIR or /tmp, removed first.
std::string TempPath(const std::string& name);

}  // namespace agentgym::testutil

#endif  // AGENTGYM_TESTS_COORDINATOR_COORDINATOR_PROCESS_H_
