#include "launcher/eval_command.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "actor/eval.h"
#include "core/logging.h"
#include "launcher/binaries.h"
#include "launcher/supervisor.h"

namespace agentgym::launcher {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "agentgym eval: " << status.message() << "\n";
  return 2;
}

// The endpoint's API key: the file's first line, else $OPENAI_API_KEY, else
// none. Never a flag: other users can read a command line.
absl::StatusOr<std::string> ReadApiKey(const std::string& path) {
  if (path.empty()) {
    const char* env = std::getenv("OPENAI_API_KEY");
    return std::string(env == nullptr ? "" : env);
  }
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the API key file ", path));
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat("the API key file ", path, " is empty"));
  return key;
}

}  // namespace

int RunEvalCommand(const EvalFlags& flags) {
  if (absl::Status s = SetLogLevel(flags.log_level); !s.ok()) return Fail(s);
  if (flags.model_dir.empty() == flags.endpoint.empty()) {
    return Fail(absl::InvalidArgumentError("give --model DIR or --endpoint URL --model-name NAME"));
  }
  if (flags.greedy && flags.samples > 0) {
    return Fail(absl::InvalidArgumentError("--greedy and --samples exclude each other"));
  }
  if (flags.split != "test" && flags.split != "train") {
    return Fail(absl::InvalidArgumentError("--split must be test or train"));
  }
  actor::EvalOptions o;
  o.model_dir = flags.model_dir;
  o.endpoint = flags.endpoint;
  o.model_name = flags.model_name;
  o.system_prompt = flags.system_prompt;
  o.temperature = flags.temperature;
  if (!flags.endpoint.empty()) {
    absl::StatusOr<std::string> key = ReadApiKey(flags.api_key_file);
    if (!key.ok()) return Fail(key.status());
    o.api_key = *key;
  }
  for (absl::string_view e : absl::StrSplit(flags.envs, ',', absl::SkipWhitespace())) {
    o.envs.emplace_back(e);
  }
  if (o.envs.empty()) return Fail(absl::InvalidArgumentError("--envs names no env"));
  for (absl::string_view t : absl::StrSplit(flags.task_types, ',', absl::SkipWhitespace())) {
    o.task_types.emplace_back(t);
  }
  o.split = flags.split;
  o.trajectory_out = flags.trajectory_out;
  o.limit = flags.limit;
  o.greedy = flags.samples == 0;
  o.samples = flags.samples > 0 ? flags.samples : 1;
  o.seed = flags.seed;
  o.max_turns = flags.max_turns;
  o.max_new_tokens = flags.max_new_tokens;
  o.concurrent_episodes = flags.concurrent_episodes;

  // Without --env-server, a local env server for the envs runs for the
  // duration of the eval (killed with this process: PR_SET_PDEATHSIG).
  std::unique_ptr<Supervisor> supervisor;
  std::filesystem::path scratch;
  o.env_server = flags.env_server;
  if (o.env_server.empty()) {
    auto binary = FindBinary("agentgym-env-server", flags.bin_dir);
    if (!binary.ok()) return Fail(binary.status());
    auto created = Supervisor::Create(SupervisorOptions{});
    if (!created.ok()) return Fail(created.status());
    supervisor = *std::move(created);
    std::error_code ec;
    scratch = std::filesystem::temp_directory_path(ec) /
              absl::StrCat("agentgym-eval-", getpid());
    std::filesystem::create_directories(scratch, ec);
    ChildSpec spec;
    spec.name = "env-server";
    spec.binary = *binary;
    spec.args = {"--listen", "127.0.0.1:0", "--envs", flags.envs};
    spec.log_path = (scratch / "env-server.log").string();
    if (absl::Status s = supervisor->Start(spec); !s.ok()) return Fail(s);
    auto address = supervisor->WaitForListening("env-server", absl::Seconds(60));
    if (!address.ok()) return Fail(address.status());
    o.env_server = *address;
  }
  absl::StatusOr<actor::EvalReport> report = actor::RunEval(o);
  if (supervisor != nullptr) {
    supervisor->Stop("env-server", absl::Seconds(10));
    supervisor.reset();
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  if (!report.ok()) return Fail(report.status());
  std::cout << actor::FormatEvalTable(*report) << std::flush;
  if (!flags.json_path.empty()) {
    std::ofstream out(flags.json_path, std::ios::trunc);
    out << actor::EvalReportToJson(*report) << "\n";
    if (!out) return Fail(absl::InternalError(absl::StrCat("cannot write ", flags.json_path)));
  }
  return 0;
}

}  // namespace agentgym::launcher
