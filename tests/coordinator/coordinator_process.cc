#include "tests/coordinator/coordinator_process.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace agentgym::testutil {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(60);

testing::ServerOptions CoordinatorOptions() {
  testing::ServerOptions options;
  options.listen_with_port_file = false;  // the coordinator has no --port-file
  options.timeout = kStartTimeout;
  return options;
}

CommandResult FromRun(const absl::StatusOr<testing::CommandResult>& run) {
  CommandResult result;
  if (!run.ok()) {
    result.output = run.status().ToString();
    return result;
  }
  result.code = run->exit_code;
  result.output = run->output;
  return result;
}

}  // namespace

CoordinatorProcess::CoordinatorProcess(const std::vector<std::string>& args)
    : process_(testing::ServerProcess::Start(AG_COORDINATOR_BIN, args, CoordinatorOptions())) {
  if (!process_.ok() || std::find(args.begin(), args.end(), "--metrics-listen") == args.end()) {
    return;
  }
  auto port = (*process_)->WaitForLine("metrics on port ", kStartTimeout);
  if (port.ok()) (void)absl::SimpleAtoi(*port, &metrics_port_);
}

const std::string& CoordinatorProcess::address() const {
  static const std::string kNone;
  return process_.ok() ? (*process_)->address() : kNone;
}

int CoordinatorProcess::Stop() {
  if (!process_.ok()) return -1;
  return (*process_)->Stop(absl::Seconds(30));
}

CommandResult RunCoordinatorExpectingRefusal(const std::vector<std::string>& args) {
  testing::RunOptions options;
  options.kill_if_serving = true;
  auto run = testing::RunCommand(AG_COORDINATOR_BIN, args, options);
  CommandResult result = FromRun(run);
  if (run.ok() && run->started_serving) result.code = kStartedAnyway;
  return result;
}

CommandResult Ctl(const std::string& args) {
  std::vector<std::string> argv = absl::StrSplit(args, ' ', absl::SkipEmpty());
  return FromRun(testing::RunCommand(AG_CTL_BIN, argv));
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir ? dir : "/tmp", "/", name, ".", getpid());
  std::remove(path.c_str());
  return path;
}

}  // namespace agentgym::testutil
