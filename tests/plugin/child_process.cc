#include "tests/plugin/child_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace agentgym::testing {
namespace {

int ExitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::StartServer(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    absl::Duration timeout) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {  // child: stdout to the pipe, then exec
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->stdout_fd_ = fds[0];
  const absl::Time deadline = absl::Now() + timeout;
  std::string seen;
  static const std::regex kListening("listening on (\\S+:\\d+)");
  while (true) {
    std::smatch m;
    if (std::regex_search(seen, m, kListening)) {
      child->address_ = m[1];
      return child;
    }
    int left_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p{child->stdout_fd_, POLLIN, 0};
    if (left_ms <= 0 || poll(&p, 1, left_ms) <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat(argv[0], " did not print 'listening on' in time; it printed: ", seen));
    }
    char buf[512];
    ssize_t n = read(child->stdout_fd_, buf, sizeof(buf));
    if (n <= 0) {
      return absl::InternalError(absl::StrCat(argv[0], " exited before listening: ", seen));
    }
    seen.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<ProcessResult> ChildProcess::Run(const std::vector<std::string>& argv,
                                                absl::Duration timeout) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  ProcessResult result;
  const absl::Time deadline = absl::Now() + timeout;
  bool killed = false;
  while (true) {  // read until EOF (the child exited) or the deadline
    int left_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p{fds[0], POLLIN, 0};
    if (left_ms <= 0 || poll(&p, 1, left_ms) <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_status = killed ? -1 : ExitStatus(status);
  return result;
}

int ChildProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  int result = -1;
  while (true) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      result = ExitStatus(status);
      break;
    }
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    // Waiting on a child has no portable timed wait; poll the pipe instead
    // of sleeping, so the loop wakes when the child closes its stdout.
    pollfd p{stdout_fd_, POLLIN, 0};
    poll(&p, 1, 20);
    if (p.revents & POLLIN) {
      char buf[512];
      (void)!read(stdout_fd_, buf, sizeof(buf));
    }
  }
  pid_ = -1;
  close(stdout_fd_);
  stdout_fd_ = -1;
  return result;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

}  // namespace agentgym::testing
