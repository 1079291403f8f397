#include "tests/coordinator/coordinator_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace agentgym::testutil {
namespace {

// Reads one line from `fd` (blocking); false at EOF.
bool ReadLine(int fd, std::string* line) {
  line->clear();
  char c;
  while (read(fd, &c, 1) == 1) {
    if (c == '\n') return true;
    line->push_back(c);
  }
  return !line->empty();
}

}  // namespace

CoordinatorProcess::CoordinatorProcess(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("agentgym-coordinator"));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(AG_COORDINATOR_BIN, argv.data());
    _exit(127);
  }
  close(fds[1]);
  stdout_fd_ = fds[0];
  // "listening on HOST:PORT", then "metrics on port N" when metrics are on.
  // EOF first means the coordinator refused to start (its reason is on stderr).
  std::string line;
  if (!ReadLine(stdout_fd_, &line)) return;
  absl::string_view rest = line;
  if (!absl::ConsumePrefix(&rest, "listening on ")) return;
  address_ = std::string(rest);
  for (const std::string& a : args) {
    if (a != "--metrics-listen") continue;
    if (ReadLine(stdout_fd_, &line)) {
      absl::string_view port = line;
      if (absl::ConsumePrefix(&port, "metrics on port ")) {
        (void)absl::SimpleAtoi(port, &metrics_port_);
      }
    }
  }
}

int CoordinatorProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

CoordinatorProcess::~CoordinatorProcess() { Stop(); }

CommandResult RunCoordinatorExpectingRefusal(const std::vector<std::string>& args) {
  CommandResult result;
  int fds[2];
  if (pipe(fds) != 0) return result;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("agentgym-coordinator"));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(AG_COORDINATOR_BIN, argv.data());
    _exit(127);
  }
  close(fds[1]);
  bool started = false;
  std::string line;
  while (ReadLine(fds[0], &line)) {
    result.output += line + "\n";
    if (line.rfind("listening on ", 0) == 0) {
      started = true;
      kill(pid, SIGTERM);
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.code = started ? kStartedAnyway : (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return result;
}

CommandResult Ctl(const std::string& args) {
  CommandResult result;
  FILE* pipe = popen(absl::StrCat(AG_CTL_BIN, " ", args, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) result.output.append(buffer, n);
  int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir ? dir : "/tmp", "/", name, ".", getpid());
  std::remove(path.c_str());
  return path;
}

}  // namespace agentgym::testutil
