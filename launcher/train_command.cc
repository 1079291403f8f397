#include "launcher/train_command.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "agentgym/coordinator/v1/coordinator.grpc.pb.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "launcher/binaries.h"
#include "launcher/component_validation.h"
#include "launcher/final_eval.h"
#include "launcher/model_init.h"
#include "launcher/progress.h"
#include "launcher/run_config.h"
#include "launcher/summary.h"
#include "launcher/supervisor.h"

namespace agentgym::launcher {
namespace {

namespace fs = std::filesystem;
namespace cpb = ::agentgym::coordinator::v1;

std::shared_ptr<spdlog::logger> Log() { return GetLogger("launcher"); }

int Usage(const absl::Status& status) {
  std::cerr << "agentgym train: " << status.message() << "\n";
  return 2;
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

std::string Timestamp() {
  return absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone());
}

// The newest checkpoint: checkpoints/latest is a symlink to, or a file naming,
// a step-NNNNNN directory.
std::optional<std::string> LatestCheckpoint(const std::string& run_dir) {
  const fs::path latest = fs::path(run_dir) / "checkpoints" / "latest";
  std::error_code ec;
  if (fs::is_directory(latest, ec)) return fs::canonical(latest, ec).string();
  std::ifstream in(latest);
  std::string name;
  if (in && std::getline(in, name)) {
    name = std::string(absl::StripAsciiWhitespace(name));
    fs::path p = fs::path(name).is_absolute() ? fs::path(name) : latest.parent_path() / name;
    if (fs::is_directory(p, ec)) return p.string();
  }
  return std::nullopt;
}

// One run of `agentgym train`; see RunTrain.
class TrainRun {
 public:
  TrainRun(TrainFlags flags, Config config, RunSettings settings, std::string run_dir)
      : flags_(std::move(flags)),
        config_(std::move(config)),
        settings_(std::move(settings)),
        run_dir_(std::move(run_dir)) {}

  int Run();
  // --prepare-only: the run directory without the run (see TrainFlags).
  int Prepare();

 private:
  absl::Status FindBinaries();
  absl::Status WriteConfigs();
  absl::Status StartCoordinator();
  absl::Status StartEnvServers();
  absl::Status InitModel();
  absl::Status StartLearners();
  absl::Status StartActors();
  ChildSpec Spec(const std::string& name, const std::string& binary,
                 std::vector<std::string> args);
  // Sleeps up to `timeout` for SIGINT/SIGTERM; true when one came.
  bool WaitForSignal(absl::Duration timeout);
  void PollStatus(bool force_line);
  void ClearProgressLine();
  // Stops `names` (SIGTERM, SIGKILL after the grace) while watching for a
  // second signal, which kills everything at once.
  void StopGroup(const std::vector<std::string>& names, absl::Duration grace);
  void StopAll();
  std::vector<std::string> Named(const std::string& prefix, int count) const;
  std::optional<cpb::RunStatus> GetStatus(absl::Duration timeout);
  void Finish(const std::string& outcome, bool run_eval);

