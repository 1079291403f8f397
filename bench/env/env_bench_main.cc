// agentgym-env-bench: env steps/s and step latency over loopback.
//
//   agentgym-env-bench --mode grpc-unary   --target 127.0.0.1:P --env textcraft --sessions 64
//   agentgym-env-bench --mode grpc-batched --target 127.0.0.1:P --env babyai --sessions 256
//   agentgym-env-bench --mode http         --target 127.0.0.1:P --env textcraft --sessions 16
//
// (bench/env/run_env_bench.sh starts the servers and runs the whole matrix.)
//
// Every session replays a script: the env's oracle actions for its (task,
// seed), computed in this process before timing starts (the envs are
// deterministic), so every env is stepped with realistic actions. A session
// whose episode ends starts the same task again as a fresh session (create +
// close, not counted as steps, but their time is inside the measurement), as
// an actor starting its next episode would.
//
// Modes (all sessions are created before the clock starts; a warm-up period
// runs first and is not measured):
//   grpc-unary    one Step RPC per step, all sessions in flight at once
//                 through the client's async API (how an actor drives
//                 sessions one by one); latency = that RPC's round trip.
//   grpc-batched  BatchStep over all sessions per round trip, split over
//                 --pipelines threads that each keep one batch in flight
//                 (how an actor drives many sessions); latency = the round
//                 trip of the batch the step was in.
//   http          one POST /step per step, one thread and keep-alive
//                 connection per session, against the AgentGym-style
//                 FastAPI server (agentgym_http_server.py).
// Prints one JSON line: steps, steps/s, p50/p99 per-step latency, errors.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
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

// Oracle scripts for `count` sessions over the env's train tasks (of
// `task_type`, or of every type).
absl::StatusOr<std::vector<Script>> MakeScripts(const Environment& env,
                                                const std::string& task_type, int count) {
  std::vector<Script> scripts;
  const auto& d = env.Describe();
  for (int i = 0; i < count; ++i) {
    auto key = agentgym::env::SampleTask(d, agentgym::env::Split::kTrain, task_type, 1000 + i);
    if (!key.ok()) return key.status();
    Script s{agentgym::env::FormatTaskId(*key), static_cast<uint64_t>(i), {}};
    agentgym::env::EpisodeStart start;
    auto episode = env.NewEpisode(*key, s.seed, &start);
    if (!episode.ok()) return episode.status();
    for (int t = 0; t < 500; ++t) {
      auto action = (*episode)->OracleAction();
      if (!action) break;
      s.actions.push_back(*action);
      auto out = (*episode)->Step(*action);
      if (!out.ok() || out->done || out->truncated) break;
    }
    // An env without an oracle is stepped with one generic action.
    if (s.actions.empty()) s.actions.push_back("look");
    scripts.push_back(std::move(s));
  }
  return scripts;
}

// Steps completed inside the measuring window and their latencies.
// Thread-safe.
class Recorder {
 public:
  Recorder(absl::Time measure_from, absl::Time measure_until)
      : from_(measure_from), until_(measure_until) {}

  bool Running() const { return absl::Now() < until_; }
  void Step(absl::Time started, absl::Time finished, int64_t count = 1) {
    if (finished < from_ || finished > until_) return;
    const double ms = absl::ToDoubleMilliseconds(finished - started);
    absl::MutexLock lock(&mu_);
    steps_ += count;
    for (int64_t i = 0; i < count; ++i) latencies_ms_.push_back(ms);
  }
  void Error(const std::string& what) {
    absl::MutexLock lock(&mu_);
    if (errors_++ < 5) std::fprintf(stderr, "error: %s\n", what.c_str());
  }

  nlohmann::json Report() {
    absl::MutexLock lock(&mu_);
    const double seconds = absl::ToDoubleSeconds(until_ - from_);
    return {{"steps", steps_},
            {"errors", errors_},
            {"seconds", seconds},
            {"steps_per_s", static_cast<double>(steps_) / seconds},
            {"p50_ms", Percentile(0.50)},
            {"p99_ms", Percentile(0.99)}};
  }
  int64_t errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }

 private:
  double Percentile(double q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (latencies_ms_.empty()) return 0;
    size_t k = std::min(latencies_ms_.size() - 1, static_cast<size_t>(q * latencies_ms_.size()));
    std::nth_element(latencies_ms_.begin(), latencies_ms_.begin() + k, latencies_ms_.end());
    return latencies_ms_[k];
  }

  const absl::Time from_, until_;
  absl::Mutex mu_;
  int64_t steps_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<double> latencies_ms_ ABSL_GUARDED_BY(mu_);
};

