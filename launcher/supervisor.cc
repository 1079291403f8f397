#include "launcher/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/logging.h"

extern char** environ;

namespace agentgym::launcher {
namespace {

std::shared_ptr<spdlog::logger> Log() { return GetLogger("launcher"); }

constexpr char kListeningPrefix[] = "listening on ";

// The argv/envp of a child, built before fork (nothing allocates after it).
struct ExecImage {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
};

ExecImage BuildImage(const ChildSpec& spec, bool restart) {
  ExecImage image;
  image.strings.push_back(spec.binary);
  image.strings.insert(image.strings.end(), spec.args.begin(), spec.args.end());
  if (restart) {
    image.strings.insert(image.strings.end(), spec.restart_args.begin(), spec.restart_args.end());
  }
  for (std::string& s : image.strings) image.argv.push_back(s.data());
  image.argv.push_back(nullptr);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const auto& [k, v] : spec.env) {
      if (entry.compare(0, k.size() + 1, k + "=") == 0) replaced = true;
    }
    if (!replaced) image.env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : spec.env) image.env_strings.push_back(k + "=" + v);
  for (std::string& s : image.env_strings) image.envp.push_back(s.data());
  image.envp.push_back(nullptr);
  return image;
}

}  // namespace

std::string ChildExit::Describe() const {
  if (term_signal != 0) {
    return absl::StrCat("killed by signal ", term_signal, " (", strsignal(term_signal), ")");
  }
  return absl::StrCat("exit code ", exit_code);
}

absl::StatusOr<std::unique_ptr<Supervisor>> Supervisor::Create(const SupervisorOptions& options) {
  if (options.crash_loop_count < 1) {
    return absl::InvalidArgumentError("crash_loop_count must be >= 1");
  }
  if (options.initial_backoff < absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError("backoff must satisfy 0 <= initial <= max");
  }
  return std::unique_ptr<Supervisor>(new Supervisor(options));
}

Supervisor::~Supervisor() {
  KillAll();
  for (auto& [name, child] : children_) {
    if (child->reader.joinable()) child->reader.join();
  }
  for (std::thread& t : finished_readers_) t.join();
}

Supervisor::Child* Supervisor::Find(const std::string& name) {
  auto it = children_.find(name);
  return it == children_.end() ? nullptr : it->second.get();
}

const Supervisor::Child* Supervisor::Find(const std::string& name) const {
  auto it = children_.find(name);
  return it == children_.end() ? nullptr : it->second.get();
}

absl::Status Supervisor::Start(ChildSpec spec) {
  if (spec.name.empty()) return absl::InvalidArgumentError("a child needs a name");
  if (Find(spec.name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("child '", spec.name, "' already exists"));
  }
  auto child = std::make_unique<Child>();
  child->spec = std::move(spec);
  absl::Status started = Spawn(*child, /*restart=*/false);
  if (!started.ok()) return started;
  const std::string name = child->spec.name;
  children_[name] = std::move(child);
  return absl::OkStatus();
}

absl::Status Supervisor::SetArgs(const std::string& name, std::vector<std::string> args) {
  Child* child = Find(name);
  if (child == nullptr) return absl::NotFoundError(absl::StrCat("no child '", name, "'"));
  child->spec.args = std::move(args);
  return absl::OkStatus();
}

