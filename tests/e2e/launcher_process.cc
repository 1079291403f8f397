#include "tests/e2e/launcher_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace agentgym::testing {
namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// "... step 40/120 ..." -> 40.
int64_t StepOf(const std::string& line) {
  const size_t p = line.find(" step ");
  if (p == std::string::npos) return -1;
  const size_t slash = line.find('/', p);
  if (slash == std::string::npos) return -1;
  int64_t step = -1;
  if (!absl::SimpleAtoi(line.substr(p + 6, slash - p - 6), &step)) return -1;
  return step;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LauncherProcess>> LauncherProcess::Start(
    const std::string& binary, const std::vector<std::string>& args) {
  std::vector<std::string> strings = {binary};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError(strerror(errno));
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  auto p = std::unique_ptr<LauncherProcess>(new LauncherProcess());
  p->pid_ = pid;
  p->pidfd_ = PidfdOpen(pid);
  p->fd_ = out[0];
  return p;
}

LauncherProcess::~LauncherProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) close(fd_);
  if (pidfd_ >= 0) close(pidfd_);
}

bool LauncherProcess::ReadSome(absl::Duration timeout) {
  if (eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (r <= 0) return false;
  char buf[4096];
  ssize_t n = read(fd_, buf, sizeof(buf));
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  output_.append(buf, n);
  ScanNewLines();
  return true;
}

void LauncherProcess::ScanNewLines() {
  size_t nl;
  while ((nl = output_.find_first_of("\n\r", scanned_)) != std::string::npos) {
    std::string line = output_.substr(scanned_, nl - scanned_);
    scanned_ = nl + 1;
    if (line.empty()) continue;
    if (int64_t step = StepOf(line); step >= 0) last_step_ = step;
    lines_.push_back(std::move(line));
  }
}

bool LauncherProcess::WaitForLine(const std::function<bool(const std::string&)>& match,
                                  absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  size_t checked = 0;
  while (true) {
    for (; checked < lines_.size(); ++checked) {
      if (match(lines_[checked])) return true;
    }
    const absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration() || eof_) return false;
    ReadSome(std::min(left, absl::Seconds(1)));
  }
}

bool LauncherProcess::Pump(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!eof_ && absl::Now() < end) ReadSome(end - absl::Now());
  return !eof_;
}

bool LauncherProcess::WaitForStep(int64_t step, absl::Duration timeout) {
  return WaitForLine([step](const std::string& line) { return StepOf(line) >= step; }, timeout);
}

int LauncherProcess::Wait(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!eof_ && absl::Now() < end) ReadSome(std::min(end - absl::Now(), absl::Seconds(1)));
  if (pid_ <= 0) return -1;
  pollfd p{pidfd_, POLLIN, 0};
  const absl::Duration left = std::max(end - absl::Now(), absl::ZeroDuration());
  if (pidfd_ >= 0 && poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left))) <= 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::map<std::string, std::vector<pid_t>> LauncherProcess::Children() const {
  std::map<std::string, std::vector<pid_t>> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close_paren = text.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(text.substr(close_paren + 2), ' ');
    pid_t ppid = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid) || ppid != pid_) continue;
    std::ifstream cmd(absl::StrCat("/proc/", pid, "/cmdline"));
    std::string argv0;
    std::getline(cmd, argv0, '\0');
    const std::string base = argv0.substr(argv0.rfind('/') + 1);
    for (const char* role : {"coordinator", "env-server", "learner", "actor"}) {
      if (base == absl::StrCat("agentgym-", role)) out[role].push_back(pid);
    }
  }
  closedir(proc);
  return out;
}

std::string LauncherProcess::run_dir() const {
  const std::string prefix = "run directory: ";
  for (const std::string& line : lines_) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

}  // namespace agentgym::testing