  TrainFlags flags_;
  Config config_;
  RunSettings settings_;
  const std::string run_dir_;
  std::string coordinator_bin_, env_server_bin_, learner_bin_, actor_bin_;
  std::unique_ptr<Supervisor> supervisor_;
  std::string coordinator_address_;
  std::unique_ptr<cpb::Coordinator::Stub> stub_;
  sigset_t stop_signals_;
  int signals_seen_ = 0;
  bool killed_ = false;
  const bool tty_ = isatty(STDOUT_FILENO) == 1;
  bool progress_drawn_ = false;
  absl::Time start_time_ = absl::Now();
  absl::Time last_status_poll_ = absl::InfinitePast();
  absl::Time last_line_ = absl::InfinitePast();
  StepRate step_rate_;
  std::optional<cpb::RunStatus> last_status_;
};

ChildSpec TrainRun::Spec(const std::string& name, const std::string& binary,
                         std::vector<std::string> args) {
  ChildSpec spec;
  spec.name = name;
  spec.binary = binary;
  spec.args = std::move(args);
  spec.log_path = run_dir_ + "/logs/" + name + ".log";
  spec.env = settings_.child_env;
  return spec;
}

std::vector<std::string> TrainRun::Named(const std::string& prefix, int count) const {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back(absl::StrCat(prefix, i));
  return names;
}

absl::Status TrainRun::FindBinaries() {
  AG_ASSIGN_OR_RETURN(coordinator_bin_, FindBinary("agentgym-coordinator", flags_.bin_dir));
  AG_ASSIGN_OR_RETURN(env_server_bin_, FindBinary("agentgym-env-server", flags_.bin_dir));
  AG_ASSIGN_OR_RETURN(learner_bin_, FindBinary("agentgym-learner", flags_.bin_dir));
  AG_ASSIGN_OR_RETURN(actor_bin_, FindBinary("agentgym-actor", flags_.bin_dir));
  return absl::OkStatus();
}

absl::Status TrainRun::WriteConfigs() {
  AG_RETURN_IF_ERROR(WriteFile(run_dir_ + "/config.yaml", config_.ToYaml() + "\n"));
  return WriteFile(run_dir_ + "/components.yaml", ComponentConfig(config_).ToYaml() + "\n");
}

absl::Status TrainRun::StartCoordinator() {
  std::vector<std::string> args = {"--config",     run_dir_ + "/components.yaml",
                                   "--state-file", run_dir_ + "/coordinator-state.json",
                                   "--metrics-jsonl", run_dir_ + "/coordinator-metrics.jsonl",
                                   "--listen"};
  std::vector<std::string> first = args;
  first.push_back("127.0.0.1:0");
  AG_RETURN_IF_ERROR(supervisor_->Start(Spec("coordinator", coordinator_bin_, first)));
  AG_ASSIGN_OR_RETURN(std::string printed,
                      supervisor_->WaitForListening("coordinator", absl::Seconds(60)));
  // Restarts keep the port, so the others find it again where they left it.
  const size_t colon = printed.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(printed.substr(colon + 1), &port)) {
    return absl::InternalError(absl::StrCat("coordinator printed a bad address '", printed, "'"));
  }
  coordinator_address_ = absl::StrCat("127.0.0.1:", port);
  args.push_back(coordinator_address_);
  AG_RETURN_IF_ERROR(supervisor_->SetArgs("coordinator", args));
  stub_ = cpb::Coordinator::NewStub(
      grpc::CreateChannel(coordinator_address_, grpc::InsecureChannelCredentials()));
  Log()->info("coordinator on {}", coordinator_address_);
  return absl::OkStatus();
}

absl::Status TrainRun::StartEnvServers() {
  for (const std::string& name : Named("env-server-", settings_.env_servers)) {
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--coordinator",
                                     coordinator_address_};
    args.insert(args.end(), settings_.env_server_flags.begin(), settings_.env_server_flags.end());
    AG_RETURN_IF_ERROR(supervisor_->Start(Spec(name, env_server_bin_, args)));
  }
  for (const std::string& name : Named("env-server-", settings_.env_servers)) {
    AG_ASSIGN_OR_RETURN(std::string address,
                        supervisor_->WaitForListening(name, absl::Seconds(60)));
    Log()->info("{} on {}", name, address);
  }
  return absl::OkStatus();
}

absl::Status TrainRun::InitModel() {
  if (!settings_.model_init) return absl::OkStatus();
  const ModelInitOptions& init = *settings_.model_init;
  AG_ASSIGN_OR_RETURN(std::string env_server,
                      supervisor_->WaitForListening("env-server-0", absl::Seconds(1)));
  AG_ASSIGN_OR_RETURN(std::vector<std::string> texts,
                      CollectEnvTexts(env_server, settings_.envs, init.sample_tasks));
  if (!init.system_prompt.empty()) texts.push_back(init.system_prompt);
  const std::string dir = fs::absolute(run_dir_ + "/model-init").lexically_normal().string();
  AG_RETURN_IF_ERROR(WriteRandomInitModelDir(init, texts, dir).status());
  YAML::Node root = config_.root();
  root["model"]["dir"] = dir;
  settings_.model_dir = dir;
  settings_.model_init.reset();
  return WriteConfigs();
}

