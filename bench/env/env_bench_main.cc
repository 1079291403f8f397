// agentgym-env-bench: env steps/s and step latency over loopback.
//
//   agentgym-env-bench --mode grpc-unary   --target 127.0.0.1:P --env babyai --sessions 64
//   agentgym-env-bench --mode grpc-batched --target 127.0.0.1:P --env babyai --sessions 64
//   agentgym-env-bench --mode http         --target 127.0.0.1:P --env babyai --sessions 64
//
// Every session replays a script: the env's oracle actions for its (task,
// seed), computed in this process before timing starts (envs are
// deterministic), so every env is stepped with realistic actions (searchqa's
// searches hit BM25, textcraft crafts, ...). A session whose script ends is
// reset and replays it again; resets are not counted as steps.
//
// grpc-unary: one thread per session, blocking Step calls (an agent per
//   session). grpc-batched: one thread, one BatchStep over all sessions per
//   round trip (an actor driving many sessions). http: one thread per session
//   against an AgentGym-style HTTP/JSON server (agentgym_http_server.py).
// Prints one JSON line with steps/s and p50/p99 per-step latency.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "env_server/client/env_client.h"
#include "env_server/env_registry.h"
#include "env_server/task_ids.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace {

namespace v1 = agentgym::env::v1;
using agentgym::env::Environment;

struct Script {
  std::string task_id;
  uint64_t seed = 0;
  std::vector<std::string> actions;
};

// Oracle scripts for `count` sessions over the env's train tasks.
std::vector<Script> MakeScripts(const Environment& env, int count) {
  std::vector<Script> scripts;
  const auto& d = env.Describe();
  for (int i = 0; i < count; ++i) {
    auto key = agentgym::env::SampleTask(d, agentgym::env::Split::kTrain, "", 1000 + i);
    if (!key.ok()) continue;
    Script s{agentgym::env::FormatTaskId(*key), static_cast<uint64_t>(i), {}};
    agentgym::env::EpisodeStart start;
    auto episode = env.NewEpisode(*key, s.seed, &start);
    if (!episode.ok()) continue;
    for (int t = 0; t < 200; ++t) {
      auto action = (*episode)->OracleAction();
      if (!action) break;
      s.actions.push_back(*action);
      auto out = (*episode)->Step(*action);
      if (!out.ok() || out->done || out->truncated) break;
    }
    if (s.actions.empty()) s.actions.push_back("look");
    scripts.push_back(std::move(s));
  }
  return scripts;
}

struct Totals {
  int64_t steps = 0;
  std::vector<double> latencies_ms;
  int64_t errors = 0;
};

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// ---- gRPC ----

absl::StatusOr<std::string> GrpcCreate(agentgym::env::EnvClient& client, const std::string& env,
                                       const Script& s) {
  v1::CreateRequest req;
  req.set_env(env);
  req.set_task_id(s.task_id);
  req.set_seed(s.seed);
  auto resp = client.Create(req);
  if (!resp.ok()) return resp.status();
  return resp->session_id();
}

absl::Status GrpcReset(agentgym::env::EnvClient& client, const std::string& id) {
  v1::ResetRequest req;
  req.set_session_id(id);
  return client.Reset(req).status();
}

Totals RunGrpcUnary(agentgym::env::EnvClient& client, const std::string& env,
                    const std::vector<Script>& scripts, absl::Duration duration) {
  std::vector<Totals> per_thread(scripts.size());
  std::vector<std::thread> threads;
  absl::Time deadline = absl::Now() + duration;
  for (size_t i = 0; i < scripts.size(); ++i) {
    threads.emplace_back([&, i] {
      Totals& t = per_thread[i];
      auto id = GrpcCreate(client, env, scripts[i]);
      if (!id.ok()) { ++t.errors; return; }
      size_t pos = 0;
      while (absl::Now() < deadline) {
        if (pos == scripts[i].actions.size()) {
          if (!GrpcReset(client, *id).ok()) { ++t.errors; return; }
          pos = 0;
        }
        absl::Time start = absl::Now();
        auto r = client.Step(*id, scripts[i].actions[pos++]);
        t.latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
        if (!r.ok()) { ++t.errors; return; }
        ++t.steps;
        if (r->done() || r->truncated()) pos = scripts[i].actions.size();
      }
      (void)client.Close(*id);
    });
  }
  for (auto& th : threads) th.join();
  Totals all;
  for (auto& t : per_thread) {
    all.steps += t.steps;
    all.errors += t.errors;
    all.latencies_ms.insert(all.latencies_ms.end(), t.latencies_ms.begin(), t.latencies_ms.end());
  }
  return all;
}