v1::CreateRequest CreateRequestFor(const std::string& env, const Script& s) {
  v1::CreateRequest req;
  req.set_env(env);
  req.set_task_id(s.task_id);
  req.set_seed(s.seed);
  return req;
}

// Creates one session per script through BatchCreate (chunks of 1,000).
absl::StatusOr<std::vector<std::string>> CreateAll(agentgym::env::EnvClient& client,
                                                   const std::string& env,
                                                   const std::vector<Script>& scripts) {
  std::vector<std::string> ids;
  for (size_t begin = 0; begin < scripts.size(); begin += 1000) {
    v1::BatchCreateRequest req;
    for (size_t i = begin; i < std::min(scripts.size(), begin + 1000); ++i) {
      *req.add_items() = CreateRequestFor(env, scripts[i]);
    }
    auto resp = client.BatchCreate(req);
    if (!resp.ok()) return resp.status();
    for (const auto& item : resp->items()) {
      if (item.error().code() != 0) return absl::InternalError(item.error().message());
      ids.push_back(item.created().session_id());
    }
  }
  return ids;
}

// ---- gRPC, one Step RPC per step (async: every session always in flight) ----

class UnaryDriver {
 public:
  UnaryDriver(agentgym::env::EnvClient& client, std::string env, const std::vector<Script>& scripts,
              std::vector<std::string> ids, Recorder& recorder)
      : client_(client), env_(std::move(env)), scripts_(scripts), recorder_(recorder),
        sessions_(scripts.size()) {
    for (size_t i = 0; i < ids.size(); ++i) sessions_[i].id = std::move(ids[i]);
  }

  // Runs until the recorder's window closes and every call has returned
  // (in_flight_ counts one per session stepping plus every pending close).
  void Run() {
    for (size_t i = 0; i < sessions_.size(); ++i) Begin();
    for (size_t i = 0; i < sessions_.size(); ++i) NextStep(i);
    idle_.WaitForNotification();
  }

 private:
  struct Session {
    std::string id;
    size_t pos = 0;
  };

  void Begin() { in_flight_.fetch_add(1); }
  void End() {
    if (in_flight_.fetch_sub(1) == 1) idle_.Notify();
  }

  // Issues the session's next step, or a fresh session once its script ends.
  // Runs on gRPC callback threads; never blocks.
  void NextStep(size_t i) {
    if (!recorder_.Running()) {
      client_.CloseAsync(sessions_[i].id, [this](absl::Status) { End(); });
      return;
    }
    Session& s = sessions_[i];
    if (s.pos == scripts_[i].actions.size()) {
      // Counted like every other call: the client must outlive each one.
      Begin();
      client_.CloseAsync(s.id, [this](absl::Status) { End(); });
      client_.CreateAsync(CreateRequestFor(env_, scripts_[i]),
                          [this, i](absl::StatusOr<v1::CreateResponse> r) {
                            if (!r.ok()) {
                              recorder_.Error(r.status().ToString());
                              End();
                              return;
                            }
                            sessions_[i].id = r->session_id();
                            sessions_[i].pos = 0;
                            NextStep(i);
                          });
      return;
    }
    const absl::Time start = absl::Now();
    client_.StepAsync(s.id, scripts_[i].actions[s.pos++],
                      [this, i, start](absl::StatusOr<v1::StepResult> r) {
                        if (!r.ok()) {
                          recorder_.Error(r.status().ToString());
                          End();
                          return;
                        }
                        recorder_.Step(start, absl::Now());
                        if (r->done() || r->truncated()) {
                          sessions_[i].pos = scripts_[i].actions.size();
                        }
                        NextStep(i);
                      });
  }

  agentgym::env::EnvClient& client_;
  const std::string env_;
  const std::vector<Script>& scripts_;
  Recorder& recorder_;
  std::vector<Session> sessions_;  // entry i is touched by one callback at a time
  std::atomic<int64_t> in_flight_{0};
  absl::Notification idle_;
};

// ---- gRPC, BatchStep over a group of sessions per round trip ----

