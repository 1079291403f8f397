#ifndef AGENTGYM_LAUNCHER_SUPERVISOR_H_
#define AGENTGYM_LAUNCHER_SUPERVISOR_H_

// Runs the processes of one training run as supervised children: each in its
// own process group, stdout and stderr appended to its log file, restarted
// with exponential backoff when it exits on its own, and a crash loop (too
// many exits in a window) reported as the run's failure, naming the child
// and its last log lines.

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentgym::launcher {

struct ChildSpec {
  std::string name;    // unique: "coordinator", "env-server-0", "learner-0", "actor-1"
  std::string binary;  // path of the executable
  std::vector<std::string> args;
  // Appended to `args` when the child is started again after an exit (the
  // learner gets `--resume` so a restarted rank continues from its checkpoint).
  std::vector<std::string> restart_args;
  std::string log_path;  // stdout and stderr are appended here
  // Set in the child's environment on top of the inherited one.
  std::vector<std::pair<std::string, std::string>> env;
  // false: an exit with code 0 is final (the learner exits 0 when the run is
  // done); any other exit is a crash and restarted.
  bool restart_on_clean_exit = true;
};

struct SupervisorOptions {
  absl::Duration initial_backoff = absl::Milliseconds(500);  // before the first restart
  absl::Duration max_backoff = absl::Seconds(10);            // backoff doubles up to this
  // A child that exits `crash_loop_count` times within `crash_loop_window`
  // ends the run (Supervisor::failure()). A child that ran longer than the
  // window before exiting starts its backoff afresh.
  int crash_loop_count = 5;
  absl::Duration crash_loop_window = absl::Seconds(60);
  size_t tail_lines = 30;  // log lines kept in memory per child for messages
};

// One exit seen by Poll().
struct ChildExit {
  std::string name;
  int exit_code = -1;   // -1 when a signal ended it
  int term_signal = 0;  // the signal that ended it, if any
  bool will_restart = false;
  bool stopped = false;  // it was asked to stop (Stop/BeginStop), not a crash
  std::string Describe() const;  // "exit code 3" / "killed by signal 9 (Killed)"
};

// Thread-compatible: one thread (the launcher's loop) drives it. Output
// readers are threads it owns; each is joined once its child's output ends
// (at the latest by the destructor, which SIGKILLs and reaps every child
// still running). Children get SIGTERM should the launcher die first
// (PR_SET_PDEATHSIG), so none outlives it.
class Supervisor {
 public:
  static absl::StatusOr<std::unique_ptr<Supervisor>> Create(const SupervisorOptions& options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts a child. ALREADY_EXISTS for a name in use; NOT_FOUND when the
  // binary cannot be executed; INTERNAL when fork or the log file fails.
  absl::Status Start(ChildSpec spec);
  // Arguments for the child's next (re)start.
  absl::Status SetArgs(const std::string& name, std::vector<std::string> args);

  // Reaps children that exited, escalates stops past their grace to
  // SIGKILL, and starts children whose backoff has run out. Returns the
  // exits it saw. Does not block.
  std::vector<ChildExit> Poll();
  // OK until a child crash-looped (or could not be restarted); then
  // FAILED_PRECONDITION naming it, its last exit and last log lines.
  absl::Status failure() const;

  // The HOST:PORT of the child's first "listening on HOST:PORT" line since
  // its latest start. UNAVAILABLE when its output ended first (it exited;
  // the message has its last log lines), DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<std::string> WaitForListening(const std::string& name, absl::Duration timeout);

  // Sends `signal` to the child's process group (no-op when not running).
  void Signal(const std::string& name, int signal);
  // Asks a child to stop: SIGTERM now, SIGKILL when it is still running
  // after `grace` (done by Poll). It is not restarted.
  void BeginStop(const std::string& name, absl::Duration grace);
  // BeginStop, then Poll until it has exited (at most grace + a moment).
  void Stop(const std::string& name, absl::Duration grace);
  // SIGKILL to every running child, then reaps them all.
  void KillAll();

  bool Running(const std::string& name) const;
  // Not running and not waiting to be restarted.
  bool Finished(const std::string& name) const;
  pid_t pid(const std::string& name) const;  // -1 when not running
  int starts(const std::string& name) const;  // 1 after Start, +1 per restart
  std::vector<std::string> names() const;
  // The child's last `n` log lines, newline-joined.
  std::string Tail(const std::string& name, size_t n = 10) const;

 private:
  enum class State { kRunning, kStopping, kBackoff, kExited };
  struct Output {  // written by the reader thread, under mu_
    std::deque<std::string> tail;
    std::string partial;
    std::string listening;
    bool eof = false;
  };
  struct Child {
    ChildSpec spec;
    State state = State::kExited;
    pid_t pid = -1;
    int starts = 0;
    absl::Time started;
    absl::Time stop_deadline;
    absl::Time restart_at;
    int consecutive_crashes = 0;
    std::deque<absl::Time> crash_times;
    std::shared_ptr<Output> output;
    std::thread reader;
  };

  explicit Supervisor(const SupervisorOptions& options) : options_(options) {}
  absl::Status Spawn(Child& child, bool restart);
  void Reader(int fd, int log_fd, std::shared_ptr<Output> output);
  void HandleExit(Child& child, int wait_status, std::vector<ChildExit>* exits);
  void JoinReader(Child& child);
  Child* Find(const std::string& name);
  const Child* Find(const std::string& name) const;

  const SupervisorOptions options_;
  std::map<std::string, std::unique_ptr<Child>> children_;
  absl::Status failure_;
  std::vector<std::thread> finished_readers_;  // joined in the destructor
  mutable absl::Mutex mu_;                     // guards every Output
};

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_SUPERVISOR_H_