absl::Status Supervisor::Spawn(Child& child, bool restart) {
  JoinReader(child);
  const ChildSpec& spec = child.spec;
  int log_fd = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open log file '", spec.log_path, "': ", strerror(errno)));
  }
  int out[2];
  int exec_err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  if (pipe2(exec_err, O_CLOEXEC) != 0) {
    close(log_fd);
    close(out[0]);
    close(out[1]);
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  ExecImage image = BuildImage(spec, restart);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {log_fd, out[0], out[1], exec_err[0], exec_err[1]}) close(fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(err)));
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execve(image.argv[0], image.argv.data(), image.envp.data());
    int err = errno;
    ssize_t ignored = write(exec_err[1], &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  // Also from the parent, so a signal sent at once reaches the group.
  setpgid(pid, pid);
  close(out[1]);
  close(exec_err[1]);
  int err = 0;
  ssize_t n;
  do {
    n = read(exec_err[0], &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  close(exec_err[0]);
  if (n == static_cast<ssize_t>(sizeof(err))) {
    waitpid(pid, nullptr, 0);
    close(out[0]);
    close(log_fd);
    return absl::NotFoundError(
        absl::StrCat("cannot run '", spec.binary, "' for ", spec.name, ": ", strerror(err)));
  }
  child.pid = pid;
  child.state = State::kRunning;
  child.started = absl::Now();
  child.starts += 1;
  child.output = std::make_shared<Output>();
  child.reader = std::thread(&Supervisor::Reader, this, out[0], log_fd, child.output);
  Log()->info("started {} (pid {}){}: {} {}", spec.name, pid, restart ? " again" : "",
              spec.binary, absl::StrJoin(image.strings.begin() + 1, image.strings.end(), " "));
  return absl::OkStatus();
}

void Supervisor::Reader(int fd, int log_fd, std::shared_ptr<Output> output) {
  char buf[8192];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(log_fd, buf + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // a full disk loses log text, not the child
      off += w;
    }
    absl::MutexLock lock(&mu_);
    output->partial.append(buf, n);
    size_t start = 0;
    for (size_t nl; (nl = output->partial.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      std::string line = output->partial.substr(start, nl - start);
      if (output->listening.empty() && line.rfind(kListeningPrefix, 0) == 0) {
        output->listening = line.substr(sizeof(kListeningPrefix) - 1);
      }
      output->tail.push_back(std::move(line));
      if (output->tail.size() > options_.tail_lines) output->tail.pop_front();
    }
    output->partial.erase(0, start);
  }
  close(fd);
  close(log_fd);
  absl::MutexLock lock(&mu_);
  if (!output->partial.empty()) {
    output->tail.push_back(output->partial);
    if (output->tail.size() > options_.tail_lines) output->tail.pop_front();
    output->partial.clear();
  }
  output->eof = true;
}

void Supervisor::JoinReader(Child& child) {
  if (!child.reader.joinable()) return;
  bool eof;
  {
    absl::MutexLock lock(&mu_);
    eof = child.output == nullptr || child.output->eof;
  }
  // A grandchild may still hold the pipe; its reader is joined at the end.
  if (eof) {
    child.reader.join();
  } else {
    finished_readers_.push_back(std::move(child.reader));
  }
}

void Supervisor::HandleExit(Child& child, int wait_status, std::vector<ChildExit>* exits) {
  ChildExit exit;
  exit.name = child.spec.name;
  if (WIFEXITED(wait_status)) exit.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) exit.term_signal = WTERMSIG(wait_status);
  exit.stopped = child.state == State::kStopping;
  child.pid = -1;
  const absl::Time now = absl::Now();
  // Give the reader a moment to drain what the child wrote last.
  {
    absl::MutexLock lock(&mu_);
    auto eof = [&out = *child.output]() { return out.eof; };
    mu_.AwaitWithTimeout(absl::Condition(&eof), absl::Milliseconds(200));
  }
  JoinReader(child);
  const bool clean = exit.exit_code == 0 && exit.term_signal == 0;
  if (exit.stopped || (clean && !child.spec.restart_on_clean_exit)) {
    child.state = State::kExited;
    Log()->info("{} exited ({})", child.spec.name, exit.Describe());
    exits->push_back(exit);
    return;
  }
  // A crash (or an unexpected exit): restart after a backoff, unless it is
  // crash-looping.
  if (now - child.started > options_.crash_loop_window) child.consecutive_crashes = 0;
  child.consecutive_crashes += 1;
  child.crash_times.push_back(now);
  while (!child.crash_times.empty() &&
         now - child.crash_times.front() > options_.crash_loop_window) {
    child.crash_times.pop_front();
  }
  if (static_cast<int>(child.crash_times.size()) >= options_.crash_loop_count) {
    child.state = State::kExited;
    if (failure_.ok()) {
      failure_ = absl::FailedPreconditionError(absl::StrCat(
          child.spec.name, " crashed ", child.crash_times.size(), " times within ",
          absl::FormatDuration(options_.crash_loop_window), " (last: ", exit.Describe(),
          "); log ", child.spec.log_path, " ends with:\n", Tail(child.spec.name, 10)));
    }
    Log()->error("{} is crash-looping ({}); giving up on it", child.spec.name, exit.Describe());
    exits->push_back(exit);
    return;
  }
  absl::Duration backoff = options_.initial_backoff;
  for (int i = 1; i < child.consecutive_crashes && backoff < options_.max_backoff; ++i) {
    backoff *= 2;
  }
  backoff = std::min(backoff, options_.max_backoff);
  child.state = State::kBackoff;
  child.restart_at = now + backoff;
  exit.will_restart = true;
  Log()->warn("{} exited ({}); restarting in {}", child.spec.name, exit.Describe(),
              absl::FormatDuration(backoff));
  exits->push_back(exit);
}

std::vector<ChildExit> Supervisor::Poll() {
  std::vector<ChildExit> exits;
  const absl::Time now = absl::Now();
  for (auto& [name, child_ptr] : children_) {
    Child& child = *child_ptr;
    if (child.state == State::kRunning || child.state == State::kStopping) {
      int status = 0;
      pid_t r = waitpid(child.pid, &status, WNOHANG);
      if (r == child.pid) {
        HandleExit(child, status, &exits);
      } else if (child.state == State::kStopping && now >= child.stop_deadline) {
        Log()->warn("{} did not stop within its grace; killing it", name);
        kill(-child.pid, SIGKILL);
        kill(child.pid, SIGKILL);
        child.stop_deadline = absl::InfiniteFuture();
      }
    }
    if (child.state == State::kBackoff && now >= child.restart_at) {
      absl::Status s = Spawn(child, /*restart=*/true);
      if (!s.ok()) {
        child.state = State::kExited;
        if (failure_.ok()) {
          failure_ = absl::FailedPreconditionError(
              absl::StrCat("cannot restart ", name, ": ", s.message()));
        }
      }
    }
  }
  return exits;
}

absl::Status Supervisor::failure() const { return failure_; }

absl::StatusOr<std::string> Supervisor::WaitForListening(const std::string& name,
                                                         absl::Duration timeout) {
  Child* child = Find(name);
  if (child == nullptr) return absl::NotFoundError(absl::StrCat("no child '", name, "'"));
  if (child->output == nullptr) {
    return absl::UnavailableError(absl::StrCat(name, " is not running"));
  }
  std::shared_ptr<Output> out = child->output;
  absl::MutexLock lock(&mu_);
  auto ready = [&out]() { return !out->listening.empty() || out->eof; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (!out->listening.empty()) return out->listening;
  std::string tail = absl::StrJoin(out->tail, "\n");
  if (out->eof) {
    return absl::UnavailableError(absl::StrCat(name, " exited before it served; log ",
                                               child->spec.log_path, " ends with:\n", tail));
  }
  return absl::DeadlineExceededError(absl::StrCat(name, " printed no 'listening on' line within ",
                                                  absl::FormatDuration(timeout), "; log ",
                                                  child->spec.log_path, " ends with:\n", tail));
}

void Supervisor::Signal(const std::string& name, int signal) {
  Child* child = Find(name);
  if (child == nullptr || child->pid <= 0) return;
  kill(-child->pid, signal);
}

void Supervisor::BeginStop(const std::string& name, absl::Duration grace) {
  Child* child = Find(name);
  if (child == nullptr) return;
  if (child->state == State::kBackoff) {
    child->state = State::kExited;
    return;
  }
  if (child->state != State::kRunning) return;
  child->state = State::kStopping;
  child->stop_deadline = absl::Now() + grace;
  kill(-child->pid, SIGTERM);
}

void Supervisor::Stop(const std::string& name, absl::Duration grace) {
  BeginStop(name, grace);
  const absl::Time give_up = absl::Now() + grace + absl::Seconds(5);
  while (!Finished(name) && absl::Now() < give_up) {
    Poll();
    if (!Finished(name)) absl::SleepFor(absl::Milliseconds(20));
  }
}

void Supervisor::KillAll() {
  for (auto& [name, child] : children_) {
    if (child->state == State::kBackoff) child->state = State::kExited;
    if (child->pid > 0) {
      kill(-child->pid, SIGKILL);
      kill(child->pid, SIGKILL);
    }
  }
  for (auto& [name, child] : children_) {
    if (child->pid > 0) {
      int status = 0;
      waitpid(child->pid, &status, 0);
      child->pid = -1;
      child->state = State::kExited;
      JoinReader(*child);
    }
  }
}

bool Supervisor::Running(const std::string& name) const {
  const Child* child = Find(name);
  return child != nullptr && (child->state == State::kRunning || child->state == State::kStopping);
}

bool Supervisor::Finished(const std::string& name) const {
  const Child* child = Find(name);
  return child == nullptr || child->state == State::kExited;
}

pid_t Supervisor::pid(const std::string& name) const {
  const Child* child = Find(name);
  return child == nullptr ? -1 : child->pid;
}

int Supervisor::starts(const std::string& name) const {
  const Child* child = Find(name);
  return child == nullptr ? 0 : child->starts;
}

std::vector<std::string> Supervisor::names() const {
  std::vector<std::string> out;
  for (const auto& [name, child] : children_) out.push_back(name);
  return out;
}

std::string Supervisor::Tail(const std::string& name, size_t n) const {
  const Child* child = Find(name);
  if (child == nullptr || child->output == nullptr) return "";
  absl::MutexLock lock(&mu_);
  const auto& tail = child->output->tail;
  size_t from = tail.size() > n ? tail.size() - n : 0;
  return absl::StrJoin(tail.begin() + from, tail.end(), "\n");
}

}  // namespace agentgym::launcher