void RunBatchedGroup(agentgym::env::EnvClient& client, const std::string& env,
                     const std::vector<Script>& scripts, std::vector<size_t> members,
                     std::vector<std::string>& ids, Recorder& recorder) {
  std::vector<size_t> pos(scripts.size(), 0);
  while (recorder.Running()) {
    // Sessions whose script ended start again as fresh sessions, in batches.
    v1::BatchCloseRequest close;
    v1::BatchCreateRequest create;
    std::vector<size_t> renewed;
    for (size_t i : members) {
      if (pos[i] < scripts[i].actions.size()) continue;
      close.add_session_ids(ids[i]);
      *create.add_items() = CreateRequestFor(env, scripts[i]);
      renewed.push_back(i);
    }
    if (!renewed.empty()) {
      (void)client.BatchClose(close);
      auto created = client.BatchCreate(create);
      if (!created.ok()) return recorder.Error(created.status().ToString());
      for (size_t k = 0; k < renewed.size(); ++k) {
        const auto& item = created->items(static_cast<int>(k));
        if (item.error().code() != 0) return recorder.Error(item.error().message());
        ids[renewed[k]] = item.created().session_id();
        pos[renewed[k]] = 0;
      }
    }
    v1::BatchStepRequest req;
    for (size_t i : members) {
      auto* item = req.add_items();
      item->set_session_id(ids[i]);
      item->set_action(scripts[i].actions[pos[i]++]);
    }
    const absl::Time start = absl::Now();
    auto resp = client.BatchStep(req);
    const absl::Time end = absl::Now();
    if (!resp.ok()) return recorder.Error(resp.status().ToString());
    int64_t ok = 0;
    for (int k = 0; k < resp->items_size(); ++k) {
      const auto& item = resp->items(k);
      if (item.error().code() != 0) {
        recorder.Error(item.error().message());
        continue;
      }
      ++ok;
      if (item.result().done() || item.result().truncated()) {
        pos[members[k]] = scripts[members[k]].actions.size();
      }
    }
    recorder.Step(start, end, ok);
  }
  v1::BatchCloseRequest close;
  for (size_t i : members) close.add_session_ids(ids[i]);
  (void)client.BatchClose(close);
}

// ---- HTTP/JSON (AgentGym style), one thread + connection per session ----