absl::Status TrainRun::StartLearners() {
  const int world = settings_.learner_world_size;
  for (int rank = 0; rank < world; ++rank) {
    const std::string name = absl::StrCat("learner-", rank);
    std::vector<std::string> args = {
        "--config",  run_dir_ + "/components.yaml",
        "--coordinator", coordinator_address_,
        "--listen",  "127.0.0.1:0",
        "--port-file", absl::StrCat(run_dir_, "/", name, ".port"),
        "--rank",    absl::StrCat(rank),
        "--world-size", absl::StrCat(world),
        "--run-dir", run_dir_};
    const bool resume = !flags_.resume_dir.empty();
    if (resume) args.push_back("--resume");
    ChildSpec spec = Spec(name, learner_bin_, args);
    // A restarted rank continues from the last checkpoint.
    if (!resume) spec.restart_args = {"--resume"};
    spec.restart_on_clean_exit = false;
    AG_RETURN_IF_ERROR(supervisor_->Start(std::move(spec)));
  }
  AG_ASSIGN_OR_RETURN(std::string address,
                      supervisor_->WaitForListening("learner-0", absl::Seconds(120)));
  Log()->info("learner rank 0 on {}", address);
  return absl::OkStatus();
}

absl::Status TrainRun::StartActors() {
  for (const std::string& name : Named("actor-", settings_.actors)) {
    AG_RETURN_IF_ERROR(supervisor_->Start(Spec(
        name, actor_bin_,
        {"--config", run_dir_ + "/components.yaml", "--coordinator", coordinator_address_,
         "--actor-id", name})));
  }
  return absl::OkStatus();
}

bool TrainRun::WaitForSignal(absl::Duration timeout) {
  timespec ts;
  ts.tv_sec = absl::ToInt64Seconds(timeout);
  ts.tv_nsec = absl::ToInt64Nanoseconds(timeout - absl::Seconds(ts.tv_sec));
  const int sig = sigtimedwait(&stop_signals_, nullptr, &ts);
  if (sig <= 0) return false;
  ++signals_seen_;
  ClearProgressLine();
  if (signals_seen_ == 1) {
    std::cerr << "agentgym train: signal " << sig
              << ": stopping (the learner checkpoints first; press Ctrl-C again to kill "
                 "everything at once)\n";
  } else {
    std::cerr << "agentgym train: second signal: killing every process now\n";
    supervisor_->KillAll();
    killed_ = true;
  }
  return true;
}

std::optional<cpb::RunStatus> TrainRun::GetStatus(absl::Duration timeout) {
  if (stub_ == nullptr) return std::nullopt;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  cpb::RunStatus status;
  grpc::Status s = stub_->GetStatus(&ctx, cpb::GetStatusRequest(), &status);
  if (!s.ok()) return std::nullopt;
  return status;
}

void TrainRun::ClearProgressLine() {
  if (tty_ && progress_drawn_) {
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
    progress_drawn_ = false;
  }
}

void TrainRun::PollStatus(bool force_line) {
  const absl::Time now = absl::Now();
  if (now - last_status_poll_ < absl::Seconds(1) && !force_line) return;
  last_status_poll_ = now;
  std::optional<cpb::RunStatus> status = GetStatus(absl::Milliseconds(900));
  if (!status) return;
  last_status_ = status;
  step_rate_.Observe(status->training_step(), now);
  const auto eta = step_rate_.Eta(settings_.total_steps);
  if (tty_) {
    winsize ws{};
    int width = 0;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) width = ws.ws_col > 1 ? ws.ws_col - 1 : 0;
    std::fputs(
        absl::StrCat("\r", FormatProgress(*status, settings_.total_steps, eta, width), "\033[K")
            .c_str(),
        stdout);
    std::fflush(stdout);
    progress_drawn_ = true;
  } else if (force_line || now - last_line_ >= settings_.progress_interval) {
    last_line_ = now;
    std::cout << "[" << ShortDuration(now - start_time_) << "] "
              << FormatProgress(*status, settings_.total_steps, eta) << std::endl;
  }
}

