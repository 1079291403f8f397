#ifndef AGENTGYM_TESTS_COMMON_TEST_PROCESS_H_
#define AGENTGYM_TESTS_COMMON_TEST_PROCESS_H_

// Runs real binaries for integration tests: a long-lived server started on
// 127.0.0.1 port 0 (ServerProcess) and short-lived commands (RunCommand).
// Waiting is done with poll() on pipes and pidfds, or on a condition over the
// captured stdout, never by sleeping. No test leaves a process behind: a
// server still running when its ServerProcess goes away is killed and
// reaped, and a command running past its timeout is killed.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

struct ServerOptions {
  // Adds `--listen 127.0.0.1:0 --port-file <tmp>` before the caller's args
  // and checks that the port file says the port printed. Off for a binary
  // without --port-file (or one that writes it after printing): the caller
  // passes its own --listen, and only the printed line counts.
  bool listen_with_port_file = true;
  // Set in the child's environment (replacing inherited values).
  std::map<std::string, std::string> env;
  // How long to wait for the "listening on" line.
  absl::Duration timeout = absl::Seconds(60);
};

// A server binary running as a child process: anything that prints
// "listening on HOST:PORT" on stdout once it serves (agentgym-env-server,
// the bridge, the coordinator, the Python SDK's servers).
//
// Start() waits for that line (and, by default, checks --port-file; see
// ServerOptions). The child's stderr goes to a log file (Log()); its stdout
// is read to EOF by a thread so the child never blocks on it (Stdout(),
// WaitForLine()). The destructor kills a child still running (SIGKILL) and
// reaps it. Not thread-safe except Log(), Stdout() and WaitForLine().
class ServerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(60));
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const ServerOptions& options);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string target() const;  // "127.0.0.1:<port>"
  // HOST:PORT as the "listening on" line printed it.
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  // Sends `signal`; returns the child's wait status once it has exited
  // (DEADLINE_EXCEEDED if it is still running after `timeout`).
  absl::StatusOr<int> Signal(int signal, absl::Duration timeout);
  // SIGTERM, then waits up to `timeout`. Returns the exit code, 128+N if
  // signal N ended it, or -1 if it was still running (it is then killed
  // with SIGKILL and reaped).
  int Stop(absl::Duration timeout = absl::Seconds(30));
  // Whether the child is still running (does not reap it).
  bool Running();
  // The child's stderr so far.
  std::string Log() const;
  // The child's stdout so far, from the "listening on" line.
  std::string Stdout() const;
  // The first whole stdout line starting with `prefix`, without the prefix,
  // waiting up to `timeout` for it to be printed. NOT_FOUND if stdout closes
  // without one, DEADLINE_EXCEEDED if none comes in time.
  absl::StatusOr<std::string> WaitForLine(absl::string_view prefix, absl::Duration timeout);

 private:
  ServerProcess() = default;
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  void DrainStdout();

  TempDir dir_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;
  int port_ = 0;
  std::string address_;
  std::optional<int> exit_status_;
  std::thread drainer_;  // reads stdout to EOF so the child never blocks
  mutable absl::Mutex mu_;
  std::string stdout_ ABSL_GUARDED_BY(mu_);
  bool stdout_closed_ ABSL_GUARDED_BY(mu_) = false;
};

struct RunOptions {
  absl::Duration timeout = absl::Seconds(60);
  // Set in the child's environment (replacing inherited values).
  std::map<std::string, std::string> env;
  // For a start that should be refused: a child that prints a line starting
  // with "listening on" is killed (SIGKILL) at once and the result says
  // started_serving, so a test never waits out the timeout on it.
  bool kill_if_serving = false;
};

struct CommandResult {
  int exit_code = -1;    // exit status, or -1 if killed by a signal
  int term_signal = 0;   // the signal that killed it, if any
  std::string output;    // stdout and stderr interleaved
  bool started_serving = false;  // printed "listening on" (kill_if_serving)
};

// Runs `binary args...` to completion with stdin from /dev/null and returns
// its output; DEADLINE_EXCEEDED (after killing it) if it runs past the timeout.
absl::StatusOr<CommandResult> RunCommand(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         absl::Duration timeout = absl::Seconds(60));
absl::StatusOr<CommandResult> RunCommand(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         const RunOptions& options);

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_COMMON_TEST_PROCESS_H_