// Creates its session, reports ready, waits for `go` (by then `recorder_slot`
// holds the recorder), then steps until the window closes.
void RunHttpSession(const std::string& target, const Script& script,
                    const std::unique_ptr<Recorder>& recorder_slot, absl::BlockingCounter& ready,
                    absl::Notification& go) {
  httplib::Client http("http://" + target);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);  // else Nagle + delayed ACKs add ~40 ms per request
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  http.set_connection_timeout(10, 0);
  auto create = [&]() -> int64_t {
    nlohmann::json body = {{"data_idx", script.task_id}, {"seed", script.seed}};
    auto res = http.Post("/create", body.dump(), "application/json");
    if (!res || res->status != 200) return -1;
    auto reply = nlohmann::json::parse(res->body, nullptr, false);
    return reply.is_object() && reply.contains("id") ? reply["id"].get<int64_t>() : -1;
  };
  int64_t id = create();
  ready.DecrementCount();
  go.WaitForNotification();
  Recorder& recorder = *recorder_slot;
  if (id < 0) return recorder.Error("http create failed");
  size_t pos = 0;
  while (recorder.Running()) {
    if (pos == script.actions.size()) {
      http.Post("/close", nlohmann::json{{"id", id}}.dump(), "application/json");
      if ((id = create()) < 0) return recorder.Error("http create failed");
      pos = 0;
    }
    nlohmann::json body = {{"id", id}, {"action", script.actions[pos++]}};
    const absl::Time start = absl::Now();
    auto res = http.Post("/step", body.dump(), "application/json");
    const absl::Time end = absl::Now();
    if (!res || res->status != 200) return recorder.Error("http step failed");
    auto reply = nlohmann::json::parse(res->body, nullptr, false);
    if (!reply.is_object() || reply.contains("error")) {
      return recorder.Error("http step: " + res->body.substr(0, 200));
    }
    recorder.Step(start, end);
    if (reply.value("done", false)) pos = script.actions.size();
  }
  http.Post("/close", nlohmann::json{{"id", id}}.dump(), "application/json");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agentgym-env-bench: env steps/s and step latency over loopback"};
  std::string mode = "grpc-batched";
  std::string target;
  std::string env_name = "textcraft";
  std::string task_type;
  std::vector<std::string> env_opts;
  int sessions = 64;
  int pipelines = 2;
  double seconds = 5;
  double warmup_seconds = 1;
  app.add_option("--mode", mode, "grpc-unary | grpc-batched | http")
      ->check(CLI::IsMember({"grpc-unary", "grpc-batched", "http"}));
  app.add_option("--target", target, "server host:port")->required();
  app.add_option("--env", env_name, "registered env to step (any env the server serves)");
  app.add_option("--task-type", task_type, "only tasks of this type (default: all types)");
  app.add_option("--env-opt", env_opts,
                 "env option key=value, as the server got it (for the local oracle)");
  app.add_option("--sessions", sessions, "concurrent sessions")->check(CLI::Range(1, 4096));
  app.add_option("--pipelines", pipelines, "grpc-batched: batches in flight at once")
      ->check(CLI::Range(1, 64));
  // Checked after parsing: CLI11's number validators print their range as
  // "0.000000 to 1797693134862315708145...".
  app.add_option("--seconds", seconds, "measuring time (> 0)");
  app.add_option("--warmup-seconds", warmup_seconds, "unmeasured warm-up (>= 0)");
  CLI11_PARSE(app, argc, argv);
  if (!(seconds > 0 && seconds < 1e6) || !(warmup_seconds >= 0 && warmup_seconds < 1e6)) {
    std::fprintf(stderr,
                 "error: --seconds must be in (0, 1e6) and --warmup-seconds in [0, 1e6); got "
                 "%g and %g\n",
                 seconds, warmup_seconds);
    return 2;
  }
  // As in the server: Debian's Abseil records a lock graph on every Mutex
  // lock unless told not to; a client in production would do the same.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  agentgym::env::EnvOptions options;
  for (const auto& kv : env_opts) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "error: --env-opt '%s' must be key=value\n", kv.c_str());
      return 2;
    }
    options[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto env = agentgym::env::EnvRegistry::Global().Create(env_name, options);
  if (!env.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(env.status().message()).c_str());
    return 2;
  }
  auto scripts = MakeScripts(**env, task_type, sessions);
  if (!scripts.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(scripts.status().message()).c_str());
    return 2;
  }
  double mean_script = 0;
  for (const auto& s : *scripts) mean_script += static_cast<double>(s.actions.size());
  mean_script /= static_cast<double>(scripts->size());

  std::unique_ptr<Recorder> recorder;
  auto start_clock = [&] {
    const absl::Time now = absl::Now();
    recorder = std::make_unique<Recorder>(now + absl::Seconds(warmup_seconds),
                                          now + absl::Seconds(warmup_seconds + seconds));
  };

  if (mode == "http") {
    absl::BlockingCounter ready(sessions);
    absl::Notification go;
    std::vector<std::thread> threads;
    for (int i = 0; i < sessions; ++i) {
      threads.emplace_back(
          [&, i] { RunHttpSession(target, (*scripts)[i], recorder, ready, go); });
    }
    ready.Wait();  // every session exists
    start_clock();
    go.Notify();
    for (auto& th : threads) th.join();
  } else {
    agentgym::env::EnvClientOptions client_options;
    client_options.target = target;
    client_options.timeout = absl::Seconds(60);
    auto client = agentgym::env::EnvClient::Create(client_options);
    if (!client.ok() || !(*client)->WaitForReady(absl::Seconds(10))) {
      std::fprintf(stderr, "error: cannot reach %s\n", target.c_str());
      return 1;
    }
    auto ids = CreateAll(**client, env_name, *scripts);
    if (!ids.ok()) {
      std::fprintf(stderr, "error: creating sessions: %s\n", ids.status().ToString().c_str());
      return 1;
    }
    start_clock();
    if (mode == "grpc-unary") {
      UnaryDriver(**client, env_name, *scripts, *std::move(ids), *recorder).Run();
    } else {
      const int groups = std::min(pipelines, sessions);
      std::vector<std::thread> threads;
      for (int g = 0; g < groups; ++g) {
        std::vector<size_t> members;
        for (int i = g; i < sessions; i += groups) members.push_back(static_cast<size_t>(i));
        threads.emplace_back([&, members] {
          RunBatchedGroup(**client, env_name, *scripts, members, *ids, *recorder);
        });
      }
      for (auto& th : threads) th.join();
    }
  }
  nlohmann::json out = recorder->Report();
  out["mode"] = mode;
  out["env"] = env_name;
  out["sessions"] = sessions;
  if (mode == "grpc-batched") out["pipelines"] = std::min(pipelines, sessions);
  out["mean_episode_steps"] = mean_script;
  std::printf("%s\n", out.dump().c_str());
  return recorder->errors() == 0 ? 0 : 1;
}
