#include "tests/common/test_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

extern char** environ;

namespace agentgym::testing {
namespace {

constexpr absl::string_view kListening = "listening on ";

// glibc 2.36 declares pidfd_open without C linkage; call the syscall itself.
// Returns -1 on kernels without it (< 5.3), where waits block instead.
int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

int RemainingMs(absl::Time deadline) {
  return static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The environment for a child: ours, with `extra` set over it.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry = *e;
    absl::string_view name = entry.substr(0, entry.find('='));
    if (extra.count(std::string(name)) == 0) env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(absl::StrCat(name, "=", value));
  return env;
}

// Spawns `binary args...` with stdout to `stdout_fd`, stderr to `stderr_fd`,
// stdin from /dev/null and `env` set in its environment; default signal
// dispositions and an empty mask.
absl::StatusOr<pid_t> Spawn(const std::string& binary, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env, int stdout_fd,
                            int stderr_fd) {
  std::vector<std::string> argv_s = {binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> envp_s = ChildEnvironment(env);
  std::vector<char*> envp;
  for (auto& e : envp_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("posix_spawn ", binary, ": ", std::strerror(rc)));
  }
  return pid;
}

// Waits for `pid` (via `pidfd` when >= 0) up to `deadline`; returns its wait
// status, or nullopt on timeout.
std::optional<int> WaitPid(pid_t pid, int pidfd, absl::Time deadline) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int rc;
    do {
      rc = poll(&p, 1, RemainingMs(deadline));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return std::nullopt;
  }
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r != pid) return std::nullopt;  // not our child, or already reaped
  return status;
}

// The first whole line of `text` starting with `prefix`, without the prefix.
std::optional<std::string> FindLine(absl::string_view text, absl::string_view prefix) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == absl::string_view::npos) return std::nullopt;  // not whole yet
    absl::string_view line = text.substr(start, nl - start);
    if (absl::ConsumePrefix(&line, prefix)) return std::string(line);
    start = nl + 1;
  }
  return std::nullopt;
}

}  // namespace

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path().string();
  std::string tmpl = base + "/agentgym-test-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  path_ = made != nullptr ? std::string(made) : base;
}

TempDir::~TempDir() {
  // AG_KEEP_TEST_DIRS=1 keeps them for a post-mortem (run dirs, logs).
  if (const char* keep = std::getenv("AG_KEEP_TEST_DIRS"); keep != nullptr && *keep == '1') return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary, const std::vector<std::string>& args, absl::Duration timeout) {
  ServerOptions options;
  options.timeout = timeout;
  return Start(binary, args, options);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const ServerOptions& options) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  const std::string port_file = p->dir_.File("port");
  const std::string log_file = p->dir_.File("stderr.log");
  std::vector<std::string> full;
  if (options.listen_with_port_file) {
    full = {"--listen", "127.0.0.1:0", "--port-file", port_file};
  }
  full.insert(full.end(), args.begin(), args.end());

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  int err_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err_fd < 0) {
    close(out[0]);
    close(out[1]);
    return absl::InternalError("cannot open " + log_file);
  }
  auto pid = Spawn(binary, full, options.env, out[1], err_fd);
  close(out[1]);
  close(err_fd);
  if (!pid.ok()) {
    close(out[0]);
    return pid.status();
  }
  p->pid_ = *pid;
  p->pidfd_ = PidfdOpen(p->pid_);
  p->stdout_fd_ = out[0];

  // Read stdout until the "listening on" line.
  const absl::Time deadline = absl::Now() + options.timeout;
  std::string seen;
  std::string line;
  while (true) {
    size_t nl = seen.find('\n');
    if (nl != std::string::npos) {
      line = seen.substr(0, nl);
      seen.erase(0, nl + 1);
      if (absl::StartsWith(line, kListening)) break;
      continue;
    }
    pollfd pfd{p->stdout_fd_, POLLIN, 0};
    int rc = poll(&pfd, 1, RemainingMs(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          binary, " did not report its port within ", absl::FormatDuration(options.timeout),
          "; stdout:\n", seen, "\nstderr:\n", p->Log()));
    }
    char buf[4096];
    ssize_t n = read(p->stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto status = p->WaitForExit(absl::Seconds(5));
      std::string how = "closed its stdout";
      if (status.ok() && WIFEXITED(*status)) how = absl::StrCat("exited ", WEXITSTATUS(*status));
      if (status.ok() && WIFSIGNALED(*status)) {
        how = absl::StrCat("was killed by signal ", WTERMSIG(*status));
      }
      return absl::UnavailableError(absl::StrCat(binary, " ", how, " before serving; stdout:\n",
                                                 seen, "\nstderr:\n", p->Log()));
    }
    seen.append(buf, static_cast<size_t>(n));
  }
  {
    absl::MutexLock lock(&p->mu_);
    p->stdout_ = absl::StrCat(line, "\n", seen);
  }
  p->drainer_ = std::thread([raw = p.get()] { raw->DrainStdout(); });

  absl::string_view address = line;
  absl::ConsumePrefix(&address, kListening);
  p->address_ = std::string(address);
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), &p->port_) ||
      p->port_ <= 0) {
    return absl::InternalError(absl::StrCat("bad listening line '", line, "'"));
  }
  if (!options.listen_with_port_file) return p;
  // The port file is renamed into place before the line is printed.
  int file_port = 0;
  std::string file_text = ReadFile(port_file);
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(file_text), &file_port) ||
      file_port != p->port_) {
    return absl::InternalError(absl::StrCat("--port-file holds '", file_text, "', expected ",
                                            p->port_));
  }
  return p;
}

