#ifndef AGENTGYM_TESTS_ENV_SERVER_SERVER_PROCESS_H_
#define AGENTGYM_TESTS_ENV_SERVER_SERVER_PROCESS_H_

// Runs real binaries for integration tests: a long-lived server started on
// 127.0.0.1 port 0 (ServerProcess) and short-lived commands (RunCommand).
// Waiting is done with poll() on pipes and pidfds, never by sleeping.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentgym::testing {

// A scratch directory removed (with its files) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// `agentgym-env-server` (or any binary with the same --listen / --port-file
// contract) running as a child process.
//
// Start() adds `--listen 127.0.0.1:0 --port-file <tmp>` to `args`, waits for
// the "listening on HOST:PORT" line on the child's stdout and checks that the
// port file says the same. The child's stderr goes to a log file (Log()).
// The destructor kills a child still running (SIGKILL) and reaps it, so a
// failing test leaves no process behind. Not thread-safe except Log().
class ServerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(60));
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string target() const;  // "127.0.0.1:<port>"
  pid_t pid() const { return pid_; }

  // Sends `signal`; returns the child's wait status once it has exited
  // (DEADLINE_EXCEEDED if it is still running after `timeout`).
  absl::StatusOr<int> Signal(int signal, absl::Duration timeout);
  // Whether the child is still running (does not reap it).
  bool Running();
  // The child's stderr so far.
  std::string Log() const;

 private:
  ServerProcess() = default;
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  void DrainStdout();

  TempDir dir_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;
  int port_ = 0;
  std::optional<int> exit_status_;
  std::thread drainer_;  // reads stdout to EOF so the child never blocks
  mutable absl::Mutex mu_;
  std::string stdout_ ABSL_GUARDED_BY(mu_);
};

struct CommandResult {
  int exit_code = -1;    // exit status, or -1 if killed by a signal
  int term_signal = 0;   // the signal that killed it, if any
  std::string output;    // stdout and stderr interleaved
};

// Runs `binary args...` to completion with stdin from /dev/null and returns
// its output; DEADLINE_EXCEEDED (after killing it) if it runs past `timeout`.
absl::StatusOr<CommandResult> RunCommand(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         absl::Duration timeout = absl::Seconds(60));

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_ENV_SERVER_SERVER_PROCESS_H_
