#include "launcher/ablate_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "actor/eval.h"
#include "core/logging.h"
#include "core/stop_signals.h"
#include "launcher/ablation.h"
#include "launcher/run_config.h"
#include "launcher/summary.h"
#include "nlohmann/json.hpp"

namespace agentgym::launcher {
namespace {

namespace fs = std::filesystem;

int Usage(const absl::Status& status) {
  std::cerr << "agentgym ablate: " << status.message() << "\n";
  return 2;
}

std::string Timestamp() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

// One `agentgym train` child: its output goes to `log`; it dies with us
// (PR_SET_PDEATHSIG), so an interrupted ablation leaves no runs behind.
pid_t Spawn(const std::string& binary, const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

struct Job {
  std::string variant;
  int seed = 0;
  std::vector<std::string> args;
  std::string name;  // run.name: <variant>-s<seed>
  pid_t pid = -1;
  int exit_code = -1;
};

// The run directory `agentgym train` made for `name` under `root`.
std::string FindRunDir(const std::string& root, const std::string& name) {
  std::error_code ec;
  std::string found;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string base = e.path().filename().string();
    if (base.rfind(name + "-", 0) == 0 && e.is_directory()) found = std::max(found, e.path().string());
  }
  return found;
}

// Task types from ids shaped "<type>/<split>/<index>" (the built-in envs'),
// in order of first appearance.
std::vector<std::string> TaskTypesOf(const std::vector<EnvTasks>& envs) {
  std::vector<std::string> out;
  for (const EnvTasks& e : envs) {
    for (const std::string& id : e.task_ids) {
      std::vector<std::string> parts = absl::StrSplit(id, '/');
      if (parts.size() == 3 && std::find(out.begin(), out.end(), parts[0]) == out.end()) out.push_back(parts[0]);
    }
  }
  return out;
}

double SecondsBetween(fs::file_time_type from, fs::file_time_type to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

int RunAblate(const AblateFlags& flags, const std::vector<std::string>& argv) {
  if (absl::Status s = SetLogLevel(flags.log_level); !s.ok()) return Usage(s);
  auto log = GetLogger("launcher");
  if (flags.seeds < 1 || flags.parallel < 1 || flags.checkpoint_every < 1 || flags.steps < 0 ||
      flags.eval_limit < 0) {
    return Usage(absl::InvalidArgumentError(
        "--seeds, --parallel and --checkpoint-every must be >= 1; --steps and --eval-limit >= 0"));
  }
  absl::StatusOr<Config> config = ResolveConfig(flags.config_path, flags.overrides);
  if (!config.ok()) return Usage(config.status());
  absl::StatusOr<RunSettings> settings = ValidateRunConfig(*config);
  if (!settings.ok()) return Usage(settings.status());

  BaseCurriculum base;
  if (const YAML::Node h = config->Find("curriculum.horizons"); h && h.IsSequence()) {
    for (const YAML::Node& x : h) base.horizons.push_back(x.as<int32_t>());
  }
  if (base.horizons.empty()) return Usage(absl::InvalidArgumentError("the config has no curriculum.horizons"));
  if (const YAML::Node d = config->Find("curriculum.stage_steps"); d && d.IsScalar()) {
    base.stage_steps = d.as<int64_t>();
  }
  std::vector<std::string> variants = absl::StrSplit(flags.variants, ',', absl::SkipWhitespace());
  if (variants.empty()) return Usage(absl::InvalidArgumentError("--variants names none"));
  std::map<std::string, std::vector<std::string>> variant_overrides;
  for (const std::string& v : variants) {
    absl::StatusOr<std::vector<std::string>> o = VariantOverrides(v, base);
    if (!o.ok()) return Usage(o.status());
    variant_overrides[v] = *o;
  }
  const int64_t steps = flags.steps > 0 ? flags.steps : settings->total_steps;
  std::vector<std::string> eval_envs = settings->eval.envs;
  if (eval_envs.empty()) {
    for (const EnvTasks& e : settings->envs) eval_envs.push_back(e.env);
  }
  std::vector<std::string> task_types = absl::StrSplit(flags.eval_task_types, ',', absl::SkipWhitespace());
  if (task_types.empty()) task_types = TaskTypesOf(settings->envs);

  const std::string out =
      flags.out_dir.empty() ? absl::StrCat(settings->run_root, "/ablate-", Timestamp()) : flags.out_dir;
  std::error_code ec;
  fs::create_directories(out + "/logs", ec);
  fs::create_directories(out + "/runs", ec);
  if (ec) return Usage(absl::InvalidArgumentError(absl::StrCat("cannot create ", out, ": ", ec.message())));
  {
    std::ofstream cmd(out + "/command.txt");
    cmd << absl::StrJoin(argv, " ") << "\n";
  }
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return Usage(absl::InternalError("cannot find the agentgym binary (/proc/self/exe)"));
  const std::string binary(self, static_cast<size_t>(n));

  std::vector<Job> jobs;
  for (const std::string& v : variants) {
    for (int seed = 1; seed <= flags.seeds; ++seed) {
      Job j;
      j.variant = v;
      j.seed = seed;
      j.name = absl::StrCat(v, "-s", seed);
      j.args = {"train", "--run-root", out + "/runs", "--log-level", "warn"};
      if (!flags.config_path.empty()) j.args.insert(j.args.end(), {"--config", flags.config_path});
      if (!flags.bin_dir.empty()) j.args.insert(j.args.end(), {"--bin-dir", flags.bin_dir});
      std::vector<std::string> sets = flags.overrides;
      sets.insert(sets.end(), variant_overrides[v].begin(), variant_overrides[v].end());
      sets.push_back(absl::StrCat("run.name=", j.name));
      sets.push_back(absl::StrCat("run.total_steps=", steps));
      sets.push_back(absl::StrCat("run.seed=", seed));
      sets.push_back(absl::StrCat("coordinator.sampler.seed=", seed));
      if (settings->model_init) sets.push_back(absl::StrCat("model.init.seed=", seed));
      sets.push_back(absl::StrCat("learner.checkpoint_every=", flags.checkpoint_every));
      sets.push_back("learner.keep_checkpoints=100000");
      sets.push_back("run.eval.enabled=false");
      for (const std::string& s : sets) j.args.insert(j.args.end(), {"--set", s});
      jobs.push_back(std::move(j));
    }
  }
  std::cout << "ablation: " << jobs.size() << " runs (" << absl::StrJoin(variants, ", ") << " x " << flags.seeds
            << " seeds) of " << steps << " steps, " << flags.parallel << " at a time, into " << out << std::endl;

  // Run them, `parallel` at a time. SIGINT/SIGTERM stop the children (they
  // checkpoint) and end the ablation with what finished.
  InstallStopSignals();
  size_t next = 0, running = 0, done = 0;
  bool interrupted = false;
  while (done < jobs.size()) {
    while (!interrupted && running < static_cast<size_t>(flags.parallel) && next < jobs.size()) {
      Job& j = jobs[next++];
      j.pid = Spawn(binary, j.args, absl::StrCat(out, "/logs/", j.name, ".log"));
      if (j.pid < 0) {
        j.exit_code = 127;
        ++done;
        continue;
      }
      ++running;
      std::cout << "  started " << j.name << std::endl;
    }
    if (running == 0) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (Job& j : jobs) {
        if (j.pid != pid) continue;
        j.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        --running;
        ++done;
        std::cout << "  " << j.name << " ended (exit " << j.exit_code << "), " << done << "/" << jobs.size()
                  << std::endl;
      }
      continue;
    }
    if (WaitForStopSignal(absl::Milliseconds(200)) != 0 && !interrupted) {
      interrupted = true;
      std::cout << "interrupted: stopping the runs (they checkpoint first)" << std::endl;
      for (const Job& j : jobs) {
        if (j.pid > 0 && j.exit_code < 0) kill(j.pid, SIGTERM);
      }
    }
  }

  // Held-out curves of every checkpoint, one horizon for all variants.
  std::vector<VariantResult> results;
  nlohmann::json json = {{"steps", steps},
                         {"seeds", flags.seeds},
                         {"eval", {{"envs", eval_envs}, {"task_types", task_types}, {"split", "test"},
                                   {"max_turns", base.horizons.back()}}},
                         {"variants", nlohmann::json::array()}};
  std::ofstream csv(out + "/curves.csv");
  csv << "variant,seed,step,seconds,held_out_success,mean_turns\n";
  for (const std::string& v : variants) {
    VariantResult vr;
    vr.variant = v;
    nlohmann::json vj = {{"variant", v}, {"overrides", variant_overrides[v]}, {"runs", nlohmann::json::array()}};
    for (const Job& j : jobs) {
      if (j.variant != v) continue;
      SeedRun run;
      run.seed = j.seed;
      run.failed = j.exit_code != 0;
      const std::string dir = FindRunDir(out + "/runs", j.name);
      if (run.failed) {
        run.failure = absl::StrCat("exit code ", j.exit_code, "; see logs/", j.name, ".log");
      }
      std::map<int64_t, std::string> checkpoints;
      if (!dir.empty()) {
        for (const auto& e : fs::directory_iterator(dir + "/checkpoints", ec)) {
          const std::string base_name = e.path().filename().string();
          int64_t step = 0;
          if (base_name.rfind("step-", 0) == 0 && !e.is_symlink() &&
              absl::SimpleAtoi(base_name.substr(5), &step)) {
            checkpoints[step] = e.path().string();
          }
        }
        if (auto rows = ReadMetricsJsonl(dir + "/learner-metrics.jsonl"); rows.ok()) {
          run.collapse_events = CountCollapseEvents(*rows);
        }
      }
      const auto start = fs::last_write_time(dir + "/config.yaml", ec);
      for (const auto& [step, ckpt] : checkpoints) {
        actor::EvalOptions eo;
        eo.model_dir = ckpt;
        eo.envs = eval_envs;
        eo.task_types = task_types;
        eo.split = "test";
        eo.limit = flags.eval_limit;
        eo.max_turns = base.horizons.back();
        eo.concurrent_episodes = settings->eval.concurrent_episodes;
        if (const YAML::Node t = config->Find("actor.max_new_tokens"); t && t.IsScalar()) {
          eo.max_new_tokens = t.as<int>();
        }
        absl::StatusOr<actor::EvalReport> report = actor::RunEval(eo);
        if (!report.ok()) {
          log->warn("eval of {}: {}", ckpt, report.status().ToString());
          continue;
        }
        // The "all" rows, episode-weighted over the envs.
        int64_t episodes = 0, successes = 0;
        double turns = 0;
        for (const actor::EvalRow& r : report->rows) {
          if (r.task_type != "all") continue;
          episodes += r.episodes;
          successes += r.successes;
          turns += r.mean_turns * static_cast<double>(r.episodes);
        }
        CurvePoint p;
        p.step = step;
        p.seconds = SecondsBetween(start, fs::last_write_time(ckpt, ec));
        p.success = episodes > 0 ? static_cast<double>(successes) / episodes : 0;
        p.mean_turns = episodes > 0 ? turns / episodes : 0;
        run.curve.push_back(p);
        csv << v << "," << j.seed << "," << p.step << "," << p.seconds << "," << p.success << "," << p.mean_turns
            << "\n";
      }
      nlohmann::json curve = nlohmann::json::array();
      for (const CurvePoint& p : run.curve) {
        curve.push_back({{"step", p.step}, {"seconds", p.seconds}, {"success", p.success},
                         {"mean_turns", p.mean_turns}});
      }
      vj["runs"].push_back({{"seed", j.seed}, {"run_dir", dir}, {"exit_code", j.exit_code},
                            {"collapse_events", run.collapse_events}, {"curve", curve}});
      std::cout << "  " << j.name << ": " << run.curve.size() << " checkpoints evaluated" << std::endl;
      vr.seeds.push_back(std::move(run));
    }
    json["variants"].push_back(vj);
    results.push_back(std::move(vr));
  }
  const std::string table = AblationTable(results);
  {
    std::ofstream t(out + "/table.md");
    t << "# Curriculum ablation\n\n" << "Command: `" << absl::StrJoin(argv, " ") << "`\n\n"
      << steps << " learner steps per run, seeds 1.." << flags.seeds << "; held-out success of every checkpoint "
      << "(every " << flags.checkpoint_every << " steps) on the test split of " << absl::StrJoin(eval_envs, ", ")
      << (task_types.empty() ? "" : absl::StrCat(" (", absl::StrJoin(task_types, ", "), ")"))
      << ", greedy, horizon " << base.horizons.back() << " for every variant. Steps to a bar: mean over the seeds "
      << "that reached it (how many did). Seconds: from the run's start to that checkpoint's write.\n\n"
      << table << "\n![held-out success vs step](success_vs_step.svg)\n";
  }
  {
    std::ofstream p(out + "/success_vs_step.svg");
    p << AblationPlot(results, absl::StrCat("held-out success, ", absl::StrJoin(eval_envs, ", ")));
  }
  {
    std::ofstream j(out + "/results.json");
    j << json.dump(2) << "\n";
  }
  std::cout << "\n" << table << "\nresults in " << out << "/table.md" << std::endl;
  return interrupted ? 130 : 0;
}

}  // namespace agentgym::launcher