void ServerProcess::DrainStdout() {
  char buf[4096];
  while (true) {
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    absl::MutexLock lock(&mu_);
    if (n <= 0) {
      stdout_closed_ = true;
      return;
    }
    stdout_.append(buf, static_cast<size_t>(n));
  }
}

std::string ServerProcess::target() const { return absl::StrCat("127.0.0.1:", port_); }

std::string ServerProcess::Log() const { return ReadFile(dir_.File("stderr.log")); }

std::string ServerProcess::Stdout() const {
  absl::MutexLock lock(&mu_);
  return stdout_;
}

absl::StatusOr<std::string> ServerProcess::WaitForLine(absl::string_view prefix,
                                                       absl::Duration timeout) {
  struct Wait {
    ServerProcess* p;
    absl::string_view prefix;
    bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
      return p->stdout_closed_ || FindLine(p->stdout_, prefix).has_value();
    }
  } wait{this, prefix};
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&wait, &Wait::Done), timeout);
  if (auto found = FindLine(stdout_, prefix)) return *found;
  if (stdout_closed_) {
    return absl::NotFoundError(absl::StrCat("stdout closed with no line '", prefix,
                                            "...'; stdout:\n", stdout_));
  }
  return absl::DeadlineExceededError(absl::StrCat("no line '", prefix, "...' within ",
                                                  absl::FormatDuration(timeout),
                                                  "; stdout:\n", stdout_));
}

bool ServerProcess::Running() {
  if (exit_status_.has_value()) return false;
  siginfo_t info{};
  info.si_pid = 0;
  if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

absl::StatusOr<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  if (exit_status_.has_value()) return *exit_status_;
  auto status = WaitPid(pid_, pidfd_, absl::Now() + timeout);
  if (!status.has_value()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "pid ", pid_, " still running after ", absl::FormatDuration(timeout)));
  }
  exit_status_ = *status;
  return *status;
}

absl::StatusOr<int> ServerProcess::Signal(int signal, absl::Duration timeout) {
  if (!exit_status_.has_value()) kill(pid_, signal);
  return WaitForExit(timeout);
}

int ServerProcess::Stop(absl::Duration timeout) {
  auto status = Signal(SIGTERM, timeout);
  if (!status.ok()) {
    kill(pid_, SIGKILL);
    (void)WaitForExit(absl::Seconds(30));
    return -1;
  }
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) return 128 + WTERMSIG(*status);
  return -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exit_status_.has_value()) {
    kill(pid_, SIGKILL);
    (void)WaitForExit(absl::Seconds(30));
  }
  if (drainer_.joinable()) drainer_.join();  // EOF once the child is gone
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (pidfd_ >= 0) close(pidfd_);
}

absl::StatusOr<CommandResult> RunCommand(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         absl::Duration timeout) {
  RunOptions options;
  options.timeout = timeout;
  return RunCommand(binary, args, options);
}

absl::StatusOr<CommandResult> RunCommand(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         const RunOptions& options) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  auto pid = Spawn(binary, args, options.env, out[1], out[1]);
  close(out[1]);
  if (!pid.ok()) {
    close(out[0]);
    return pid.status();
  }
  int pidfd = PidfdOpen(*pid);
  const absl::Time deadline = absl::Now() + options.timeout;
  CommandResult result;
  bool timed_out = false;
  size_t unscanned = 0;  // start of the first line not yet checked for kListening
  while (true) {
    pollfd pfd{out[0], POLLIN, 0};
    int rc = poll(&pfd, 1, RemainingMs(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      timed_out = true;
      break;
    }
    char buf[4096];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
    if (!options.kill_if_serving || result.started_serving) continue;
    for (size_t nl; (nl = result.output.find('\n', unscanned)) != std::string::npos;
         unscanned = nl + 1) {
      if (absl::StartsWith(absl::string_view(result.output).substr(unscanned), kListening)) {
        result.started_serving = true;
        kill(*pid, SIGKILL);  // then read on to EOF
        break;
      }
    }
  }
  close(out[0]);
  if (timed_out) kill(*pid, SIGKILL);
  auto status = WaitPid(*pid, pidfd, absl::Now() + absl::Seconds(30));
  if (!status.has_value()) {  // closed its output but did not exit: never leave it behind
    kill(*pid, SIGKILL);
    status = WaitPid(*pid, pidfd, absl::Now() + absl::Seconds(30));
  }
  if (pidfd >= 0) close(pidfd);
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        binary, " ", absl::StrJoin(args, " "), " ran past ", absl::FormatDuration(options.timeout),
        "; output:\n", result.output));
  }
  if (!status.has_value()) return absl::InternalError("lost the child");
  if (WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) result.term_signal = WTERMSIG(*status);
  return result;
}

}  // namespace agentgym::testing
