// Rollout throughput of the actor's EpisodeEngine against an in-process
// built-in env server (maze, open4 tasks: short observations, up to
// --horizon turns), temperature 1, a random-init policy on the CPU. Each cell
// runs a fixed list of episodes to the end on a fresh env server and engine;
// the policy is made once. Prints markdown tables (and --json); the commands
// and figures are in docs/benchmarks.md ("## Rollout actor").
//
// Cells (--cells picks kinds; all at --compare-at concurrency unless stated):
//   sweep       continuous batching at each --sweep concurrency; the
//               concurrency-1 cell is the same episodes run one after another
//   rounds      round-synchronous (EngineOptions::round_synchronous, every
//               turn waits for the slowest env) against continuous, env
//               replies delayed uniformly in [--delay-min-ms, --delay-max-ms]
//   prefill     groups of --group-size members sharing one prompt, prefilled
//               once and forked against each member computing its own
//
// Policy: --model names a policy::PresetConfig shape. By default the
// tokenizer is a word tokenizer built from what the env server says and the
// model is sized to it (launcher/model_init.h, what `agentgym train` does for
// a model trained from scratch); --tokenizer PATH instead loads a BPE
// tokenizer.json (plain or gzip) and sizes the vocabulary to it, so the LM
// head has its real cost (the 0.5B shape with Qwen's ~151.7k tokens).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "actor/env_pool.h"
#include "actor/episode_engine.h"
#include "actor/task_source.h"
#include "actor/trajectory_sink.h"
#include "core/det_random.h"
#include "core/status_macros.h"
#include "env_server/env_server.h"
#include "launcher/model_init.h"
#include "nlohmann/json.hpp"
#include "policy/chat/chat_format.h"
#include "policy/model_config.h"
#include "policy/model_dir.h"
#include "policy/tokenizer/bpe_tokenizer.h"
#include "policy/torch_runtime.h"

