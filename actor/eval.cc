#include "actor/eval.h"

#include <algorithm>
#include <map>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "actor/endpoint_episodes.h"
#include "actor/env_pool.h"
#include "actor/episode_engine.h"
#include "core/det_random.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "env_server/env_server.h"
#include "nlohmann/json.hpp"

namespace agentgym::actor {
namespace {

absl::StatusOr<env::v1::Split> ParseSplit(const std::string& s) {
  if (s == "test") return env::v1::SPLIT_TEST;
  if (s == "train") return env::v1::SPLIT_TRAIN;
  return absl::InvalidArgumentError(absl::StrCat("unknown split \"", s, "\" (train, test)"));
}

absl::StatusOr<std::vector<env::v1::TaskRef>> ListAll(env::EnvClient* client, const std::string& env,
                                                      env::v1::Split split, const std::string& task_type,
                                                      int64_t limit) {
  std::vector<env::v1::TaskRef> out;
  env::v1::ListTasksRequest req;
  req.set_env(env);
  req.set_split(split);
  req.set_task_type(task_type);
  while (true) {
    AG_ASSIGN_OR_RETURN(env::v1::ListTasksResponse resp, client->ListTasks(req));
    for (const env::v1::TaskRef& t : resp.tasks()) {
      out.push_back(t);
      if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) return out;
    }
    if (resp.next_page_token().empty()) return out;
    req.set_page_token(resp.next_page_token());
  }
}

struct Acc {
  int64_t episodes = 0, successes = 0;
  double score = 0, turns = 0, reward = 0;
  void Add(const tpb::Trajectory& t) {
    ++episodes;
    successes += t.success() ? 1 : 0;
    score += t.score();
    turns += t.turns_size();
    reward += t.final_reward();
  }
  EvalRow Row(const std::string& env, const std::string& type) const {
    EvalRow r;
    r.env = env;
    r.task_type = type;
    r.episodes = episodes;
    r.successes = successes;
    if (episodes > 0) {
      r.success_rate = static_cast<double>(successes) / episodes;
      r.mean_score = score / episodes;
      r.mean_turns = turns / episodes;
      r.mean_reward = reward / episodes;
    }
    return r;
  }
};

// One group per task of the split (the `samples` members share task and
// seed), over every env and task type asked for.
absl::StatusOr<std::vector<TaskGroupSpec>> EvalGroups(const EvalOptions& o, env::v1::Split split, EnvPool* pool,
                                                      const std::string& address) {
  auto log = GetLogger("actor");
  AG_ASSIGN_OR_RETURN(env::EnvClient * client, pool->Client(address));
  std::vector<TaskGroupSpec> groups;
  for (const std::string& env : o.envs) {
    AG_ASSIGN_OR_RETURN(env::v1::EnvInfo info, pool->Info(env, address));
    (void)info;  // fetched for its errors (unknown env) and cached for the prompts
    std::vector<env::v1::TaskRef> tasks;
    const std::vector<std::string> types = o.task_types.empty() ? std::vector<std::string>{""} : o.task_types;
    for (const std::string& type : types) {
      AG_ASSIGN_OR_RETURN(std::vector<env::v1::TaskRef> of_type, ListAll(client, env, split, type, o.limit));
      tasks.insert(tasks.end(), of_type.begin(), of_type.end());
    }
    for (size_t i = 0; i < tasks.size(); ++i) {
      TaskGroupSpec g;
      g.group_id = absl::StrCat("eval/", env, "/", tasks[i].task_id());
      for (int k = 0; k < o.samples; ++k) {
        EpisodeTask t;
        t.env = env;
        t.task_id = tasks[i].task_id();
        t.task_type = tasks[i].task_type();
        t.seed = DetRng::Mix(o.seed, i);
        t.env_server_address = address;
        g.members.push_back(t);
      }
      groups.push_back(std::move(g));
    }
    log->info("eval: {} tasks of {} ({} split)", tasks.size(), env, o.split);
  }
  if (groups.empty()) {
    return absl::NotFoundError(absl::StrCat("no ", o.split, " tasks to evaluate in ", absl::StrJoin(o.envs, ","),
                                            o.task_types.empty() ? "" : " of task types ",
                                            absl::StrJoin(o.task_types, ",")));
  }
  return groups;
}

// Our policy through the episode engine (continuous batching, shared group
// prompts): what training runs, greedy or sampled.
absl::Status RunWithPolicy(const EvalOptions& o, std::vector<TaskGroupSpec> groups, EnvPool* pool,
                           EvalReport* report, std::vector<tpb::Trajectory>* trajectories) {
  AG_ASSIGN_OR_RETURN(policy::PolicyBundle bundle, policy::LoadPolicyBundle(o.model_dir, torch::kCPU));
  EngineOptions eo;
  eo.actor_id = "eval";
  eo.concurrent_episodes = std::max(o.concurrent_episodes, o.samples);
  eo.group_size_hint = o.samples;
  eo.max_new_tokens = o.max_new_tokens;
  eo.temperature = o.greedy ? 0.0f : o.temperature;
  const int max_turns = o.max_turns;
  eo.horizon = [max_turns](const std::string&) { return max_turns; };
  ListTaskSource source(std::move(groups));
  InProcessSink sink;
  std::unique_ptr<JsonlFileSink> file;
  std::vector<TrajectorySink*> sinks = {&sink};
  if (!o.trajectory_out.empty()) {
    AG_ASSIGN_OR_RETURN(file, JsonlFileSink::Open(o.trajectory_out));
    sinks.push_back(file.get());
  }
  TeeSink tee(sinks);
  AG_ASSIGN_OR_RETURN(std::unique_ptr<EpisodeEngine> engine,
                      EpisodeEngine::Create(eo, &bundle, &source, &tee, pool, nullptr, 0));
  AG_RETURN_IF_ERROR(engine->Run());
  const EngineStats stats = engine->stats();
  report->env_errors = stats.env_error;
  report->dropped_groups = stats.groups_dropped;
  *trajectories = sink.Take();
  return absl::OkStatus();
}

// An OpenAI-compatible server as the agent, on the same prompts.
absl::Status RunWithEndpoint(const EvalOptions& o, const std::vector<TaskGroupSpec>& groups, EnvPool* pool,
                             EvalReport* report, std::vector<tpb::Trajectory>* trajectories) {
  ChatEndpointOptions co;
  co.endpoint = o.endpoint;
  co.model_name = o.model_name;
  co.api_key = o.api_key;
  AG_ASSIGN_OR_RETURN(std::unique_ptr<ChatEndpointClient> client, ChatEndpointClient::Create(co));
  EndpointEpisodeOptions eo;
  eo.params.max_tokens = o.max_new_tokens;
  eo.params.temperature = o.greedy ? 0.0f : o.temperature;
  eo.concurrency = o.concurrent_episodes;
  eo.max_turns = o.max_turns;
  eo.system_prompt = o.system_prompt;
  eo.transcript_out = o.trajectory_out;
  AG_ASSIGN_OR_RETURN(EndpointRunResult run, RunEndpointEpisodes(*client, pool, groups, eo));
  report->env_errors = run.env_errors;
  report->dropped_groups = run.dropped_tasks;
  *trajectories = std::move(run.trajectories);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EvalReport> RunEval(const EvalOptions& o) {
  if (o.envs.empty()) return absl::InvalidArgumentError("eval needs at least one env");
  if (o.samples < 1) return absl::InvalidArgumentError("samples must be >= 1");
  if (o.limit < 0 || o.max_turns < 0) return absl::InvalidArgumentError("limit and max_turns must be >= 0");
  if (o.endpoint.empty() == o.model_dir.empty()) {
    return absl::InvalidArgumentError("eval needs exactly one of a model directory and an endpoint");
  }
  AG_ASSIGN_OR_RETURN(env::v1::Split split, ParseSplit(o.split));
  if (!o.endpoint.empty()) {  // the endpoint's own checks first: they need no env server
    ChatEndpointOptions co;
    co.endpoint = o.endpoint;
    co.model_name = o.model_name;
    AG_RETURN_IF_ERROR(ChatEndpointClient::Create(co).status());
  } else if (!std::filesystem::is_directory(o.model_dir)) {
    return absl::NotFoundError(absl::StrCat("model directory ", o.model_dir, " does not exist"));
  }

  std::unique_ptr<env::EnvServer> local;
  std::string address = o.env_server;
  if (address.empty()) {
    env::EnvServerOptions so;
    so.listen = "127.0.0.1:0";
    so.envs = o.envs;
    so.grpc_api = env::EnvServerOptions::GrpcApi::kAuto;
    absl::StatusOr<std::unique_ptr<env::EnvServer>> started = env::EnvServer::Start(so);
    if (!started.ok()) return started.status();
    local = std::move(*started);
    address = local->address();
  }
  EnvPool pool(EnvPoolOptions{});
  pool.AddServer(address, o.envs);
  AG_ASSIGN_OR_RETURN(std::vector<TaskGroupSpec> groups, EvalGroups(o, split, &pool, address));

  EvalReport report;
  std::vector<tpb::Trajectory> trajectories;
  AG_RETURN_IF_ERROR(o.endpoint.empty() ? RunWithPolicy(o, std::move(groups), &pool, &report, &trajectories)
                                        : RunWithEndpoint(o, groups, &pool, &report, &trajectories));
  std::map<std::pair<std::string, std::string>, Acc> by_type;
  std::map<std::string, Acc> by_env;
  for (const tpb::Trajectory& t : trajectories) {
    if (t.end_reason() == tpb::END_REASON_ENV_ERROR) continue;
    by_type[{t.env(), t.task_type()}].Add(t);
    by_env[t.env()].Add(t);
  }
  for (const std::string& env : o.envs) {
    for (const auto& [key, acc] : by_type) {
      if (key.first == env) report.rows.push_back(acc.Row(env, key.second));
    }
    report.rows.push_back(by_env[env].Row(env, "all"));
  }
  return report;
}

std::string FormatEvalTable(const EvalReport& report) {
  std::string out = absl::StrFormat("%-14s %-16s %9s %9s %8s %10s %10s %11s\n", "env", "task_type", "episodes",
                                    "successes", "success", "mean_score", "mean_turns", "mean_reward");
  for (const EvalRow& r : report.rows) {
    absl::StrAppend(&out, absl::StrFormat("%-14s %-16s %9d %9d %7.1f%% %10.3f %10.2f %11.3f\n", r.env, r.task_type,
                                          r.episodes, r.successes, 100.0 * r.success_rate, r.mean_score,
                                          r.mean_turns, r.mean_reward));
  }
  if (report.env_errors > 0 || report.dropped_groups > 0) {
    absl::StrAppend(&out, absl::StrFormat("env errors: %d episode attempts (rerun); tasks dropped: %d\n",
                                          report.env_errors, report.dropped_groups));
  }
  return out;
}

std::string EvalReportToJson(const EvalReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const EvalRow& r : report.rows) {
    rows.push_back({{"env", r.env},
                    {"task_type", r.task_type},
                    {"episodes", r.episodes},
                    {"successes", r.successes},
                    {"success_rate", r.success_rate},
                    {"mean_score", r.mean_score},
                    {"mean_turns", r.mean_turns},
                    {"mean_reward", r.mean_reward}});
  }
  nlohmann::json j = {{"rows", rows}, {"env_errors", report.env_errors}, {"dropped_groups", report.dropped_groups}};
  return j.dump(2);
}

}  // namespace agentgym::actor