void TrainRun::StopGroup(const std::vector<std::string>& names, absl::Duration grace) {
  if (killed_) return;
  for (const std::string& n : names) supervisor_->BeginStop(n, grace);
  while (!killed_) {
    bool all = true;
    for (const std::string& n : names) all = all && supervisor_->Finished(n);
    if (all) return;
    supervisor_->Poll();
    WaitForSignal(absl::Milliseconds(50));
  }
}

void TrainRun::StopAll() {
  StopGroup(Named("actor-", settings_.actors), settings_.stop_grace);
  StopGroup(Named("learner-", settings_.learner_world_size), settings_.stop_grace);
  StopGroup(Named("env-server-", settings_.env_servers), settings_.stop_grace);
  StopGroup({"coordinator"}, settings_.stop_grace);
}

void TrainRun::Finish(const std::string& outcome, bool run_eval) {
  ClearProgressLine();
  SummaryInputs in;
  // Actors first (nothing more to roll out; each waits for its acks, then
  // sends its final counts and deregisters), then the learner (it closes
  // ingest, checkpoints what it holds and reports its final counts): the
  // status read after both adds up exactly. The env servers stay for the
  // eval.
  StopGroup(Named("actor-", settings_.actors), settings_.stop_grace);
  StopGroup(Named("learner-", settings_.learner_world_size), settings_.stop_grace);
  if (std::optional<cpb::RunStatus> status = GetStatus(absl::Seconds(2))) last_status_ = status;
  if (last_status_) {
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    o.add_whitespace = true;
    if (google::protobuf::util::MessageToJsonString(*last_status_, &json, o).ok()) {
      WriteFile(run_dir_ + "/final-status.json", json).IgnoreError();
    }
    const cpb::Accounting& a = last_status_->accounting();
    in.accounting = absl::StrFormat(
        "produced %d = trained %d + stale %d + rejected %d + env_error %d + dropped %d + "
        "in_flight %d",
        a.produced(), a.trained(), a.stale(), a.rejected(), a.env_error(), a.dropped(),
        a.in_flight());
  }
  if (run_eval && settings_.eval.enabled && !killed_) {
    std::optional<std::string> checkpoint = LatestCheckpoint(run_dir_);
    auto env_server = supervisor_->WaitForListening("env-server-0", absl::Seconds(1));
    if (!checkpoint) {
      in.eval_note = "No checkpoint was found in checkpoints/, so nothing was evaluated.";
    } else if (!env_server.ok()) {
      in.eval_note = absl::StrCat("No env server for the evaluation: ",
                                  env_server.status().message());
    } else {
      std::cout << "evaluating " << *checkpoint << " on the " << settings_.eval.split
                << " split ..." << std::endl;
      absl::StatusOr<FinalEval> eval =
          RunFinalEval(settings_, ComponentConfig(config_), *checkpoint, *env_server);
      if (eval.ok()) {
        in.eval_table = absl::StrCat("```text\n", eval->table, "```\n");
        in.eval_note = absl::StrCat("Checkpoint `", *checkpoint, "`, split `",
                                    settings_.eval.split, "`, ", eval->description, ".");
        WriteFile(run_dir_ + "/eval.json", eval->json).IgnoreError();
        std::cout << eval->table << std::endl;
      } else {
        in.eval_note = absl::StrCat("The evaluation failed: ", eval.status().message());
        std::cerr << "agentgym train: evaluation failed: " << eval.status().message() << "\n";
      }
    }
  }
  StopAll();
  in.run_dir = run_dir_;
  in.run_name = fs::path(run_dir_).filename().string();
  in.config_path = "config.yaml";
  in.total_steps = settings_.total_steps;
  in.outcome = outcome;
  in.wall_seconds = absl::ToDoubleSeconds(absl::Now() - start_time_);
  if (auto rows = ReadMetricsJsonl(run_dir_ + "/learner-metrics.jsonl"); rows.ok()) {
    in.learner_rows = *std::move(rows);
  }
  if (auto rows = ReadMetricsJsonl(run_dir_ + "/coordinator-metrics.jsonl"); rows.ok()) {
    in.coordinator_rows = *std::move(rows);
  }
  absl::StatusOr<std::string> summary = WriteSummary(in);
  if (summary.ok()) {
    std::cout << "summary: " << *summary << std::endl;
  } else {
    std::cerr << "agentgym train: " << summary.status().message() << "\n";
  }
}

