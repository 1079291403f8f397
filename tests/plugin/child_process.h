#ifndef AGENTGYM_TESTS_PLUGIN_CHILD_PROCESS_H_
#define AGENTGYM_TESTS_PLUGIN_CHILD_PROCESS_H_

// A server process for tests: started with a pipe on its stdout, waited on
// until it prints "listening on HOST:PORT", stopped with SIGTERM (SIGKILL in
// the destructor if it is still running), so no test leaves a process behind.

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agentgym::testing {

struct ProcessResult {
  int exit_status = -1;  // -1 if it had to be killed, 128+N if signal N ended it
  std::string output;    // stdout and stderr together
};

class ChildProcess {
 public:
  // Runs argv[0] (a path) to completion with its stdout and stderr captured;
  // kills it after `timeout` (exit_status -1). INTERNAL if it cannot start.
  static absl::StatusOr<ProcessResult> Run(const std::vector<std::string>& argv,
                                           absl::Duration timeout = absl::Seconds(60));

  // Starts argv[0] (a path) with `env` added to the environment and waits up
  // to `timeout` for its "listening on" line. DEADLINE_EXCEEDED / INTERNAL.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> StartServer(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
      absl::Duration timeout = absl::Seconds(60));
  ~ChildProcess();

  const std::string& address() const { return address_; }
  // SIGTERM, then waits up to `timeout`; returns the exit status (-1 if it
  // had to be killed, 128+N if a signal N ended it).
  int Stop(absl::Duration timeout = absl::Seconds(15));

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string address_;
};

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_PLUGIN_CHILD_PROCESS_H_
