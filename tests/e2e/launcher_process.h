#ifndef AGENTGYM_TESTS_E2E_LAUNCHER_PROCESS_H_
#define AGENTGYM_TESTS_E2E_LAUNCHER_PROCESS_H_

// `agentgym train` as a child of an e2e test: its output (stdout and stderr,
// one pipe) is read line by line with poll(), so a test waits for events
// ("step 40/120" in a progress line) without sleeping; its children are
// found through /proc (their parent is the launcher), so a test can kill
// one by name. The destructor SIGKILLs a launcher still running; its
// children follow (PR_SET_PDEATHSIG).

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agentgym::testing {

class LauncherProcess {
 public:
  static absl::StatusOr<std::unique_ptr<LauncherProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args);
  ~LauncherProcess();
  LauncherProcess(const LauncherProcess&) = delete;
  LauncherProcess& operator=(const LauncherProcess&) = delete;

  // Reads output until a line satisfies `match` (true), the output ends or
  // `timeout` passes (false).
  bool WaitForLine(const std::function<bool(const std::string&)>& match, absl::Duration timeout);
  // Until a progress line shows a learner step >= `step`.
  bool WaitForStep(int64_t step, absl::Duration timeout);
  // Reads what output comes within `timeout`; false once the output ended
  // (the launcher exited).
  bool Pump(absl::Duration timeout);
  // Reads the rest of the output and reaps the launcher; its exit code, or
  // 128+N for signal N, or -1 after `timeout` (it is then killed).
  int Wait(absl::Duration timeout);

  // The launcher's children by role: "coordinator", "env-server", "learner",
  // "actor" -> pids (in /proc order).
  std::map<std::string, std::vector<pid_t>> Children() const;
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }
  // The latest learner step seen in a progress line (-1: none yet).
  int64_t last_step() const { return last_step_; }
  // "run directory: X" from the output.
  std::string run_dir() const;

 private:
  LauncherProcess() = default;
  // One read with poll(); false at EOF or timeout.
  bool ReadSome(absl::Duration timeout);
  void ScanNewLines();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  std::string output_;
  size_t scanned_ = 0;
  std::vector<std::string> lines_;
  int64_t last_step_ = -1;
};

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_E2E_LAUNCHER_PROCESS_H_