int TrainRun::Prepare() {
  std::error_code ec;
  fs::create_directories(run_dir_ + "/logs", ec);
  if (ec) return Usage(absl::InternalError(absl::StrCat("cannot create ", run_dir_, ": ", ec.message())));
  if (absl::Status s = WriteConfigs(); !s.ok()) return Usage(s);
  if (settings_.model_init) {
    // The initial model's vocabulary comes from the envs' texts: one env
    // server, no coordinator, just for that.
    if (absl::Status s = FindBinaries(); !s.ok()) return Usage(s);
    auto supervisor = Supervisor::Create(settings_.restart);
    if (!supervisor.ok()) return Usage(supervisor.status());
    supervisor_ = *std::move(supervisor);
    std::vector<std::string> args = {"--listen", "127.0.0.1:0"};
    args.insert(args.end(), settings_.env_server_flags.begin(), settings_.env_server_flags.end());
    absl::Status made = supervisor_->Start(Spec("env-server-0", env_server_bin_, args));
    if (made.ok()) made = supervisor_->WaitForListening("env-server-0", absl::Seconds(60)).status();
    if (made.ok()) made = InitModel();
    StopGroup({"env-server-0"}, settings_.stop_grace);
    if (!made.ok()) {
      std::cerr << "agentgym train: " << made.message() << "\n";
      return 1;
    }
  }
  std::cout << "prepared run directory: " << run_dir_ << "\n"
            << "start each role with --config " << run_dir_ << "/components.yaml "
            << "(see docs/deploy.md)" << std::endl;
  return 0;
}