Totals RunGrpcBatched(agentgym::env::EnvClient& client, const std::string& env,
                      const std::vector<Script>& scripts, absl::Duration duration) {
  Totals t;
  std::vector<std::string> ids;
  for (const auto& s : scripts) {
    auto id = GrpcCreate(client, env, s);
    if (!id.ok()) { ++t.errors; return t; }
    ids.push_back(*id);
  }
  std::vector<size_t> pos(scripts.size(), 0);
  absl::Time deadline = absl::Now() + duration;
  while (absl::Now() < deadline) {
    v1::BatchStepRequest req;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (pos[i] == scripts[i].actions.size()) {
        if (!GrpcReset(client, ids[i]).ok()) { ++t.errors; return t; }
        pos[i] = 0;
      }
      auto* item = req.add_items();
      item->set_session_id(ids[i]);
      item->set_action(scripts[i].actions[pos[i]++]);
    }
    absl::Time start = absl::Now();
    auto resp = client.BatchStep(req);
    double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!resp.ok()) { ++t.errors; return t; }
    for (int i = 0; i < resp->items_size(); ++i) {
      const auto& item = resp->items(i);
      if (item.has_error() && item.error().code() != 0) { ++t.errors; continue; }
      ++t.steps;
      t.latencies_ms.push_back(ms);
      if (item.result().done() || item.result().truncated()) pos[i] = scripts[i].actions.size();
    }
  }
  v1::BatchCloseRequest close;
  for (const auto& id : ids) close.add_session_ids(id);
  (void)client.BatchClose(close);
  return t;
}

// ---- HTTP/JSON (AgentGym style) ----

Totals RunHttp(const std::string& target, const std::vector<Script>& scripts,
               absl::Duration duration) {
  std::vector<Totals> per_thread(scripts.size());
  std::vector<std::thread> threads;
  absl::Time deadline = absl::Now() + duration;
  for (size_t i = 0; i < scripts.size(); ++i) {
    threads.emplace_back([&, i] {
      Totals& t = per_thread[i];
      httplib::Client http("http://" + target);
      http.set_keep_alive(true);
      http.set_read_timeout(30, 0);
      auto create = [&]() -> int64_t {
        nlohmann::json body = {{"data_idx", scripts[i].task_id}, {"seed", scripts[i].seed}};
        auto res = http.Post("/create", body.dump(), "application/json");
        if (!res || res->status != 200) return -1;
        auto reply = nlohmann::json::parse(res->body, nullptr, false);
        return reply.contains("id") ? reply["id"].get<int64_t>() : -1;
      };
      int64_t id = create();
      if (id < 0) { ++t.errors; return; }
      size_t pos = 0;
      while (absl::Now() < deadline) {
        if (pos == scripts[i].actions.size()) {
          http.Post("/close", nlohmann::json{{"id", id}}.dump(), "application/json");
          if ((id = create()) < 0) { ++t.errors; return; }
          pos = 0;
        }
        nlohmann::json body = {{"id", id}, {"action", scripts[i].actions[pos++]}};
        absl::Time start = absl::Now();
        auto res = http.Post("/step", body.dump(), "application/json");
        t.latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
        if (!res || res->status != 200) { ++t.errors; return; }
        auto reply = nlohmann::json::parse(res->body, nullptr, false);
        if (reply.is_discarded() || reply.contains("error")) { ++t.errors; return; }
        ++t.steps;
        if (reply.value("done", false)) pos = scripts[i].actions.size();
      }
      http.Post("/close", nlohmann::json{{"id", id}}.dump(), "application/json");
    });
  }
  for (auto& th : threads) th.join();
  Totals all;
  for (auto& t : per_thread) {
    all.steps += t.steps;
    all.errors += t.errors;
    all.latencies_ms.insert(all.latencies_ms.end(), t.latencies_ms.begin(), t.latencies_ms.end());
  }
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agentgym-env-bench: env steps/s and latency over loopback"};
  std::string mode = "grpc-batched";
  std::string target;
  std::string env_name = "babyai";
  int sessions = 64;
  double seconds = 3;
  app.add_option("--mode", mode, "grpc-unary | grpc-batched | http")
      ->check(CLI::IsMember({"grpc-unary", "grpc-batched", "http"}));
  app.add_option("--target", target, "server host:port")->required();
  app.add_option("--env", env_name, "env to step");
  app.add_option("--sessions", sessions, "concurrent sessions")->check(CLI::Range(1, 4096));
  app.add_option("--seconds", seconds, "measuring time")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  auto env = agentgym::env::EnvRegistry::Global().Create(env_name, {});
  if (!env.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(env.status().message()).c_str());
    return 2;
  }
  std::vector<Script> scripts = MakeScripts(**env, sessions);
  absl::Duration duration = absl::Seconds(seconds);

  Totals totals;
  absl::Time start = absl::Now();
  if (mode == "http") {
    totals = RunHttp(target, scripts, duration);
  } else {
    agentgym::env::EnvClientOptions options;
    options.target = target;
    options.timeout = absl::Seconds(30);
    auto client = agentgym::env::EnvClient::Create(options);
    if (!client.ok() || !(*client)->WaitForReady(absl::Seconds(10))) {
      std::fprintf(stderr, "error: cannot reach %s\n", target.c_str());
      return 1;
    }
    start = absl::Now();
    totals = mode == "grpc-unary" ? RunGrpcUnary(**client, env_name, scripts, duration)
                                  : RunGrpcBatched(**client, env_name, scripts, duration);
  }
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  nlohmann::json out = {{"mode", mode},
                        {"env", env_name},
                        {"sessions", sessions},
                        {"steps", totals.steps},
                        {"errors", totals.errors},
                        {"seconds", elapsed},
                        {"steps_per_s", totals.steps / elapsed},
                        {"p50_ms", Percentile(totals.latencies_ms, 0.50)},
                        {"p99_ms", Percentile(totals.latencies_ms, 0.99)}};
  std::printf("%s\n", out.dump().c_str());
  return totals.errors == 0 ? 0 : 1;
}
