// agentgym-env-play: plays one episode against an Env server and prints it.
//
//   agentgym-env-play --target 127.0.0.1:50051 --env textcraft --scripted
//   agentgym-env-play --target 127.0.0.1:50051 --env babyai      (actions from stdin)
//
// --scripted replays the env's oracle: the same (task, seed) is started in
// this process too, and its oracle's actions are sent to the server. Since
// envs are deterministic, the server's episode is the local one; a differing
// observation is reported as an error. Exits 0 when the episode succeeds
// (scripted) or ends (interactive), 1 on failure, 2 on bad usage.

#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "core/flag_checks.h"
#include "env_server/client/env_client.h"
#include "env_server/env_registry.h"
#include "env_server/task_ids.h"

namespace {

namespace v1 = agentgym::env::v1;

int Fail(const std::string& what, const absl::Status& status) {
  std::cerr << "error: " << what << ": " << status.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agentgym-env-play: play one episode against an Env server"};
  std::string target = "127.0.0.1:50051";
  std::string env_name;
  std::string task_id;
  std::string task_type;
  uint64_t seed = 0;
  bool scripted = false;
  int max_turns = 0;
  double timeout_s = 10;
  app.add_option("--target", target, "env server host:port");
  app.add_option("--env", env_name, "env name")->required();
  app.add_option("--task-id", task_id, "task id (default: sample one from the train split)");
  app.add_option("--task-type", task_type, "task type to sample from");
  app.add_option("--seed", seed, "episode seed");
  app.add_option("--max-turns", max_turns,
                 "turn budget (default 0: the task's recommendation)");
  app.add_option("--timeout-s", timeout_s, "deadline of each call, seconds (0, 3600]");
  app.add_flag("--scripted", scripted, "play the env's oracle instead of reading stdin");
  CLI11_PARSE(app, argc, argv);
  for (const absl::Status& s : {agentgym::CheckAtLeast("--max-turns", max_turns, 0),
                                agentgym::CheckPositive("--timeout-s", timeout_s, 3600)}) {
    if (!s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 2;
    }
  }

  agentgym::env::EnvClientOptions options;
  options.target = target;
  options.timeout = absl::Seconds(timeout_s);
  auto client = agentgym::env::EnvClient::Create(options);
  if (!client.ok()) return Fail("client", client.status());

  v1::CreateRequest create;
  create.set_env(env_name);
  create.set_seed(seed);
  if (!task_id.empty()) {
    create.set_task_id(task_id);
  } else {
    create.mutable_sample()->set_split(v1::SPLIT_TRAIN);
    create.mutable_sample()->set_task_type(task_type);
  }
  auto session = (*client)->Create(create);
  if (!session.ok()) return Fail("create", session.status());
  std::printf("== %s task %s (session %s)\n== instruction:\n%s\n== observation:\n%s\n",
              env_name.c_str(), session->task().task_id().c_str(),
              session->session_id().c_str(), session->instruction().c_str(),
              session->observation().c_str());
  int budget = max_turns > 0 ? max_turns : session->recommended_max_turns();

  std::unique_ptr<agentgym::env::Environment> local_env;
  std::unique_ptr<agentgym::env::Episode> local;
  if (scripted) {
    auto env = agentgym::env::EnvRegistry::Global().Create(env_name, {});
    if (!env.ok()) return Fail("local env for the oracle", env.status());
    local_env = *std::move(env);
    auto key = agentgym::env::ParseTaskId(session->task().task_id(), local_env->Describe());
    if (!key.ok()) return Fail("task id", key.status());
    agentgym::env::EpisodeStart start;
    auto episode = local_env->NewEpisode(*key, seed, &start);
    if (!episode.ok()) return Fail("local episode", episode.status());
    if (start.observation != session->observation()) {
      return Fail("determinism", absl::InternalError("the server's first observation differs "
                                                     "from the local episode's"));
    }
    local = *std::move(episode);
  }

  bool success = false;
  for (int turn = 1; turn <= budget; ++turn) {
    std::string action;
    if (scripted) {
      auto next = local->OracleAction();
      if (!next) return Fail("oracle", absl::InternalError("the env has no oracle"));
      action = *next;
      auto expected = local->Step(action);
      if (!expected.ok()) return Fail("local step", expected.status());
    } else {
      std::printf("> ");
      std::fflush(stdout);
      if (!std::getline(std::cin, action)) break;
    }
    auto result = (*client)->Step(session->session_id(), action);
    if (!result.ok()) return Fail("step", result.status());
    std::printf("-- turn %d\n>> %s\n%s\n   (reward %.3f, score %.3f%s%s%s)\n", turn,
                action.c_str(), result->observation().c_str(), result->reward(),
                result->score(), result->action_valid() ? "" : ", invalid action",
                result->done() ? ", done" : "", result->truncated() ? ", truncated" : "");
    if (result->done() || result->truncated()) {
      success = result->success();
      break;
    }
  }
  if (auto s = (*client)->Close(session->session_id()); !s.ok()) return Fail("close", s);
  std::printf("== %s\n", success ? "SUCCESS" : "not solved");
  return (scripted && !success) ? 1 : 0;
}