int TrainRun::Run() {
  sigemptyset(&stop_signals_);
  sigaddset(&stop_signals_, SIGINT);
  sigaddset(&stop_signals_, SIGTERM);
  // Every thread started from here on inherits the mask; signals are taken
  // with sigtimedwait on this thread only.
  pthread_sigmask(SIG_BLOCK, &stop_signals_, nullptr);

  if (absl::Status s = FindBinaries(); !s.ok()) return Usage(s);
  std::error_code ec;
  fs::create_directories(run_dir_ + "/logs", ec);
  if (ec) return Usage(absl::InternalError(absl::StrCat("cannot create ", run_dir_, ": ", ec.message())));
  if (absl::Status s = WriteConfigs(); !s.ok()) return Usage(s);
  std::cout << "run directory: " << run_dir_ << std::endl;

  auto supervisor = Supervisor::Create(settings_.restart);
  if (!supervisor.ok()) return Usage(supervisor.status());
  supervisor_ = *std::move(supervisor);

  absl::Status started = StartCoordinator();
  if (started.ok()) started = StartEnvServers();
  if (started.ok()) started = InitModel();
  if (started.ok()) started = StartLearners();
  if (started.ok()) started = StartActors();
  if (!started.ok()) {
    std::cerr << "agentgym train: " << started.message() << "\n";
    StopAll();
    return 1;
  }
  std::cout << "training: " << settings_.total_steps << " learner steps; logs in " << run_dir_
            << "/logs" << std::endl;

  bool finished = false;
  while (!finished && signals_seen_ == 0) {
    for (const ChildExit& exit : supervisor_->Poll()) {
      if (exit.name == "learner-0" && !exit.will_restart && exit.exit_code == 0 &&
          exit.term_signal == 0) {
        finished = true;
      } else if (!exit.stopped) {
        ClearProgressLine();
        std::cerr << "agentgym train: " << exit.name << " exited (" << exit.Describe() << ")"
                  << (exit.will_restart ? "; restarting it" : "") << "\n";
      }
    }
    if (absl::Status failure = supervisor_->failure(); !failure.ok()) {
      ClearProgressLine();
      std::cerr << "agentgym train: the run failed: " << failure.message() << "\n";
      Finish(absl::StrCat("failed: ", failure.message()), /*run_eval=*/false);
      return 1;
    }
    if (finished) break;
    PollStatus(/*force_line=*/false);
    // The curriculum's stall guard gave up: more steps would train on zero
    // gradients (or a collapsed policy) and only burn the budget.
    if (last_status_ && !last_status_->curriculum_guard().failure().empty()) {
      ClearProgressLine();
      const std::string why = last_status_->curriculum_guard().failure();
      std::cerr << "agentgym train: the run failed: " << why << "\n";
      Finish(absl::StrCat("failed: ", why), /*run_eval=*/false);
      return 1;
    }
    WaitForSignal(absl::Milliseconds(200));
  }
  if (finished) {
    PollStatus(/*force_line=*/true);
    ClearProgressLine();
    std::cout << "the learner reached step " << settings_.total_steps << "; stopping" << std::endl;
    Finish("finished", /*run_eval=*/true);
    return 0;
  }
  // Interrupted: Finish stops the actors, then the learner (it checkpoints
  // on SIGTERM, with what the actors' last acknowledged sends).
  Finish("interrupted", /*run_eval=*/false);
  if (killed_) supervisor_->KillAll();
  std::cout << "resume with: agentgym train --resume " << run_dir_ << std::endl;
  return 130;
}

}  // namespace

int RunTrain(const TrainFlags& flags) {
  if (absl::Status s = SetLogLevel(flags.log_level); !s.ok()) return Usage(s);
  if (!flags.resume_dir.empty() && !flags.config_path.empty()) {
    return Usage(absl::InvalidArgumentError(
        "--resume takes the run's own config.yaml; drop --config (use --set to change values)"));
  }
  std::string config_path = flags.config_path;
  if (!flags.resume_dir.empty()) {
    config_path = flags.resume_dir + "/config.yaml";
    std::error_code ec;
    if (!fs::exists(config_path, ec)) {
      return Usage(absl::NotFoundError(absl::StrCat(
          flags.resume_dir, " is not a run directory (it has no config.yaml)")));
    }
  }
  absl::StatusOr<Config> config = ResolveConfig(config_path, flags.overrides);
  if (!config.ok()) return Usage(config.status());
  absl::StatusOr<RunSettings> settings = ValidateRunConfig(*config, ValidateComponentSections);
  if (!settings.ok()) return Usage(settings.status());
  if (flags.prepare_only && !flags.resume_dir.empty()) {
    return Usage(absl::InvalidArgumentError("--prepare-only makes a new run directory; drop --resume"));
  }
  if (flags.print_config) {
    std::cout << config->ToYaml() << std::endl;
    return 0;
  }
  std::string run_dir = flags.resume_dir;
  if (run_dir.empty()) {
    const std::string root = flags.run_root.empty() ? settings->run_root : flags.run_root;
    run_dir = absl::StrCat(root, "/", settings->name, "-", Timestamp());
    std::error_code ec;
    if (fs::exists(run_dir, ec)) run_dir += absl::StrCat("-", getpid());
  }
  run_dir = fs::absolute(run_dir).lexically_normal().string();
  if (!run_dir.empty() && run_dir.back() == '/') run_dir.pop_back();
  TrainRun run(flags, *std::move(config), *std::move(settings), run_dir);
  return flags.prepare_only ? run.Prepare() : run.Run();
}

}  // namespace agentgym::launcher
