// agentgym-env-play: plays one episode against an Env server and prints it.
//
//   agentgym-env-play --target 127.0.0.1:50051 --env textcraft --scripted
//   agentgym-env-play --target 127.0.0.1:50051 --env babyai      (actions from stdin)
//
// --scripted replays the env's oracle: the same (task, seed) is started in
// this process too, and its oracle's actions are sent to the server. Since
// envs are deterministic, the server's episode is the local one; a differing
// observation is reported as an error. Exits 0 when the episode succeeds
// (scripted) or ends (interactive), 1 on failure, 2 on bad usage. The
// session it opened is closed on every exit path; when no scripted oracle
// exists for the target (an env that is not built in, or a bridged env whose
// tasks are not the built-in's) it says so, before opening anything where it
// can tell.

#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "core/cli.h"
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

int NoOracle(const std::string& why) {
  std::cerr << "error: no scripted oracle for this target: " << why
            << "; play it without --scripted (actions from stdin)\n";
  return 1;
}

// Closes the session it holds when it goes out of scope, so that every exit
// path (an error, a missing oracle, the end of the episode) leaves nothing
// open on the server.
class SessionCloser {
 public:
  SessionCloser(agentgym::env::EnvClient* client, std::string id)
      : client_(client), id_(std::move(id)) {}
  ~SessionCloser() { (void)Close(); }
  absl::Status Close() {
    if (id_.empty()) return absl::OkStatus();
    absl::Status s = client_->Close(id_);
    id_.clear();
    if (!s.ok()) std::cerr << "warning: close: " << s.message() << "\n";
    return s;
  }

 private:
  agentgym::env::EnvClient* client_;
  std::string id_;
};

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
  AG_PARSE_COMMAND_LINE(app, argc, argv);  // CLI11's errors exit 2 (core/cli.h)
  for (const absl::Status& s : {agentgym::CheckAtLeast("--max-turns", max_turns, 0),
                                agentgym::CheckPositive("--timeout-s", timeout_s, 3600)}) {
    if (!s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 2;
    }
  }

  // The oracle replays a built-in env in this process; say so before opening
  // anything when there is none.
  std::unique_ptr<agentgym::env::Environment> local_env;
  if (scripted) {
    auto env = agentgym::env::EnvRegistry::Global().Create(env_name, {});
    if (!env.ok()) {
      return NoOracle("'" + env_name + "' is not a built-in env of this binary (" +
                      std::string(env.status().message()) + ")");
    }
    local_env = *std::move(env);
    if (!task_id.empty()) {
      if (auto key = agentgym::env::ParseTaskId(task_id, local_env->Describe()); !key.ok()) {
        return NoOracle("task '" + task_id + "' is not a task of the built-in '" + env_name +
                        "' (" + std::string(key.status().message()) + ")");
      }
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
  SessionCloser closer(client->get(), session->session_id());
  std::printf("== %s task %s (session %s)\n== instruction:\n%s\n== observation:\n%s\n",
              env_name.c_str(), session->task().task_id().c_str(),
              session->session_id().c_str(), session->instruction().c_str(),
              session->observation().c_str());
  int budget = max_turns > 0 ? max_turns : session->recommended_max_turns();

  std::unique_ptr<agentgym::env::Episode> local;
  if (scripted) {
    auto key = agentgym::env::ParseTaskId(session->task().task_id(), local_env->Describe());
    if (!key.ok()) {
      // e.g. a bridged env of the same name, whose tasks are the upstream's.
      return NoOracle("the server's '" + env_name + "' is not the built-in env (its task '" +
                      session->task().task_id() + "' is not one of the built-in's)");
    }
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
      if (!next) {
        return turn == 1 ? NoOracle("the built-in '" + env_name + "' has no scripted solver")
                         : Fail("oracle", absl::InternalError("the oracle stopped before the "
                                                               "episode ended"));
      }
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
  if (auto s = closer.Close(); !s.ok()) return 1;
  std::printf("== %s\n", success ? "SUCCESS" : "not solved");
  return (scripted && !success) ? 1 : 0;
}