namespace agentgym::actor {
namespace {

constexpr char kEnv[] = "maze";
constexpr char kTaskType[] = "open4";

struct Flags {
  std::string model = "tiny";
  std::string tokenizer;
  std::vector<std::string> cells = {"sweep", "rounds", "prefill"};
  std::vector<int> sweep = {1, 16, 64, 256};
  int compare_at = 64;
  int min_episodes = 512;
  int waves = 4;
  int group_size = 8;
  int delay_min_ms = 5, delay_max_ms = 50;
  int horizon = 6;
  int max_new_tokens = 16;
  float temperature = 1.0f;
  int threads = 1;
  uint64_t seed = 1;
  std::string json;
};

struct Cell {
  std::string mode;  // continuous | round-sync | shared | unshared
  int concurrency = 1;
  int group_size = 1;
  bool delayed = false;
  int episodes = 0;
};

struct Result {
  Cell cell;
  double wall_s = 0;
  int64_t episodes = 0;  // complete episodes sent
  int64_t tokens = 0;
  double generate_s = 0;
  double mean_turns = 0;
  double mean_prompt = 0;  // tokens
  int64_t env_errors = 0;
  std::map<std::string, int64_t> end_reasons;
  double episodes_per_s() const { return episodes / wall_s; }
};

absl::StatusOr<std::unique_ptr<env::EnvServer>> StartServer(const Flags& f, bool delayed) {
  env::EnvServerOptions so;
  so.envs = {kEnv};
  // The callback API holds a delayed reply on an alarm, not a thread, so
  // delays overlap as a fleet of remote envs' would.
  so.grpc_api = env::EnvServerOptions::GrpcApi::kCallback;
  if (delayed) {
    so.service.faults.delay_min = absl::Milliseconds(f.delay_min_ms);
    so.service.faults.delay_max = absl::Milliseconds(f.delay_max_ms);
  }
  return env::EnvServer::Start(so);
}

absl::StatusOr<std::vector<std::string>> TrainTaskIds(EnvPool& pool, const std::string& address) {
  AG_ASSIGN_OR_RETURN(env::EnvClient * client, pool.Client(address));
  env::v1::ListTasksRequest req;
  req.set_env(kEnv);
  req.set_split(env::v1::SPLIT_TRAIN);
  req.set_task_type(kTaskType);
  AG_ASSIGN_OR_RETURN(env::v1::ListTasksResponse resp, client->ListTasks(req));
  std::vector<std::string> ids;
  for (const env::v1::TaskRef& t : resp.tasks()) ids.push_back(t.task_id());
  if (ids.empty()) return absl::NotFoundError("the maze env lists no open4 train tasks");
  return ids;
}

absl::StatusOr<policy::PolicyBundle> MakePolicy(const Flags& f, const std::vector<std::string>& task_ids,
                                                const std::string& address) {
  if (!f.tokenizer.empty()) {
    AG_ASSIGN_OR_RETURN(policy::ModelConfig config, policy::PresetConfig(f.model));
    policy::PolicyBundle b;
    AG_ASSIGN_OR_RETURN(b.tokenizer, policy::BpeTokenizer::FromFile(f.tokenizer));
    // Exactly the tokenizer's ids: a random-init model samples the padding
    // rows of a preset's vocabulary (Qwen2.5 pads to 151,936) as often as
    // any token, and an id the tokenizer cannot decode ends the episode.
    config.vocab_size = b.tokenizer->VocabSize();
    AG_ASSIGN_OR_RETURN(b.model, policy::CreateModel(config, torch::kCPU, torch::kFloat32, f.seed));
    policy::ChatFormat::Options co;
    co.default_system_prompt = "";
    AG_ASSIGN_OR_RETURN(b.chat, policy::ChatFormat::Create(b.tokenizer.get(), co));
    b.config = config;
    return b;
  }
  // The same model directory `agentgym train` makes for a run on these tasks.
  AG_ASSIGN_OR_RETURN(std::vector<std::string> texts,
                      launcher::CollectEnvTexts(address, {{kEnv, task_ids}}, /*sample_tasks=*/64));
  launcher::ModelInitOptions mo;
  mo.preset = f.model;
  mo.seed = f.seed;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("actor_bench_model_", ::getpid());
  AG_RETURN_IF_ERROR(launcher::WriteRandomInitModelDir(mo, texts, dir.string()).status());
  absl::StatusOr<policy::PolicyBundle> b = policy::LoadPolicyBundle(dir.string(), torch::kCPU);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return b;
}

absl::StatusOr<Result> RunCell(const Flags& f, const Cell& cell, policy::PolicyBundle* bundle,
                               const std::vector<std::string>& task_ids) {
  AG_ASSIGN_OR_RETURN(std::unique_ptr<env::EnvServer> server, StartServer(f, cell.delayed));
  EnvPool pool(EnvPoolOptions{});
  pool.AddServer(server->address(), {kEnv});
  // Episode i of every cell is the same task and seed, so cells that run
  // the same number of episodes run the same episodes.
  std::vector<TaskGroupSpec> groups;
  for (int i = 0; i < cell.episodes / cell.group_size; ++i) {
    TaskGroupSpec g;
    g.group_id = absl::StrCat("bench/", i);
    for (int k = 0; k < cell.group_size; ++k) {
      EpisodeTask t;
      t.env = kEnv;
      t.task_id = task_ids[i % task_ids.size()];
      t.task_type = kTaskType;
      t.seed = DetRng::Mix(f.seed, static_cast<uint64_t>(i));
      t.env_server_address = server->address();
      g.members.push_back(t);
    }
    groups.push_back(std::move(g));
  }
  ListTaskSource source(std::move(groups));
  InProcessSink sink;
  EngineOptions eo;
  eo.actor_id = "bench";
  eo.concurrent_episodes = cell.concurrency;
  eo.group_size_hint = cell.group_size;
  eo.max_new_tokens = f.max_new_tokens;
  eo.temperature = f.temperature;
  eo.share_prefix = cell.mode != "unshared";
  eo.round_synchronous = cell.mode == "round-sync";
  const int horizon = f.horizon;
  eo.horizon = [horizon](const std::string&) { return horizon; };
  AG_ASSIGN_OR_RETURN(std::unique_ptr<EpisodeEngine> engine,
                      EpisodeEngine::Create(eo, bundle, &source, &sink, &pool, nullptr, 0));
  const auto start = std::chrono::steady_clock::now();
  AG_RETURN_IF_ERROR(engine->Run());
  Result r;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.cell = cell;
  const EngineStats stats = engine->stats();
  r.tokens = stats.tokens_sampled;
  r.generate_s = stats.generate_seconds;
  r.env_errors = stats.env_error;
  int64_t turns = 0, prompt = 0;
  for (const tpb::Trajectory& t : sink.Take()) {
    ++r.end_reasons[tpb::EndReason_Name(t.end_reason())];
    // Complete episodes only: an env error or an undecodable action (ended
    // cancelled) is not one.
    if (t.end_reason() == tpb::END_REASON_ENV_ERROR || t.end_reason() == tpb::END_REASON_CANCELLED) continue;
    ++r.episodes;
    turns += t.turns_size();
    prompt += t.prompt_length();
  }
  if (r.episodes > 0) {
    r.mean_turns = static_cast<double>(turns) / r.episodes;
    r.mean_prompt = static_cast<double>(prompt) / r.episodes;
  }
  return r;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string Row(const Result& r, const Flags& f) {
  const std::string delay = r.cell.delayed ? absl::StrCat(f.delay_min_ms, "-", f.delay_max_ms) : "0";
  return absl::StrFormat("| %s | %d | %d | %s | %d | %.2f | %.2f | %.1f | %.2f | %.2f | %.0f |\n", r.cell.mode,
                         r.cell.concurrency, r.cell.group_size, delay, r.episodes, r.wall_s, r.episodes_per_s(),
                         r.tokens / r.wall_s, r.generate_s / r.wall_s, r.mean_turns, r.mean_prompt);
}

nlohmann::json ToJson(const Result& r, const Flags& f) {
  return {{"mode", r.cell.mode},
          {"concurrent_episodes", r.cell.concurrency},
          {"group_size", r.cell.group_size},
          {"env_delay_ms",
           r.cell.delayed ? nlohmann::json::array({f.delay_min_ms, f.delay_max_ms}) : nlohmann::json::array({0, 0})},
          {"episodes", r.episodes},
          {"env_errors", r.env_errors},
          {"wall_s", r.wall_s},
          {"episodes_per_s", r.episodes_per_s()},
          {"generated_tokens_per_s", r.tokens / r.wall_s},
          {"policy_busy", r.generate_s / r.wall_s},
          {"mean_turns", r.mean_turns},
          {"mean_prompt_tokens", r.mean_prompt},
          {"end_reasons", r.end_reasons}};
}

int Main(int argc, char** argv) {
  Flags f;
  CLI::App app{"actor_bench: rollout throughput of the episode engine (see docs/benchmarks.md)"};
  app.add_option("--model", f.model, "policy::PresetConfig shape (tiny, qwen2.5-0.5b, ...)");
  app.add_option("--tokenizer", f.tokenizer,
                 "BPE tokenizer.json[.gz] sizing the vocabulary (default: word tokenizer from the env)");
  app.add_option("--cells", f.cells, "kinds of cells to run: sweep, rounds, prefill")
      ->delimiter(',')
      ->check(CLI::IsMember({"sweep", "rounds", "prefill"}));
  app.add_option("--sweep", f.sweep, "concurrencies of the sweep cells")->delimiter(',')->check(CLI::Range(1, 4096));
  app.add_option("--compare-at", f.compare_at, "concurrency of the rounds and prefill cells")
      ->check(CLI::Range(1, 4096));
  app.add_option("--min-episodes", f.min_episodes, "episodes per cell at least")->check(CLI::Range(1, 1 << 20));
  app.add_option("--waves", f.waves, "episodes per cell at least this many times its concurrency")
      ->check(CLI::Range(1, 1000));
  app.add_option("--group-size", f.group_size, "members sharing a prompt in the prefill cells")
      ->check(CLI::Range(2, 4096));
  app.add_option("--delay-min-ms", f.delay_min_ms, "env reply delay of the rounds cells, least")
      ->check(CLI::Range(0, 60000));
  app.add_option("--delay-max-ms", f.delay_max_ms, "env reply delay of the rounds cells, most")
      ->check(CLI::Range(0, 60000));
  app.add_option("--horizon", f.horizon, "turns per episode at most")->check(CLI::Range(1, 1000));
  app.add_option("--max-new-tokens", f.max_new_tokens, "tokens per agent turn at most")->check(CLI::Range(1, 4096));
  app.add_option("--temperature", f.temperature, "sampling temperature");
  app.add_option("--threads", f.threads, "LibTorch intra-op threads")->check(CLI::Range(1, 256));
  app.add_option("--seed", f.seed, "model init and episode seeds");
  app.add_option("--json", f.json, "also write the results to this JSON file");
  CLI11_PARSE(app, argc, argv);
  if (f.delay_min_ms > f.delay_max_ms) {
    std::fprintf(stderr, "--delay-min-ms exceeds --delay-max-ms\n");
    return 2;
  }
  auto fail = [](const absl::Status& s) {
    std::fprintf(stderr, "actor_bench: %s\n", s.ToString().c_str());
    return 1;
  };
  if (absl::Status s = policy::ConfigureTorchRuntime({f.threads, true}); !s.ok()) return fail(s);

  absl::StatusOr<std::unique_ptr<env::EnvServer>> probe = StartServer(f, /*delayed=*/false);
  if (!probe.ok()) return fail(probe.status());
  EnvPool probe_pool(EnvPoolOptions{});
  probe_pool.AddServer((*probe)->address(), {kEnv});
  absl::StatusOr<std::vector<std::string>> task_ids = TrainTaskIds(probe_pool, (*probe)->address());
  if (!task_ids.ok()) return fail(task_ids.status());
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<policy::PolicyBundle> bundle = MakePolicy(f, *task_ids, (*probe)->address());
  if (!bundle.ok()) return fail(bundle.status());
  (*probe)->Shutdown();
  std::printf("machine: %u CPUs (%s); intra-op threads %d; BLAS %s\n", std::thread::hardware_concurrency(),
              CpuModel().c_str(), f.threads, policy::LoadedBlasLibrary().c_str());
  std::printf(
      "policy: %s shape, vocab %ld, %.2fM params, random init in %.1f s; env %s/%s, horizon %d, "
      "max_new_tokens %d, temperature %.1f\n",
      f.model.c_str(), bundle->config.vocab_size, bundle->config.NumParameters() / 1e6,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), kEnv, kTaskType, f.horizon,
      f.max_new_tokens, f.temperature);

  auto episodes_at = [&](int concurrency, int group) {
    const int n = std::max(f.min_episodes, f.waves * concurrency);
    return (n + group - 1) / group * group;
  };
  auto wanted = [&](const std::string& kind) { return std::count(f.cells.begin(), f.cells.end(), kind) > 0; };
  const int c = f.compare_at;
  std::vector<Cell> cells;
  if (wanted("sweep")) {
    for (int n : f.sweep) cells.push_back({"continuous", n, 1, false, episodes_at(n, 1)});
  }
  if (wanted("rounds")) {
    cells.push_back({"round-sync", c, 1, true, episodes_at(c, 1)});
    cells.push_back({"continuous", c, 1, true, episodes_at(c, 1)});
  }
  if (wanted("prefill") && f.group_size <= c) {
    cells.push_back({"unshared", c, f.group_size, false, episodes_at(c, f.group_size)});
    cells.push_back({"shared", c, f.group_size, false, episodes_at(c, f.group_size)});
  }
  // Warm-up (not reported): first-touch allocations and the first
  // connections otherwise land in whichever cell runs first.
  int warm = 1;
  for (const Cell& cell : cells) warm = std::max(warm, std::min(4, cell.concurrency));
  if (absl::StatusOr<Result> w = RunCell(f, {"continuous", warm, 1, false, warm}, &*bundle, *task_ids); !w.ok()) {
    return fail(w.status());
  }

  std::printf(
      "\n| mode | concurrent | group | env delay ms | episodes | wall s | episodes/s | gen tokens/s | "
      "policy busy | mean turns | prompt tokens |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<Result> results;
  for (const Cell& cell : cells) {
    absl::StatusOr<Result> r = RunCell(f, cell, &*bundle, *task_ids);
    if (!r.ok()) return fail(r.status());
    if (r->episodes < r->cell.episodes) {
      std::fprintf(stderr, "warning: %ld of %d episodes incomplete (see end_reasons in --json)\n",
                   r->cell.episodes - r->episodes, r->cell.episodes);
    }
    std::printf("%s", Row(*r, f).c_str());
    std::fflush(stdout);
    results.push_back(*r);
  }

  // Ratios of episodes/s between cells that ran the same episodes.
  auto find = [&](const std::string& mode, int c, bool delayed, int group) -> const Result* {
    for (const Result& r : results) {
      if (r.cell.mode == mode && r.cell.concurrency == c && r.cell.delayed == delayed && r.cell.group_size == group) {
        return &r;
      }
    }
    return nullptr;
  };
  nlohmann::json comparisons = nlohmann::json::array();
  auto compare = [&](const std::string& what, const Result* a, const Result* b, double target) {
    if (a == nullptr || b == nullptr || a->cell.episodes != b->cell.episodes) return;
    const double ratio = a->episodes_per_s() / b->episodes_per_s();
    const std::string verdict =
        target > 0 ? absl::StrFormat(">= %.0fx: %s", target, ratio >= target ? "met" : "not met") : "-";
    if (comparisons.empty()) std::printf("\n| comparison | episodes/s ratio | wall s | target |\n|---|---:|---|---|\n");
    std::printf("| %s | %.2fx | %.2f vs %.2f | %s |\n", what.c_str(), ratio, a->wall_s, b->wall_s, verdict.c_str());
    comparisons.push_back({{"comparison", what}, {"ratio", ratio}, {"target", target}});
  };
  compare(absl::StrCat("continuous at ", c, " / sequential (concurrency 1)"), find("continuous", c, false, 1),
          find("continuous", 1, false, 1), 8.0);
  compare(absl::StrCat("continuous / round-sync at ", c, ", env replies ", f.delay_min_ms, "-", f.delay_max_ms, " ms"),
          find("continuous", c, true, 1), find("round-sync", c, true, 1), 0);
  compare(absl::StrCat("shared / unshared prefill at ", c, ", G = ", f.group_size),
          find("shared", c, false, f.group_size), find("unshared", c, false, f.group_size), 0);

  if (!f.json.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Result& r : results) rows.push_back(ToJson(r, f));
    nlohmann::json out = {{"model", f.model},
                          {"vocab_size", bundle->config.vocab_size},
                          {"cpus", std::thread::hardware_concurrency()},
                          {"cpu_model", CpuModel()},
                          {"threads", f.threads},
                          {"horizon", f.horizon},
                          {"max_new_tokens", f.max_new_tokens},
                          {"cells", rows},
                          {"comparisons", comparisons}};
    std::ofstream(f.json) << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace agentgym::actor

int main(int argc, char** argv) { return agentgym::actor::Main(argc, argv); }
